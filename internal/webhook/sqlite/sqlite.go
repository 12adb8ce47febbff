// Package sqlite keeps the webhook endpoints, the outbox and the delivery
// log ([webhook.Store]) in the service's SQLite database (signet.db),
// tables prefixed webhook_, migration versions 1300–1399. Times are
// integer nanoseconds. Secrets and signing keys are stored sealed by the
// service; the store never sees them in clear.
//
// SQLite has one writer: a claim (an UPDATE … RETURNING) is atomic, so two
// workers on one database never hold the same delivery.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/internal/webhook"
)

// Migrations are the webhook tables in the service database (versions
// 1300–1399).
var Migrations = []sqldb.Migration{{
	Version: 1300,
	Name:    "webhook endpoints, outbox, deliveries, attempts and signing keys",
	SQL: `CREATE TABLE webhook_endpoints (
		id                TEXT    PRIMARY KEY,
		tenant            TEXT    NOT NULL,
		url               TEXT    NOT NULL,
		events            TEXT    NOT NULL,
		enabled           INTEGER NOT NULL,
		failing           INTEGER NOT NULL,
		secret            BLOB    NOT NULL,
		previous_secret   BLOB,
		previous_until_ns INTEGER NOT NULL,
		created_ns        INTEGER NOT NULL,
		updated_ns        INTEGER NOT NULL
	) STRICT;
	CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant, enabled);
	CREATE TABLE webhook_messages (
		id         TEXT    PRIMARY KEY,
		tenant     TEXT    NOT NULL,
		type       TEXT    NOT NULL,
		payload    BLOB    NOT NULL,
		created_ns INTEGER NOT NULL
	) STRICT;
	CREATE TABLE webhook_deliveries (
		endpoint_id     TEXT    NOT NULL,
		message_id      TEXT    NOT NULL,
		tenant          TEXT    NOT NULL,
		type            TEXT    NOT NULL,
		status          TEXT    NOT NULL,
		attempts        INTEGER NOT NULL,
		next_attempt_ns INTEGER NOT NULL,
		claim           TEXT    NOT NULL,
		claim_until_ns  INTEGER NOT NULL,
		created_ns      INTEGER NOT NULL,
		updated_ns      INTEGER NOT NULL,
		PRIMARY KEY (endpoint_id, message_id)
	) STRICT;
	CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ns);
	CREATE TABLE webhook_attempts (
		endpoint_id TEXT    NOT NULL,
		message_id  TEXT    NOT NULL,
		n           INTEGER NOT NULL,
		at_ns       INTEGER NOT NULL,
		status_code INTEGER NOT NULL,
		latency_ns  INTEGER NOT NULL,
		error       TEXT    NOT NULL,
		response    TEXT    NOT NULL,
		PRIMARY KEY (endpoint_id, message_id, n)
	) STRICT;
	CREATE TABLE webhook_signing_keys (
		tenant     TEXT    PRIMARY KEY,
		sealed     BLOB    NOT NULL,
		created_ns INTEGER NOT NULL
	) STRICT`,
}}

// Store implements [webhook.Store] on the service database.
type Store struct {
	pool *sqldb.Pool
}

var _ webhook.Store = (*Store)(nil)

// New applies the migrations to the database behind p and returns a store
// writing through p. The caller owns p.
func New(ctx context.Context, p *sqldb.Pool) (*Store, error) {
	if err := sqldb.Migrate(ctx, p.Writer(), Migrations); err != nil {
		return nil, fmt.Errorf("webhook/sqlite: %w", err)
	}
	return &Store{pool: p}, nil
}

func wrap(err error) error {
	if err == nil || errors.Is(err, webhook.ErrNoRecord) || errors.Is(err, webhook.ErrLostClaim) {
		return err
	}
	return fmt.Errorf("webhook/sqlite: %w", err)
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return wrap(s.pool.Tx(ctx, fn))
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// InsertEndpoint implements [webhook.Store].
func (s *Store) InsertEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints
			(id, tenant, url, events, enabled, failing, secret, previous_secret, previous_until_ns, created_ns, updated_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.Tenant, e.URL, webhook.EncodeEvents(e.Events), boolInt(e.Enabled), boolInt(e.Failing),
			e.Secret, e.PreviousSecret, nanos(e.PreviousUntil), nanos(e.CreatedAt), nanos(e.UpdatedAt))
		return err
	})
}

