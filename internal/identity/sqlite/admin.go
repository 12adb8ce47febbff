package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/sqldb"
)

// ListUsers implements [identity.Store].
func (s *Store) ListUsers(ctx context.Context, tenant, after string, limit int) ([]identity.User, error) {
	if err := identity.CheckPage(limit); err != nil {
		return nil, fmt.Errorf("identity/sqlite: %w", err)
	}
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT `+userColumns+` FROM identity_users
		WHERE tenant = ? AND id > ? ORDER BY id LIMIT ?`, tenant, after, limit)
	if err != nil {
		return nil, wrap("list users", err)
	}
	defer rows.Close()
	var out []identity.User
	for rows.Next() {
		var u identity.User
		var status string
		if err := rows.Scan(&u.ID, &u.Tenant, &u.Email, &u.Name, &status, timeCol{&u.CreatedAt}, timeCol{&u.DisabledAt},
			&u.PasswordHash, &u.MFARequired); err != nil {
			return nil, wrap("list users", err)
		}
		u.Status = identity.Status(status)
		out = append(out, u)
	}
	return out, wrap("list users", rows.Err())
}

// LastSeen implements [identity.Store]. Times are compared as instants.
func (s *Store) LastSeen(ctx context.Context, tenant, userID string) (time.Time, error) {
	rows, err := s.pool.Reader().QueryContext(ctx,
		`SELECT last_seen FROM identity_sessions WHERE tenant = ? AND user_id = ?`, tenant, userID)
	if err != nil {
		return time.Time{}, wrap("last seen", err)
	}
	defer rows.Close()
	var last time.Time
	for rows.Next() {
		var t time.Time
		if err := rows.Scan(timeCol{&t}); err != nil {
			return time.Time{}, wrap("last seen", err)
		}
		if t.After(last) {
			last = t
		}
	}
	return last, wrap("last seen", rows.Err())
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
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT policy, version, updated_by, updated_at FROM identity_policies
		WHERE tenant = ?`, tenant).Scan(&doc, &r.Version, &r.UpdatedBy, timeCol{&r.UpdatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return identity.PolicyRecord{Policy: authz.TenantPolicy{Tenant: tenant}}, nil
	}
	if err != nil {
		return identity.PolicyRecord{}, wrap("policy", err)
	}
	if r.Policy, err = identity.UnmarshalPolicy([]byte(doc)); err != nil {
		return identity.PolicyRecord{}, wrap("policy", err)
	}
	if r.Policy.Tenant != tenant {
		return identity.PolicyRecord{}, fmt.Errorf("identity/sqlite: policy of %s names another tenant: %w", tenant, identity.ErrInvalid)
	}
	return r, nil
}

// SetPolicy implements [identity.Store].
func (s *Store) SetPolicy(ctx context.Context, p authz.TenantPolicy, version int64, by string, at time.Time) error {
	doc, err := identity.MarshalPolicy(p)
	if err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	if err := checkUpdate(version, by, at); err != nil {
		return err
	}
	err = s.pool.Tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if version == 0 {
			res, err = tx.ExecContext(ctx, `INSERT INTO identity_policies (tenant, policy, version, updated_by, updated_at)
				VALUES (?, ?, 1, ?, ?) ON CONFLICT (tenant) DO NOTHING`, p.Tenant, string(doc), by, sqldb.FormatTime(at))
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE identity_policies SET policy = ?, version = version + 1, updated_by = ?, updated_at = ?
				WHERE tenant = ? AND version = ?`, string(doc), by, sqldb.FormatTime(at), p.Tenant, version)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = fmt.Errorf("policy of %s is not at version %d: %w", p.Tenant, version, identity.ErrConflict)
			}
			return err
		}
		return nil
	})
	return wrap("set policy", err)
}

func checkUpdate(version int64, by string, at time.Time) error {
	switch {
	case version < 0:
		return fmt.Errorf("identity/sqlite: %w: negative policy version", identity.ErrInvalid)
	case by == "" || len(by) > identity.MaxID || at.IsZero():
		return fmt.Errorf("identity/sqlite: %w: a policy update needs who and when", identity.ErrInvalid)
	}
	return nil
}

func insertInvitation(ctx context.Context, tx *sql.Tx, inv identity.Invitation) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identity_invitations
		(hash, tenant, user_id, created_by, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, NULL)`,
		inv.Hash[:], inv.Tenant, inv.UserID, inv.CreatedBy, sqldb.FormatTime(inv.CreatedAt), sqldb.FormatTime(inv.ExpiresAt))
	if isUnique(err) {
		return fmt.Errorf("invitation: %w", identity.ErrExists)
	}
	return err
}

// checkInvite checks that u, its grants and inv belong together.
func checkInvite(u identity.User, grants []identity.Grant, inv identity.Invitation) error {
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
	return errors.Join(errs...)
}

