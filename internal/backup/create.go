package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys/dataseal"
)

// masterKeyName is the master key file, which no backup holds.
const masterKeyName = datadir.MasterKey

// leftOut lists the paths (relative, slash-separated) a backup leaves
// out besides names beginning with "." and SQLite's -wal, -shm and
// -journal companions (a database travels as its snapshot): the master
// key, lock files, scratch space and the e-mail outbox.
var leftOut = []string{
	masterKeyName, datadir.WriterLock, datadir.PKILock,
	datadir.TempDir, datadir.OutboxDir, datadir.BlobsDir + "/tmp",
}

// dbOrder ranks the databases the service knows: lower first. Others
// come between signet.db and audit.db; keys.db is always last.
var dbOrder = map[string]int{datadir.ServiceDB: 0, datadir.AuditDB: 2, datadir.PKIDB: 3, datadir.KeysDB: 4}

// CreateOptions configures [Create].
type CreateOptions struct {
	// Dir is the data directory to back up. It may be in use by a
	// running `signet serve`.
	Dir string
	// DatabaseURL, for a PostgreSQL deployment, connects to the database
	// that holds its stores: every table is read in one snapshot, while
	// the nodes keep serving. The role needs only SELECT (the
	// application's role will do).
	DatabaseURL string
	// Key is the backup key ([KeySize] bytes).
	Key []byte
	// Now is the clock of the creation time (nil: time.Now).
	Now func() time.Time
	// Rand is the source of the backup id and the stream's data key
	// (nil: crypto/rand).
	Rand io.Reader
}

// Create writes an encrypted backup of the data directory opts.Dir to w
// (see the package documentation for what it holds and in which order).
// The directory may be served meanwhile: databases are snapshotted in a
// read transaction, other files are immutable or replaced by rename. The
// snapshots pass through a temporary directory inside opts.Dir (its name
// begins with ".", 0700) that is removed before Create returns. Memory
// is bounded by one stream segment, whatever the size of the files.
func Create(ctx context.Context, w io.Writer, opts CreateOptions) (*Summary, error) {
	if len(opts.Key) != KeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrKey, len(opts.Key), KeySize)
	}
	root, err := dataDir(opts.Dir, opts.DatabaseURL != "")
	if err != nil {
		return nil, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	h := Header{Version: FormatVersion, KeyID: keyID(opts.Key)}
	if _, err := io.ReadFull(rnd, h.ID[:]); err != nil {
		return nil, fmt.Errorf("backup: backup id: %w", err)
	}
	if _, err := w.Write(h.Marshal()); err != nil {
		return nil, fmt.Errorf("backup: write: %w", err)
	}
	sw, err := dataseal.NewWriter(ctx, kekFor(opts.Key), adFor(h), w, rnd)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	c := &creator{ctx: ctx, root: root, tw: tar.NewWriter(sw), done: map[string]bool{},
		m: &manifest{Format: FormatVersion, ID: h.IDString(), Created: now().UTC().Truncate(time.Second)}}
	defer c.removeScratch()
	// 1. The checkpoint copies, before the audit log's snapshot.
	if err := c.addCheckpoints(); err != nil {
		return nil, err
	}
	// 2. The databases: a PostgreSQL deployment's, in one snapshot;
	// SQLite files, keys.db last.
	if opts.DatabaseURL != "" {
		if err := c.addPostgres(opts.DatabaseURL); err != nil {
			return nil, err
		}
	}
	dbs, err := c.findDatabases()
	if err != nil {
		return nil, err
	}
	for _, db := range dbs {
		if err := c.addDatabase(db); err != nil {
			return nil, err
		}
	}
	// 3. Everything else: sealed key files and blobs now match the
	// snapshots; a database created meanwhile is snapshotted too.
	if err := c.walk("", true); err != nil {
		return nil, err
	}
	b, err := c.m.marshal()
	if err != nil {
		return nil, fmt.Errorf("backup: manifest: %w", err)
	}
	if err := c.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Size: int64(len(b)), Mode: 0o600, ModTime: c.m.Created}); err != nil {
		return nil, fmt.Errorf("backup: write: %w", err)
	}
	if _, err := c.tw.Write(b); err != nil {
		return nil, fmt.Errorf("backup: write: %w", err)
	}
	if err := c.tw.Close(); err != nil {
		return nil, fmt.Errorf("backup: write: %w", err)
	}
	if err := sw.Close(); err != nil {
		return nil, fmt.Errorf("backup: write: %w", err)
	}
	s := summarize(c.m)
	s.KeyID = KeyID(opts.Key)
	return s, nil
}

