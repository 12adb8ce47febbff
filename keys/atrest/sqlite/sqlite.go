// Package sqlite is the [atrest.Store] of the service database
// (signet.db): the tables atrest_data_keys (one wrapped data key per
// object of a tenant) and atrest_tenants (each tenant's key-encryption
// key in custody, and its shredded mark), versions 1200–1209 of the
// database's history, beside the service's other tables and written
// through its [sqldb.Pool].
//
// A deleted data key is overwritten in the database file: every
// connection runs with secure_delete on (internal/sqldb). Until the next
// checkpoint its page's old image may remain in the write-ahead log.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys/atrest"
)

// Migrations are the tables of keys at rest (versions 1200–1209).
var Migrations = []sqldb.Migration{{
	Version: 1200,
	Name:    "atrest data keys and tenant keys",
	SQL: `CREATE TABLE atrest_tenants (
	tenant      TEXT    PRIMARY KEY,
	kek_id      TEXT    NOT NULL,
	created     TEXT    NOT NULL,
	shredded    INTEGER NOT NULL,
	shredded_at TEXT
) STRICT;
CREATE TABLE atrest_data_keys (
	tenant      TEXT    NOT NULL,
	object      TEXT    NOT NULL,
	kek_id      TEXT    NOT NULL,
	kek_version INTEGER NOT NULL,
	wrapped     BLOB    NOT NULL,
	created     TEXT    NOT NULL,
	PRIMARY KEY (tenant, object)
) STRICT;`,
}}

// Store is the [atrest.Store] over one service database.
type Store struct {
	pool *sqldb.Pool
}

var _ atrest.Store = (*Store)(nil)

// New applies [Migrations] to the database behind p and returns the
// store, which writes through p.
func New(ctx context.Context, p *sqldb.Pool) (*Store, error) {
	if p == nil {
		return nil, errors.New("keys/atrest/sqlite: no database")
	}
	if err := sqldb.Migrate(ctx, p.Writer(), Migrations); err != nil {
		return nil, fmt.Errorf("keys/atrest/sqlite: %w", err)
	}
	return &Store{pool: p}, nil
}

func wrapErr(what string, err error) error {
	return fmt.Errorf("keys/atrest/sqlite: %s: %w", what, err)
}

// queryer is a transaction or a handle.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const keyColumns = `tenant, object, kek_id, kek_version, wrapped, created`

func scanKey(row interface{ Scan(...any) error }) (atrest.DataKey, error) {
	var k atrest.DataKey
	var created string
	if err := row.Scan(&k.Tenant, &k.Object, &k.KEKID, &k.KEKVersion, &k.Wrapped, &created); err != nil {
		return k, err
	}
	t, err := sqldb.ParseTime(created)
	if err != nil {
		return k, err
	}
	k.Created = t
	return k, nil
}

func getKey(ctx context.Context, q queryer, tenant, object string) (atrest.DataKey, error) {
	k, err := scanKey(q.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM atrest_data_keys WHERE tenant = ? AND object = ?`, tenant, object))
	if errors.Is(err, sql.ErrNoRows) {
		return k, atrest.ErrNoKey
	}
	return k, err
}

// InsertDataKey implements [atrest.Store].
func (s *Store) InsertDataKey(ctx context.Context, k atrest.DataKey) (atrest.DataKey, bool, error) {
	var stored atrest.DataKey
	var inserted bool
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		var shredded bool
		err := tx.QueryRowContext(ctx, `SELECT shredded FROM atrest_tenants WHERE tenant = ?`, k.Tenant).Scan(&shredded)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return atrest.ErrNoTenantKEK
		case err != nil:
			return err
		case shredded:
			return atrest.ErrTenantShredded
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO atrest_data_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, object) DO NOTHING`,
			k.Tenant, k.Object, k.KEKID, k.KEKVersion, k.Wrapped, sqldb.FormatTime(k.Created))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		inserted = n == 1
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
	k, err := getKey(ctx, s.pool.Reader(), tenant, object)
	if err != nil {
		return k, wrapErr("data key", err)
	}
	return k, nil
}