const endpointColumns = `id, tenant, url, events, enabled, failing, secret, previous_secret, previous_until_ns, created_ns, updated_ns`

type scanner interface{ Scan(dest ...any) error }

func scanEndpoint(sc scanner) (*webhook.Endpoint, error) {
	var e webhook.Endpoint
	var events string
	var enabled, failing, prevUntil, created, updated int64
	if err := sc.Scan(&e.ID, &e.Tenant, &e.URL, &events, &enabled, &failing, &e.Secret, &e.PreviousSecret,
		&prevUntil, &created, &updated); err != nil {
		return nil, err
	}
	e.Events = webhook.DecodeEvents(events)
	e.Enabled, e.Failing = enabled != 0, failing != 0
	e.PreviousUntil, e.CreatedAt, e.UpdatedAt = fromNanos(prevUntil), fromNanos(created), fromNanos(updated)
	return &e, nil
}

// Endpoint implements [webhook.Store].
func (s *Store) Endpoint(ctx context.Context, tenant, id string) (*webhook.Endpoint, error) {
	e, err := scanEndpoint(s.pool.Writer().QueryRowContext(ctx,
		`SELECT `+endpointColumns+` FROM webhook_endpoints WHERE tenant = ? AND id = ?`, tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, webhook.ErrNoRecord
	}
	return e, wrap(err)
}

// Endpoints implements [webhook.Store].
func (s *Store) Endpoints(ctx context.Context, tenant string, limit int) ([]*webhook.Endpoint, error) {
	rows, err := s.pool.Writer().QueryContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE tenant = ? ORDER BY created_ns, id LIMIT ?`, tenant, max(limit, 1))
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []*webhook.Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, wrap(err)
		}
		out = append(out, e)
	}
	return out, wrap(rows.Err())
}

// UpdateEndpoint implements [webhook.Store].
func (s *Store) UpdateEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = ?, events = ?, enabled = ?, failing = ?,
			secret = ?, previous_secret = ?, previous_until_ns = ?, updated_ns = ? WHERE tenant = ? AND id = ?`,
			e.URL, webhook.EncodeEvents(e.Events), boolInt(e.Enabled), boolInt(e.Failing), e.Secret, e.PreviousSecret,
			nanos(e.PreviousUntil), nanos(e.UpdatedAt), e.Tenant, e.ID)
		return oneRow(res, err)
	})
}

func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return webhook.ErrNoRecord
	}
	return nil
}

// DeleteEndpoint implements [webhook.Store].
func (s *Store) DeleteEndpoint(ctx context.Context, tenant, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := oneRow(tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE tenant = ? AND id = ?`, tenant, id)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_attempts WHERE endpoint_id = ?`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE endpoint_id = ?`, id)
		return err
	})
}

// InsertMessages writes msgs to the outbox inside tx, a transaction of the
// caller (the workflow's state change), with one pending delivery per
// matching enabled endpoint. A message no endpoint wants is not kept.
func InsertMessages(ctx context.Context, tx *sql.Tx, msgs []webhook.Message) error {
	for _, m := range msgs {
		ids, err := matching(ctx, tx, m)
		if err != nil {
			return fmt.Errorf("webhook/sqlite: %w", err)
		}
		if len(ids) == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_messages (id, tenant, type, payload, created_ns)
			VALUES (?, ?, ?, ?, ?)`, m.ID, m.Tenant, m.Type, m.Payload, nanos(m.CreatedAt)); err != nil {
			return fmt.Errorf("webhook/sqlite: %w", err)
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (endpoint_id, message_id, tenant, type,
				status, attempts, next_attempt_ns, claim, claim_until_ns, created_ns, updated_ns)
				VALUES (?, ?, ?, ?, 'pending', 0, ?, '', 0, ?, ?)`,
				id, m.ID, m.Tenant, m.Type, nanos(m.CreatedAt), nanos(m.CreatedAt), nanos(m.CreatedAt)); err != nil {
				return fmt.Errorf("webhook/sqlite: %w", err)
			}
		}
	}
	return nil
}

func matching(ctx context.Context, tx *sql.Tx, m webhook.Message) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, events FROM webhook_endpoints WHERE tenant = ? AND enabled = 1`, m.Tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id, events string
		if err := rows.Scan(&id, &events); err != nil {
			return nil, err
		}
		if webhook.Wants(webhook.DecodeEvents(events), m.Type) {
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}

// Enqueue implements [webhook.Store].
func (s *Store) Enqueue(ctx context.Context, msgs []webhook.Message) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return InsertMessages(ctx, tx, msgs) })
}

