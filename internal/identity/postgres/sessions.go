package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/pgdb"
)

func insertSession(ctx context.Context, tx pgx.Tx, s identity.Session) error {
	if err := lockUser(ctx, tx, s.Tenant, s.UserID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO identity_sessions
		(hash, user_id, tenant, created_at, last_seen, expires_at, idle_timeout, strong_auth_method, strong_auth_at, csrf_hash, method, provider, amr, acr, auth_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		s.Hash[:], s.UserID, s.Tenant, s.CreatedAt, s.LastSeen, s.ExpiresAt, int64(s.IdleTimeout), s.StrongAuthMethod,
		nullTime(s.StrongAuthAt), s.CSRFHash[:], s.Method, s.Provider, strings.Join(s.AMR, ","), s.ACR, nullTime(s.AuthTime))
	if pgdb.IsUniqueViolation(err) {
		return fmt.Errorf("session: %w", identity.ErrExists)
	}
	return err
}

// CreateSession implements [identity.Store].
func (s *Store) CreateSession(ctx context.Context, sess identity.Session) error {
	if err := sess.Validate(); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	return s.tx(ctx, "create session", func(tx pgx.Tx) error { return insertSession(ctx, tx, sess) })
}

// SessionByHash implements [identity.Store].
func (s *Store) SessionByHash(ctx context.Context, hash [32]byte) (identity.Session, error) {
	var sess identity.Session
	var idle int64
	var h, csrf []byte
	var strong, authTime *time.Time
	var amr string
	err := s.pool.QueryRow(ctx, `SELECT hash, user_id, tenant, created_at, last_seen, expires_at,
		idle_timeout, strong_auth_method, strong_auth_at, csrf_hash, method, provider, amr, acr, auth_time FROM identity_sessions WHERE hash = $1`, hash[:]).
		Scan(&h, &sess.UserID, &sess.Tenant, &sess.CreatedAt, &sess.LastSeen, &sess.ExpiresAt, &idle,
			&sess.StrongAuthMethod, &strong, &csrf, &sess.Method, &sess.Provider, &amr, &sess.ACR, &authTime)
	if err == nil {
		err = hashOf(h, &sess.Hash)
	}
	if err == nil {
		err = hashOf(csrf, &sess.CSRFHash)
	}
	sess.IdleTimeout, sess.StrongAuthAt, sess.AuthTime = time.Duration(idle), orZero(strong), orZero(authTime)
	if amr != "" {
		sess.AMR = strings.Split(amr, ",")
	}
	return sess, wrap("session", err)
}

// TouchSession implements [identity.Store].
func (s *Store) TouchSession(ctx context.Context, hash [32]byte, at time.Time) error {
	return s.exec(ctx, "touch session", `UPDATE identity_sessions SET last_seen = GREATEST(last_seen, $1) WHERE hash = $2`, at, hash[:])
}

// RotateSession implements [identity.Store].
func (s *Store) RotateSession(ctx context.Context, old [32]byte, next identity.Session) error {
	if err := next.Validate(); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	return s.tx(ctx, "rotate session", func(tx pgx.Tx) error {
		var user, tenant string
		if err := tx.QueryRow(ctx, `DELETE FROM identity_sessions WHERE hash = $1 RETURNING user_id, tenant`, old[:]).
			Scan(&user, &tenant); err != nil {
			return err
		}
		if user != next.UserID || tenant != next.Tenant {
			return fmt.Errorf("%w: a rotated session keeps its user and tenant", identity.ErrInvalid)
		}
		return insertSession(ctx, tx, next)
	})
}

// DeleteSession implements [identity.Store].
func (s *Store) DeleteSession(ctx context.Context, hash [32]byte) error {
	return s.exec(ctx, "delete session", `DELETE FROM identity_sessions WHERE hash = $1`, hash[:])
}

// DeleteSessions implements [identity.Store].
func (s *Store) DeleteSessions(ctx context.Context, tenant, userID string) ([][32]byte, error) {
	var out [][32]byte
	err := s.tx(ctx, "delete sessions", func(tx pgx.Tx) error {
		var err error
		out, err = deleteSessions(ctx, tx, tenant, userID)
		return err
	})
	return out, err
}

func insertGrant(ctx context.Context, tx pgx.Tx, g identity.Grant) error {
	_, err := tx.Exec(ctx, `INSERT INTO identity_grants
		(id, tenant, user_id, role, granted_by, granted_at, not_before, not_after, elevation_id, revoked_by, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', NULL)`,
		g.ID, g.Tenant, g.UserID, g.Role, g.GrantedBy, g.GrantedAt, nullTime(g.NotBefore), nullTime(g.NotAfter), g.ElevationID)
	if pgdb.IsUniqueViolation(err) {
		return fmt.Errorf("grant %s: %w", g.ID, identity.ErrExists)
	}
	return err
}

// AddGrant implements [identity.Store].
func (s *Store) AddGrant(ctx context.Context, g identity.Grant) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	return s.tx(ctx, "add grant", func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, g.Tenant, g.UserID); err != nil {
			return err
		}
		return insertGrant(ctx, tx, g)
	})
}