// DeleteDataKey implements [atrest.Store].
func (s *Store) DeleteDataKey(ctx context.Context, tenant, object string) (bool, error) {
	res, err := s.pool.Exec(ctx, `DELETE FROM atrest_data_keys WHERE tenant = ? AND object = ?`, tenant, object)
	if err != nil {
		return false, wrapErr("delete data key", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrapErr("delete data key", err)
	}
	return n == 1, nil
}

// DeleteTenantDataKeys implements [atrest.Store].
func (s *Store) DeleteTenantDataKeys(ctx context.Context, tenant string) (int64, error) {
	res, err := s.pool.Exec(ctx, `DELETE FROM atrest_data_keys WHERE tenant = ?`, tenant)
	if err != nil {
		return 0, wrapErr("delete data keys", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrapErr("delete data keys", err)
	}
	return n, nil
}

// ListDataKeys implements [atrest.Store].
func (s *Store) ListDataKeys(ctx context.Context, tenant string, after atrest.Cursor, limit int) ([]atrest.DataKey, error) {
	if err := atrest.CheckPage(limit); err != nil {
		return nil, err
	}
	// TEXT compares byte by byte (BINARY collation): the cursor order.
	q := `SELECT ` + keyColumns + ` FROM atrest_data_keys WHERE (tenant, object) > (?, ?)`
	args := []any{after.Tenant, after.Object}
	if tenant != "" {
		q += ` AND tenant = ?`
		args = append(args, tenant)
	}
	q += ` ORDER BY tenant, object LIMIT ?`
	rows, err := s.pool.Reader().QueryContext(ctx, q, append(args, limit)...)
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
	res, err := s.pool.Exec(ctx, `UPDATE atrest_data_keys SET wrapped = ?, kek_version = ?
		WHERE tenant = ? AND object = ? AND wrapped = ?`, wrapped, kekVersion, old.Tenant, old.Object, old.Wrapped)
	if err != nil {
		return wrapErr("update data key", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr("update data key", err)
	}
	if n != 1 {
		return wrapErr("update data key", atrest.ErrConflict)
	}
	return nil
}

func scanTenant(row *sql.Row) (atrest.TenantKEK, error) {
	var e atrest.TenantKEK
	var created string
	var shreddedAt sql.NullString
	if err := row.Scan(&e.Tenant, &e.KEKID, &created, &e.Shredded, &shreddedAt); err != nil {
		return e, err
	}
	var err error
	if e.Created, err = sqldb.ParseTime(created); err != nil {
		return e, err
	}
	if shreddedAt.Valid {
		if e.ShreddedAt, err = sqldb.ParseTime(shreddedAt.String); err != nil {
			return e, err
		}
	}
	return e, nil
}

func getTenant(ctx context.Context, q queryer, tenant string) (atrest.TenantKEK, error) {
	e, err := scanTenant(q.QueryRowContext(ctx, `SELECT tenant, kek_id, created, shredded, shredded_at FROM atrest_tenants WHERE tenant = ?`, tenant))
	if errors.Is(err, sql.ErrNoRows) {
		return e, atrest.ErrNoTenantKEK
	}
	return e, err
}

// TenantKEK implements [atrest.Store].
func (s *Store) TenantKEK(ctx context.Context, tenant string) (atrest.TenantKEK, error) {
	e, err := getTenant(ctx, s.pool.Reader(), tenant)
	if err != nil {
		return e, wrapErr("tenant key", err)
	}
	return e, nil
}

// InsertTenantKEK implements [atrest.Store].
func (s *Store) InsertTenantKEK(ctx context.Context, e atrest.TenantKEK) (atrest.TenantKEK, bool, error) {
	var stored atrest.TenantKEK
	var inserted bool
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO atrest_tenants (tenant, kek_id, created, shredded) VALUES (?, ?, ?, 0)
			ON CONFLICT (tenant) DO NOTHING`, e.Tenant, e.KEKID, sqldb.FormatTime(e.Created))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		inserted = n == 1
		stored, err = getTenant(ctx, tx, e.Tenant)
		return err
	})
	if err != nil {
		return atrest.TenantKEK{}, false, wrapErr("register tenant key", err)
	}
	return stored, inserted, nil
}

// MarkTenantShredded implements [atrest.Store].
func (s *Store) MarkTenantShredded(ctx context.Context, tenant string, at time.Time) (atrest.TenantKEK, error) {
	var stored atrest.TenantKEK
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		ts := sqldb.FormatTime(at)
		if _, err := tx.ExecContext(ctx, `INSERT INTO atrest_tenants (tenant, kek_id, created, shredded, shredded_at) VALUES (?, '', ?, 1, ?)
			ON CONFLICT (tenant) DO UPDATE SET shredded = 1, shredded_at = coalesce(atrest_tenants.shredded_at, excluded.shredded_at)`,
			tenant, ts, ts); err != nil {
			return err
		}
		var err error
		stored, err = getTenant(ctx, tx, tenant)
		return err
	})
	if err != nil {
		return atrest.TenantKEK{}, wrapErr("mark tenant shredded", err)
	}
	return stored, nil
}
