package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys"
)

// fixture is a data directory made by the real stores: a key store with
// keys (master.key, keys/, keys.db), an audit log with events and signed
// checkpoints copied to checkpoints/ (audit.db, audit.master, audit.pub),
// a service database with rows, and blobs (one with an SQLite header).
type fixture struct {
	dir   string
	blobs map[string][]byte
	mk    []byte
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{dir: filepath.Join(t.TempDir(), "data"), blobs: map[string][]byte{}}
	d, err := datadir.Open(f.dir, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
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
	log, err := d.AuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := log.Record(ctx, auditlog.Event{Type: auditlog.DocumentUploaded, Tenant: "t1", Actor: auditlog.Actor{Kind: auditlog.ActorService, ID: fmt.Sprint(i)}, Outcome: auditlog.OutcomeSuccess}); err != nil {
			t.Fatal(err)
		}
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
	// One more event, not yet in a checkpoint.
	if err := log.Record(ctx, auditlog.Event{Type: auditlog.DocumentUploaded, Tenant: "t1", Actor: auditlog.Actor{Kind: auditlog.ActorService, ID: "late"}, Outcome: auditlog.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	db, err := sqldb.OpenDB(ctx, d.File(datadir.ServiceDB))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE things (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := db.Exec(`INSERT INTO things (v) VALUES (?)`, fmt.Sprintf("row %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	bs, err := d.Blobs()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		b := bytes.Repeat([]byte(fmt.Sprintf("document %d ", i)), 1000+i)
		name, _, err := bs.Put(ctx, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		f.blobs[name] = b
	}
	// A document that looks like a database travels as it is.
	odd := append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{7}, 5000)...)
	name, _, err := bs.Put(ctx, bytes.NewReader(odd))
	if err != nil {
		t.Fatal(err)
	}
	f.blobs[name] = odd
	if f.mk, err = os.ReadFile(d.File(datadir.MasterKey)); err != nil {
		t.Fatal(err)
	}
	// Files a backup leaves out.
	for _, p := range []string{"outbox/mail.eml", "tmp/scratch", ".hidden"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(f.dir, p)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.dir, p), []byte("left out"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func testKey(t *testing.T) []byte {
	t.Helper()
	k, err := NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func create(t *testing.T, dir string, key []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Create(context.Background(), &buf, CreateOptions{Dir: dir, Key: key}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRoundTrip backs up a data directory, verifies the backup and
// restores it: the restored directory holds the same files (databases
// with the same rows), the blobs byte for byte, no master key, no left
// out file, and its audit log verifies.
func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	key := testKey(t)
	b := create(t, f.dir, key)
	if bytes.Contains(b, []byte("row 42")) || bytes.Contains(b, []byte("document 1 document")) {
		t.Fatal("the backup holds plaintext")
	}
	ctx := context.Background()
	s, err := Verify(ctx, bytes.NewReader(b), VerifyOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if s.Blobs != 4 || s.AuditEvents < 6 || s.Checkpoints != 1 || len(s.Databases) != 3 || s.AuditLogBytes == 0 {
		t.Errorf("summary %+v", s)
	}
	if want := []string{"signet.db", "audit.db", "keys.db"}; strings.Join(s.Databases, ",") != strings.Join(want, ",") {
		t.Errorf("databases %v, want %v in that order", s.Databases, want)
	}
	if _, err := os.Stat(filepath.Join(f.dir, ".backup-")); err == nil {
		t.Error("scratch directory left behind")
	}
	if left, _ := filepath.Glob(filepath.Join(f.dir, ".backup-*")); len(left) != 0 {
		t.Errorf("scratch left behind: %v", left)
	}

	dst := filepath.Join(t.TempDir(), "restored")
	mkFile := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(mkFile, f.mk, 0o600); err != nil {
		t.Fatal(err)
	}
	rs, err := Restore(ctx, bytes.NewReader(b), RestoreOptions{Dir: dst, Key: key, MasterKeyFile: mkFile})
	if err != nil {
		t.Fatal(err)
	}
	if rs.ID != s.ID || rs.Entries != s.Entries {
		t.Errorf("restore summary %+v, verify %+v", rs, s)
	}
	for name, want := range f.blobs {
		got, err := os.ReadFile(filepath.Join(dst, "blobs", name[:2], name[2:]))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("blob %s: %v", name, err)
		}
	}
	for _, p := range []string{"outbox", "tmp", ".hidden", "signet.lock"} {
		if _, err := os.Stat(filepath.Join(dst, p)); err == nil {
			t.Errorf("restored %s, which a backup leaves out", p)
		}
	}
	if got, err := os.ReadFile(filepath.Join(dst, "master.key")); err != nil || !bytes.Equal(got, f.mk) {
		t.Errorf("master.key not installed from --master-key: %v", err)
	}
	filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		fi, _ := d.Info()
		if d.IsDir() && fi.Mode().Perm() != 0o700 || !d.IsDir() && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v", p, fi.Mode())
		}
		return nil
	})
	db, err := sql.Open(sqldb.DriverName, filepath.Join(dst, "signet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM things`).Scan(&n); err != nil || n != 100 {
		t.Errorf("restored rows: %d, %v", n, err)
	}
	// The restored directory opens: its key store under the same master
	// key, its audit log verifies.
	d, err := datadir.Open(dst, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m, err := d.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := m.List(ctx, "t1")
	if err != nil || len(all) != 1 {
		t.Errorf("restored keys: %d, %v", len(all), err)
	}
	if _, err := verifyAudit(ctx, dst, filepath.Join(dst, datadir.AuditDB)); err != nil {
		t.Errorf("restored audit log: %v", err)
	}
}

// TestCreateNoMasterKey checks that the master key never enters a
// backup: the archive names no master.key, and its bytes are nowhere in
// the decrypted archive.
func TestCreateNoMasterKey(t *testing.T) {
	f := newFixture(t)
	key := testKey(t)
	b := create(t, f.dir, key)
	_, ar, err := openStream(context.Background(), bytes.NewReader(b), key)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(ar)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain, bytes.TrimSpace(f.mk)) || bytes.Contains(plain, []byte("\"master.key\"")) {
		t.Fatal("the backup holds the master key")
	}
	if !bytes.Contains(plain, []byte(ManifestName)) {
		t.Fatal("no manifest in the archive")
	}
}

// TestRefused is the table of backups that verify and restore refuse
// with a clear error, restoring nothing.
func TestRefused(t *testing.T) {
	f := newFixture(t)
	key := testKey(t)
	good := create(t, f.dir, key)
	other := testKey(t)
	for _, tc := range []struct {
		name string
		b    []byte
		key  []byte
		want error
		text string
	}{
		{"wrong key", good, other, nil, "wrong backup key"},
		{"not a backup", []byte("%PDF-1.7 definitely not a backup"), key, ErrNotBackup, "not a Signet backup"},
		{"empty file", nil, key, ErrNotBackup, "not a Signet backup"},
		{"future format", withByte(good, len(Magic), FormatVersion+1), key, ErrFormatVersion, "unsupported backup format version 2"},
		{"header only", good[:HeaderSize], key, ErrCorrupt, "corrupt"},
		{"header truncated", good[:HeaderSize-3], key, ErrCorrupt, "corrupt"},
		{"truncated in the middle", good[:len(good)/2], key, ErrCorrupt, "corrupt"},
		{"last byte missing", good[:len(good)-1], key, ErrCorrupt, "corrupt"},
		{"appended byte", append(bytes.Clone(good), 0), key, ErrCorrupt, "corrupt"},
		{"flipped backup id", flip(good, HeaderSize-1), key, ErrCorrupt, "corrupt"},
		{"flipped first stream byte", flip(good, HeaderSize), key, ErrCorrupt, "corrupt"},
		{"flipped middle byte", flip(good, len(good)/2), key, ErrCorrupt, "corrupt"},
		{"flipped last byte", flip(good, len(good)-1), key, ErrCorrupt, "corrupt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			_, err := Verify(ctx, bytes.NewReader(tc.b), VerifyOptions{Key: tc.key})
			checkRefusal(t, "verify", err, tc.want, tc.text)
			dst := filepath.Join(t.TempDir(), "restored")
			_, err = Restore(ctx, bytes.NewReader(tc.b), RestoreOptions{Dir: dst, Key: tc.key, MasterKey: strings.TrimSpace(string(f.mk))})
			checkRefusal(t, "restore", err, tc.want, tc.text)
			assertNothingRestored(t, dst)
		})
	}
}

func checkRefusal(t *testing.T, op string, err, want error, text string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: accepted", op)
	}
	if want != nil && !errors.Is(err, want) {
		t.Errorf("%s: %v, want %v", op, err, want)
	}
	var wk *WrongKeyError
	if want == nil && !errors.As(err, &wk) {
		t.Errorf("%s: %v, want a WrongKeyError", op, err)
	}
	if !strings.Contains(err.Error(), text) {
		t.Errorf("%s: %q does not say %q", op, err, text)
	}
}

// assertNothingRestored checks that dst and its parent hold nothing.
func assertNothingRestored(t *testing.T, dst string) {
	t.Helper()
	if _, err := os.Stat(dst); err == nil {
		t.Errorf("%s exists after a refused restore", dst)
	}
	ents, _ := os.ReadDir(filepath.Dir(dst))
	for _, e := range ents {
		t.Errorf("left behind: %s", e.Name())
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

func withByte(b []byte, i int, v byte) []byte {
	c := bytes.Clone(b)
	c[i] = v
	return c
}

// TestEveryByteFlipped flips one bit of every byte of a backup in turn
// (a small one: a data directory of one file, so that the stream has few
// segments): verify refuses every copy.
func TestEveryByteFlipped(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, datadir.AuditDB), []byte("not really a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := testKey(t)
	good := create(t, dir, key)
	_, ar, err := openStream(context.Background(), bytes.NewReader(good), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := extract(context.Background(), ar, t.TempDir(), false, refuseTables{}); err != nil {
		t.Fatalf("the unaltered backup: %v", err)
	}
	for i := range good {
		for _, bit := range []byte{0x01, 0x80} {
			c := bytes.Clone(good)
			c[i] ^= bit
			_, ar, err := openStream(context.Background(), bytes.NewReader(c), key)
			if err == nil {
				_, err = extract(context.Background(), ar, t.TempDir(), false, refuseTables{})
			}
			if err == nil {
				t.Fatalf("byte %d bit %#x flipped: accepted", i, bit)
			}
		}
	}
}

// TestRestoreTarget checks where a restore goes: not into a directory
// that holds data; into one that holds only master.key, which then opens
// the key store.
func TestRestoreTarget(t *testing.T) {
	f := newFixture(t)
	key := testKey(t)
	b := create(t, f.dir, key)
	ctx := context.Background()

	busy := t.TempDir()
	if err := os.WriteFile(filepath.Join(busy, "signet.db"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, bytes.NewReader(b), RestoreOptions{Dir: busy, Key: key, MasterKey: strings.TrimSpace(string(f.mk))}); !errors.Is(err, ErrTarget) {
		t.Errorf("restore into a directory with data: %v", err)
	}

	withKey := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(withKey, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(withKey, "master.key"), f.mk, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, bytes.NewReader(b), RestoreOptions{Dir: withKey, Key: key}); err != nil {
		t.Fatalf("restore into a directory holding the master key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(withKey, "keys.db")); err != nil {
		t.Error("nothing restored")
	}
	if got, _ := os.ReadFile(filepath.Join(withKey, "master.key")); !bytes.Equal(got, f.mk) {
		t.Error("master.key lost")
	}
}

// TestRestoreMasterKey checks that a restore needs the master key and
// refuses one that does not open the key store, restoring nothing.
func TestRestoreMasterKey(t *testing.T) {
	f := newFixture(t)
	key := testKey(t)
	b := create(t, f.dir, key)
	ctx := context.Background()
	wrong := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	for _, tc := range []struct {
		name string
		opts RestoreOptions
		text string
	}{
		{"none", RestoreOptions{}, "give it with --master-key FILE"},
		{"wrong, from the environment", RestoreOptions{MasterKey: wrong}, "does not open the backup's key store"},
		{"wrong, from a file", RestoreOptions{MasterKeyFile: writeTemp(t, wrong+"\n")}, "does not open the backup's key store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "restored")
			tc.opts.Dir, tc.opts.Key = dst, key
			_, err := Restore(ctx, bytes.NewReader(b), tc.opts)
			if !errors.Is(err, ErrMasterKey) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("restore: %v, want %q", err, tc.text)
			}
			assertNothingRestored(t, dst)
		})
	}
}

func writeTemp(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVerifyChecksContents makes backups that decrypt and match their
// manifest but whose contents are bad: a damaged database and a tampered
// audit log. Verify refuses both.
func TestVerifyChecksContents(t *testing.T) {
	key := testKey(t)
	ctx := context.Background()
	t.Run("damaged database", func(t *testing.T) {
		f := newFixture(t)
		p := filepath.Join(f.dir, "pki.db")
		db, err := sqldb.OpenDB(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`CREATE TABLE t (a TEXT); CREATE INDEX ti ON t(a)`); err != nil {
			t.Fatal(err)
		}
		for i := range 2000 {
			db.Exec(`INSERT INTO t VALUES (?)`, strings.Repeat(fmt.Sprint(i), 20))
		}
		db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		db.Close()
		// Overwrite a page in the middle of the file: a valid header, a
		// broken b-tree.
		fh, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fh.WriteAt(bytes.Repeat([]byte{0xA5}, 4096), 8*4096)
		fh.Close()
		var buf bytes.Buffer
		_, err = Create(ctx, &buf, CreateOptions{Dir: f.dir, Key: key})
		if err == nil {
			_, err = Verify(ctx, &buf, VerifyOptions{Key: key})
		}
		if err == nil || !strings.Contains(err.Error(), "pki.db") {
			t.Fatalf("a damaged database: %v", err)
		}
	})
	t.Run("tampered audit log", func(t *testing.T) {
		f := newFixture(t)
		db, err := sqldb.OpenDB(ctx, filepath.Join(f.dir, "audit.db"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE records SET leaf = randomblob(length(leaf)) WHERE idx = 2`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		b := create(t, f.dir, key)
		_, err = Verify(ctx, bytes.NewReader(b), VerifyOptions{Key: key})
		if !errors.Is(err, ErrCheck) || !strings.Contains(err.Error(), "audit log") {
			t.Fatalf("a tampered audit log: %v", err)
		}
	})
}
