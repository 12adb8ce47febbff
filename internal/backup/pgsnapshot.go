package backup

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgdb"
)

// TableEncoding names the encoding of a PostgreSQL table's rows in a
// backup (see the package documentation, "PostgreSQL deployments").
const TableEncoding = "pgcopy-binary/1"

// tablePrefix begins the path of every table part of a backup. Its first
// component begins with ".", so no file of a data directory takes it.
const tablePrefix = ".signet-postgres/"

// partSize bounds a table part, and with it the memory a backup of a
// table takes whatever its size.
const partSize = 1 << 20

// migrationsTable is the history of the schema, recorded in the manifest
// rather than copied as rows.
const migrationsTable = "schema_migrations"

// pgSnapshot is the manifest's description of a PostgreSQL deployment's
// database, read in one snapshot.
type pgSnapshot struct {
	// Encoding is [TableEncoding].
	Encoding string `json:"encoding"`
	// Migrations are the schema_migrations rows: the schema's version.
	Migrations []pgMigration `json:"migrations"`
	// Tables lists every table but schema_migrations, in the order a
	// restore fills them (a table after those it references).
	Tables []pgTable `json:"tables"`
}

// pgMigration is one applied migration.
type pgMigration struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
}

// pgTable is one table of a snapshot.
type pgTable struct {
	Name    string     `json:"name"`
	Columns []pgColumn `json:"columns"`
	// Rows counts the rows; Parts the entries holding them.
	Rows  int64 `json:"rows"`
	Parts int   `json:"parts"`
}

// pgColumn is one column of a table.
type pgColumn struct {
	Name string `json:"name"`
	// Type is the column's type as format_type prints it; OID its
	// type's oid, which names the binary encoding of its values.
	Type string `json:"type"`
	OID  uint32 `json:"oid"`
	// Sequence, for a column that a sequence numbers (identity or
	// serial), is the sequence's last value when the backup was made, at
	// least every value of the snapshot (absent if it was never used);
	// Called is then true.
	Sequence *int64 `json:"sequence,omitempty"`
	Called   bool   `json:"called,omitempty"`
}

// supportedTypes are the column types whose values a backup encodes and
// checks; a table with a column of another type is refused.
var supportedTypes = map[string]bool{
	"bigint": true, "integer": true, "smallint": true, "boolean": true,
	"text": true, "bytea": true, "timestamp with time zone": true,
	"double precision": true, "real": true, "jsonb": true, "json": true,
}

// tableName is the form of a table name a backup accepts (a path
// component of its parts).
var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// schemaPath is the entry, before the tables' parts, that describes the
// schema: the migrations and the tables with their columns, in the
// order their parts follow (the manifest repeats it, with the counts).
const schemaPath = tablePrefix + "schema.json"

// maxSchemaSize bounds the schema entry that a reader accepts.
const maxSchemaSize = 16 << 20

// addSchema writes the schema entry of snap.
func (c *creator) addSchema(snap *pgSnapshot) error {
	b, err := json.MarshalIndent(snap, "", " ")
	if err != nil {
		return err
	}
	if err := c.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: schemaPath, Size: int64(len(b)), Mode: 0o600, ModTime: c.m.Created}); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	if _, err := c.tw.Write(b); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	sum := sha256.Sum256(b)
	c.m.Entries = append(c.m.Entries, entry{Path: schemaPath, Type: typeTable, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), Mode: 0o600})
	return nil
}

// partPath returns the path of part n (from 1) of table.
func partPath(table string, n int) string {
	return fmt.Sprintf("%s%s/%06d", tablePrefix, table, n)
}

// addPostgres adds every table of the database at url, read in one
// REPEATABLE READ READ ONLY transaction, to the archive, and records the
// snapshot in the manifest.
func (c *creator) addPostgres(url string) error {
	pool, err := pgdb.Open(c.ctx, url)
	if err != nil {
		return fmt.Errorf("backup: database: %w", err)
	}
	defer pool.Close()
	snap, err := readSnapshot(c.ctx, pool, c)
	if err != nil {
		return fmt.Errorf("backup: database: %w", err)
	}
	c.m.Postgres = snap
	return nil
}

