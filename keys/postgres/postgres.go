// Package postgres keeps Signet's key metadata ([keys.Store]) and the
// sealed software key versions of keys/soft ([Vault], a [soft.Vault]) in
// PostgreSQL (pgx v5, through internal/pgdb), so that every node of a
// cluster serves the same keys.
//
// It holds what keys/sqlite and the soft backend's key directory hold,
// nothing more: ids, purposes, states, handles and public keys, and each
// key version sealed (AES-256-GCM under the master key, the handle as
// additional data) exactly as the directory's files are. The master key
// never enters the database.
//
// # Tables
//
// The tables and columns are keys/sqlite's, so that a SQLite database can
// be copied table by table; the types map as follows:
//
//	keys          id, purpose, algorithm, backend, tenant, label: text
//	              created_ns, rotate_after, usage_limit: bigint (Unix ns, ns)
//	key_versions  key_id, handle, state: text; public_key: bytea (PKIX DER)
//	              number, usage, reason: bigint
//	              created_ns, revoked_ns, compromise_ns, destroyed_ns: bigint (Unix ns)
//	soft_keys     handle: text; sealed: bytea (the bytes of DIR/<handle>.key,
//	              or of DIR/master.check for the handle "master.check")
//
// They take the versions 600–699 of the database's one schema history
// ([Migrations]).
//
// # Concurrency
//
// [Store.Update] runs in one READ COMMITTED transaction that first locks
// the key's row (SELECT … FOR UPDATE), so Updates of one key from any
// number of nodes are serialized and none is lost. [Store.Create] relies
// on the primary key: of two nodes creating the same id, one gets
// [keys.ErrExists]. A sealed key is inserted, never replaced (the primary
// key refuses a second row for a handle).
package postgres

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/keys"
)

// Migrations is the schema history of the key tables (versions 600–699):
// the key metadata of keys/sqlite and the sealed software keys.
var Migrations = []pgdb.Migration{{
	Version: 600,
	Name:    "key metadata and sealed software keys",
	SQL: `
CREATE TABLE keys (
	id           text   PRIMARY KEY,
	purpose      text   NOT NULL,
	algorithm    text   NOT NULL,
	backend      text   NOT NULL,
	tenant       text   NOT NULL,
	label        text   NOT NULL,
	created_ns   bigint NOT NULL,
	rotate_after bigint NOT NULL,
	usage_limit  bigint NOT NULL
);
CREATE INDEX keys_tenant ON keys (tenant, id);
CREATE TABLE key_versions (
	key_id         text   NOT NULL REFERENCES keys (id),
	number         bigint NOT NULL,
	handle         text   NOT NULL,
	public_key     bytea,
	state          text   NOT NULL,
	created_ns     bigint NOT NULL,
	usage          bigint NOT NULL,
	revoked_ns     bigint,
	reason         bigint,
	compromise_ns  bigint,
	destroyed_ns   bigint,
	PRIMARY KEY (key_id, number)
);
CREATE TABLE soft_keys (
	handle text  PRIMARY KEY,
	sealed bytea NOT NULL
);`,
}}

// Store is a [keys.Store] in a PostgreSQL database. Its methods are safe
// for concurrent use, from any number of processes.
type Store struct {
	pool *pgxpool.Pool
}

var _ keys.Store = (*Store)(nil)

// New applies [Migrations] to the database behind pool (see
// [pgdb.Migrate]: several nodes may start at once) and returns a store
// that uses pool. The caller keeps pool and closes it.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := migrate(ctx, pool); err != nil {
		return nil, err
	}
	return &Store{pool: pool}, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := pgdb.Migrate(ctx, pool, Migrations); err != nil {
		return fmt.Errorf("keys/postgres: %w", err)
	}
	return nil
}

// Create implements [keys.Store].
func (s *Store) Create(ctx context.Context, k *keys.Key) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO keys
			(id, purpose, algorithm, backend, tenant, label, created_ns, rotate_after, usage_limit)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			k.ID, string(k.Purpose), string(k.Algorithm), k.Backend, k.Tenant, k.Label,
			k.Created.UnixNano(), int64(k.RotateAfter), k.UsageLimit); err != nil {
			if pgdb.IsUniqueViolation(err) {
				return fmt.Errorf("%w: %s", keys.ErrExists, k.ID)
			}
			return fmt.Errorf("create %s: %w", k.ID, err)
		}
		return putVersions(ctx, tx, k)
	})
	return wrap(err)
}

// Get implements [keys.Store]: the key and its versions are read in one
// snapshot, in one round trip.
func (s *Store) Get(ctx context.Context, id string) (*keys.Key, error) {
	b := &pgx.Batch{}
	k := queueGet(b, id, false)
	if err := pgdb.Snapshot(ctx, s.pool, b); err != nil {
		return nil, wrap(err)
	}
	return *k, nil
}

