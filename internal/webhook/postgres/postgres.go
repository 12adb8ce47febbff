// Package postgres keeps the webhook endpoints, the outbox and the
// delivery log ([webhook.Store]) in PostgreSQL (pgx v5, through
// internal/pgdb), with the tables and columns of internal/webhook/sqlite
// (versions 1300–1399, one migration of the final shape).
//
// Types, by SQLite's: TEXT → text; BLOB → bytea (sealed secrets and
// keys, payloads); INTEGER flags (enabled, failing) → boolean; the other
// INTEGER columns, times in nanoseconds included, → bigint.
//
// Claims take rows FOR UPDATE SKIP LOCKED, so that workers on several
// nodes claim disjoint deliveries without waiting on each other; a
// delivery is leased to one claim token until its lease ends.
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/webhook"
)

// Migrations are the webhook tables' history on PostgreSQL.
var Migrations = []pgdb.Migration{{
	Version: 1300,
	Name:    "webhook endpoints, outbox, deliveries, attempts and signing keys",
	SQL: `CREATE TABLE webhook_endpoints (
		id                text    PRIMARY KEY,
		tenant            text    NOT NULL,
		url               text    NOT NULL,
		events            text    NOT NULL,
		enabled           boolean NOT NULL,
		failing           boolean NOT NULL,
		secret            bytea   NOT NULL,
		previous_secret   bytea,
		previous_until_ns bigint  NOT NULL,
		created_ns        bigint  NOT NULL,
		updated_ns        bigint  NOT NULL
	);
	CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant, enabled);
	CREATE TABLE webhook_messages (
		id         text   PRIMARY KEY,
		tenant     text   NOT NULL,
		type       text   NOT NULL,
		payload    bytea  NOT NULL,
		created_ns bigint NOT NULL
	);
	CREATE TABLE webhook_deliveries (
		endpoint_id     text   NOT NULL,
		message_id      text   NOT NULL,
		tenant          text   NOT NULL,
		type            text   NOT NULL,
		status          text   NOT NULL,
		attempts        bigint NOT NULL,
		next_attempt_ns bigint NOT NULL,
		claim           text   NOT NULL,
		claim_until_ns  bigint NOT NULL,
		created_ns      bigint NOT NULL,
		updated_ns      bigint NOT NULL,
		PRIMARY KEY (endpoint_id, message_id)
	);
	CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ns);
	CREATE TABLE webhook_attempts (
		endpoint_id text   NOT NULL,
		message_id  text   NOT NULL,
		n           bigint NOT NULL,
		at_ns       bigint NOT NULL,
		status_code bigint NOT NULL,
		latency_ns  bigint NOT NULL,
		error       text   NOT NULL,
		response    text   NOT NULL,
		PRIMARY KEY (endpoint_id, message_id, n)
	);
	CREATE TABLE webhook_signing_keys (
		tenant     text   PRIMARY KEY,
		sealed     bytea  NOT NULL,
		created_ns bigint NOT NULL
	)`,
}}

// Store implements [webhook.Store] on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
}

var _ webhook.Store = (*Store)(nil)

// New applies [Migrations] to the database behind pool and returns a store
// using it. The caller owns pool.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := pgdb.Migrate(ctx, pool, Migrations); err != nil {
		return nil, fmt.Errorf("webhook/postgres: %w", err)
	}
	return &Store{pool: pool}, nil
}

func wrap(err error) error {
	if err == nil || errors.Is(err, webhook.ErrNoRecord) || errors.Is(err, webhook.ErrLostClaim) {
		return err
	}
	return fmt.Errorf("webhook/postgres: %w", err)
}

func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return wrap(pgx.BeginFunc(ctx, s.pool, fn))
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

// InsertEndpoint implements [webhook.Store].
func (s *Store) InsertEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO webhook_endpoints
		(id, tenant, url, events, enabled, failing, secret, previous_secret, previous_until_ns, created_ns, updated_ns)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		e.ID, e.Tenant, e.URL, webhook.EncodeEvents(e.Events), e.Enabled, e.Failing,
		e.Secret, e.PreviousSecret, nanos(e.PreviousUntil), nanos(e.CreatedAt), nanos(e.UpdatedAt))
	return wrap(err)
}

const endpointColumns = `e.id, e.tenant, e.url, e.events, e.enabled, e.failing, e.secret, e.previous_secret, e.previous_until_ns, e.created_ns, e.updated_ns`

func endpointDest(e *webhook.Endpoint, events *string, prevUntil, created, updated *int64) []any {
	return []any{&e.ID, &e.Tenant, &e.URL, events, &e.Enabled, &e.Failing, &e.Secret, &e.PreviousSecret, prevUntil, created, updated}
}

func finishEndpoint(e *webhook.Endpoint, events string, prevUntil, created, updated int64) {
	e.Events = webhook.DecodeEvents(events)
	e.PreviousUntil, e.CreatedAt, e.UpdatedAt = fromNanos(prevUntil), fromNanos(created), fromNanos(updated)
}

