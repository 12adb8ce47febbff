// Package transfer copies a Signet deployment from a data directory
// (SQLite files, sealed key files, blobs) into a PostgreSQL database, the
// work of `signet migrate`, and then checks the copy on the target: the
// audit log verifies under the deployment's checkpoint keys and every
// document version's bytes hash to the name the records give them (for a
// version sealed under its tenant's key, the ciphertext's bytes to the
// blob name its workflow_contents row gives; sealed contents move as the
// ciphertexts they are, with their rows and the wrapped data keys).
//
// The PostgreSQL stores use the SQLite stores' table and column names, so
// the rows are copied table by table, each value converted to the target
// column's type. Secrets move sealed: the software keys as sealed under
// the master key, the audit secret re-sealed under the same master key.
// The rows go in one transaction: a failure leaves the target's tables
// empty (blobs copied before it are unreferenced, and collected as
// garbage).
package transfer

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/auditlog"
	auditpostgres "github.com/signet-pki/signet/auditlog/postgres"
	"github.com/signet-pki/signet/internal/blob"
	blobpostgres "github.com/signet-pki/signet/internal/blob/postgres"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys/soft"
)

// Config says what to copy where.
type Config struct {
	// From is the data directory.
	From string
	// To connects to the target database as the owner of its tables.
	To string
	// AppRole, if set, is granted what the service needs (see
	// [datadir.MigrateDatabase]).
	AppRole string
	// MasterKey is the value of SIGNET_MASTER_KEY ("" for From's
	// master.key).
	MasterKey string
}

// Report is what a transfer copied and checked.
type Report struct {
	// Rows counts the rows copied, by table.
	Rows map[string]int64
	// Keys is the number of sealed key versions copied.
	Keys int
	// Blobs is the number of blobs copied; Documents the number of
	// document versions whose hash was checked on the target.
	Blobs, Documents int
	// Events is the number of audit events verified on the target, and
	// Checkpoints the number of checkpoints.
	Events, Checkpoints int64
}

// databases are the SQLite files of a data directory, in the order their
// rows are copied.
var databases = []string{datadir.KeysDB, datadir.PKIDB, datadir.ServiceDB, datadir.AuditDB}

// Copy copies the deployment of cfg.From into cfg.To and verifies the copy.
// The data directory must not be in use (it takes its writer lock), and
// the target must hold no Signet rows yet.
func Copy(ctx context.Context, cfg Config, verify auditlog.VerifyOptions) (*Report, error) {
	src, err := datadir.Open(cfg.From, datadir.Options{MasterKey: cfg.MasterKey})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if !src.Has(datadir.AuditDB) {
		return nil, fmt.Errorf("transfer: %s holds no Signet deployment (no %s)", cfg.From, datadir.AuditDB)
	}
	if err := src.LockWriter(); err != nil {
		return nil, err
	}
	mk, err := soft.LoadMasterKey(src.File(datadir.MasterKey), cfg.MasterKey, src.File(datadir.KeysDir), failingReader{})
	if err != nil {
		return nil, fmt.Errorf("transfer: master key: %w", err)
	}
	defer clear(mk)
	if err := datadir.MigrateDatabase(ctx, cfg.To, cfg.AppRole); err != nil {
		return nil, err
	}
	pool, err := pgdb.Open(ctx, cfg.To)
	if err != nil {
		return nil, fmt.Errorf("transfer: target: %w", err)
	}
	defer pool.Close()
	if err := checkEmpty(ctx, pool); err != nil {
		return nil, err
	}
	rep := &Report{Rows: map[string]int64{}}
	if rep.Blobs, err = copyBlobs(ctx, src.File(datadir.BlobsDir), pool); err != nil {
		return nil, err
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, name := range databases {
			if !src.Has(name) {
				continue
			}
			if err := copyDatabase(ctx, src.File(name), tx, rep.Rows); err != nil {
				return fmt.Errorf("transfer: %s: %w", name, err)
			}
		}
		if rep.Keys, err = copyKeys(ctx, src.File(datadir.KeysDir), tx); err != nil {
			return err
		}
		return copySecret(ctx, src.File(datadir.AuditMaster), mk, tx)
	})
	if err != nil {
		return nil, err
	}
	if err := check(ctx, cfg.To, pool, verify, rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// failingReader refuses to make a new master key: a data directory to
// copy has one.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) {
	return 0, errors.New("transfer: the data directory has no master key (master.key or SIGNET_MASTER_KEY)")
}

// checkEmpty refuses a target that already holds a deployment.
func checkEmpty(ctx context.Context, pool *pgxpool.Pool) error {
	for _, t := range []string{"records", "api_tenants", "keys", "ca_certificates", "workflow_documents", "soft_keys", "service_secrets"} {
		var n int64
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return fmt.Errorf("transfer: target: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("transfer: the target database already holds a deployment (%d rows in %s)", n, t)
		}
	}
	return nil
}

// column is a target column: its name, type and whether the database
// generates it.
type column struct {
	name, typ string
	generated bool
}