// RevokeGrant implements [identity.Store].
func (s *Store) RevokeGrant(ctx context.Context, tenant, id, by string, at time.Time) error {
	return s.exec(ctx, "revoke grant", `UPDATE identity_grants SET revoked_by = $1, revoked_at = $2
		WHERE tenant = $3 AND id = $4 AND revoked_at IS NULL`, by, at, tenant, id)
}

// Grants implements [identity.Store].
func (s *Store) Grants(ctx context.Context, tenant, userID string) ([]identity.Grant, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, tenant, user_id, role, granted_by, granted_at, not_before, not_after, elevation_id
		FROM identity_grants WHERE tenant = $1 AND user_id = $2 AND revoked_at IS NULL ORDER BY granted_at, id LIMIT $3`,
		tenant, userID, identity.MaxList+1)
	if err != nil {
		return nil, wrap("grants", err)
	}
	var out []identity.Grant
	var g identity.Grant
	var nb, na *time.Time
	_, err = pgx.ForEachRow(rows, []any{&g.ID, &g.Tenant, &g.UserID, &g.Role, &g.GrantedBy, &g.GrantedAt, &nb, &na, &g.ElevationID}, func() error {
		g.NotBefore, g.NotAfter = orZero(nb), orZero(na)
		out = append(out, g)
		return nil
	})
	if err == nil && len(out) > identity.MaxList {
		err = identity.ErrLimit
	}
	return out, wrap("grants", err)
}

// RequestElevation implements [identity.Store].
func (s *Store) RequestElevation(ctx context.Context, e identity.Elevation) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	return s.tx(ctx, "request elevation", func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, e.Tenant, e.RequestedBy); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO identity_elevations
			(id, tenant, role, requested_by, reason, duration, requested_at, status, decided_by, decided_at, grant_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', NULL, '')`,
			e.ID, e.Tenant, e.Role, e.RequestedBy, e.Reason, int64(e.Duration), e.RequestedAt, string(e.Status))
		if pgdb.IsUniqueViolation(err) {
			return fmt.Errorf("elevation %s: %w", e.ID, identity.ErrExists)
		}
		return err
	})
}

const elevationColumns = `id, tenant, role, requested_by, reason, duration, requested_at, status, decided_by, decided_at, grant_id`

func scanElevation(row pgx.Row) (identity.Elevation, error) {
	var e identity.Elevation
	var d int64
	var status string
	var decided *time.Time
	err := row.Scan(&e.ID, &e.Tenant, &e.Role, &e.RequestedBy, &e.Reason, &d, &e.RequestedAt, &status, &e.DecidedBy, &decided, &e.GrantID)
	e.Duration, e.Status, e.DecidedAt = time.Duration(d), identity.ElevationStatus(status), orZero(decided)
	return e, err
}

