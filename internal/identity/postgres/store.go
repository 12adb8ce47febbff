package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/pgdb"
)

// CreateUser implements [identity.Store].
func (s *Store) CreateUser(ctx context.Context, u identity.User) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO identity_users
		(id, tenant, email, name, status, created_at, disabled_at, password_hash, mfa_required)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.Tenant, u.Email, u.Name, string(u.Status), u.CreatedAt, nullTime(u.DisabledAt), u.PasswordHash, u.MFARequired)
	if pgdb.IsUniqueViolation(err) {
		return fmt.Errorf("identity/postgres: user %s: %w", u.ID, identity.ErrExists)
	}
	return wrap("create user", err)
}

const userColumns = `id, tenant, email, name, status, created_at, disabled_at, password_hash, mfa_required`

func scanUser(row pgx.Row) (identity.User, error) {
	var u identity.User
	var status string
	var disabled *time.Time
	err := row.Scan(&u.ID, &u.Tenant, &u.Email, &u.Name, &status, &u.CreatedAt, &disabled, &u.PasswordHash, &u.MFARequired)
	u.Status, u.DisabledAt = identity.Status(status), orZero(disabled)
	return u, err
}

// UserByID implements [identity.Store].
func (s *Store) UserByID(ctx context.Context, tenant, id string) (identity.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM identity_users WHERE tenant = $1 AND id = $2`, tenant, id))
	return u, wrap("user", err)
}

// UserByEmail implements [identity.Store].
func (s *Store) UserByEmail(ctx context.Context, tenant, email string) (identity.User, error) {
	e, err := identity.NormalizeEmail(email)
	if err != nil {
		return identity.User{}, fmt.Errorf("identity/postgres: user: %w", identity.ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM identity_users WHERE tenant = $1 AND email = $2`, tenant, e))
	return u, wrap("user", err)
}

// SetPasswordHash implements [identity.Store].
func (s *Store) SetPasswordHash(ctx context.Context, tenant, id, hash string) error {
	if len(hash) > identity.MaxPasswordHash {
		return fmt.Errorf("identity/postgres: %w: password hash too long", identity.ErrInvalid)
	}
	return s.exec(ctx, "set password", `UPDATE identity_users SET password_hash = $1 WHERE tenant = $2 AND id = $3`, hash, tenant, id)
}

func deleteSessions(ctx context.Context, tx pgx.Tx, tenant, id string) ([][32]byte, error) {
	rows, err := tx.Query(ctx, `DELETE FROM identity_sessions WHERE tenant = $1 AND user_id = $2 RETURNING hash`, tenant, id)
	if err != nil {
		return nil, err
	}
	var out [][32]byte
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&b}, func() error {
		var h [32]byte
		if err := hashOf(b, &h); err != nil {
			return err
		}
		out = append(out, h)
		return nil
	})
	return out, err
}

