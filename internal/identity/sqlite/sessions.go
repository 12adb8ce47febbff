package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/sqldb"
)

// splitAMR decodes the comma-joined amr column.
func splitAMR(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func insertSession(ctx context.Context, tx *sql.Tx, s identity.Session) error {
	if err := userState(ctx, tx, s.Tenant, s.UserID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO identity_sessions
		(hash, user_id, tenant, created_at, last_seen, expires_at, idle_timeout, strong_auth_method, strong_auth_at, csrf_hash, method, provider, amr, acr, auth_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.Hash[:], s.UserID, s.Tenant, sqldb.FormatTime(s.CreatedAt), sqldb.FormatTime(s.LastSeen), sqldb.FormatTime(s.ExpiresAt),
		int64(s.IdleTimeout), s.StrongAuthMethod, nullTime(s.StrongAuthAt), s.CSRFHash[:], s.Method, s.Provider, strings.Join(s.AMR, ","), s.ACR, nullTime(s.AuthTime))
	if isUnique(err) {
		return fmt.Errorf("session: %w", identity.ErrExists)
	}
	return err
}

// CreateSession implements [identity.Store].
func (s *Store) CreateSession(ctx context.Context, sess identity.Session) error {
	if err := sess.Validate(); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	return wrap("create session", s.pool.Tx(ctx, func(tx *sql.Tx) error { return insertSession(ctx, tx, sess) }))
}

// SessionByHash implements [identity.Store].
func (s *Store) SessionByHash(ctx context.Context, hash [32]byte) (identity.Session, error) {
	var sess identity.Session
	var idle int64
	var amr string
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT hash, user_id, tenant, created_at, last_seen, expires_at,
		idle_timeout, strong_auth_method, strong_auth_at, csrf_hash, method, provider, amr, acr, auth_time FROM identity_sessions WHERE hash = ?`, hash[:]).
		Scan(hashCol{&sess.Hash}, &sess.UserID, &sess.Tenant, timeCol{&sess.CreatedAt}, timeCol{&sess.LastSeen},
			timeCol{&sess.ExpiresAt}, &idle, &sess.StrongAuthMethod, timeCol{&sess.StrongAuthAt}, hashCol{&sess.CSRFHash}, &sess.Method, &sess.Provider, &amr, &sess.ACR, timeCol{&sess.AuthTime})
	sess.IdleTimeout, sess.AMR = time.Duration(idle), splitAMR(amr)
	return sess, wrap("session", err)
}

// TouchSession implements [identity.Store]. Times are compared as
// instants, not as text.
func (s *Store) TouchSession(ctx context.Context, hash [32]byte, at time.Time) error {
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		var last time.Time
		if err := tx.QueryRowContext(ctx, `SELECT last_seen FROM identity_sessions WHERE hash = ?`, hash[:]).Scan(timeCol{&last}); err != nil {
			return err
		}
		if !at.After(last) {
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE identity_sessions SET last_seen = ? WHERE hash = ?`, sqldb.FormatTime(at), hash[:])
		return err
	})
	return wrap("touch session", err)
}

// RotateSession implements [identity.Store].
func (s *Store) RotateSession(ctx context.Context, old [32]byte, next identity.Session) error {
	if err := next.Validate(); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		var user, tenant string
		if err := tx.QueryRowContext(ctx, `DELETE FROM identity_sessions WHERE hash = ? RETURNING user_id, tenant`, old[:]).
			Scan(&user, &tenant); err != nil {
			return err
		}
		if user != next.UserID || tenant != next.Tenant {
			return fmt.Errorf("%w: a rotated session keeps its user and tenant", identity.ErrInvalid)
		}
		return insertSession(ctx, tx, next)
	})
	return wrap("rotate session", err)
}

// DeleteSession implements [identity.Store].
func (s *Store) DeleteSession(ctx context.Context, hash [32]byte) error {
	return s.update(ctx, "delete session", `DELETE FROM identity_sessions WHERE hash = ?`, hash[:])
}

// DeleteSessions implements [identity.Store].
func (s *Store) DeleteSessions(ctx context.Context, tenant, userID string) ([][32]byte, error) {
	var out [][32]byte
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = deleteSessions(ctx, tx, tenant, userID)
		return err
	})
	return out, wrap("delete sessions", err)
}

func insertGrant(ctx context.Context, tx *sql.Tx, g identity.Grant) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identity_grants
		(id, tenant, user_id, role, granted_by, granted_at, not_before, not_after, elevation_id, revoked_by, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', NULL)`,
		g.ID, g.Tenant, g.UserID, g.Role, g.GrantedBy, sqldb.FormatTime(g.GrantedAt), nullTime(g.NotBefore), nullTime(g.NotAfter), g.ElevationID)
	if isUnique(err) {
		return fmt.Errorf("grant %s: %w", g.ID, identity.ErrExists)
	}
	return err
}

// AddGrant implements [identity.Store].
func (s *Store) AddGrant(ctx context.Context, g identity.Grant) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		if err := userState(ctx, tx, g.Tenant, g.UserID); err != nil {
			return err
		}
		return insertGrant(ctx, tx, g)
	})
	return wrap("add grant", err)
}

// RevokeGrant implements [identity.Store].
func (s *Store) RevokeGrant(ctx context.Context, tenant, id, by string, at time.Time) error {
	return s.update(ctx, "revoke grant", `UPDATE identity_grants SET revoked_by = ?, revoked_at = ?
		WHERE tenant = ? AND id = ? AND revoked_at IS NULL`, by, sqldb.FormatTime(at), tenant, id)
}