// dataDir resolves dir and checks that it is a Signet data directory
// (one of a PostgreSQL deployment, pg, need not hold the audit log).
func dataDir(dir string, pg bool) (string, error) {
	if dir == "" {
		return "", errors.New("backup: no data directory given")
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("backup: data directory: %w", err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("backup: data directory %s is not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(root, datadir.AuditDB)); err != nil && !pg {
		return "", fmt.Errorf("backup: %s holds no Signet data directory (no %s)", dir, datadir.AuditDB)
	}
	return root, nil
}

// kekFor returns the KEK of a backup key, its version the key id.
func kekFor(key []byte) dataseal.KEK {
	id := keyID(key)
	return dataseal.NewAESKEK(hex.EncodeToString(id[:]), key)
}

// adFor returns the associated data of the stream of the backup h.
func adFor(h Header) dataseal.AD {
	return dataseal.AD{Tenant: "signet", Object: "backup:" + h.IDString(), Field: fmt.Sprintf("archive/v%d", h.Version)}
}

// creator writes one backup's archive.
type creator struct {
	ctx     context.Context
	root    string
	tw      *tar.Writer
	m       *manifest
	done    map[string]bool
	scratch string
}

// excluded reports whether the relative path rel is left out.
func excluded(rel string) bool {
	for _, c := range strings.Split(rel, "/") {
		if strings.HasPrefix(c, ".") {
			return true
		}
	}
	if slices.Contains(leftOut, rel) {
		return true
	}
	for _, suf := range []string{"-wal", "-shm", "-journal"} {
		if strings.HasSuffix(rel, suf) {
			return true
		}
	}
	return false
}

// walk adds the directories and files under the relative directory sub
// ("" for the whole data directory) that are not added yet, in lexical
// order; with dbs, an SQLite database found is added as a snapshot.
func (c *creator) walk(sub string, dbs bool) error {
	start := filepath.Join(c.root, filepath.FromSlash(sub))
	if _, err := os.Lstat(start); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != start {
				return nil // removed meanwhile (a temporary file)
			}
			return fmt.Errorf("backup: %w", err)
		}
		if err := c.ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(c.root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if excluded(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if c.done[rel] {
			if d.IsDir() && rel == datadir.CheckpointsDir && sub == "" {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			return c.addDir(rel, p)
		case d.Type().IsRegular():
			// Blobs are documents, whatever their first bytes.
			if dbs && !strings.HasPrefix(rel, datadir.BlobsDir+"/") {
				if ok, err := isSQLite(p); err != nil {
					return err
				} else if ok {
					return c.addDatabase(rel)
				}
			}
			return c.addFile(rel, p, typeFile)
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("backup: %s is a symbolic link: a backup copies regular files and directories only", p)
		default:
			return fmt.Errorf("backup: %s is not a regular file or directory", p)
		}
	})
}

// findDatabases returns the SQLite databases of the data directory
// (relative paths) in the order they are snapshotted.
func (c *creator) findDatabases() ([]string, error) {
	var dbs []string
	err := filepath.WalkDir(c.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != c.root {
				return nil
			}
			return fmt.Errorf("backup: %w", err)
		}
		rel, _ := filepath.Rel(c.root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if excluded(rel) || rel == datadir.CheckpointsDir || rel == datadir.BlobsDir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			ok, err := isSQLite(p)
			if err != nil {
				return err
			}
			if ok {
				dbs = append(dbs, rel)
			}
		}
		return nil
	})
	rank := func(db string) int {
		if r, ok := dbOrder[db]; ok {
			return r
		}
		return 1
	}
	slices.SortStableFunc(dbs, func(a, b string) int { return rank(a) - rank(b) })
	return dbs, err
}

// sqliteMagic opens every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// isSQLite reports whether the file at p is an SQLite database.
func isSQLite(p string) (bool, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	b := make([]byte, len(sqliteMagic))
	n, _ := io.ReadFull(f, b)
	return bytes.Equal(b[:n], sqliteMagic), nil
}

// addDir adds the directory rel.
func (c *creator) addDir(rel, p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := c.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime().UTC().Truncate(time.Second)}); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	c.done[rel] = true
	c.m.Entries = append(c.m.Entries, entry{Path: rel, Type: typeDir, Mode: uint32(fi.Mode().Perm())})
	return nil
}