func scanEndpoint(row pgx.Row) (*webhook.Endpoint, error) {
	var e webhook.Endpoint
	var events string
	var prevUntil, created, updated int64
	if err := row.Scan(endpointDest(&e, &events, &prevUntil, &created, &updated)...); err != nil {
		return nil, err
	}
	finishEndpoint(&e, events, prevUntil, created, updated)
	return &e, nil
}

// Endpoint implements [webhook.Store].
func (s *Store) Endpoint(ctx context.Context, tenant, id string) (*webhook.Endpoint, error) {
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints e
		WHERE e.tenant = $1 AND e.id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, webhook.ErrNoRecord
	}
	return e, wrap(err)
}

// Endpoints implements [webhook.Store].
func (s *Store) Endpoints(ctx context.Context, tenant string, limit int) ([]*webhook.Endpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints e
		WHERE e.tenant = $1 ORDER BY e.created_ns, e.id LIMIT $2`, tenant, max(limit, 1))
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
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_endpoints SET url = $1, events = $2, enabled = $3, failing = $4,
		secret = $5, previous_secret = $6, previous_until_ns = $7, updated_ns = $8 WHERE tenant = $9 AND id = $10`,
		e.URL, webhook.EncodeEvents(e.Events), e.Enabled, e.Failing, e.Secret, e.PreviousSecret,
		nanos(e.PreviousUntil), nanos(e.UpdatedAt), e.Tenant, e.ID)
	if err == nil && tag.RowsAffected() == 0 {
		return webhook.ErrNoRecord
	}
	return wrap(err)
}

// DeleteEndpoint implements [webhook.Store].
func (s *Store) DeleteEndpoint(ctx context.Context, tenant, id string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE tenant = $1 AND id = $2`, tenant, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return webhook.ErrNoRecord
		}
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_attempts WHERE endpoint_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE endpoint_id = $1`, id)
		return err
	})
}

// InsertMessages writes msgs to the outbox inside tx, a transaction of the
// caller (the workflow's state change), with one pending delivery per
// matching enabled endpoint. A message no endpoint wants is not kept.
func InsertMessages(ctx context.Context, tx pgx.Tx, msgs []webhook.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	QueueMessages(b, msgs)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("webhook/postgres: %w", err)
	}
	return nil
}

// wants is the SQL test of an endpoint's subscription to the event type
// $1 (events is space-separated; empty means every event).
const wants = `(e.events = '' OR $1 = ANY (string_to_array(e.events, ' ')))`

// QueueMessages queues on b, a batch that runs inside the caller's
// transaction, the statements of [InsertMessages], for stores that write
// their state change as one batch (workflow/postgres): no round trip of
// its own.
func QueueMessages(b *pgx.Batch, msgs []webhook.Message) {
	for _, m := range msgs {
		b.Queue(`INSERT INTO webhook_messages (id, tenant, type, payload, created_ns)
			SELECT $2, $3, $1, $4, $5 WHERE EXISTS
			(SELECT 1 FROM webhook_endpoints e WHERE e.tenant = $3 AND e.enabled AND `+wants+`)`,
			m.Type, m.ID, m.Tenant, m.Payload, nanos(m.CreatedAt))
		b.Queue(`INSERT INTO webhook_deliveries (endpoint_id, message_id, tenant, type,
			status, attempts, next_attempt_ns, claim, claim_until_ns, created_ns, updated_ns)
			SELECT e.id, $2, $3, $1, 'pending', 0, $4, '', 0, $4, $4 FROM webhook_endpoints e
			WHERE e.tenant = $3 AND e.enabled AND `+wants+`
			AND EXISTS (SELECT 1 FROM webhook_messages WHERE id = $2)`,
			m.Type, m.ID, m.Tenant, nanos(m.CreatedAt))
	}
}

// Enqueue implements [webhook.Store].
func (s *Store) Enqueue(ctx context.Context, msgs []webhook.Message) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return InsertMessages(ctx, tx, msgs) })
}

