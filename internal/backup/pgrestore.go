package backup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	auditpostgres "github.com/signet-pki/signet/auditlog/postgres"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/pgdb"
)

// ErrTargetDatabase means a restore's target database is unusable: it
// already holds tables (a restore goes only into an empty database).
var ErrTargetDatabase = errors.New("backup: unusable target database")

// ErrNeedsDatabase means the backup holds a PostgreSQL deployment's
// database but no target database was given (or the reverse).
var ErrNeedsDatabase = errors.New("backup: the backup and the restore's target differ in kind")

// dbError is an error of the target database (not of the backup).
type dbError struct{ err error }

func (e *dbError) Error() string { return "backup: target database: " + e.err.Error() }
func (e *dbError) Unwrap() error { return e.err }

// schema implements the schema step of [tableConsumer] for a
// verification: nothing to prepare.
func (c *tableChecker) schema(context.Context, *pgSnapshot) error { return nil }

// refuseTables is the [tableConsumer] of a restore into a data directory
// only: a backup of a PostgreSQL deployment needs a target database.
type refuseTables struct{}

func (refuseTables) schema(context.Context, *pgSnapshot) error {
	return fmt.Errorf("%w: it holds a PostgreSQL deployment's database: restore it with --database-url (the owner's connection string of an empty database)", ErrNeedsDatabase)
}

func (refuseTables) table(context.Context, pgTable, io.Reader) (int64, error) {
	return 0, fmt.Errorf("%w: it holds a PostgreSQL deployment's database", ErrNeedsDatabase)
}

// pgRestorer is the [tableConsumer] of a restore into a database: in the
// transaction tx it creates the backup's schema (its migrations, no
// more), then copies each table's rows as they are read, while checking
// them as a verification does.
type pgRestorer struct {
	tableChecker
	tx   pgx.Tx
	conn *pgconn.PgConn
}

// schema migrates the target to the backup's schema version with this
// Signet's migrations, and checks that its tables are the backup's.
func (p *pgRestorer) schema(ctx context.Context, s *pgSnapshot) error {
	blocks, err := migrationsFor(s.Migrations)
	if err != nil {
		return err
	}
	for _, ms := range blocks {
		if err := pgdb.MigrateTx(ctx, p.tx, ms); err != nil {
			return &dbError{err}
		}
	}
	got, err := describeTables(ctx, p.tx)
	if err != nil {
		return &dbError{err}
	}
	return sameTables(s.Tables, got)
}

// migrationsFor returns, by block, this Signet's migrations whose
// versions the backup's schema holds. It refuses a schema this Signet
// does not know (a newer one, or another history).
func migrationsFor(applied []pgMigration) ([][]pgdb.Migration, error) {
	known := map[int]pgdb.Migration{}
	for _, ms := range datadir.Migrations() {
		for _, m := range ms {
			known[m.Version] = m
		}
	}
	want := map[int]bool{}
	for _, a := range applied {
		m, ok := known[a.Version]
		if !ok {
			return nil, fmt.Errorf("%w: the backup's schema has migration %d (%s), which this Signet does not know: restore with the release that made it", pgdb.ErrSchemaTooNew, a.Version, a.Name)
		}
		if m.Name != a.Name {
			return nil, fmt.Errorf("%w: migration %d is %q in the backup, %q here", pgdb.ErrHistoryMismatch, a.Version, a.Name, m.Name)
		}
		want[a.Version] = true
	}
	var out [][]pgdb.Migration
	for _, ms := range datadir.Migrations() {
		var keep []pgdb.Migration
		for _, m := range ms {
			if want[m.Version] {
				keep = append(keep, m)
			}
		}
		if len(keep) > 0 {
			out = append(out, keep)
		}
	}
	return out, nil
}

