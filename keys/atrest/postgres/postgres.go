// Package postgres is the [atrest.Store] in PostgreSQL (pgx v5, through
// internal/pgdb), so that every node of a cluster uses the same data keys
// and the same tenant keys.
//
// # Tables
//
// The tables and columns are keys/atrest/sqlite's, so that a SQLite
// database can be copied table by table; the types map as follows:
//
//	atrest_data_keys  tenant, object, kek_id: text (COLLATE "C")
//	                  kek_version: bigint; wrapped: bytea
//	                  created: timestamptz (SQLite: RFC 3339 text)
//	atrest_tenants    tenant, kek_id: text (COLLATE "C")
//	                  created, shredded_at: timestamptz (SQLite: text)
//	                  shredded: boolean (SQLite: 0/1)
//
// The text columns compare byte by byte (the "C" collation), as SQLite's
// do, so that both list data keys in the same order. They take the
// versions 1200–1209 of the database's one schema history ([Migrations]).
//
// # Concurrency
//
// A data key is inserted with INSERT … ON CONFLICT DO NOTHING, so of
// several nodes inserting one object's key one wins and every one reads
// the winner's row. The insert first reads the tenant's registry entry
// under a share lock (SELECT … FOR SHARE; a data key needs an entry),
// which [Store.MarkTenantShredded] must wait for: an insert racing a
// tenant's shredding either commits before the mark (and the shredding
// deletes its row afterwards) or sees the mark and is refused. [Store.UpdateWrapped] compares the stored
// wrapped key in its WHERE clause, which PostgreSQL re-checks on the
// latest row version after waiting for a concurrent update.
//
// # Deleted keys
//
// A deleted data key's row stays in its table's pages as a dead tuple
// until VACUUM reclaims the space (autovacuum does, in time), and in the
// server's write-ahead log until its segments are recycled. A shredded
// object's wrapped key may therefore be read from the server's files for
// a while; it still needs the tenant's key in custody to be of any use,
// and a shredded tenant's key is destroyed.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/keys/atrest"
)

// Migrations is the schema history of the tables of keys at rest
// (versions 1200–1209).
var Migrations = []pgdb.Migration{{
	Version: 1200,
	Name:    "atrest data keys and tenant keys",
	SQL: `
CREATE TABLE atrest_tenants (
	tenant      text COLLATE "C" PRIMARY KEY,
	kek_id      text COLLATE "C" NOT NULL,
	created     timestamptz NOT NULL,
	shredded    boolean NOT NULL,
	shredded_at timestamptz
);
CREATE TABLE atrest_data_keys (
	tenant      text COLLATE "C" NOT NULL,
	object      text COLLATE "C" NOT NULL,
	kek_id      text COLLATE "C" NOT NULL,
	kek_version bigint NOT NULL,
	wrapped     bytea NOT NULL,
	created     timestamptz NOT NULL,
	PRIMARY KEY (tenant, object)
);`,
}}

// Store is the [atrest.Store] over one PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
}

var _ atrest.Store = (*Store)(nil)

// New applies [Migrations] to the database behind pool and returns the
// store. The caller owns the pool.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if pool == nil {
		return nil, errors.New("keys/atrest/postgres: no database")
	}
	if err := pgdb.Migrate(ctx, pool, Migrations); err != nil {
		return nil, fmt.Errorf("keys/atrest/postgres: %w", err)
	}
	return &Store{pool: pool}, nil
}

func wrapErr(what string, err error) error {
	return fmt.Errorf("keys/atrest/postgres: %s: %w", what, err)
}

const keyColumns = `tenant, object, kek_id, kek_version, wrapped, created`

func scanKey(row pgx.Row) (atrest.DataKey, error) {
	var k atrest.DataKey
	var v int64
	if err := row.Scan(&k.Tenant, &k.Object, &k.KEKID, &v, &k.Wrapped, &k.Created); err != nil {
		return k, err
	}
	k.KEKVersion = int(v)
	return k, nil
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func getKey(ctx context.Context, q querier, tenant, object string) (atrest.DataKey, error) {
	k, err := scanKey(q.QueryRow(ctx, `SELECT `+keyColumns+` FROM atrest_data_keys WHERE tenant = $1 AND object = $2`, tenant, object))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, atrest.ErrNoKey
	}
	return k, err
}

// InsertDataKey implements [atrest.Store].
func (s *Store) InsertDataKey(ctx context.Context, k atrest.DataKey) (atrest.DataKey, bool, error) {
	var stored atrest.DataKey
	var inserted bool
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		var shredded bool
		err := tx.QueryRow(ctx, `SELECT shredded FROM atrest_tenants WHERE tenant = $1 FOR SHARE`, k.Tenant).Scan(&shredded)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return atrest.ErrNoTenantKEK
		case err != nil:
			return err
		case shredded:
			return atrest.ErrTenantShredded
		}
		tag, err := tx.Exec(ctx, `INSERT INTO atrest_data_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (tenant, object) DO NOTHING`, k.Tenant, k.Object, k.KEKID, int64(k.KEKVersion), k.Wrapped, k.Created)
		if err != nil {
			return err
		}
		inserted = tag.RowsAffected() == 1
		stored, err = getKey(ctx, tx, k.Tenant, k.Object)
		return err
	})
	if err != nil {
		return atrest.DataKey{}, false, wrapErr("insert data key", err)
	}
	return stored, inserted, nil
}

