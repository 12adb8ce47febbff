// Package sqlite is a [pki.Store] in SQLite: which key of the key manager
// serves each role of the internal PKI, and the role's current
// certificate, in the table server_pki_roles of the service database
// (signet.db), beside the service's other tables. Its migration keeps the
// version and name it was released with (400, "server pki roles"), so
// databases created by earlier versions open unchanged.
package sqlite

import (
	"context"
	"crypto"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
)

// Migrations are the PKI roles' tables in the service database (versions
// 400–499).
var Migrations = []sqldb.Migration{{
	Version: 400,
	Name:    "server pki roles",
	SQL: `CREATE TABLE server_pki_roles (
	role    TEXT PRIMARY KEY,
	tenant  TEXT NOT NULL,
	key_id  TEXT NOT NULL,
	purpose TEXT NOT NULL,
	cert    BLOB
) STRICT;`,
}}

// Store is the [pki.Store] of a service: role keys live in the key
// manager, created on first use with the label "server ROLE"; the role
// table in the database. Its methods are safe for concurrent use.
type Store struct {
	db   *sql.DB
	keys *keys.Manager
}

var _ pki.Store = (*Store)(nil)

// New applies [Migrations] to the database of p and returns the store
// over it, creating role keys in m.
func New(ctx context.Context, p *sqldb.Pool, m *keys.Manager) (*Store, error) {
	if err := sqldb.Migrate(ctx, p.Writer(), Migrations); err != nil {
		return nil, fmt.Errorf("pki/sqlite: %w", err)
	}
	return &Store{db: p.Writer(), keys: m}, nil
}

// Key implements [pki.Store]. On a role's first use the key is created
// ([pki.CreateRoleKey]) and recorded unless another caller recorded one
// meanwhile, whose key is then the role's.
func (s *Store) Key(ctx context.Context, r pki.Role) (crypto.Signer, ca.KeyRef, error) {
	var keyID string
	err := s.db.QueryRowContext(ctx, `SELECT key_id FROM server_pki_roles WHERE role = ?`, r.Name).Scan(&keyID)
	if errors.Is(err, sql.ErrNoRows) {
		keyID, err = pki.CreateRoleKey(ctx, s.keys, r, func(id string) (string, error) {
			var got string
			_, err := s.db.ExecContext(ctx, `INSERT INTO server_pki_roles (role, tenant, key_id, purpose) VALUES (?, ?, ?, ?)
				ON CONFLICT (role) DO NOTHING`, r.Name, r.Tenant, id, string(r.Purpose))
			if err == nil {
				err = s.db.QueryRowContext(ctx, `SELECT key_id FROM server_pki_roles WHERE role = ?`, r.Name).Scan(&got)
			}
			return got, err
		})
		if err != nil {
			return nil, ca.KeyRef{}, fmt.Errorf("pki/sqlite: key for %s: %w", r.Name, err)
		}
	} else if err != nil {
		return nil, ca.KeyRef{}, fmt.Errorf("pki/sqlite: role %s: %w", r.Name, err)
	}
	signer, ref, err := s.keys.Signer(ctx, keyID, r.Purpose, r.SignerOptions()...)
	if err != nil {
		return nil, ca.KeyRef{}, fmt.Errorf("pki/sqlite: key for %s: %w", r.Name, err)
	}
	return signer, ca.KeyRef{ID: ref.KeyID, Version: strconv.Itoa(ref.Version)}, nil
}

// Certificate implements [pki.Store].
func (s *Store) Certificate(ctx context.Context, role string) (*x509.Certificate, error) {
	var der []byte
	err := s.db.QueryRowContext(ctx, `SELECT cert FROM server_pki_roles WHERE role = ?`, role).Scan(&der)
	if errors.Is(err, sql.ErrNoRows) || err == nil && len(der) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pki/sqlite: role %s: %w", role, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki/sqlite: certificate of %s: %w", role, err)
	}
	return c, nil
}

// SetCertificate implements [pki.Store]: one UPDATE that matches only
// while the stored certificate is old.
func (s *Store) SetCertificate(ctx context.Context, role string, old, c *x509.Certificate) error {
	var oldDER []byte
	if old != nil {
		oldDER = old.Raw
	}
	res, err := s.db.ExecContext(ctx, `UPDATE server_pki_roles SET cert = ?
	WHERE role = ? AND coalesce(cert, x'') = coalesce(?, x'')`, c.Raw, role, oldDER)
	if err != nil {
		return fmt.Errorf("pki/sqlite: store certificate of %s: %w", role, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("pki/sqlite: store certificate of %s: %w", role, err)
	} else if n == 1 {
		return nil
	}
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1 FROM server_pki_roles WHERE role = ?`, role).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("pki/sqlite: store certificate of %s: the role has no key", role)
	} else if err != nil {
		return fmt.Errorf("pki/sqlite: store certificate of %s: %w", role, err)
	}
	return fmt.Errorf("pki/sqlite: store certificate of %s: %w", role, pki.ErrCertificateChanged)
}
