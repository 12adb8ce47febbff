package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/keys/soft"
)

// Vault is a [soft.Vault] in the table soft_keys: one row per sealed key
// version (and one for the master key's check value, under
// [soft.CheckHandle]), holding exactly the bytes the key directory's file
// would. Rows are inserted, never updated, so a handle is never given
// other bytes; Delete removes the row (its old tuple lingers, sealed, until
// PostgreSQL vacuums it, as a file's blocks may on a copy-on-write file
// system). Its methods are safe for concurrent use, from any number of
// processes.
type Vault struct {
	pool *pgxpool.Pool
}

var _ soft.Vault = (*Vault)(nil)

// NewVault applies [Migrations] to the database behind pool (see
// [pgdb.Migrate]: several nodes may start at once) and returns a vault
// that uses pool. The caller keeps pool and closes it.
func NewVault(ctx context.Context, pool *pgxpool.Pool) (*Vault, error) {
	if err := migrate(ctx, pool); err != nil {
		return nil, err
	}
	return &Vault{pool: pool}, nil
}

// String names the vault in messages (never the connection URL).
func (v *Vault) String() string { return "PostgreSQL table soft_keys" }

// Put implements [soft.Vault]: an INSERT, which the primary key refuses
// for a handle already stored ([fs.ErrExist]). Blobs larger than
// [soft.MaxSealedSize] are refused.
func (v *Vault) Put(ctx context.Context, handle string, sealed []byte) error {
	if len(sealed) > soft.MaxSealedSize {
		return fmt.Errorf("keys/postgres: sealed key of %d bytes, more than %d", len(sealed), soft.MaxSealedSize)
	}
	_, err := v.pool.Exec(ctx, `INSERT INTO soft_keys (handle, sealed) VALUES ($1, $2)`, handle, sealed)
	if pgdb.IsUniqueViolation(err) {
		return fmt.Errorf("keys/postgres: sealed key %s: %w", handle, fs.ErrExist)
	}
	if err != nil {
		return fmt.Errorf("keys/postgres: store sealed key %s: %w", handle, err)
	}
	return nil
}

// Get implements [soft.Vault].
func (v *Vault) Get(ctx context.Context, handle string) ([]byte, error) {
	var b []byte
	err := v.pool.QueryRow(ctx, `SELECT sealed FROM soft_keys WHERE handle = $1`, handle).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("keys/postgres: sealed key %s: %w", handle, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("keys/postgres: read sealed key %s: %w", handle, err)
	}
	return b, nil
}

// Delete implements [soft.Vault].
func (v *Vault) Delete(ctx context.Context, handle string) error {
	tag, err := v.pool.Exec(ctx, `DELETE FROM soft_keys WHERE handle = $1`, handle)
	if err != nil {
		return fmt.Errorf("keys/postgres: delete sealed key %s: %w", handle, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("keys/postgres: sealed key %s: %w", handle, fs.ErrNotExist)
	}
	return nil
}

// Empty implements [soft.Vault].
func (v *Vault) Empty(ctx context.Context) (bool, error) {
	var found bool
	if err := v.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM soft_keys)`).Scan(&found); err != nil {
		return false, fmt.Errorf("keys/postgres: sealed keys: %w", err)
	}
	return !found, nil
}