// DataKey implements [atrest.Store].
func (s *Store) DataKey(ctx context.Context, tenant, object string) (atrest.DataKey, error) {
	k, err := getKey(ctx, s.pool, tenant, object)
	if err != nil {
		return k, wrapErr("data key", err)
	}
	return k, nil
}

// DeleteDataKey implements [atrest.Store].
func (s *Store) DeleteDataKey(ctx context.Context, tenant, object string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM atrest_data_keys WHERE tenant = $1 AND object = $2`, tenant, object)
	if err != nil {
		return false, wrapErr("delete data key", err)
	}
	return tag.RowsAffected() == 1, nil
}

// DeleteTenantDataKeys implements [atrest.Store].
func (s *Store) DeleteTenantDataKeys(ctx context.Context, tenant string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM atrest_data_keys WHERE tenant = $1`, tenant)
	if err != nil {
		return 0, wrapErr("delete data keys", err)
	}
	return tag.RowsAffected(), nil
}

// ListDataKeys implements [atrest.Store].
func (s *Store) ListDataKeys(ctx context.Context, tenant string, after atrest.Cursor, limit int) ([]atrest.DataKey, error) {
	if err := atrest.CheckPage(limit); err != nil {
		return nil, err
	}
	q := `SELECT ` + keyColumns + ` FROM atrest_data_keys WHERE (tenant, object) > ($1, $2)`
	args := []any{after.Tenant, after.Object}
	if tenant != "" {
		q += ` AND tenant = $4`
		args = append(args, limit, tenant)
	} else {
		args = append(args, limit)
	}
	q += ` ORDER BY tenant, object LIMIT $3`
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list data keys", err)
	}
	defer rows.Close()
	out := []atrest.DataKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, wrapErr("list data keys", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list data keys", err)
	}
	return out, nil
}

// UpdateWrapped implements [atrest.Store].
func (s *Store) UpdateWrapped(ctx context.Context, old atrest.DataKey, wrapped []byte, kekVersion int) error {
	tag, err := s.pool.Exec(ctx, `UPDATE atrest_data_keys SET wrapped = $1, kek_version = $2
		WHERE tenant = $3 AND object = $4 AND wrapped = $5`, wrapped, int64(kekVersion), old.Tenant, old.Object, old.Wrapped)
	if err != nil {
		return wrapErr("update data key", err)
	}
	if tag.RowsAffected() != 1 {
		return wrapErr("update data key", atrest.ErrConflict)
	}
	return nil
}

const tenantColumns = `tenant, kek_id, created, shredded, shredded_at`

func scanTenant(row pgx.Row) (atrest.TenantKEK, error) {
	var e atrest.TenantKEK
	var at *time.Time
	if err := row.Scan(&e.Tenant, &e.KEKID, &e.Created, &e.Shredded, &at); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return e, atrest.ErrNoTenantKEK
		}
		return e, err
	}
	if at != nil {
		e.ShreddedAt = *at
	}
	return e, nil
}

// TenantKEK implements [atrest.Store].
func (s *Store) TenantKEK(ctx context.Context, tenant string) (atrest.TenantKEK, error) {
	e, err := scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantColumns+` FROM atrest_tenants WHERE tenant = $1`, tenant))
	if err != nil {
		return e, wrapErr("tenant key", err)
	}
	return e, nil
}

// InsertTenantKEK implements [atrest.Store].
func (s *Store) InsertTenantKEK(ctx context.Context, e atrest.TenantKEK) (atrest.TenantKEK, bool, error) {
	var stored atrest.TenantKEK
	var inserted bool
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO atrest_tenants (tenant, kek_id, created, shredded) VALUES ($1, $2, $3, false)
			ON CONFLICT (tenant) DO NOTHING`, e.Tenant, e.KEKID, e.Created)
		if err != nil {
			return err
		}
		inserted = tag.RowsAffected() == 1
		stored, err = scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM atrest_tenants WHERE tenant = $1`, e.Tenant))
		return err
	})
	if err != nil {
		return atrest.TenantKEK{}, false, wrapErr("register tenant key", err)
	}
	return stored, inserted, nil
}

// MarkTenantShredded implements [atrest.Store].
func (s *Store) MarkTenantShredded(ctx context.Context, tenant string, at time.Time) (atrest.TenantKEK, error) {
	e, err := scanTenant(s.pool.QueryRow(ctx, `INSERT INTO atrest_tenants (tenant, kek_id, created, shredded, shredded_at)
		VALUES ($1, '', $2, true, $2)
		ON CONFLICT (tenant) DO UPDATE SET shredded = true, shredded_at = coalesce(atrest_tenants.shredded_at, excluded.shredded_at)
		RETURNING `+tenantColumns, tenant, at))
	if err != nil {
		return e, wrapErr("mark tenant shredded", err)
	}
	return e, nil
}
