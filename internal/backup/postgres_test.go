package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	auditpostgres "github.com/signet-pki/signet/auditlog/postgres"
	blobpostgres "github.com/signet-pki/signet/internal/blob/postgres"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/keys"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// pgFixture is a PostgreSQL deployment made by the real stores: a data
// directory (master.key, audit.pub, checkpoints/) beside a database that
// holds keys, an audit log with a published checkpoint, and documents (one
// of several chunks, so that its table spans several parts).
type pgFixture struct {
	dir, ownerURL, appURL string
	blobs                 map[string][]byte
	mk                    []byte
	log                   *auditlog.Log
	d                     *datadir.Dir
}

func newPGFixture(t *testing.T) *pgFixture {
	t.Helper()
	ctx := context.Background()
	f := &pgFixture{dir: filepath.Join(t.TempDir(), "data"), blobs: map[string][]byte{}}
	f.ownerURL, f.appURL = pgtest.NewDatabase(t)
	if err := os.Mkdir(f.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f.mk = []byte(base64.StdEncoding.EncodeToString(randomBytes(t, 32)) + "\n")
	if err := os.WriteFile(filepath.Join(f.dir, datadir.MasterKey), f.mk, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := datadir.Open(f.dir, datadir.Options{DatabaseURL: f.appURL, DatabaseAdminURL: f.ownerURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	f.d = d
	m, err := d.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping, Algorithm: keys.AES256, Tenant: "t1", Label: "kek"}); err != nil {
		t.Fatal(err)
	}
	signer, err := d.CheckpointSigner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.log, err = d.AuditLog(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		f.record(t, fmt.Sprint(i))
	}
	cps, err := d.Checkpoints()
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.AuditStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := auditlog.NewPublisher(st, auditlog.PublisherConfig{Origin: datadir.AuditOrigin, Signer: signer,
		Anchorers: []auditlog.Anchorer{&anchor.SinkAnchorer{Sink: &anchor.FileSink{Dir: cps}, Name: "file:" + cps}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	f.record(t, "late")
	bs, err := blobpostgres.New(ctx, pgtest.Pool(t, f.appURL))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{5000, 3<<20 + 17} {
		b := randomBytes(t, size)
		name, _, err := bs.Put(ctx, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		f.blobs[name] = b
	}
	return f
}

func (f *pgFixture) record(t *testing.T, id string) {
	t.Helper()
	if err := f.log.Record(context.Background(), auditlog.Event{Type: auditlog.DocumentUploaded, Tenant: "t1",
		Actor: auditlog.Actor{Kind: auditlog.ActorService, ID: id}, Outcome: auditlog.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func createPG(t *testing.T, f *pgFixture, key []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Create(context.Background(), &buf, CreateOptions{Dir: f.dir, DatabaseURL: f.appURL, Key: key}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rows returns every row of every table of the database at url but
// schema_migrations' (whose applied_at differ), as text lines, sorted.
func rows(t *testing.T, url string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(string(pgtest.Dump(t, url)), "\n") {
		if l != "" && !strings.HasPrefix(l, "schema_migrations ") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// tableCount returns the number of relations in the database at url.
func tableCount(t *testing.T, url string) int {
	t.Helper()
	var n int
	if err := pgtest.Pool(t, url).QueryRow(context.Background(),
		`SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'S')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPostgresRoundTrip backs up a PostgreSQL deployment, verifies the
// backup and restores it into an empty database: the rows are the same
// table by table, the documents byte for byte through the blob store,
// the audit log verifies on the target, the sequences go on after the
// restored values, and the application role may use the restored tables
// (and only append to the audit log's).
func TestPostgresRoundTrip(t *testing.T) {
	f := newPGFixture(t)
	key := testKey(t)
	b := createPG(t, f, key)
	for _, blob := range f.blobs {
		if bytes.Contains(b, blob[:64]) {
			t.Fatal("the backup holds plaintext")
		}
	}
	ctx := context.Background()
	s, err := Verify(ctx, bytes.NewReader(b), VerifyOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if s.Tables < 10 || s.Rows == 0 || s.AuditEvents < 6 || s.Checkpoints != 1 || s.SchemaVersion < 1100 || len(s.Databases) != 0 {
		t.Errorf("summary %+v", s)
	}

	owner2, app2 := pgtest.NewDatabase(t)
	dst := filepath.Join(t.TempDir(), "restored")
	mkFile := writeTemp(t, string(f.mk))
	rs, err := Restore(ctx, bytes.NewReader(b), RestoreOptions{Dir: dst, DatabaseURL: owner2, AppRole: pgtest.AppRole, Key: key, MasterKeyFile: mkFile})
	if err != nil {
		t.Fatal(err)
	}
	if rs.Rows != s.Rows || rs.Tables != s.Tables {
		t.Errorf("restore summary %+v, verify %+v", rs, s)
	}
	if got, want := rows(t, owner2), rows(t, f.ownerURL); !slices.Equal(got, want) {
		t.Errorf("restored rows differ: %d lines, want %d", len(got), len(want))
	}
	for _, name := range []string{datadir.AuditPub, datadir.MasterKey, datadir.CheckpointsDir} {
		if _, err := os.Stat(filepath.Join(dst, name)); err != nil {
			t.Errorf("restored directory: %v", err)
		}
	}
	// The restored deployment, as a node opens it (with the application
	// role only: the grants must be in place).
	d, err := datadir.Open(dst, datadir.Options{DatabaseURL: app2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m, err := d.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if all, err := m.List(ctx, "t1"); err != nil || len(all) != 1 {
		t.Errorf("restored keys: %d, %v", len(all), err)
	}
	bs, err := blobpostgres.New(ctx, pgtest.Pool(t, app2))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range f.blobs {
		r, _, err := bs.Open(ctx, name)
		if err != nil {
			t.Fatalf("blob %s: %v", name, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("blob %s differs after the restore (%v)", name, err)
		}
	}
	st, err := auditpostgres.Open(ctx, app2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := verifyAuditStore(ctx, dst, st)
	if err != nil || res.Size != s.AuditEvents {
		t.Fatalf("the restored audit log: %v (%d events, the backup %d)", err, res.Size, s.AuditEvents)
	}
	// The log goes on: a new event and checkpoint on the restored
	// deployment (the anchors' identity sequence continues).
	log, err := d.AuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Record(ctx, auditlog.Event{Type: auditlog.DocumentUploaded, Tenant: "t1", Actor: auditlog.Actor{Kind: auditlog.ActorService, ID: "after"}, Outcome: auditlog.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	pool := pgtest.Pool(t, app2)
	var maxSeq, next int64
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM anchors`).Scan(&maxSeq); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `INSERT INTO anchors (size, kind, name, data) VALUES (1, 'sink', 'test', '\x00') RETURNING seq`).Scan(&next); err != nil {
		t.Fatal(err)
	}
	if maxSeq == 0 || next <= maxSeq {
		t.Errorf("anchors' sequence gives %d after the restored %d", next, maxSeq)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM records`); err == nil {
		t.Error("the application role may delete audit records after a restore")
	}
}

// TestPostgresRefused checks that a corrupted, truncated or wrong-key
// backup, a backup restored without a database, and a target database
// that holds tables are refused, with nothing restored: no table in the
// target database, nothing in the target directory.
func TestPostgresRefused(t *testing.T) {
	f := newPGFixture(t)
	key := testKey(t)
	b := createPG(t, f, key)
	ctx := context.Background()
	mkFile := writeTemp(t, string(f.mk))
	cases := []struct {
		name   string
		backup []byte
		key    []byte
		noDB   bool
		want   error
	}{
		{name: "flipped near the end", backup: flip(b, len(b)-100), key: key, want: ErrCorrupt},
		{name: "flipped in the tables", backup: flip(b, len(b)/2), key: key, want: ErrCorrupt},
		{name: "truncated", backup: b[:len(b)-1000], key: key, want: ErrCorrupt},
		{name: "cut at a segment", backup: b[:len(b)*3/4], key: key, want: ErrCorrupt},
		{name: "wrong key", backup: b, key: testKey(t)},
		{name: "no database", backup: b, key: key, noDB: true, want: ErrNeedsDatabase},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			owner, _ := pgtest.NewDatabase(t)
			dst := filepath.Join(t.TempDir(), "restored")
			opts := RestoreOptions{Dir: dst, DatabaseURL: owner, Key: c.key, MasterKeyFile: mkFile, AppRole: pgtest.AppRole}
			if c.noDB {
				opts.DatabaseURL = ""
			}
			_, err := Restore(ctx, bytes.NewReader(c.backup), opts)
			var wk *WrongKeyError
			switch {
			case err == nil:
				t.Fatal("restored")
			case c.want == nil && !errors.As(err, &wk):
				t.Fatalf("error %v, want a wrong key", err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if n := tableCount(t, owner); n != 0 {
				t.Errorf("%d tables left in the target database", n)
			}
			assertNothingRestored(t, dst)
			if c.want == ErrCorrupt {
				if _, err := Verify(ctx, bytes.NewReader(c.backup), VerifyOptions{Key: key}); !errors.Is(err, ErrCorrupt) {
					t.Errorf("verify: %v, want %v", err, ErrCorrupt)
				}
			}
		})
	}
	t.Run("target holds tables", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "restored")
		before := rows(t, f.ownerURL)
		_, err := Restore(ctx, bytes.NewReader(b), RestoreOptions{Dir: dst, DatabaseURL: f.ownerURL, Key: key, MasterKeyFile: mkFile})
		if !errors.Is(err, ErrTargetDatabase) {
			t.Fatalf("error %v, want %v", err, ErrTargetDatabase)
		}
		assertNothingRestored(t, dst)
		if !slices.Equal(rows(t, f.ownerURL), before) {
			t.Error("the target database changed")
		}
	})
	t.Run("wrong master key", func(t *testing.T) {
		owner, _ := pgtest.NewDatabase(t)
		dst := filepath.Join(t.TempDir(), "restored")
		other := writeTemp(t, base64.StdEncoding.EncodeToString(randomBytes(t, 32))+"\n")
		_, err := Restore(ctx, bytes.NewReader(b), RestoreOptions{Dir: dst, DatabaseURL: owner, Key: key, MasterKeyFile: other})
		if !errors.Is(err, ErrMasterKey) {
			t.Fatalf("error %v, want %v", err, ErrMasterKey)
		}
		if n := tableCount(t, owner); n != 0 {
			t.Errorf("%d tables left in the target database", n)
		}
		assertNothingRestored(t, dst)
	})
}

// TestPostgresCreateWhileWriting backs up a deployment while another
// connection appends audit events and stores documents: the backup holds
// one snapshot, so every row it holds has what it refers to (the restore
// checks the foreign keys, the audit log verifies) and every document it
// names is whole.
func TestPostgresCreateWhileWriting(t *testing.T) {
	f := newPGFixture(t)
	key := testKey(t)
	ctx, cancel := context.WithCancel(context.Background())
	bs, err := blobpostgres.New(ctx, pgtest.Pool(t, f.appURL))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	written := map[string][]byte{}
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			err := f.log.Record(ctx, auditlog.Event{Type: auditlog.DocumentUploaded, Tenant: "t1",
				Actor: auditlog.Actor{Kind: auditlog.ActorService, ID: fmt.Sprint("w", i)}, Outcome: auditlog.OutcomeSuccess})
			if err == nil {
				b := bytes.Repeat([]byte(fmt.Sprintf("doc %d ", i)), 200_000) // several chunks
				var name string
				if name, _, err = bs.Put(ctx, bytes.NewReader(b)); err == nil {
					mu.Lock()
					written[name] = b
					mu.Unlock()
				}
			}
			if err != nil && ctx.Err() == nil {
				werr = err
				return
			}
		}
	}()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(written)
	}
	// At least three backups, and as many as it takes for the writer to
	// store documents while they are made.
	var bufs [][]byte
	start := count()
	for len(bufs) < 3 || count() < start+2 && len(bufs) < 50 {
		bufs = append(bufs, createPG(t, f, key))
	}
	cancel()
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	if len(written) < start+2 {
		t.Fatalf("the writer stored %d documents during %d backups", len(written)-start, len(bufs))
	}
	for i, b := range bufs {
		owner, app := pgtest.NewDatabase(t)
		dst := filepath.Join(t.TempDir(), "restored")
		s, err := Restore(context.Background(), bytes.NewReader(b), RestoreOptions{Dir: dst, DatabaseURL: owner, AppRole: pgtest.AppRole, Key: key, MasterKeyFile: writeTemp(t, string(f.mk))})
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		if s.AuditEvents < 6 {
			t.Errorf("backup %d: %d events", i, s.AuditEvents)
		}
		pool := pgtest.Pool(t, app)
		rbs, err := blobpostgres.New(context.Background(), pool)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := pool.Query(context.Background(), `SELECT name FROM blobs`)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		rows.Close()
		for _, n := range names {
			want, ok := written[n]
			if !ok {
				want = f.blobs[n]
			}
			r, _, err := rbs.Open(context.Background(), n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("backup %d: document %s is not whole (%d bytes, want %d; %v)", i, n, len(got), len(want), err)
			}
		}
	}
}

// TestPostgresTablesFromCatalog checks that the tables are found in the
// catalog: a table added to the schema is backed up and verified without
// any change here (and a restore, whose migrations do not create it,
// refuses the backup with nothing restored), while relations and column
// types a backup does not understand are refused, not skipped.
func TestPostgresTablesFromCatalog(t *testing.T) {
	f := newPGFixture(t)
	key := testKey(t)
	ctx := context.Background()
	owner := pgtest.Pool(t, f.ownerURL)
	backup := func() ([]byte, *Summary, error) {
		var buf bytes.Buffer
		s, err := Create(ctx, &buf, CreateOptions{Dir: f.dir, DatabaseURL: f.ownerURL, Key: key})
		return buf.Bytes(), s, err
	}
	_, before, err := backup()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `CREATE TABLE zz_extra (id bigint PRIMARY KEY, v text, at timestamptz, ok boolean)`); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `INSERT INTO zz_extra SELECT g, 'row ' || g, now(), g % 2 = 0 FROM generate_series(1, 250) g`); err != nil {
		t.Fatal(err)
	}
	b, s, err := backup()
	if err != nil {
		t.Fatal(err)
	}
	if s.Tables != before.Tables+1 || s.Rows != before.Rows+250 {
		t.Errorf("with a new table: %d tables, %d rows; before %d, %d", s.Tables, s.Rows, before.Tables, before.Rows)
	}
	if _, err := Verify(ctx, bytes.NewReader(b), VerifyOptions{Key: key}); err != nil {
		t.Fatal(err)
	}
	target, _ := pgtest.NewDatabase(t)
	dst := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(ctx, bytes.NewReader(b), RestoreOptions{Dir: dst, DatabaseURL: target, Key: key, MasterKeyFile: writeTemp(t, string(f.mk))}); err == nil || !strings.Contains(err.Error(), "zz_extra") {
		t.Fatalf("restore of a table no migration creates: %v", err)
	}
	if n := tableCount(t, target); n != 0 {
		t.Errorf("%d tables left in the target database", n)
	}
	assertNothingRestored(t, dst)
	for _, c := range []struct{ ddl, drop, want string }{
		{`CREATE TABLE zz_uuid (id uuid)`, `DROP TABLE zz_uuid`, "uuid"},
		{`CREATE VIEW zz_view AS SELECT 1 AS one`, `DROP VIEW zz_view`, "zz_view"},
		{`CREATE TABLE zz_gen (a bigint, b bigint GENERATED ALWAYS AS (a * 2) STORED)`, `DROP TABLE zz_gen`, "generated"},
	} {
		if _, err := owner.Exec(ctx, c.ddl); err != nil {
			t.Fatal(err)
		}
		if _, _, err := backup(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: backup error %v, want one naming %q", c.ddl, err, c.want)
		}
		if _, err := owner.Exec(ctx, c.drop); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPostgresRestoreFailsAtCommit restores a backup whose rows break a
// foreign key that is checked only at commit (blob_chunks → blobs,
// deferred; dropped from the source to make the row): the restore fails
// at its last step, and takes the restored directory back, so the target
// directory is as it was and the database holds no table.
func TestPostgresRestoreFailsAtCommit(t *testing.T) {
	f := newPGFixture(t)
	ctx := context.Background()
	owner := pgtest.Pool(t, f.ownerURL)
	if _, err := owner.Exec(ctx, `ALTER TABLE blob_chunks DROP CONSTRAINT blob_chunks_content_fkey`); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `INSERT INTO blob_chunks (content, n, data) VALUES (987654321, 0, '\x01')`); err != nil {
		t.Fatal(err)
	}
	key := testKey(t)
	b := createPG(t, f, key)
	target, _ := pgtest.NewDatabase(t)
	for _, withKey := range []bool{false, true} {
		dst := filepath.Join(t.TempDir(), "restored")
		opts := RestoreOptions{Dir: dst, DatabaseURL: target, Key: key, MasterKeyFile: writeTemp(t, string(f.mk))}
		if withKey {
			// The master key copied into the target directory first stays.
			if err := os.Mkdir(dst, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, datadir.MasterKey), f.mk, 0o600); err != nil {
				t.Fatal(err)
			}
			opts.MasterKeyFile = ""
		}
		_, err := Restore(ctx, bytes.NewReader(b), opts)
		var de *dbError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "blob_chunks") {
			t.Fatalf("error %v, want the target's refusal of the orphan chunk", err)
		}
		if n := tableCount(t, target); n != 0 {
			t.Errorf("%d tables left in the target database", n)
		}
		ents, _ := os.ReadDir(dst)
		switch {
		case withKey && (len(ents) != 1 || ents[0].Name() != datadir.MasterKey):
			t.Errorf("the target directory holds %v, want only the master key", ents)
		case !withKey:
			assertNothingRestored(t, dst)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".restored.restore-*")); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	}
}