// targetColumns returns the columns of table in the target.
func targetColumns(ctx context.Context, tx pgx.Tx, table string) (map[string]column, error) {
	rows, err := tx.Query(ctx, `SELECT column_name, data_type, is_identity = 'YES' AND identity_generation = 'ALWAYS'
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, table)
	if err != nil {
		return nil, err
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		err := r.Scan(&c.name, &c.typ, &c.generated)
		return c, err
	})
	if err != nil {
		return nil, err
	}
	m := map[string]column{}
	for _, c := range cols {
		m[c.name] = c
	}
	return m, nil
}

// copyDatabase copies every table of the SQLite database at path into
// the same-named tables of tx.
func copyDatabase(ctx context.Context, path string, tx pgx.Tx, counts map[string]int64) error {
	db, err := sqldb.OpenReadDB(ctx, path, 1)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations' ORDER BY rowid`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range tables {
		n, err := copyTable(ctx, db, tx, t)
		if err != nil {
			return fmt.Errorf("table %s: %w", t, err)
		}
		counts[t] += n
	}
	return nil
}

// copyTable copies the rows of table, in the order of its rowid, with
// COPY.
func copyTable(ctx context.Context, db *sql.DB, tx pgx.Tx, table string) (int64, error) {
	target, err := targetColumns(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	if len(target) == 0 {
		return 0, errors.New("the target has no such table")
	}
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+quoteSQLite(table)+" ORDER BY rowid")
	if err != nil {
		// WITHOUT ROWID tables are ordered by their primary key.
		if rows, err = db.QueryContext(ctx, "SELECT * FROM "+quoteSQLite(table)); err != nil {
			return 0, err
		}
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	var keep []int
	var cols []column
	for i, n := range names {
		c, ok := target[n]
		if !ok {
			return 0, fmt.Errorf("the target has no column %s", n)
		}
		if c.generated {
			continue // the target numbers the rows in the same order
		}
		keep = append(keep, i)
		cols = append(cols, c)
	}
	var batch [][]any
	var total int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		colNames := make([]string, len(cols))
		for i, c := range cols {
			colNames[i] = c.name
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, colNames, pgx.CopyFromRows(batch))
		total += n
		batch = batch[:0]
		return err
	}
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return total, err
		}
		out := make([]any, len(keep))
		for j, i := range keep {
			v, err := convert(vals[i], cols[j].typ)
			if err != nil {
				return total, fmt.Errorf("column %s: %w", cols[j].name, err)
			}
			out[j] = v
		}
		batch = append(batch, out)
		if len(batch) == 1000 {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return total, err
	}
	return total, flush()
}

// quoteSQLite quotes an SQLite identifier.
func quoteSQLite(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// convert turns a value read from SQLite (int64, float64, string, []byte
// or nil) into one for a PostgreSQL column of type typ
// (information_schema's data_type).
func convert(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "bigint", "integer", "smallint":
		if n, ok := v.(int64); ok {
			return n, nil
		}
	case "boolean":
		if n, ok := v.(int64); ok && (n == 0 || n == 1) {
			return n == 1, nil
		}
	case "double precision", "real", "numeric":
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	case "text", "character varying":
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case "timestamp with time zone":
		switch x := v.(type) {
		case string:
			if x == "" {
				return nil, nil
			}
			t, err := sqldb.ParseTime(x)
			if err != nil {
				return nil, err
			}
			return t, nil
		case int64:
			return time.Unix(0, x).UTC(), nil
		}
	case "jsonb", "json":
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	}
	return nil, fmt.Errorf("cannot store a %T in a %s column", v, typ)
}