// readSnapshot reads the schema and every table in one transaction,
// writing the tables' parts through c.
func readSnapshot(ctx context.Context, pool *pgxpool.Pool, c *creator) (*pgSnapshot, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	snap := &pgSnapshot{Encoding: TableEncoding}
	if snap.Migrations, err = readMigrations(ctx, tx); err != nil {
		return nil, err
	}
	if snap.Tables, err = describeTables(ctx, tx); err != nil {
		return nil, err
	}
	if err := c.addSchema(snap); err != nil {
		return nil, err
	}
	for i := range snap.Tables {
		t := &snap.Tables[i]
		pw := &partWriter{c: c, table: t.Name}
		tag, err := conn.Conn().PgConn().CopyTo(ctx, pw, copyToSQL(*t))
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.Name, err)
		}
		if err := pw.close(); err != nil {
			return nil, err
		}
		t.Rows, t.Parts = tag.RowsAffected(), pw.n
	}
	// The sequences, read after the rows: non-transactional, so at least
	// every value the rows hold.
	if err := readSequences(ctx, tx, snap.Tables); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	return snap, nil
}

// readMigrations returns the schema's applied migrations.
func readMigrations(ctx context.Context, tx pgx.Tx) ([]pgMigration, error) {
	rows, err := tx.Query(ctx, `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("schema_migrations: %w (is this a Signet database?)", err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgMigration, error) {
		var m pgMigration
		err := r.Scan(&m.Version, &m.Name)
		return m, err
	})
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, errors.New("schema_migrations is empty: not a Signet database")
	}
	return ms, nil
}

// describeTables discovers the tables of the current schema from the
// catalog, with their columns, in an order where a table comes after the
// tables it references. It refuses what a backup does not understand:
// any relation but a plain table (a partitioned or foreign table, a view,
// a materialized view), a generated column, a column type outside
// [supportedTypes], a name outside [tableName], and cyclic references.
func describeTables(ctx context.Context, tx pgx.Tx) ([]pgTable, error) {
	rows, err := tx.Query(ctx, `SELECT c.relname, c.relkind::text FROM pg_class c
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'f', 'm', 'v')
		ORDER BY c.relname`)
	if err != nil {
		return nil, err
	}
	type rel struct{ name, kind string }
	rels, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rel, error) {
		var x rel
		err := r.Scan(&x.name, &x.kind)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	var tables []pgTable
	for _, r := range rels {
		if r.kind != "r" {
			return nil, fmt.Errorf("%s is not a plain table (relkind %s): a backup copies plain tables only", r.name, r.kind)
		}
		if r.name == migrationsTable {
			continue
		}
		if !tableName.MatchString(r.name) {
			return nil, fmt.Errorf("table %q: a backup copies tables named in lower case letters, digits and _ only", r.name)
		}
		t := pgTable{Name: r.name}
		rows, err := tx.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid::int8, a.attgenerated::text
			FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
			pgx.Identifier{r.name}.Sanitize())
		if err != nil {
			return nil, err
		}
		var name, typ, gen string
		var oid int64
		_, err = pgx.ForEachRow(rows, []any{&name, &typ, &oid, &gen}, func() error {
			if gen != "" {
				return fmt.Errorf("table %s: column %s is generated, which a backup does not copy", r.name, name)
			}
			if !supportedTypes[typ] {
				return fmt.Errorf("table %s: column %s has type %s, which a backup does not encode", r.name, name, typ)
			}
			t.Columns = append(t.Columns, pgColumn{Name: name, Type: typ, OID: uint32(oid)})
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(t.Columns) == 0 {
			return nil, fmt.Errorf("table %s has no column", r.name)
		}
		tables = append(tables, t)
	}
	return orderByReferences(ctx, tx, tables)
}

// orderByReferences orders tables so that a table comes after those its
// foreign keys reference (a restore fills them in this order, each
// foreign key checked as its rows go in).
func orderByReferences(ctx context.Context, tx pgx.Tx, tables []pgTable) ([]pgTable, error) {
	rows, err := tx.Query(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
		WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace AND c.conrelid <> c.confrelid`)
	if err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	var from, to string
	if _, err := pgx.ForEachRow(rows, []any{&from, &to}, func() error {
		deps[strings.Trim(from, `"`)] = append(deps[strings.Trim(from, `"`)], strings.Trim(to, `"`))
		return nil
	}); err != nil {
		return nil, err
	}
	byName := map[string]pgTable{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	var out []pgTable
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("table %s is part of a cycle of foreign keys, which a backup cannot order", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, d := range slices.Sorted(slices.Values(deps[n])) {
			if _, ok := byName[d]; ok {
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		state[n] = 2
		out = append(out, byName[n])
		return nil
	}
	for _, t := range tables {
		if err := visit(t.Name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readSequences records the value of every sequence that numbers a
// column of tables.
func readSequences(ctx context.Context, tx pgx.Tx, tables []pgTable) error {
	for i := range tables {
		t := &tables[i]
		for j := range t.Columns {
			col := &t.Columns[j]
			var seq *string
			if err := tx.QueryRow(ctx, `SELECT pg_get_serial_sequence($1, $2)`, pgx.Identifier{t.Name}.Sanitize(), col.Name).Scan(&seq); err != nil {
				return err
			}
			if seq == nil {
				continue
			}
			// pg_sequence_last_value needs only USAGE, which the
			// application role has; NULL means never used.
			var v *int64
			if err := tx.QueryRow(ctx, `SELECT pg_sequence_last_value($1::regclass)`, *seq).Scan(&v); err != nil {
				return fmt.Errorf("sequence of %s.%s: %w", t.Name, col.Name, err)
			}
			if v != nil {
				col.Sequence, col.Called = v, true
			}
		}
	}
	return nil
}

// columnList returns t's columns, quoted and separated by commas.
func columnList(t pgTable) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = pgx.Identifier{c.Name}.Sanitize()
	}
	return strings.Join(names, ", ")
}

// copyToSQL returns the COPY statement that writes t's rows.
func copyToSQL(t pgTable) string {
	return "COPY " + pgx.Identifier{t.Name}.Sanitize() + " (" + columnList(t) + ") TO STDOUT (FORMAT binary)"
}

// copyFromSQL returns the COPY statement that reads t's rows.
func copyFromSQL(t pgTable) string {
	return "COPY " + pgx.Identifier{t.Name}.Sanitize() + " (" + columnList(t) + ") FROM STDIN (FORMAT binary)"
}

// partWriter cuts a table's COPY stream into parts of at most partSize
// bytes, each an archive entry.
type partWriter struct {
	c     *creator
	table string
	buf   []byte
	n     int
}

func (w *partWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, partSize)
		}
		k := min(len(p), partSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == partSize {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return total, nil
}

// flush writes the buffered bytes as the next part.
func (w *partWriter) flush() error {
	if err := w.c.ctx.Err(); err != nil {
		return err
	}
	w.n++
	rel := partPath(w.table, w.n)
	if err := w.c.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Size: int64(len(w.buf)), Mode: 0o600, ModTime: w.c.m.Created}); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	if _, err := w.c.tw.Write(w.buf); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	sum := sha256.Sum256(w.buf)
	w.c.m.Entries = append(w.c.m.Entries, entry{Path: rel, Type: typeTable, Size: int64(len(w.buf)), SHA256: hex.EncodeToString(sum[:]), Mode: 0o600})
	w.buf = w.buf[:0]
	return nil
}

// close writes the last part.
func (w *partWriter) close() error {
	if len(w.buf) == 0 && w.n > 0 {
		return nil
	}
	return w.flush()
}