// InviteUser implements [identity.Store].
func (s *Store) InviteUser(ctx context.Context, u identity.User, grants []identity.Grant, inv identity.Invitation) error {
	if err := checkInvite(u, grants, inv); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO identity_users
			(id, tenant, email, name, status, created_at, disabled_at, password_hash, mfa_required)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Tenant, u.Email, u.Name, string(u.Status), sqldb.FormatTime(u.CreatedAt), nullTime(u.DisabledAt),
			u.PasswordHash, u.MFARequired)
		if isUnique(err) {
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
	return wrap("invite user", err)
}

// CreateInvitation implements [identity.Store].
func (s *Store) CreateInvitation(ctx context.Context, inv identity.Invitation) error {
	if err := inv.Validate(); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		if err := userState(ctx, tx, inv.Tenant, inv.UserID); err != nil {
			return err
		}
		return insertInvitation(ctx, tx, inv)
	})
	return wrap("create invitation", err)
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func invitation(ctx context.Context, q rowQuerier, hash [32]byte) (identity.Invitation, error) {
	var inv identity.Invitation
	err := q.QueryRowContext(ctx, `SELECT hash, tenant, user_id, created_by, created_at, expires_at, used_at
		FROM identity_invitations WHERE hash = ?`, hash[:]).Scan(hashCol{&inv.Hash}, &inv.Tenant, &inv.UserID,
		&inv.CreatedBy, timeCol{&inv.CreatedAt}, timeCol{&inv.ExpiresAt}, timeCol{&inv.UsedAt})
	return inv, err
}

// Invitation implements [identity.Store].
func (s *Store) Invitation(ctx context.Context, hash [32]byte) (identity.Invitation, error) {
	inv, err := invitation(ctx, s.pool.Reader(), hash)
	return inv, wrap("invitation", err)
}

// RedeemInvitation implements [identity.Store]. The expiry is compared
// as an instant inside the write transaction, which SQLite serializes.
func (s *Store) RedeemInvitation(ctx context.Context, hash [32]byte, at time.Time, passwordHash string) (identity.Invitation, error) {
	if passwordHash == "" || len(passwordHash) > identity.MaxPasswordHash {
		return identity.Invitation{}, fmt.Errorf("identity/sqlite: %w: password hash empty or too long", identity.ErrInvalid)
	}
	var inv identity.Invitation
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if inv, err = invitation(ctx, tx, hash); err != nil {
			return err
		}
		if !inv.UsedAt.IsZero() || !at.Before(inv.ExpiresAt) {
			return fmt.Errorf("invitation used or expired: %w", identity.ErrNotFound)
		}
		if err := userState(ctx, tx, inv.Tenant, inv.UserID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE identity_invitations SET used_at = ? WHERE hash = ? AND used_at IS NULL`,
			sqldb.FormatTime(at), hash[:])
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err == nil {
				err = fmt.Errorf("invitation used: %w", identity.ErrNotFound)
			}
			return err
		}
		inv.UsedAt = at
		_, err = tx.ExecContext(ctx, `UPDATE identity_users SET password_hash = ? WHERE tenant = ? AND id = ?`,
			passwordHash, inv.Tenant, inv.UserID)
		return err
	})
	if err != nil {
		return identity.Invitation{}, wrap("redeem invitation", err)
	}
	return inv, nil
}

// DenyElevation implements [identity.Store].
func (s *Store) DenyElevation(ctx context.Context, tenant, id, by string, at time.Time) error {
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		_, err := decide(ctx, tx, tenant, id, identity.ElevationDenied, by, at, "")
		return err
	})
	return wrap("deny elevation", err)
}

// revokeForDisable revokes, inside tx, the user's elevation grants that
// have not ended by at and deletes their unused invitations.
func revokeForDisable(ctx context.Context, tx *sql.Tx, tenant, id string, at time.Time, rev *identity.Revoked) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, not_after FROM identity_grants
		WHERE tenant = ? AND user_id = ? AND elevation_id != '' AND revoked_at IS NULL`, tenant, id)
	if err != nil {
		return err
	}
	var live []string
	for rows.Next() {
		var g string
		var end time.Time
		if err := rows.Scan(&g, timeCol{&end}); err != nil {
			rows.Close()
			return err
		}
		if end.After(at) {
			live = append(live, g)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, g := range live {
		if _, err := tx.ExecContext(ctx, `UPDATE identity_grants SET revoked_by = ?, revoked_at = ? WHERE tenant = ? AND id = ?`,
			id, sqldb.FormatTime(at), tenant, g); err != nil {
			return err
		}
	}
	rev.Grants = live
	res, err := tx.ExecContext(ctx, `DELETE FROM identity_invitations WHERE tenant = ? AND user_id = ? AND used_at IS NULL`, tenant, id)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	rev.Invitations = int(n)
	return err
}