func newClaim() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("webhook/sqlite: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Claim implements [webhook.Store].
func (s *Store) Claim(ctx context.Context, now, until time.Time, limit int) ([]webhook.Claimed, error) {
	claim := newClaim()
	var out []webhook.Claimed
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET claim = ?, claim_until_ns = ?
			WHERE rowid IN (SELECT rowid FROM webhook_deliveries
				WHERE status = 'pending' AND next_attempt_ns <= ? AND claim_until_ns <= ?
				AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE enabled = 1)
				ORDER BY next_attempt_ns LIMIT ?)`,
			claim, until.UnixNano(), now.UnixNano(), now.UnixNano(), max(limit, 1)); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT d.endpoint_id, d.message_id, d.tenant, d.type, d.status, d.attempts,
			d.next_attempt_ns, d.created_ns, d.updated_ns, m.payload, `+prefixed("e.", endpointColumns)+`
			FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id
			JOIN webhook_endpoints e ON e.id = d.endpoint_id
			WHERE d.claim = ? ORDER BY d.next_attempt_ns`, claim)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c webhook.Claimed
			var next, created, updated int64
			ep, err := scanEndpoint(scanFunc(func(dest ...any) error {
				return rows.Scan(append([]any{&c.EndpointID, &c.MessageID, &c.Tenant, &c.Type, &c.Status, &c.Attempts,
					&next, &created, &updated, &c.Payload}, dest...)...)
			}))
			if err != nil {
				return err
			}
			c.NextAttempt, c.CreatedAt, c.UpdatedAt = fromNanos(next), fromNanos(created), fromNanos(updated)
			c.Claim, c.Endpoint = claim, *ep
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func prefixed(p, cols string) string {
	out := ""
	start := 0
	for i := 0; i <= len(cols); i++ {
		if i == len(cols) || cols[i] == ',' {
			c := cols[start:i]
			for len(c) > 0 && (c[0] == ' ' || c[0] == '\n' || c[0] == '\t') {
				c = c[1:]
			}
			if out != "" {
				out += ", "
			}
			out += p + c
			start = i + 1
		}
	}
	return out
}

// Record implements [webhook.Store].
func (s *Store) Record(ctx context.Context, claim string, a webhook.Attempt, o webhook.Outcome) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var tenant string
		err := tx.QueryRowContext(ctx, `SELECT tenant FROM webhook_deliveries
			WHERE endpoint_id = ? AND message_id = ? AND claim = ?`, a.EndpointID, a.MessageID, claim).Scan(&tenant)
		if errors.Is(err, sql.ErrNoRows) {
			return webhook.ErrLostClaim
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts
			(endpoint_id, message_id, n, at_ns, status_code, latency_ns, error, response)
			VALUES (?, ?, (SELECT COALESCE(MAX(n), 0) + 1 FROM webhook_attempts WHERE endpoint_id = ? AND message_id = ?), ?, ?, ?, ?, ?)`,
			a.EndpointID, a.MessageID, a.EndpointID, a.MessageID, nanos(a.At), a.StatusCode, int64(a.Latency), a.Error, a.Response); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1,
			next_attempt_ns = ?, claim = '', claim_until_ns = 0, updated_ns = ?
			WHERE endpoint_id = ? AND message_id = ?`,
			o.Status, nanos(o.NextAttempt), nanos(a.At), a.EndpointID, a.MessageID); err != nil {
			return err
		}
		switch o.Status {
		case webhook.StatusDead:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing = 1 WHERE id = ?`, a.EndpointID)
		case webhook.StatusDelivered:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing = 0 WHERE id = ? AND failing = 1`, a.EndpointID)
		}
		return err
	})
}

