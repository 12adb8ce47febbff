// Package sqlite keeps Signet's key metadata ([keys.Store]) in an embedded
// SQLite database (modernc.org/sqlite, pure Go), by default DIR/keys.db.
// It holds ids, purposes, states, handles and public keys, never key
// material: that stays in the backend.
//
// Updates go through one connection in WAL mode with synchronous=FULL,
// so they are serialized and durable when they return; lookups go through
// a small pool of read-only connections beside it.
package sqlite

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys"
)

// Store is a [keys.Store] in a SQLite database.
type Store struct {
	pool *sqldb.Pool
}

var _ keys.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies the
// key metadata migrations. The caller must Close it.
func Open(ctx context.Context, path string) (*Store, error) {
	pool, err := sqldb.OpenPool(ctx, path, migrations, readConns)
	if err != nil {
		return nil, fmt.Errorf("keys/sqlite: %w", err)
	}
	return &Store{pool: pool}, nil
}

// readConns is the size of the read-only pool.
const readConns = 4

// Close closes the database.
func (s *Store) Close() error { return s.pool.Close() }

// Create implements [keys.Store].
func (s *Store) Create(ctx context.Context, k *keys.Key) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM keys WHERE id = ?", k.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s", keys.ErrExists, k.ID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO keys
			(id, purpose, algorithm, backend, tenant, label, created_ns, rotate_after, usage_limit)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, string(k.Purpose), string(k.Algorithm), k.Backend, k.Tenant, k.Label,
			k.Created.UnixNano(), int64(k.RotateAfter), k.UsageLimit); err != nil {
			return err
		}
		return putVersions(ctx, tx, k)
	})
}

// Get implements [keys.Store].
func (s *Store) Get(ctx context.Context, id string) (*keys.Key, error) {
	var k *keys.Key
	err := s.view(ctx, func(tx *sql.Tx) error {
		var err error
		k, err = get(ctx, tx, id)
		return err
	})
	return k, err
}

// List implements [keys.Store].
func (s *Store) List(ctx context.Context, tenant string) ([]*keys.Key, error) {
	var out []*keys.Key
	err := s.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT id FROM keys WHERE ? = '*' OR tenant = ? ORDER BY id", tenant, tenant)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, id := range ids {
			k, err := get(ctx, tx, id)
			if err != nil {
				return err
			}
			out = append(out, k)
		}
		return nil
	})
	return out, err
}

// Update implements [keys.Store] in one IMMEDIATE transaction.
func (s *Store) Update(ctx context.Context, id string, fn func(*keys.Key) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		k, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		before := len(k.Versions)
		if err := fn(k); err != nil {
			return err
		}
		if len(k.Versions) < before {
			return fmt.Errorf("keys/sqlite: update of %s removed versions", id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE keys SET purpose = ?, algorithm = ?, backend = ?,
			tenant = ?, label = ?, created_ns = ?, rotate_after = ?, usage_limit = ? WHERE id = ?`,
			string(k.Purpose), string(k.Algorithm), k.Backend, k.Tenant, k.Label,
			k.Created.UnixNano(), int64(k.RotateAfter), k.UsageLimit, id); err != nil {
			return err
		}
		k.ID = id
		return putVersions(ctx, tx, k)
	})
}

// tx runs fn in a transaction and commits if it returns nil. Errors that
// are not the store's own sentinels get the package prefix.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.pool.Tx(ctx, fn)
}

// view runs fn in a read-only transaction on the read pool: one snapshot.
func (s *Store) view(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.pool.View(ctx, fn)
}

func get(ctx context.Context, tx *sql.Tx, id string) (*keys.Key, error) {
	k := &keys.Key{ID: id}
	var (
		purpose, alg    string
		created, rotate int64
	)
	err := tx.QueryRowContext(ctx, `SELECT purpose, algorithm, backend, tenant, label, created_ns, rotate_after, usage_limit
		FROM keys WHERE id = ?`, id).Scan(&purpose, &alg, &k.Backend, &k.Tenant, &k.Label, &created, &rotate, &k.UsageLimit)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", keys.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("keys/sqlite: get %s: %w", id, err)
	}
	k.Purpose, k.Algorithm = keys.Purpose(purpose), keys.Algorithm(alg)
	k.Created, k.RotateAfter = fromNanos(sql.NullInt64{Int64: created, Valid: true}), time.Duration(rotate)
	rows, err := tx.QueryContext(ctx, `SELECT number, handle, public_key, state, created_ns, usage,
		revoked_ns, reason, compromise_ns, destroyed_ns FROM key_versions WHERE key_id = ? ORDER BY number`, id)
	if err != nil {
		return nil, fmt.Errorf("keys/sqlite: get %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			v                              keys.Version
			pub                            []byte
			state                          string
			vcreated                       int64
			revoked, compromise, destroyed sql.NullInt64
			reason                         sql.NullInt64
		)
		if err := rows.Scan(&v.Number, &v.Handle, &pub, &state, &vcreated, &v.Usage, &revoked, &reason, &compromise, &destroyed); err != nil {
			return nil, fmt.Errorf("keys/sqlite: get %s: %w", id, err)
		}
		v.State = keys.State(state)
		v.Created = fromNanos(sql.NullInt64{Int64: vcreated, Valid: true})
		v.Destroyed = fromNanos(destroyed)
		if pub != nil {
			if v.Public, err = x509.ParsePKIXPublicKey(pub); err != nil {
				return nil, fmt.Errorf("keys/sqlite: %s/v%d public key: %w", id, v.Number, err)
			}
		}
		if revoked.Valid {
			v.Revocation = &keys.Revocation{
				Reason:         keys.RevocationReason(reason.Int64),
				Time:           fromNanos(revoked),
				CompromiseTime: fromNanos(compromise),
			}
		}
		k.Versions = append(k.Versions, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keys/sqlite: get %s: %w", id, err)
	}
	return k, nil
}

func putVersions(ctx context.Context, tx *sql.Tx, k *keys.Key) error {
	for _, v := range k.Versions {
		var pub []byte
		if v.Public != nil {
			var err error
			if pub, err = x509.MarshalPKIXPublicKey(v.Public); err != nil {
				return fmt.Errorf("keys/sqlite: %s/v%d public key: %w", k.ID, v.Number, err)
			}
		}
		var revoked, reason, compromise sql.NullInt64
		if r := v.Revocation; r != nil {
			revoked = toNanos(r.Time)
			reason = sql.NullInt64{Int64: int64(r.Reason), Valid: true}
			compromise = toNanos(r.CompromiseTime)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO key_versions
			(key_id, number, handle, public_key, state, created_ns, usage, revoked_ns, reason, compromise_ns, destroyed_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (key_id, number) DO UPDATE SET handle = excluded.handle, public_key = excluded.public_key,
			state = excluded.state, created_ns = excluded.created_ns, usage = excluded.usage,
			revoked_ns = excluded.revoked_ns, reason = excluded.reason, compromise_ns = excluded.compromise_ns,
			destroyed_ns = excluded.destroyed_ns`,
			k.ID, v.Number, v.Handle, pub, string(v.State), v.Created.UnixNano(), v.Usage,
			revoked, reason, compromise, toNanos(v.Destroyed))
		if err != nil {
			return fmt.Errorf("keys/sqlite: store %s/v%d: %w", k.ID, v.Number, err)
		}
	}
	return nil
}

func toNanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
