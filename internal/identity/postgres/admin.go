package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/pgdb"
)

// ListUsers implements [identity.Store].
func (s *Store) ListUsers(ctx context.Context, tenant, after string, limit int) ([]identity.User, error) {
	if err := identity.CheckPage(limit); err != nil {
		return nil, fmt.Errorf("identity/postgres: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM identity_users
		WHERE tenant = $1 AND id COLLATE "C" > $2 ORDER BY id COLLATE "C" LIMIT $3`, tenant, after, limit)
	if err != nil {
		return nil, wrap("list users", err)
	}
	defer rows.Close()
	var out []identity.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrap("list users", err)
		}
		out = append(out, u)
	}
	return out, wrap("list users", rows.Err())
}

// LastSeen implements [identity.Store].
func (s *Store) LastSeen(ctx context.Context, tenant, userID string) (time.Time, error) {
	var last *time.Time
	err := s.pool.QueryRow(ctx, `SELECT max(last_seen) FROM identity_sessions WHERE tenant = $1 AND user_id = $2`,
		tenant, userID).Scan(&last)
	return orZero(last), wrap("last seen", err)
}

// Policy implements [identity.Store].
func (s *Store) Policy(ctx context.Context, tenant string) (authz.TenantPolicy, error) {
	r, err := s.PolicyRecord(ctx, tenant)
	return r.Policy, err
}

// PolicyRecord implements [identity.Store].
func (s *Store) PolicyRecord(ctx context.Context, tenant string) (identity.PolicyRecord, error) {
	var doc string
	r := identity.PolicyRecord{}
	err := s.pool.QueryRow(ctx, `SELECT policy, version, updated_by, updated_at FROM identity_policies WHERE tenant = $1`,
		tenant).Scan(&doc, &r.Version, &r.UpdatedBy, &r.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.PolicyRecord{Policy: authz.TenantPolicy{Tenant: tenant}}, nil
	}
	if err != nil {
		return identity.PolicyRecord{}, wrap("policy", err)
	}
	if r.Policy, err = identity.UnmarshalPolicy([]byte(doc)); err != nil {
		return identity.PolicyRecord{}, wrap("policy", err)
	}
	if r.Policy.Tenant != tenant {
		return identity.PolicyRecord{}, fmt.Errorf("identity/postgres: policy of %s names another tenant: %w", tenant, identity.ErrInvalid)
	}
	return r, nil
}

// SetPolicy implements [identity.Store]: one INSERT … ON CONFLICT DO
// NOTHING (version 0) or one UPDATE whose WHERE clause holds the
// version, so of two racing updates exactly one succeeds.
func (s *Store) SetPolicy(ctx context.Context, p authz.TenantPolicy, version int64, by string, at time.Time) error {
	doc, err := identity.MarshalPolicy(p)
	if err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	switch {
	case version < 0:
		return fmt.Errorf("identity/postgres: %w: negative policy version", identity.ErrInvalid)
	case by == "" || len(by) > identity.MaxID || at.IsZero():
		return fmt.Errorf("identity/postgres: %w: a policy update needs who and when", identity.ErrInvalid)
	}
	var n int64
	if version == 0 {
		tag, err := s.pool.Exec(ctx, `INSERT INTO identity_policies (tenant, policy, version, updated_by, updated_at)
			VALUES ($1, $2, 1, $3, $4) ON CONFLICT (tenant) DO NOTHING`, p.Tenant, string(doc), by, at)
		if err != nil {
			return wrap("set policy", err)
		}
		n = tag.RowsAffected()
	} else {
		tag, err := s.pool.Exec(ctx, `UPDATE identity_policies SET policy = $1, version = version + 1, updated_by = $2, updated_at = $3
			WHERE tenant = $4 AND version = $5`, string(doc), by, at, p.Tenant, version)
		if err != nil {
			return wrap("set policy", err)
		}
		n = tag.RowsAffected()
	}
	if n == 0 {
		return fmt.Errorf("identity/postgres: set policy: policy of %s is not at version %d: %w", p.Tenant, version, identity.ErrConflict)
	}
	return nil
}

func insertInvitation(ctx context.Context, tx pgx.Tx, inv identity.Invitation) error {
	_, err := tx.Exec(ctx, `INSERT INTO identity_invitations
		(hash, tenant, user_id, created_by, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)`,
		inv.Hash[:], inv.Tenant, inv.UserID, inv.CreatedBy, inv.CreatedAt, inv.ExpiresAt)
	if pgdb.IsUniqueViolation(err) {
		return fmt.Errorf("invitation: %w", identity.ErrExists)
	}
	return err
}

// InviteUser implements [identity.Store].
func (s *Store) InviteUser(ctx context.Context, u identity.User, grants []identity.Grant, inv identity.Invitation) error {
	errs := []error{u.Validate(), inv.Validate()}
	if inv.Tenant != u.Tenant || inv.UserID != u.ID {
		errs = append(errs, fmt.Errorf("%w: the invitation is for another user", identity.ErrInvalid))
	}
	if len(grants) > identity.MaxList {
		errs = append(errs, fmt.Errorf("%w: %d grants", identity.ErrInvalid, len(grants)))
	}
	for _, g := range grants {
		errs = append(errs, g.Validate())
		if g.Tenant != u.Tenant || g.UserID != u.ID {
			errs = append(errs, fmt.Errorf("%w: grant %s is for another user", identity.ErrInvalid, g.ID))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	return s.tx(ctx, "invite user", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO identity_users
			(id, tenant, email, name, status, created_at, disabled_at, password_hash, mfa_required)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			u.ID, u.Tenant, u.Email, u.Name, string(u.Status), u.CreatedAt, nullTime(u.DisabledAt), u.PasswordHash, u.MFARequired)
		if pgdb.IsUniqueViolation(err) {
			return fmt.Errorf("user %s: %w", u.ID, identity.ErrExists)
		}
		if err != nil {
			return err
		}
		for _, g := range grants {
			if err := insertGrant(ctx, tx, g); err != nil {
				return err
			}
		}
		return insertInvitation(ctx, tx, inv)
	})
}

// CreateInvitation implements [identity.Store].
func (s *Store) CreateInvitation(ctx context.Context, inv identity.Invitation) error {
	if err := inv.Validate(); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	return s.tx(ctx, "create invitation", func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, inv.Tenant, inv.UserID); err != nil {
			return err
		}
		return insertInvitation(ctx, tx, inv)
	})
}

func scanInvitation(row pgx.Row) (identity.Invitation, error) {
	var inv identity.Invitation
	var h []byte
	var used *time.Time
	err := row.Scan(&h, &inv.Tenant, &inv.UserID, &inv.CreatedBy, &inv.CreatedAt, &inv.ExpiresAt, &used)
	if err == nil {
		err = hashOf(h, &inv.Hash)
	}
	inv.UsedAt = orZero(used)
	return inv, err
}

const invitationColumns = `hash, tenant, user_id, created_by, created_at, expires_at, used_at`

// Invitation implements [identity.Store].
func (s *Store) Invitation(ctx context.Context, hash [32]byte) (identity.Invitation, error) {
	inv, err := scanInvitation(s.pool.QueryRow(ctx, `SELECT `+invitationColumns+` FROM identity_invitations WHERE hash = $1`, hash[:]))
	return inv, wrap("invitation", err)
}

// RedeemInvitation implements [identity.Store]. The user's row is locked
// (FOR UPDATE) before the compare-and-set UPDATE of the invitation, so a
// concurrent DisableUser either waits for the redemption or makes it
// fail, and the locks are taken in DisableUser's order.
func (s *Store) RedeemInvitation(ctx context.Context, hash [32]byte, at time.Time, passwordHash string) (identity.Invitation, error) {
	if passwordHash == "" || len(passwordHash) > identity.MaxPasswordHash {
		return identity.Invitation{}, fmt.Errorf("identity/postgres: %w: password hash empty or too long", identity.ErrInvalid)
	}
	var inv identity.Invitation
	err := s.tx(ctx, "redeem invitation", func(tx pgx.Tx) error {
		var err error
		if inv, err = scanInvitation(tx.QueryRow(ctx, `SELECT `+invitationColumns+` FROM identity_invitations WHERE hash = $1`, hash[:])); err != nil {
			return err
		}
		if !inv.UsedAt.IsZero() || !at.Before(inv.ExpiresAt) {
			return fmt.Errorf("invitation used or expired: %w", identity.ErrNotFound)
		}
		// The user's row first, exclusively, as DisableUser takes it: a
		// shared lock would deadlock two redemptions that both go on to
		// update the row.
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM identity_users WHERE tenant = $1 AND id = $2 FOR UPDATE`,
			inv.Tenant, inv.UserID).Scan(&status); err != nil {
			return err
		}
		if identity.Status(status) != identity.StatusActive {
			return fmt.Errorf("user %s: %w", inv.UserID, identity.ErrDisabled)
		}
		tag, err := tx.Exec(ctx, `UPDATE identity_invitations SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1`,
			at, hash[:])
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("invitation used or expired: %w", identity.ErrNotFound)
		}
		inv.UsedAt = at
		_, err = tx.Exec(ctx, `UPDATE identity_users SET password_hash = $1 WHERE tenant = $2 AND id = $3`,
			passwordHash, inv.Tenant, inv.UserID)
		return err
	})
	if err != nil {
		return identity.Invitation{}, err
	}
	return inv, nil
}

// DenyElevation implements [identity.Store].
func (s *Store) DenyElevation(ctx context.Context, tenant, id, by string, at time.Time) error {
	return s.tx(ctx, "deny elevation", func(tx pgx.Tx) error {
		_, _, err := decide(ctx, tx, tenant, id, identity.ElevationDenied, by, at, "")
		return err
	})
}

// revokeForDisable revokes, inside tx, the user's elevation grants that
// have not ended by at and deletes their unused invitations.
func revokeForDisable(ctx context.Context, tx pgx.Tx, tenant, id string, at time.Time, rev *identity.Revoked) error {
	rows, err := tx.Query(ctx, `UPDATE identity_grants SET revoked_by = $1, revoked_at = $2
		WHERE tenant = $3 AND user_id = $1 AND elevation_id <> '' AND revoked_at IS NULL AND not_after > $2 RETURNING id`,
		id, at, tenant)
	if err != nil {
		return err
	}
	if rev.Grants, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `DELETE FROM identity_invitations WHERE tenant = $1 AND user_id = $2 AND used_at IS NULL`, tenant, id)
	rev.Invitations = int(tag.RowsAffected())
	return err
}