// Deliveries implements [webhook.Store].
func (s *Store) Deliveries(ctx context.Context, tenant, endpoint string, limit int) ([]webhook.Delivery, map[string][]webhook.Attempt, error) {
	var ds []webhook.Delivery
	atts := map[string][]webhook.Attempt{}
	err := wrap(s.pool.View(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT endpoint_id, message_id, tenant, type, status, attempts,
			next_attempt_ns, created_ns, updated_ns FROM webhook_deliveries
			WHERE tenant = ? AND endpoint_id = ? ORDER BY message_id DESC LIMIT ?`, tenant, endpoint, max(limit, 1))
		if err != nil {
			return err
		}
		for rows.Next() {
			var d webhook.Delivery
			var next, created, updated int64
			if err := rows.Scan(&d.EndpointID, &d.MessageID, &d.Tenant, &d.Type, &d.Status, &d.Attempts, &next, &created, &updated); err != nil {
				rows.Close()
				return err
			}
			d.NextAttempt, d.CreatedAt, d.UpdatedAt = fromNanos(next), fromNanos(created), fromNanos(updated)
			ds = append(ds, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range ds {
			list, err := attempts(ctx, tx, d.EndpointID, d.MessageID)
			if err != nil {
				return err
			}
			atts[d.MessageID] = list
		}
		return nil
	}))
	return ds, atts, err
}

// maxAttemptsListed bounds the attempts listed per delivery (the newest).
const maxAttemptsListed = 50

func attempts(ctx context.Context, tx *sql.Tx, endpoint, message string) ([]webhook.Attempt, error) {
	rows, err := tx.QueryContext(ctx, `SELECT n, at_ns, status_code, latency_ns, error, response FROM webhook_attempts
		WHERE endpoint_id = ? AND message_id = ? ORDER BY n DESC LIMIT ?`, endpoint, message, maxAttemptsListed)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []webhook.Attempt
	for rows.Next() {
		a := webhook.Attempt{EndpointID: endpoint, MessageID: message}
		var at, lat int64
		if err := rows.Scan(&a.N, &at, &a.StatusCode, &lat, &a.Error, &a.Response); err != nil {
			return nil, err
		}
		a.At, a.Latency = fromNanos(at), time.Duration(lat)
		out = append([]webhook.Attempt{a}, out...)
	}
	return out, rows.Err()
}

// Retry implements [webhook.Store].
func (s *Store) Retry(ctx context.Context, tenant, endpoint, message string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return oneRow(tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_ns = ?,
			updated_ns = ? WHERE tenant = ? AND endpoint_id = ? AND message_id = ?`,
			nanos(now), nanos(now), tenant, endpoint, message))
	})
}

// Prune implements [webhook.Store].
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_attempts WHERE EXISTS (SELECT 1 FROM webhook_deliveries d
			WHERE d.endpoint_id = webhook_attempts.endpoint_id AND d.message_id = webhook_attempts.message_id
			AND d.status <> 'pending' AND d.updated_ns < ?)`, before.UnixNano()); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_ns < ?`, before.UnixNano())
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `DELETE FROM webhook_messages WHERE id NOT IN
			(SELECT message_id FROM webhook_deliveries)`)
		return err
	})
	return int(n), err
}

// SigningKey implements [webhook.Store].
func (s *Store) SigningKey(ctx context.Context, tenant string) ([]byte, error) {
	var b []byte
	err := s.pool.Writer().QueryRowContext(ctx, `SELECT sealed FROM webhook_signing_keys WHERE tenant = ?`, tenant).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, webhook.ErrNoRecord
	}
	return b, wrap(err)
}

// InsertSigningKey implements [webhook.Store].
func (s *Store) InsertSigningKey(ctx context.Context, tenant string, sealed []byte, now time.Time) ([]byte, error) {
	var b []byte
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_signing_keys (tenant, sealed, created_ns) VALUES (?, ?, ?)
			ON CONFLICT (tenant) DO NOTHING`, tenant, sealed, nanos(now)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT sealed FROM webhook_signing_keys WHERE tenant = ?`, tenant).Scan(&b)
	})
	return b, err
}

// Backlog implements [webhook.Store].
func (s *Store) Backlog(ctx context.Context) (int, error) {
	var n int
	err := s.pool.Writer().QueryRowContext(ctx, `SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&n)
	return n, wrap(err)
}
