// Package postgres is a [pki.Store] in PostgreSQL (pgx v5, through
// internal/pgdb): which key of the key manager serves each role of the
// internal PKI, and the role's current certificate, in the table
// server_pki_roles, as pki/sqlite keeps them in the service database.
//
// The table and its columns are pki/sqlite's, so that a SQLite database
// can be copied table by table: role, tenant, key_id, purpose are text;
// cert (DER) is bytea. It takes the versions 400–499 of the database's
// one schema history ([Migrations]).
//
// Several nodes may use a role for the first time at once: each creates a
// key, one INSERT … ON CONFLICT DO NOTHING records the first, and the
// others discard theirs ([pki.CreateRoleKey]), so every node signs with
// the same key.
package postgres

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
)

// Migrations is the schema history of the PKI roles' table (versions
// 400–499).
var Migrations = []pgdb.Migration{{
	Version: 400,
	Name:    "server pki roles",
	SQL: `CREATE TABLE server_pki_roles (
	role    text PRIMARY KEY,
	tenant  text NOT NULL,
	key_id  text NOT NULL,
	purpose text NOT NULL,
	cert    bytea
);`,
}}

// Store is the [pki.Store] of a service: role keys live in the key
// manager, created on first use with the label "server ROLE"; the role
// table in the database. Its methods are safe for concurrent use, from
// any number of processes.
type Store struct {
	pool *pgxpool.Pool
	keys *keys.Manager
}

var _ pki.Store = (*Store)(nil)

// New applies [Migrations] to the database behind pool (see
// [pgdb.Migrate]: several nodes may start at once) and returns the store
// over it, creating role keys in m. The caller keeps pool and closes it.
func New(ctx context.Context, pool *pgxpool.Pool, m *keys.Manager) (*Store, error) {
	if err := pgdb.Migrate(ctx, pool, Migrations); err != nil {
		return nil, fmt.Errorf("pki/postgres: %w", err)
	}
	return &Store{pool: pool, keys: m}, nil
}

// roleKey returns the key id recorded for role, or "" if none is.
func (s *Store) roleKey(ctx context.Context, role string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT key_id FROM server_pki_roles WHERE role = $1`, role).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// Key implements [pki.Store]. On a role's first use the key is created
// ([pki.CreateRoleKey]) and recorded unless another node recorded one
// meanwhile, whose key is then the role's.
func (s *Store) Key(ctx context.Context, r pki.Role) (crypto.Signer, ca.KeyRef, error) {
	keyID, err := s.roleKey(ctx, r.Name)
	if err != nil {
		return nil, ca.KeyRef{}, fmt.Errorf("pki/postgres: role %s: %w", r.Name, err)
	}
	if keyID == "" {
		keyID, err = pki.CreateRoleKey(ctx, s.keys, r, func(id string) (string, error) {
			if _, err := s.pool.Exec(ctx, `INSERT INTO server_pki_roles (role, tenant, key_id, purpose) VALUES ($1, $2, $3, $4)
				ON CONFLICT (role) DO NOTHING`, r.Name, r.Tenant, id, string(r.Purpose)); err != nil {
				return "", err
			}
			got, err := s.roleKey(ctx, r.Name)
			if err == nil && got == "" {
				err = errors.New("role row vanished")
			}
			return got, err
		})
		if err != nil {
			return nil, ca.KeyRef{}, fmt.Errorf("pki/postgres: key for %s: %w", r.Name, err)
		}
	}
	signer, ref, err := s.keys.Signer(ctx, keyID, r.Purpose, r.SignerOptions()...)
	if err != nil {
		return nil, ca.KeyRef{}, fmt.Errorf("pki/postgres: key for %s: %w", r.Name, err)
	}
	return signer, ca.KeyRef{ID: ref.KeyID, Version: strconv.Itoa(ref.Version)}, nil
}

// Certificate implements [pki.Store].
func (s *Store) Certificate(ctx context.Context, role string) (*x509.Certificate, error) {
	var der []byte
	err := s.pool.QueryRow(ctx, `SELECT cert FROM server_pki_roles WHERE role = $1`, role).Scan(&der)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && len(der) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pki/postgres: role %s: %w", role, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki/postgres: certificate of %s: %w", role, err)
	}
	return c, nil
}

// SetCertificate implements [pki.Store].
func (s *Store) SetCertificate(ctx context.Context, role string, old, c *x509.Certificate) error {
	var oldDER []byte
	if old != nil {
		oldDER = old.Raw
	}
	tag, err := s.pool.Exec(ctx, `UPDATE server_pki_roles SET cert = $1
	WHERE role = $2 AND coalesce(cert, ''::bytea) = coalesce($3::bytea, ''::bytea)`, c.Raw, role, oldDER)
	if err != nil {
		return fmt.Errorf("pki/postgres: store certificate of %s: %w", role, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1 FROM server_pki_roles WHERE role = $1`, role).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pki/postgres: store certificate of %s: the role has no key", role)
	} else if err != nil {
		return fmt.Errorf("pki/postgres: store certificate of %s: %w", role, err)
	}
	return fmt.Errorf("pki/postgres: store certificate of %s: %w", role, pki.ErrCertificateChanged)
}
