package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/sqldb"
)

// CreateUser implements [identity.Store].
func (s *Store) CreateUser(ctx context.Context, u identity.User) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO identity_users
		(id, tenant, email, name, status, created_at, disabled_at, password_hash, mfa_required)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Tenant, u.Email, u.Name, string(u.Status), sqldb.FormatTime(u.CreatedAt), nullTime(u.DisabledAt),
		u.PasswordHash, u.MFARequired)
	if isUnique(err) {
		return fmt.Errorf("identity/sqlite: user %s: %w", u.ID, identity.ErrExists)
	}
	return wrap("create user", err)
}

const userColumns = `id, tenant, email, name, status, created_at, disabled_at, password_hash, mfa_required`

func scanUser(row *sql.Row) (identity.User, error) {
	var u identity.User
	var status string
	err := row.Scan(&u.ID, &u.Tenant, &u.Email, &u.Name, &status, timeCol{&u.CreatedAt}, timeCol{&u.DisabledAt},
		&u.PasswordHash, &u.MFARequired)
	u.Status = identity.Status(status)
	return u, err
}

// UserByID implements [identity.Store].
func (s *Store) UserByID(ctx context.Context, tenant, id string) (identity.User, error) {
	u, err := scanUser(s.pool.Reader().QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM identity_users WHERE tenant = ? AND id = ?`, tenant, id))
	return u, wrap("user", err)
}

// UserByEmail implements [identity.Store].
func (s *Store) UserByEmail(ctx context.Context, tenant, email string) (identity.User, error) {
	e, err := identity.NormalizeEmail(email)
	if err != nil {
		return identity.User{}, fmt.Errorf("identity/sqlite: user: %w", identity.ErrNotFound)
	}
	u, err := scanUser(s.pool.Reader().QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM identity_users WHERE tenant = ? AND email = ?`, tenant, e))
	return u, wrap("user", err)
}

// SetPasswordHash implements [identity.Store].
func (s *Store) SetPasswordHash(ctx context.Context, tenant, id, hash string) error {
	if len(hash) > identity.MaxPasswordHash {
		return fmt.Errorf("identity/sqlite: %w: password hash too long", identity.ErrInvalid)
	}
	return s.update(ctx, "set password", `UPDATE identity_users SET password_hash = ? WHERE tenant = ? AND id = ?`, hash, tenant, id)
}

// update runs one UPDATE or DELETE and returns ErrNotFound if it touched
// no row.
func (s *Store) update(ctx context.Context, op, query string, args ...any) error {
	res, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	return wrap(op, err)
}

// hashes collects the session hashes of rows.
func hashes(rows *sql.Rows) ([][32]byte, error) {
	defer rows.Close()
	var out [][32]byte
	for rows.Next() {
		var h [32]byte
		if err := rows.Scan(hashCol{&h}); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

func deleteSessions(ctx context.Context, tx *sql.Tx, tenant, id string) ([][32]byte, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM identity_sessions WHERE tenant = ? AND user_id = ? RETURNING hash`, tenant, id)
	if err != nil {
		return nil, err
	}
	return hashes(rows)
}

// DisableUser implements [identity.Store].
func (s *Store) DisableUser(ctx context.Context, tenant, id string, at time.Time) (identity.Revoked, error) {
	var rev identity.Revoked
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		rev = identity.Revoked{}
		res, err := tx.ExecContext(ctx, `UPDATE identity_users SET status = ?, disabled_at = COALESCE(disabled_at, ?)
			WHERE tenant = ? AND id = ?`, string(identity.StatusDisabled), sqldb.FormatTime(at), tenant, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(err, sql.ErrNoRows)
		}
		if rev.Sessions, err = deleteSessions(ctx, tx, tenant, id); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `UPDATE identity_elevations SET status = ?, decided_by = ?, decided_at = ?
			WHERE tenant = ? AND requested_by = ? AND status = ? RETURNING id`,
			string(identity.ElevationRevoked), id, sqldb.FormatTime(at), tenant, id, string(identity.ElevationPending))
		if err != nil {
			return err
		}
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				rows.Close()
				return err
			}
			rev.Elevations = append(rev.Elevations, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return revokeForDisable(ctx, tx, tenant, id, at, &rev)
	})
	return rev, wrap("disable user", err)
}

// SetTOTP implements [identity.Store].
func (s *Store) SetTOTP(ctx context.Context, tenant string, e identity.TOTPEnrolment) error {
	if len(e.SealedSecret) == 0 || len(e.SealedSecret) > identity.MaxSealedSecret {
		return fmt.Errorf("identity/sqlite: %w: sealed TOTP secret empty or too long", identity.ErrInvalid)
	}
	if err := identity.CheckStep(e.LastStep); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		if err := userState(ctx, tx, tenant, e.UserID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO identity_totp (user_id, tenant, sealed_secret, last_step, confirmed_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET
			sealed_secret = excluded.sealed_secret, last_step = excluded.last_step, confirmed_at = excluded.confirmed_at`,
			e.UserID, tenant, e.SealedSecret, int64(e.LastStep), nullTime(e.ConfirmedAt))
		return err
	})
	return wrap("set totp", err)
}