func newClaim() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("webhook/postgres: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Claim implements [webhook.Store].
func (s *Store) Claim(ctx context.Context, now, until time.Time, limit int) ([]webhook.Claimed, error) {
	claim := newClaim()
	var out []webhook.Claimed
	err := s.tx(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET claim = $1, claim_until_ns = $2
			WHERE (endpoint_id, message_id) IN (SELECT d.endpoint_id, d.message_id FROM webhook_deliveries d
				WHERE d.status = 'pending' AND d.next_attempt_ns <= $3 AND d.claim_until_ns <= $3
				AND d.endpoint_id IN (SELECT id FROM webhook_endpoints WHERE enabled)
				ORDER BY d.next_attempt_ns LIMIT $4 FOR UPDATE SKIP LOCKED)`,
			claim, until.UnixNano(), now.UnixNano(), max(limit, 1)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT d.endpoint_id, d.message_id, d.tenant, d.type, d.status, d.attempts,
			d.next_attempt_ns, d.created_ns, d.updated_ns, m.payload, `+endpointColumns+`
			FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id
			JOIN webhook_endpoints e ON e.id = d.endpoint_id
			WHERE d.claim = $1 ORDER BY d.next_attempt_ns`, claim)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c webhook.Claimed
			var next, created, updated, prevUntil, eCreated, eUpdated int64
			var events string
			dest := append([]any{&c.EndpointID, &c.MessageID, &c.Tenant, &c.Type, &c.Status, &c.Attempts,
				&next, &created, &updated, &c.Payload}, endpointDest(&c.Endpoint, &events, &prevUntil, &eCreated, &eUpdated)...)
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			finishEndpoint(&c.Endpoint, events, prevUntil, eCreated, eUpdated)
			c.NextAttempt, c.CreatedAt, c.UpdatedAt = fromNanos(next), fromNanos(created), fromNanos(updated)
			c.Claim = claim
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// Record implements [webhook.Store].
func (s *Store) Record(ctx context.Context, claim string, a webhook.Attempt, o webhook.Outcome) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var tenant string
		err := tx.QueryRow(ctx, `SELECT tenant FROM webhook_deliveries
			WHERE endpoint_id = $1 AND message_id = $2 AND claim = $3 FOR UPDATE`, a.EndpointID, a.MessageID, claim).Scan(&tenant)
		if errors.Is(err, pgx.ErrNoRows) {
			return webhook.ErrLostClaim
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_attempts
			(endpoint_id, message_id, n, at_ns, status_code, latency_ns, error, response)
			VALUES ($1, $2, (SELECT COALESCE(MAX(n), 0) + 1 FROM webhook_attempts WHERE endpoint_id = $1 AND message_id = $2), $3, $4, $5, $6, $7)`,
			a.EndpointID, a.MessageID, nanos(a.At), a.StatusCode, int64(a.Latency), a.Error, a.Response); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1,
			next_attempt_ns = $2, claim = '', claim_until_ns = 0, updated_ns = $3
			WHERE endpoint_id = $4 AND message_id = $5`,
			o.Status, nanos(o.NextAttempt), nanos(a.At), a.EndpointID, a.MessageID); err != nil {
			return err
		}
		switch o.Status {
		case webhook.StatusDead:
			_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET failing = true WHERE id = $1`, a.EndpointID)
		case webhook.StatusDelivered:
			_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET failing = false WHERE id = $1 AND failing`, a.EndpointID)
		}
		return err
	})
}

// maxAttemptsListed bounds the attempts listed per delivery (the newest).
const maxAttemptsListed = 50

// Deliveries implements [webhook.Store].
func (s *Store) Deliveries(ctx context.Context, tenant, endpoint string, limit int) ([]webhook.Delivery, map[string][]webhook.Attempt, error) {
	var ds []webhook.Delivery
	atts := map[string][]webhook.Attempt{}
	err := wrap(pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT endpoint_id, message_id, tenant, type, status, attempts,
			next_attempt_ns, created_ns, updated_ns FROM webhook_deliveries
			WHERE tenant = $1 AND endpoint_id = $2 ORDER BY message_id DESC LIMIT $3`, tenant, endpoint, max(limit, 1))
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

func attempts(ctx context.Context, tx pgx.Tx, endpoint, message string) ([]webhook.Attempt, error) {
	rows, err := tx.Query(ctx, `SELECT n, at_ns, status_code, latency_ns, error, response FROM webhook_attempts
		WHERE endpoint_id = $1 AND message_id = $2 ORDER BY n DESC LIMIT $3`, endpoint, message, maxAttemptsListed)
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
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_ns = $1,
		updated_ns = $1 WHERE tenant = $2 AND endpoint_id = $3 AND message_id = $4`,
		nanos(now), tenant, endpoint, message)
	if err == nil && tag.RowsAffected() == 0 {
		return webhook.ErrNoRecord
	}
	return wrap(err)
}

// Prune implements [webhook.Store].
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_attempts a USING webhook_deliveries d
			WHERE d.endpoint_id = a.endpoint_id AND d.message_id = a.message_id
			AND d.status <> 'pending' AND d.updated_ns < $1`, before.UnixNano()); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_ns < $1`, before.UnixNano())
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `DELETE FROM webhook_messages WHERE id NOT IN
			(SELECT message_id FROM webhook_deliveries)`)
		return err
	})
	return int(n), err
}

// SigningKey implements [webhook.Store].
func (s *Store) SigningKey(ctx context.Context, tenant string) ([]byte, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT sealed FROM webhook_signing_keys WHERE tenant = $1`, tenant).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, webhook.ErrNoRecord
	}
	return b, wrap(err)
}

// InsertSigningKey implements [webhook.Store].
func (s *Store) InsertSigningKey(ctx context.Context, tenant string, sealed []byte, now time.Time) ([]byte, error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO webhook_signing_keys (tenant, sealed, created_ns) VALUES ($1, $2, $3)
		ON CONFLICT (tenant) DO NOTHING`, tenant, sealed, nanos(now)); err != nil {
		return nil, wrap(err)
	}
	return s.SigningKey(ctx, tenant)
}

// Backlog implements [webhook.Store].
func (s *Store) Backlog(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&n)
	return n, wrap(err)
}
