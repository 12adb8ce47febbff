// Package sqlite keeps the workflow's documents and envelopes
// ([workflow.DocumentStore], [workflow.EnvelopeStore]) in the service's
// SQLite database (modernc.org/sqlite, pure Go), by default DIR/signet.db.
//
// Every method runs in one transaction; an envelope, its documents, its
// recipients and the transition explaining a state change are written
// together or not at all. The schema is versioned with auditlog/sqlite's
// migrations (versions 200–299, tables prefixed workflow_).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/internal/workflow"
)

// Store implements the workflow repositories on a SQLite database.
type Store struct {
	pool *sqldb.Pool
}

var (
	_ workflow.DocumentStore = (*Store)(nil)
	_ workflow.EnvelopeStore = (*Store)(nil)
	_ workflow.SettingsStore = (*Store)(nil)
)

// Open opens (creating if needed) the database at path as a store of
// its own: one writer connection (WAL, synchronous=FULL), read-only
// connections beside it, and the migrations applied. The caller must
// Close it.
func Open(ctx context.Context, path string) (*Store, error) {
	p, err := sqldb.OpenPool(ctx, path, migrations, readConns)
	if err != nil {
		return nil, fmt.Errorf("workflow/sqlite: %w", err)
	}
	return &Store{pool: p}, nil
}

// readConns is the size of the read-only pool Open opens.
const readConns = 4

// New applies the migrations to the service database behind p and returns
// a store over it that writes through p, so that its transactions commit
// in groups with the other stores of that database, and reads
// documents, envelopes and transitions through p's read-only connections.
// Close does not close p.
func New(ctx context.Context, p *sqldb.Pool) (*Store, error) {
	if err := sqldb.Migrate(ctx, p.Writer(), migrations); err != nil {
		return nil, fmt.Errorf("workflow/sqlite: %w", err)
	}
	return &Store{pool: p}, nil
}

// Close closes the database if Open opened it.
func (s *Store) Close() error { return s.pool.Close() }

// DB returns the writer handle (for tests that count rows).
func (s *Store) DB() *sql.DB { return s.pool.Writer() }

// tx runs fn in a write transaction (grouped, see [sqldb.Pool]).
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return wrap(s.pool.Tx(ctx, fn))
}

// view runs fn in a read-only transaction of the reader, for reads that
// must see one consistent snapshot.
func (s *Store) view(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return wrap(s.pool.View(ctx, fn))
}

func wrap(err error) error {
	if err == nil || errors.Is(err, workflow.ErrNoRecord) || errors.Is(err, workflow.ErrStale) {
		return err
	}
	return fmt.Errorf("workflow/sqlite: %w", err)
}

func nanos(t time.Time) sql.NullInt64 {
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

// InsertDocument implements [workflow.DocumentStore].
func (s *Store) InsertDocument(ctx context.Context, d *workflow.Document) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO workflow_documents
			(id, tenant, sha256, size, pages, name, created_ns) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.Tenant, d.SHA256, d.Size, d.Pages, d.Name, d.Created.UnixNano())
		return err
	})
}

// Document implements [workflow.DocumentStore].
func (s *Store) Document(ctx context.Context, tenant, id string) (*workflow.Document, error) {
	d := &workflow.Document{}
	var created int64
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT id, tenant, sha256, size, pages, name, created_ns
		FROM workflow_documents WHERE id = ? AND tenant = ?`, id, tenant).
		Scan(&d.ID, &d.Tenant, &d.SHA256, &d.Size, &d.Pages, &d.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, workflow.ErrNoRecord
	}
	if err != nil {
		return nil, fmt.Errorf("workflow/sqlite: %w", err)
	}
	d.Created = time.Unix(0, created).UTC()
	return d, nil
}

// DocumentExists implements [workflow.DocumentStore].
func (s *Store) DocumentExists(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.pool.Reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM workflow_documents WHERE id = ?", id).Scan(&n); err != nil {
		return false, fmt.Errorf("workflow/sqlite: %w", err)
	}
	return n > 0, nil
}

// BlobReferenced implements [workflow.DocumentStore].
func (s *Store) BlobReferenced(ctx context.Context, sha256 string) (bool, error) {
	var n int
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM workflow_documents WHERE sha256 = ?) +
		(SELECT COUNT(*) FROM workflow_envelope_documents WHERE sha256 = ? OR original_sha256 = ?)`,
		sha256, sha256, sha256).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("workflow/sqlite: %w", err)
	}
	return n > 0, nil
}

// TenantSettings implements [workflow.SettingsStore].
func (s *Store) TenantSettings(ctx context.Context, tenant string) (workflow.Settings, error) {
	var st workflow.Settings
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT consent_text FROM workflow_settings WHERE tenant = ?`, tenant).
		Scan(&st.ConsentText)
	if errors.Is(err, sql.ErrNoRows) {
		return workflow.Settings{}, nil
	}
	if err != nil {
		return workflow.Settings{}, fmt.Errorf("workflow/sqlite: %w", err)
	}
	return st, nil
}

// PutTenantSettings implements [workflow.SettingsStore].
func (s *Store) PutTenantSettings(ctx context.Context, tenant string, st workflow.Settings, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO workflow_settings (tenant, consent_text, updated_ns) VALUES (?, ?, ?)
			ON CONFLICT (tenant) DO UPDATE SET consent_text = excluded.consent_text, updated_ns = excluded.updated_ns`,
			tenant, st.ConsentText, at.UnixNano())
		return err
	})
}