// sameTables checks that the tables of the migrated target (got) are the
// backup's (want): the same names, columns and types.
func sameTables(want, got []pgTable) error {
	byName := map[string]pgTable{}
	for _, t := range got {
		byName[t.Name] = t
	}
	for _, t := range want {
		g, ok := byName[t.Name]
		if !ok {
			return fmt.Errorf("%w: the backup's table %s is not in the schema its migrations create", ErrCorrupt, t.Name)
		}
		delete(byName, t.Name)
		if !slices.EqualFunc(t.Columns, g.Columns, func(a, b pgColumn) bool { return a.Name == b.Name && a.Type == b.Type && a.OID == b.OID }) {
			return fmt.Errorf("%w: the backup's table %s has other columns than the schema its migrations create", ErrCorrupt, t.Name)
		}
	}
	for name := range byName {
		return fmt.Errorf("%w: the schema of the backup's migrations has a table %s that the backup does not hold", ErrCorrupt, name)
	}
	return nil
}

// table copies t's rows from r into the target (COPY FROM, in the
// transaction) while checking them.
func (p *pgRestorer) table(ctx context.Context, t pgTable, r io.Reader) (int64, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := p.conn.CopyFrom(ctx, pr, copyFromSQL(t))
		pr.CloseWithError(cmp.Or(err, io.ErrClosedPipe))
		done <- err
	}()
	n, err := p.tableChecker.table(ctx, t, io.TeeReader(r, pw))
	pw.CloseWithError(err)
	cerr := <-done
	switch {
	case cerr != nil && (err == nil || errors.Is(err, cerr)):
		// The database refused the rows (and so stopped the reading).
		return n, &dbError{fmt.Errorf("table %s: %w", t.Name, cerr)}
	case err != nil:
		// The backup's error stopped the copy.
		return n, err
	}
	return n, nil
}

// setSequences sets every sequence of the restored tables to its value
// in the backup.
func setSequences(ctx context.Context, tx pgx.Tx, s *pgSnapshot) error {
	for _, t := range s.Tables {
		for _, c := range t.Columns {
			if c.Sequence == nil {
				continue
			}
			if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)`,
				pgx.Identifier{t.Name}.Sanitize(), c.Name, *c.Sequence, c.Called); err != nil {
				return &dbError{fmt.Errorf("sequence of %s.%s: %w", t.Name, c.Name, err)}
			}
		}
	}
	return nil
}

// checkEmptyDatabase refuses a target database whose schema holds any
// relation.
func checkEmptyDatabase(ctx context.Context, pool *pgxpool.Pool) error {
	var names []string
	rows, err := pool.Query(ctx, `SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace
		AND relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY relname LIMIT 3`)
	if err != nil {
		return &dbError{err}
	}
	if names, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return &dbError{err}
	}
	if len(names) > 0 {
		return fmt.Errorf("%w: it already holds tables (%s, ...): restore into a new, empty database", ErrTargetDatabase, names[0])
	}
	return nil
}

// txVault is the soft key vault (keys/postgres's soft_keys table) as the
// restore's transaction sees it, to check the master key against it.
type txVault struct{ tx pgx.Tx }

func (v txVault) Put(ctx context.Context, handle string, sealed []byte) error {
	return errors.New("backup: the restored key store is read only")
}

func (v txVault) Get(ctx context.Context, handle string) ([]byte, error) {
	var b []byte
	err := v.tx.QueryRow(ctx, `SELECT sealed FROM soft_keys WHERE handle = $1`, handle).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("backup: sealed key %s: %w", handle, fs.ErrNotExist)
	}
	return b, err
}

func (v txVault) Delete(context.Context, string) error {
	return errors.New("backup: the restored key store is read only")
}

func (v txVault) Empty(ctx context.Context) (bool, error) {
	var found bool
	err := v.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM soft_keys)`).Scan(&found)
	return !found, err
}

// auditTablesHeld checks that the snapshot holds the audit log's tables.
func auditTablesHeld(s *pgSnapshot) error {
	for _, name := range auditpostgres.Tables {
		if !slices.ContainsFunc(s.Tables, func(t pgTable) bool { return t.Name == name }) {
			return fmt.Errorf("%w: the backup's database holds no audit table %s", ErrCheck, name)
		}
	}
	return nil
}