// addDatabase adds a snapshot of the SQLite database rel: VACUUM INTO a
// scratch file, in one read transaction beside the running writer.
func (c *creator) addDatabase(rel string) error {
	if c.scratch == "" {
		d, err := os.MkdirTemp(c.root, ".backup-")
		if err != nil {
			return fmt.Errorf("backup: scratch directory: %w", err)
		}
		c.scratch = d
	}
	src := filepath.Join(c.root, filepath.FromSlash(rel))
	snap := filepath.Join(c.scratch, "snapshot.db")
	if err := snapshot(c.ctx, src, snap); err != nil {
		return fmt.Errorf("backup: snapshot of %s: %w", rel, err)
	}
	defer os.Remove(snap)
	// The snapshot carries the source's mode.
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(src); err == nil {
		mode = fi.Mode().Perm()
	}
	return c.add(rel, snap, typeDatabase, mode)
}

// snapshot writes a consistent copy of the SQLite database src to dst.
func snapshot(ctx context.Context, src, dst string) error {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open(sqldb.DriverName, "file:"+(&url.URL{Path: src}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return err
	}
	return os.Chmod(dst, 0o600)
}

// addFile adds the regular file rel.
func (c *creator) addFile(rel, p, typ string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed meanwhile
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return c.add(rel, p, typ, fi.Mode().Perm())
}

// add streams the file at p into the archive as rel.
func (c *creator) add(rel, p, typ string, mode os.FileMode) error {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("backup: %s is not a regular file", p)
	}
	if err := c.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Size: fi.Size(), Mode: int64(mode), ModTime: fi.ModTime().UTC().Truncate(time.Second)}); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(c.tw, h), f, fi.Size()); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("backup: %s shrank while it was read (a file of the data directory changed in place)", p)
		}
		return fmt.Errorf("backup: %s: %w", rel, err)
	}
	c.done[rel] = true
	c.m.Entries = append(c.m.Entries, entry{Path: rel, Type: typ, Size: fi.Size(), SHA256: hex.EncodeToString(h.Sum(nil)), Mode: uint32(mode)})
	return nil
}

// addCheckpoints adds the write-once checkpoint copies
// (auditlog/anchor.FileSink): its index up to its last complete line, and
// the checkpoint files that the index lists, which are complete (a file
// is written and synced before its line is appended). A file being
// written now is left for the next backup.
func (c *creator) addCheckpoints() error {
	dir := filepath.Join(c.root, datadir.CheckpointsDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := c.addDir(datadir.CheckpointsDir, dir); err != nil {
		return err
	}
	index, err := os.ReadFile(filepath.Join(dir, anchor.IndexFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	index = index[:bytes.LastIndexByte(index, '\n')+1]
	listed := map[string]bool{}
	for _, line := range strings.Split(string(index), "\n") {
		if size, _, ok := strings.Cut(line, " "); ok {
			listed[size+".checkpoint"] = true
		}
	}
	for _, e := range ents {
		rel := datadir.CheckpointsDir + "/" + e.Name()
		p := filepath.Join(dir, e.Name())
		switch {
		case excluded(rel):
		case e.Name() == anchor.IndexFile:
			if err := c.addBytes(rel, index, 0o600); err != nil {
				return err
			}
		case strings.HasSuffix(e.Name(), ".checkpoint") && !listed[e.Name()]:
			// being written: not in the index yet
		case e.IsDir():
			if err := c.walk(rel, false); err != nil {
				return err
			}
		default:
			if !e.Type().IsRegular() {
				return fmt.Errorf("backup: %s is not a regular file or directory", p)
			}
			if err := c.addFile(rel, p, typeFile); err != nil {
				return err
			}
		}
	}
	return nil
}

// addBytes adds the file rel holding b.
func (c *creator) addBytes(rel string, b []byte, mode os.FileMode) error {
	if err := c.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Size: int64(len(b)), Mode: int64(mode), ModTime: c.m.Created}); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	if _, err := c.tw.Write(b); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	sum := sha256.Sum256(b)
	c.done[rel] = true
	c.m.Entries = append(c.m.Entries, entry{Path: rel, Type: typeFile, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), Mode: uint32(mode)})
	return nil
}

// removeScratch removes the scratch directory of the snapshots.
func (c *creator) removeScratch() {
	if c.scratch != "" {
		os.RemoveAll(c.scratch)
	}
}