// List implements [keys.Store]: one snapshot (REPEATABLE READ) of the
// tenant's keys and their versions.
func (s *Store) List(ctx context.Context, tenant string) ([]*keys.Key, error) {
	var out []*keys.Key
	err := s.view(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM keys WHERE $1 = '*' OR tenant = $1 ORDER BY id`, tenant)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range ids {
			k, err := get(ctx, tx, id, false)
			if err != nil {
				return err
			}
			out = append(out, k)
		}
		return nil
	})
	return out, wrap(err)
}

// Update implements [keys.Store]: the key's row is locked (FOR UPDATE)
// for the whole transaction, so concurrent Updates of one key, from this
// process or another node, run one after the other, each on the state the
// previous one committed.
func (s *Store) Update(ctx context.Context, id string, fn func(*keys.Key) error) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		k, err := get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		before := len(k.Versions)
		if err := fn(k); err != nil {
			return callerError{err}
		}
		if len(k.Versions) < before {
			return fmt.Errorf("update of %s removed versions", id)
		}
		if _, err := tx.Exec(ctx, `UPDATE keys SET purpose = $1, algorithm = $2, backend = $3,
			tenant = $4, label = $5, created_ns = $6, rotate_after = $7, usage_limit = $8 WHERE id = $9`,
			string(k.Purpose), string(k.Algorithm), k.Backend, k.Tenant, k.Label,
			k.Created.UnixNano(), int64(k.RotateAfter), k.UsageLimit, id); err != nil {
			return fmt.Errorf("update %s: %w", id, err)
		}
		k.ID = id
		return putVersions(ctx, tx, k)
	})
	var ce callerError
	if errors.As(err, &ce) {
		return ce.err
	}
	return wrap(err)
}

// callerError carries the error of Update's fn through the transaction
// unchanged.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }
func (e callerError) Unwrap() error { return e.err }

// view runs fn in a read-only REPEATABLE READ transaction: one snapshot.
func (s *Store) view(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// wrap prefixes errors with the package path, except the store's
// sentinels, which callers match as they are.
func wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keys.ErrNotFound), errors.Is(err, keys.ErrExists):
		return err
	}
	return fmt.Errorf("keys/postgres: %w", err)
}

// get reads key id and its versions in tx; lock takes the key's row
// lock. The two reads travel in one batch.
func get(ctx context.Context, tx pgx.Tx, id string, lock bool) (*keys.Key, error) {
	b := &pgx.Batch{}
	k := queueGet(b, id, lock)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return *k, nil
}

// queueGet queues on b the reads of key id and its versions; lock takes
// the key's row lock. Once b's results are closed without error, the
// returned pointer holds the key.
func queueGet(b *pgx.Batch, id string, lock bool) **keys.Key {
	q := `SELECT purpose, algorithm, backend, tenant, label, created_ns, rotate_after, usage_limit
		FROM keys WHERE id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	k := &keys.Key{ID: id}
	out := new(*keys.Key)
	b.Queue(q, id).QueryRow(func(row pgx.Row) error {
		var (
			purpose, alg    string
			created, rotate int64
		)
		err := row.Scan(&purpose, &alg, &k.Backend, &k.Tenant, &k.Label, &created, &rotate, &k.UsageLimit)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s", keys.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("get %s: %w", id, err)
		}
		k.Purpose, k.Algorithm = keys.Purpose(purpose), keys.Algorithm(alg)
		k.Created, k.RotateAfter = fromNanos(&created), time.Duration(rotate)
		return nil
	})
	b.Queue(`SELECT number, handle, public_key, state, created_ns, usage,
		revoked_ns, reason, compromise_ns, destroyed_ns FROM key_versions WHERE key_id = $1 ORDER BY number`, id).
		Query(func(rows pgx.Rows) error {
			var err error
			for rows.Next() {
				var (
					v                              keys.Version
					number                         int64
					pub                            []byte
					state                          string
					vcreated                       int64
					revoked, compromise, destroyed *int64
					reason                         *int64
				)
				if err := rows.Scan(&number, &v.Handle, &pub, &state, &vcreated, &v.Usage, &revoked, &reason, &compromise, &destroyed); err != nil {
					return fmt.Errorf("get %s: %w", id, err)
				}
				v.Number = int(number)
				v.State = keys.State(state)
				v.Created = fromNanos(&vcreated)
				v.Destroyed = fromNanos(destroyed)
				if pub != nil {
					if v.Public, err = x509.ParsePKIXPublicKey(pub); err != nil {
						return fmt.Errorf("%s/v%d public key: %w", id, v.Number, err)
					}
				}
				if revoked != nil {
					r := &keys.Revocation{Time: fromNanos(revoked), CompromiseTime: fromNanos(compromise)}
					if reason != nil {
						r.Reason = keys.RevocationReason(*reason)
					}
					v.Revocation = r
				}
				k.Versions = append(k.Versions, v)
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("get %s: %w", id, err)
			}
			*out = k
			return nil
		})
	return out
}

func putVersions(ctx context.Context, tx pgx.Tx, k *keys.Key) error {
	for _, v := range k.Versions {
		var pub []byte
		if v.Public != nil {
			var err error
			if pub, err = x509.MarshalPKIXPublicKey(v.Public); err != nil {
				return fmt.Errorf("%s/v%d public key: %w", k.ID, v.Number, err)
			}
		}
		var revoked, reason, compromise *int64
		if r := v.Revocation; r != nil {
			revoked = toNanos(r.Time)
			n := int64(r.Reason)
			reason = &n
			compromise = toNanos(r.CompromiseTime)
		}
		_, err := tx.Exec(ctx, `INSERT INTO key_versions
			(key_id, number, handle, public_key, state, created_ns, usage, revoked_ns, reason, compromise_ns, destroyed_ns)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (key_id, number) DO UPDATE SET handle = excluded.handle, public_key = excluded.public_key,
			state = excluded.state, created_ns = excluded.created_ns, usage = excluded.usage,
			revoked_ns = excluded.revoked_ns, reason = excluded.reason, compromise_ns = excluded.compromise_ns,
			destroyed_ns = excluded.destroyed_ns`,
			k.ID, int64(v.Number), v.Handle, pub, string(v.State), v.Created.UnixNano(), v.Usage,
			revoked, reason, compromise, toNanos(v.Destroyed))
		if err != nil {
			return fmt.Errorf("store %s/v%d: %w", k.ID, v.Number, err)
		}
	}
	return nil
}

// toNanos returns t in Unix nanoseconds, or nil (NULL) for the zero time.
func toNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// fromNanos reverses toNanos.
func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}
