package backup

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"

	auditpostgres "github.com/signet-pki/signet/auditlog/postgres"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/internal/sqldb"
)

// tableChecker is the [tableConsumer] of a verification: it checks every
// table's framing and counts its rows, and copies the audit log's tables
// (the same names and columns in both drivers) into an SQLite audit log
// at path, which the audit verification then reads as it reads a data
// directory's audit.db.
type tableChecker struct {
	path string
	db   *sql.DB
}

// table implements [tableConsumer].
func (c *tableChecker) table(ctx context.Context, t pgTable, r io.Reader) (int64, error) {
	if !slices.Contains(auditpostgres.Tables, t.Name) {
		return readCopy(r, t.Columns, nil)
	}
	if c.db == nil {
		// The audit log's schema, then a plain connection to fill it.
		st, err := auditsqlite.Open(c.path)
		if err != nil {
			return 0, fmt.Errorf("backup: audit log snapshot: %w", err)
		}
		if err := st.Close(); err != nil {
			return 0, fmt.Errorf("backup: audit log snapshot: %w", err)
		}
		if c.db, err = sqldb.OpenDB(ctx, c.path); err != nil {
			return 0, fmt.Errorf("backup: audit log snapshot: %w", err)
		}
	}
	names := make([]string, len(t.Columns))
	for i, col := range t.Columns {
		names[i] = quoteSQLite(col.Name)
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("backup: audit log snapshot: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO "+quoteSQLite(t.Name)+" ("+strings.Join(names, ", ")+") VALUES (?"+strings.Repeat(", ?", len(names)-1)+")")
	if err != nil {
		return 0, fmt.Errorf("backup: audit log snapshot: table %s: %w", t.Name, err)
	}
	defer stmt.Close()
	n, err := readCopy(r, t.Columns, func(vals []any) error {
		_, err := stmt.ExecContext(ctx, vals...)
		return err
	})
	if err != nil {
		return n, err
	}
	if err := tx.Commit(); err != nil {
		return n, fmt.Errorf("backup: audit log snapshot: %w", err)
	}
	return n, nil
}

// close closes the audit log copy.
func (c *tableChecker) close() {
	if c.db != nil {
		c.db.Close()
		c.db = nil
	}
}

// quoteSQLite quotes an SQLite identifier.
func quoteSQLite(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