// TOTP implements [identity.Store].
func (s *Store) TOTP(ctx context.Context, tenant, userID string) (identity.TOTPEnrolment, error) {
	e := identity.TOTPEnrolment{UserID: userID}
	var step int64
	err := s.pool.Reader().QueryRowContext(ctx,
		`SELECT sealed_secret, last_step, confirmed_at FROM identity_totp WHERE tenant = ? AND user_id = ?`, tenant, userID).
		Scan(&e.SealedSecret, &step, timeCol{&e.ConfirmedAt})
	e.LastStep = uint64(step)
	return e, wrap("totp", err)
}

// AcceptTOTPStep implements [identity.Store].
func (s *Store) AcceptTOTPStep(ctx context.Context, tenant, userID string, step uint64, at time.Time) error {
	if err := identity.CheckStep(step); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE identity_totp SET last_step = ?, confirmed_at = COALESCE(confirmed_at, ?)
			WHERE tenant = ? AND user_id = ? AND last_step < ?`, int64(step), sqldb.FormatTime(at), tenant, userID, int64(step))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM identity_totp WHERE tenant = ? AND user_id = ?`, tenant, userID).Scan(&one); err != nil {
			return err
		}
		return fmt.Errorf("step %d: %w", step, identity.ErrConflict)
	})
	return wrap("accept totp step", err)
}

// DeleteTOTP implements [identity.Store].
func (s *Store) DeleteTOTP(ctx context.Context, tenant, userID string) error {
	return s.update(ctx, "delete totp", `DELETE FROM identity_totp WHERE tenant = ? AND user_id = ?`, tenant, userID)
}

// SetRecoveryCodes implements [identity.Store].
func (s *Store) SetRecoveryCodes(ctx context.Context, tenant, userID string, hs [][32]byte) error {
	if len(hs) > identity.MaxRecoveryCodes {
		return fmt.Errorf("identity/sqlite: %w: %d recovery codes", identity.ErrInvalid, len(hs))
	}
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		if err := userState(ctx, tx, tenant, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_recovery_codes WHERE tenant = ? AND user_id = ?`, tenant, userID); err != nil {
			return err
		}
		for _, h := range hs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO identity_recovery_codes (user_id, tenant, hash, used_at) VALUES (?, ?, ?, NULL)`,
				userID, tenant, h[:]); err != nil {
				if isUnique(err) {
					return fmt.Errorf("duplicate recovery code: %w", identity.ErrInvalid)
				}
				return err
			}
		}
		return nil
	})
	return wrap("set recovery codes", err)
}

// RecoveryCodes implements [identity.Store].
func (s *Store) RecoveryCodes(ctx context.Context, tenant, userID string) ([]identity.RecoveryCode, error) {
	rows, err := s.pool.Reader().QueryContext(ctx,
		`SELECT hash, used_at FROM identity_recovery_codes WHERE tenant = ? AND user_id = ? ORDER BY hash`, tenant, userID)
	if err != nil {
		return nil, wrap("recovery codes", err)
	}
	defer rows.Close()
	var out []identity.RecoveryCode
	for rows.Next() {
		var c identity.RecoveryCode
		if err := rows.Scan(hashCol{&c.Hash}, timeCol{&c.UsedAt}); err != nil {
			return nil, wrap("recovery codes", err)
		}
		out = append(out, c)
	}
	return out, wrap("recovery codes", rows.Err())
}

// RedeemRecoveryCode implements [identity.Store].
func (s *Store) RedeemRecoveryCode(ctx context.Context, tenant, userID string, hash [32]byte, at time.Time) error {
	return s.update(ctx, "redeem recovery code", `UPDATE identity_recovery_codes SET used_at = ?
		WHERE tenant = ? AND user_id = ? AND hash = ? AND used_at IS NULL`, sqldb.FormatTime(at), tenant, userID, hash[:])
}