// copyKeys copies the sealed key files (and the master key's check value)
// into the target's vault, as they are: still sealed under the master key.
func copyKeys(ctx context.Context, dir string, tx pgx.Tx) (int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("transfer: keys: %w", err)
	}
	n := 0
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return n, fmt.Errorf("transfer: keys: %w", err)
		}
		handle, ok := strings.CutSuffix(e.Name(), ".key")
		if !ok && e.Name() != soft.CheckHandle {
			continue
		}
		if !ok {
			handle = soft.CheckHandle
		}
		// The vault's rows, as keyspostgres.Vault.Put writes them, in
		// this transaction.
		if _, err := tx.Exec(ctx, `INSERT INTO soft_keys (handle, sealed) VALUES ($1, $2)`, handle, b); err != nil {
			return n, fmt.Errorf("transfer: keys: %s: %w", handle, err)
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// copySecret re-seals the audit secret file under the master key into the
// target's service secrets.
func copySecret(ctx context.Context, path string, mk []byte, tx pgx.Tx) error {
	secret, err := soft.LoadKeyFile(path, failingReader{})
	if err != nil {
		return fmt.Errorf("transfer: audit secret: %w", err)
	}
	defer clear(secret)
	return datadir.PutSecret(ctx, tx, mk, datadir.AuditMaster, secret)
}

// copyBlobs copies every blob, each revision after the blob it extends,
// and returns how many.
func copyBlobs(ctx context.Context, dir string, pool *pgxpool.Pool) (int, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	from, err := blob.NewFS(dir)
	if err != nil {
		return 0, err
	}
	to, err := blobpostgres.New(ctx, pool)
	if err != nil {
		return 0, err
	}
	var names []string
	if err := from.Walk(ctx, func(name string) error { names = append(names, name); return nil }); err != nil {
		return 0, fmt.Errorf("transfer: blobs: %w", err)
	}
	slices.Sort(names)
	done := map[string]bool{}
	var put func(name string, depth int) error
	put = func(name string, depth int) error {
		if done[name] {
			return nil
		}
		if depth > 10000 {
			return fmt.Errorf("transfer: blob %s: revisions too deep", name)
		}
		base, err := from.Base(name)
		if err != nil {
			return fmt.Errorf("transfer: blob %s: %w", name, err)
		}
		r, size, err := from.Open(ctx, name)
		if err != nil {
			return fmt.Errorf("transfer: blob %s: %w", name, err)
		}
		defer r.Close()
		var got string
		if base != "" {
			if err := put(base, depth+1); err != nil {
				return err
			}
			_, baseSize, err := from.Open(ctx, base)
			if err != nil {
				return fmt.Errorf("transfer: blob %s: %w", base, err)
			}
			if baseSize > size {
				return fmt.Errorf("transfer: blob %s is shorter than the blob it extends", name)
			}
			got, _, err = to.Append(ctx, base, io.NewSectionReader(r, baseSize, size-baseSize))
			if err != nil {
				return fmt.Errorf("transfer: blob %s: %w", name, err)
			}
		} else if got, _, err = to.Put(ctx, r); err != nil {
			return fmt.Errorf("transfer: blob %s: %w", name, err)
		}
		if got != name {
			return fmt.Errorf("transfer: blob %s: its content hashes to %s", name, got)
		}
		done[name] = true
		return nil
	}
	for _, name := range names {
		if err := put(name, 0); err != nil {
			return len(done), err
		}
	}
	return len(done), nil
}

// check verifies the copy on the target: the audit log, and the bytes of
// every document version the records name.
func check(ctx context.Context, url string, pool *pgxpool.Pool, verify auditlog.VerifyOptions, rep *Report) error {
	st, err := auditpostgres.Open(ctx, url)
	if err != nil {
		return fmt.Errorf("transfer: check: %w", err)
	}
	defer st.Close()
	res, err := auditlog.Verify(ctx, st, verify)
	if err != nil {
		return fmt.Errorf("transfer: check: the audit log does not verify on the target: %w", err)
	}
	rep.Events, rep.Checkpoints = res.Size, int64(res.Checkpoints)
	if want := rep.Rows["records"]; res.Size != want {
		return fmt.Errorf("transfer: check: the target's audit log holds %d events, the data directory %d", res.Size, want)
	}
	blobs, err := blobpostgres.New(ctx, pool)
	if err != nil {
		return err
	}
	// Each version a record names, with the tenant whose it is: a sealed
	// content (a workflow_contents row of that tenant) is checked as the
	// ciphertext it is, its blob hashing to the name the row gives it (the
	// keys that open it are the deployment's, not this tool's); a plain
	// version hashes to its own name.
	rows, err := pool.Query(ctx, `SELECT v.sha256, v.tenant, c.blob FROM (
			SELECT sha256, tenant FROM workflow_documents
			UNION SELECT d.original_sha256, e.tenant FROM workflow_envelope_documents d JOIN workflow_envelopes e ON e.id = d.envelope_id
			UNION SELECT d.sha256, e.tenant FROM workflow_envelope_documents d JOIN workflow_envelopes e ON e.id = d.envelope_id
		) v LEFT JOIN workflow_contents c ON c.tenant = v.tenant AND c.sha256 = v.sha256
		ORDER BY 1, 2`)
	if err != nil {
		return fmt.Errorf("transfer: check: %w", err)
	}
	type version struct {
		sha, tenant string
		blob        *string
	}
	versions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (version, error) {
		var v version
		err := r.Scan(&v.sha, &v.tenant, &v.blob)
		return v, err
	})
	if err != nil {
		return fmt.Errorf("transfer: check: %w", err)
	}
	for _, v := range versions {
		name := v.sha
		if v.blob != nil {
			name = *v.blob
		}
		if err := checkBlob(ctx, blobs, name); err != nil {
			return fmt.Errorf("transfer: check: document %s of tenant %s: %w", v.sha, v.tenant, err)
		}
		rep.Documents++
	}
	return nil
}

// checkBlob checks that blob name is stored and hashes to its name.
func checkBlob(ctx context.Context, blobs blob.Store, name string) error {
	r, _, err := blobs.Open(ctx, name)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(h, r)
	r.Close()
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != name {
		return fmt.Errorf("blob %s hashes to %s on the target", name, got)
	}
	return nil
}