// Grants implements [identity.Store].
func (s *Store) Grants(ctx context.Context, tenant, userID string) ([]identity.Grant, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT id, tenant, user_id, role, granted_by, granted_at, not_before,
		not_after, elevation_id FROM identity_grants WHERE tenant = ? AND user_id = ? AND revoked_at IS NULL LIMIT ?`,
		tenant, userID, identity.MaxList+1)
	if err != nil {
		return nil, wrap("grants", err)
	}
	defer rows.Close()
	var out []identity.Grant
	for rows.Next() {
		var g identity.Grant
		if err := rows.Scan(&g.ID, &g.Tenant, &g.UserID, &g.Role, &g.GrantedBy, timeCol{&g.GrantedAt},
			timeCol{&g.NotBefore}, timeCol{&g.NotAfter}, &g.ElevationID); err != nil {
			return nil, wrap("grants", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("grants", err)
	}
	if len(out) > identity.MaxList {
		return nil, wrap("grants", identity.ErrLimit)
	}
	identity.SortGrants(out)
	return out, nil
}

// RequestElevation implements [identity.Store].
func (s *Store) RequestElevation(ctx context.Context, e identity.Elevation) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		if err := userState(ctx, tx, e.Tenant, e.RequestedBy); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO identity_elevations
			(id, tenant, role, requested_by, reason, duration, requested_at, status, decided_by, decided_at, grant_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', NULL, '')`,
			e.ID, e.Tenant, e.Role, e.RequestedBy, e.Reason, int64(e.Duration), sqldb.FormatTime(e.RequestedAt), string(e.Status))
		if isUnique(err) {
			return fmt.Errorf("elevation %s: %w", e.ID, identity.ErrExists)
		}
		return err
	})
	return wrap("request elevation", err)
}

const elevationColumns = `id, tenant, role, requested_by, reason, duration, requested_at, status, decided_by, decided_at, grant_id`

type scanner interface{ Scan(...any) error }

func scanElevation(row scanner) (identity.Elevation, error) {
	var e identity.Elevation
	var d int64
	var status string
	err := row.Scan(&e.ID, &e.Tenant, &e.Role, &e.RequestedBy, &e.Reason, &d, timeCol{&e.RequestedAt}, &status,
		&e.DecidedBy, timeCol{&e.DecidedAt}, &e.GrantID)
	e.Duration, e.Status = time.Duration(d), identity.ElevationStatus(status)
	return e, err
}

// Elevation implements [identity.Store].
func (s *Store) Elevation(ctx context.Context, tenant, id string) (identity.Elevation, error) {
	e, err := scanElevation(s.pool.Reader().QueryRowContext(ctx,
		`SELECT `+elevationColumns+` FROM identity_elevations WHERE tenant = ? AND id = ?`, tenant, id))
	return e, wrap("elevation", err)
}

// PendingElevations implements [identity.Store].
func (s *Store) PendingElevations(ctx context.Context, tenant string) ([]identity.Elevation, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT `+elevationColumns+` FROM identity_elevations
		WHERE tenant = ? AND status = ? LIMIT ?`, tenant, string(identity.ElevationPending), identity.MaxList+1)
	if err != nil {
		return nil, wrap("pending elevations", err)
	}
	defer rows.Close()
	var out []identity.Elevation
	for rows.Next() {
		e, err := scanElevation(rows)
		if err != nil {
			return nil, wrap("pending elevations", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("pending elevations", err)
	}
	if len(out) > identity.MaxList {
		return nil, wrap("pending elevations", identity.ErrLimit)
	}
	identity.SortElevations(out)
	return out, nil
}

// decide moves the tenant's pending request id to status, or returns
// ErrConflict if it is not pending (ErrNotFound if it does not exist). It
// returns the request as it was.
func decide(ctx context.Context, tx *sql.Tx, tenant, id string, status identity.ElevationStatus, by string, at time.Time, grantID string) (identity.Elevation, error) {
	e, err := scanElevation(tx.QueryRowContext(ctx, `SELECT `+elevationColumns+` FROM identity_elevations WHERE tenant = ? AND id = ?`, tenant, id))
	if err != nil {
		return e, err
	}
	if e.Status != identity.ElevationPending {
		return e, fmt.Errorf("elevation %s is %s: %w", id, e.Status, identity.ErrConflict)
	}
	_, err = tx.ExecContext(ctx, `UPDATE identity_elevations SET status = ?, decided_by = ?, decided_at = ?, grant_id = ?
		WHERE tenant = ? AND id = ? AND status = ?`, string(status), by, sqldb.FormatTime(at), grantID, tenant, id, string(identity.ElevationPending))
	return e, err
}

// ApproveElevation implements [identity.Store].
func (s *Store) ApproveElevation(ctx context.Context, g identity.Grant) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	if g.ElevationID == "" {
		return fmt.Errorf("identity/sqlite: %w: the grant names no elevation", identity.ErrInvalid)
	}
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		e, err := decide(ctx, tx, g.Tenant, g.ElevationID, identity.ElevationApproved, g.GrantedBy, g.GrantedAt, g.ID)
		if err != nil {
			return err
		}
		if e.RequestedBy != g.UserID || e.Role != g.Role {
			return fmt.Errorf("%w: the grant's user and role differ from the request's", identity.ErrInvalid)
		}
		if err := userState(ctx, tx, g.Tenant, g.UserID); err != nil {
			return err
		}
		return insertGrant(ctx, tx, g)
	})
	return wrap("approve elevation", err)
}

// ExpireElevation implements [identity.Store].
func (s *Store) ExpireElevation(ctx context.Context, tenant, id, by string, at time.Time) error {
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		_, err := decide(ctx, tx, tenant, id, identity.ElevationExpired, by, at, "")
		return err
	})
	return wrap("expire elevation", err)
}