// DisableUser implements [identity.Store]. The user's row is updated
// first: it waits for, and then blocks, any transaction creating a
// session or request for the user (they lock the row), so the deletions
// that follow see every session created before.
func (s *Store) DisableUser(ctx context.Context, tenant, id string, at time.Time) (identity.Revoked, error) {
	var rev identity.Revoked
	err := s.tx(ctx, "disable user", func(tx pgx.Tx) error {
		rev = identity.Revoked{}
		tag, err := tx.Exec(ctx, `UPDATE identity_users SET status = $1, disabled_at = COALESCE(disabled_at, $2)
			WHERE tenant = $3 AND id = $4`, string(identity.StatusDisabled), at, tenant, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		if rev.Sessions, err = deleteSessions(ctx, tx, tenant, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE identity_elevations SET status = $1, decided_by = $2, decided_at = $3
			WHERE tenant = $4 AND requested_by = $2 AND status = $5 RETURNING id`,
			string(identity.ElevationRevoked), id, at, tenant, string(identity.ElevationPending))
		if err != nil {
			return err
		}
		if rev.Elevations, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		return revokeForDisable(ctx, tx, tenant, id, at, &rev)
	})
	return rev, err
}

// SetTOTP implements [identity.Store].
func (s *Store) SetTOTP(ctx context.Context, tenant string, e identity.TOTPEnrolment) error {
	if len(e.SealedSecret) == 0 || len(e.SealedSecret) > identity.MaxSealedSecret {
		return fmt.Errorf("identity/postgres: %w: sealed TOTP secret empty or too long", identity.ErrInvalid)
	}
	if err := identity.CheckStep(e.LastStep); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	return s.tx(ctx, "set totp", func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, tenant, e.UserID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO identity_totp (user_id, tenant, sealed_secret, last_step, confirmed_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET
			sealed_secret = excluded.sealed_secret, last_step = excluded.last_step, confirmed_at = excluded.confirmed_at`,
			e.UserID, tenant, e.SealedSecret, int64(e.LastStep), nullTime(e.ConfirmedAt))
		return err
	})
}

// TOTP implements [identity.Store].
func (s *Store) TOTP(ctx context.Context, tenant, userID string) (identity.TOTPEnrolment, error) {
	e := identity.TOTPEnrolment{UserID: userID}
	var step int64
	var confirmed *time.Time
	err := s.pool.QueryRow(ctx, `SELECT sealed_secret, last_step, confirmed_at FROM identity_totp WHERE tenant = $1 AND user_id = $2`,
		tenant, userID).Scan(&e.SealedSecret, &step, &confirmed)
	e.LastStep, e.ConfirmedAt = uint64(step), orZero(confirmed)
	return e, wrap("totp", err)
}

// AcceptTOTPStep implements [identity.Store].
func (s *Store) AcceptTOTPStep(ctx context.Context, tenant, userID string, step uint64, at time.Time) error {
	if err := identity.CheckStep(step); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	// One statement: the update, or else whether the enrolment exists.
	var updated bool
	err := s.pool.QueryRow(ctx, `WITH u AS (
			UPDATE identity_totp SET last_step = $1, confirmed_at = COALESCE(confirmed_at, $2)
			WHERE tenant = $3 AND user_id = $4 AND last_step < $1 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM u) FROM identity_totp WHERE tenant = $3 AND user_id = $4`,
		int64(step), at, tenant, userID).Scan(&updated)
	if err != nil {
		return wrap("accept totp step", err)
	}
	if !updated {
		return fmt.Errorf("identity/postgres: accept totp step %d: %w", step, identity.ErrConflict)
	}
	return nil
}

// DeleteTOTP implements [identity.Store].
func (s *Store) DeleteTOTP(ctx context.Context, tenant, userID string) error {
	return s.exec(ctx, "delete totp", `DELETE FROM identity_totp WHERE tenant = $1 AND user_id = $2`, tenant, userID)
}

// SetRecoveryCodes implements [identity.Store].
func (s *Store) SetRecoveryCodes(ctx context.Context, tenant, userID string, hs [][32]byte) error {
	if len(hs) > identity.MaxRecoveryCodes {
		return fmt.Errorf("identity/postgres: %w: %d recovery codes", identity.ErrInvalid, len(hs))
	}
	return s.tx(ctx, "set recovery codes", func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, tenant, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM identity_recovery_codes WHERE tenant = $1 AND user_id = $2`, tenant, userID); err != nil {
			return err
		}
		for _, h := range hs {
			_, err := tx.Exec(ctx, `INSERT INTO identity_recovery_codes (user_id, tenant, hash, used_at) VALUES ($1, $2, $3, NULL)`,
				userID, tenant, h[:])
			if pgdb.IsUniqueViolation(err) {
				return fmt.Errorf("duplicate recovery code: %w", identity.ErrInvalid)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// RecoveryCodes implements [identity.Store].
func (s *Store) RecoveryCodes(ctx context.Context, tenant, userID string) ([]identity.RecoveryCode, error) {
	rows, err := s.pool.Query(ctx, `SELECT hash, used_at FROM identity_recovery_codes WHERE tenant = $1 AND user_id = $2 ORDER BY hash`,
		tenant, userID)
	if err != nil {
		return nil, wrap("recovery codes", err)
	}
	var out []identity.RecoveryCode
	var b []byte
	var used *time.Time
	_, err = pgx.ForEachRow(rows, []any{&b, &used}, func() error {
		c := identity.RecoveryCode{UsedAt: orZero(used)}
		if err := hashOf(b, &c.Hash); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, wrap("recovery codes", err)
}

// RedeemRecoveryCode implements [identity.Store].
func (s *Store) RedeemRecoveryCode(ctx context.Context, tenant, userID string, hash [32]byte, at time.Time) error {
	return s.exec(ctx, "redeem recovery code", `UPDATE identity_recovery_codes SET used_at = $1
		WHERE tenant = $2 AND user_id = $3 AND hash = $4 AND used_at IS NULL`, at, tenant, userID, hash[:])
}