// Elevation implements [identity.Store].
func (s *Store) Elevation(ctx context.Context, tenant, id string) (identity.Elevation, error) {
	e, err := scanElevation(s.pool.QueryRow(ctx, `SELECT `+elevationColumns+` FROM identity_elevations WHERE tenant = $1 AND id = $2`, tenant, id))
	return e, wrap("elevation", err)
}

// PendingElevations implements [identity.Store].
func (s *Store) PendingElevations(ctx context.Context, tenant string) ([]identity.Elevation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+elevationColumns+` FROM identity_elevations
		WHERE tenant = $1 AND status = $2 ORDER BY requested_at, id LIMIT $3`, tenant, string(identity.ElevationPending), identity.MaxList+1)
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
	err = rows.Err()
	if err == nil && len(out) > identity.MaxList {
		err = identity.ErrLimit
	}
	return out, wrap("pending elevations", err)
}

// decide moves the tenant's pending request id to status in one
// statement and returns its requester and role; ErrConflict if it is not
// pending, ErrNotFound if it does not exist.
func decide(ctx context.Context, tx pgx.Tx, tenant, id string, status identity.ElevationStatus, by string, at time.Time, grantID string) (requester, role string, err error) {
	err = tx.QueryRow(ctx, `UPDATE identity_elevations SET status = $1, decided_by = $2, decided_at = $3, grant_id = $4
		WHERE tenant = $5 AND id = $6 AND status = $7 RETURNING requested_by, role`,
		string(status), by, at, grantID, tenant, id, string(identity.ElevationPending)).Scan(&requester, &role)
	if errors.Is(err, pgx.ErrNoRows) {
		var cur string
		if err := tx.QueryRow(ctx, `SELECT status FROM identity_elevations WHERE tenant = $1 AND id = $2`, tenant, id).Scan(&cur); err != nil {
			return "", "", err
		}
		return "", "", fmt.Errorf("elevation %s is %s: %w", id, cur, identity.ErrConflict)
	}
	return requester, role, err
}

// ApproveElevation implements [identity.Store].
func (s *Store) ApproveElevation(ctx context.Context, g identity.Grant) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	if g.ElevationID == "" {
		return fmt.Errorf("identity/postgres: %w: the grant names no elevation", identity.ErrInvalid)
	}
	// The user's row first, as DisableUser takes it (it then revokes the
	// pending requests): the other order deadlocks an approval against a
	// disabling.
	return s.tx(ctx, "approve elevation", func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, g.Tenant, g.UserID); err != nil {
			if errors.Is(err, identity.ErrNotFound) {
				// Report the request as missing (not its user) when
				// the request does not exist either.
				var one int
				if qerr := tx.QueryRow(ctx, `SELECT 1 FROM identity_elevations WHERE tenant = $1 AND id = $2`,
					g.Tenant, g.ElevationID).Scan(&one); qerr != nil {
					return qerr
				}
			}
			return err
		}
		requester, role, err := decide(ctx, tx, g.Tenant, g.ElevationID, identity.ElevationApproved, g.GrantedBy, g.GrantedAt, g.ID)
		if err != nil {
			return err
		}
		if requester != g.UserID || role != g.Role {
			return fmt.Errorf("%w: the grant's user and role differ from the request's", identity.ErrInvalid)
		}
		return insertGrant(ctx, tx, g)
	})
}

// ExpireElevation implements [identity.Store].
func (s *Store) ExpireElevation(ctx context.Context, tenant, id, by string, at time.Time) error {
	return s.tx(ctx, "expire elevation", func(tx pgx.Tx) error {
		_, _, err := decide(ctx, tx, tenant, id, identity.ElevationExpired, by, at, "")
		return err
	})
}
