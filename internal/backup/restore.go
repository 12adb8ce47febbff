package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	auditpostgres "github.com/signet-pki/signet/auditlog/postgres"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/keys/soft"
)

// VerifyOptions configures [Verify].
type VerifyOptions struct {
	// Key is the backup key.
	Key []byte
	// TempDir is where the databases and files (not the blobs, which
	// are only hashed) are extracted to be checked, in a new directory
	// (0700) removed before Verify returns ("": os.TempDir()). A
	// PostgreSQL deployment's tables are only read, but for the audit
	// log's, copied there to be verified.
	TempDir string
}

// auditSnapshot is the name, in a scratch directory, of the SQLite copy
// of a PostgreSQL deployment's audit log that a check verifies.
const auditSnapshot = "audit-snapshot.db"

// Verify reads the whole backup r and checks it: it decrypts and
// authenticates the stream, checks the manifest against every entry,
// runs PRAGMA integrity_check on every database snapshot, checks every
// PostgreSQL table's framing and row count, and verifies the audit log.
// Any failure is an error wrapping [ErrNotBackup], [ErrFormatVersion],
// [ErrCorrupt], [ErrCheck] or a [*WrongKeyError].
func Verify(ctx context.Context, r io.Reader, opts VerifyOptions) (*Summary, error) {
	h, ar, err := openStream(ctx, r, opts.Key)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(opts.TempDir, "signet-backup-verify-")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	files := filepath.Join(tmp, "files")
	if err := os.Mkdir(files, 0o700); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	tc := &tableChecker{path: filepath.Join(tmp, auditSnapshot)}
	defer tc.close()
	x, err := extract(ctx, ar, files, false, tc)
	tc.close()
	if err != nil {
		return nil, err
	}
	return finish(ctx, files, tc.path, h, opts.Key, x)
}

// finish checks what extract found in dir (and, for a PostgreSQL
// deployment, the audit log copied to auditCopy) and summarizes it.
func finish(ctx context.Context, dir, auditCopy string, h Header, key []byte, x *extraction) (*Summary, error) {
	if x.m.ID != h.IDString() {
		return nil, fmt.Errorf("%w: the manifest names backup %s, the header %s", ErrCorrupt, x.m.ID, h.IDString())
	}
	s := summarize(x.m)
	s.KeyID = KeyID(key)
	if err := check(ctx, dir, auditCopy, x, s); err != nil {
		return nil, err
	}
	return s, nil
}

// ErrTarget means a restore's target directory is unusable: it holds
// data (a restore goes only into an empty or absent directory), or its
// parent does not exist.
var ErrTarget = errors.New("backup: unusable target directory")

// ErrMasterKey is wrapped by errors about the master key a restore needs:
// none given, or one that does not open the backup's key store.
var ErrMasterKey = errors.New("backup: master key")

// RestoreOptions configures [Restore].
type RestoreOptions struct {
	// Dir is the data directory to restore into. It must be absent,
	// empty, or hold only master.key (the master key, copied there by
	// the operator); its parent must exist.
	Dir string
	// DatabaseURL, for a backup of a PostgreSQL deployment, connects to
	// the target database as the role that is to own the tables. The
	// database must hold no table.
	DatabaseURL string
	// AppRole, if set, is the role the nodes connect as, granted what
	// the service needs ([datadir.MigrateDatabase]) in the restore's
	// transaction.
	AppRole string
	// Key is the backup key.
	Key []byte
	// MasterKey is SIGNET_MASTER_KEY's value ("" if unset). Only cmd/
	// reads the environment.
	MasterKey string
	// MasterKeyFile, if set, is a master key file: it is checked and
	// then written to DIR/master.key (0600).
	MasterKeyFile string
}

// Restore restores the backup r into the data directory opts.Dir and,
// for a PostgreSQL deployment's backup, into the empty database
// opts.DatabaseURL. It extracts the files into a new directory beside
// opts.Dir (0700; files 0600, or 0400 as the checkpoint copies); it
// creates the backup's schema and copies the rows in one transaction of
// the database. It checks everything [Verify] does, then that the master
// key (opts.MasterKeyFile, opts.MasterKey or DIR/master.key) opens the
// backup's key store, and only then renames the directory into place and
// commits the transaction. On any failure nothing is left behind:
// opts.Dir is as it was and the database holds no table.
func Restore(ctx context.Context, r io.Reader, opts RestoreOptions) (*Summary, error) {
	if opts.Dir == "" {
		return nil, errors.New("backup: no target directory given")
	}
	dst, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	placedKey, err := checkTarget(dst)
	if err != nil {
		return nil, err
	}
	if placedKey && opts.MasterKeyFile != "" {
		return nil, fmt.Errorf("%w: both --master-key and %s are given: keep the key in one place", ErrMasterKey, filepath.Join(dst, datadir.MasterKey))
	}
	var consumer tableConsumer = refuseTables{}
	var tx pgx.Tx
	scratch, err := os.MkdirTemp("", "signet-backup-restore-")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(scratch)
	auditCopy := filepath.Join(scratch, auditSnapshot)
	if opts.DatabaseURL != "" {
		pool, err := pgdb.Open(ctx, opts.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTargetDatabase, err)
		}
		defer pool.Close()
		if err := checkEmptyDatabase(ctx, pool); err != nil {
			return nil, err
		}
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return nil, &dbError{err}
		}
		defer conn.Release()
		if tx, err = conn.Begin(ctx); err != nil {
			return nil, &dbError{err}
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		p := &pgRestorer{tableChecker: tableChecker{path: auditCopy}, tx: tx, conn: conn.Conn().PgConn()}
		defer p.close()
		consumer = p
	}
	h, ar, err := openStream(ctx, r, opts.Key)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(filepath.Dir(dst)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: the parent of %s is not a directory: create it first", ErrTarget, dst)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".restore-")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	placed := false
	defer func() {
		if !placed {
			os.RemoveAll(tmp)
		}
	}()
	x, err := extract(ctx, ar, tmp, true, consumer)
	if p, ok := consumer.(*pgRestorer); ok {
		p.close()
	}
	if err != nil {
		return nil, err
	}
	if tx != nil && x.pg == nil {
		return nil, fmt.Errorf("%w: it is a backup of a data directory of SQLite files: restore it without --database-url (then signet migrate moves it into PostgreSQL)", ErrNeedsDatabase)
	}
	s, err := finish(ctx, tmp, auditCopy, h, opts.Key, x)
	if err != nil {
		return nil, err
	}
	keyFile := opts.MasterKeyFile
	if placedKey {
		keyFile = filepath.Join(dst, datadir.MasterKey)
	}
	if err := checkMasterKey(ctx, tmp, keyFile, opts.MasterKey, tx); err != nil {
		return nil, err
	}
	if tx != nil {
		if err := setSequences(ctx, tx, x.m.Postgres); err != nil {
			return nil, err
		}
		if opts.AppRole != "" {
			if err := pgdb.GrantAppTx(ctx, tx, opts.AppRole, auditpostgres.Tables); err != nil {
				return nil, &dbError{err}
			}
		}
	}
	if opts.MasterKeyFile != "" {
		b, err := os.ReadFile(opts.MasterKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMasterKey, err)
		}
		err = writeSynced(filepath.Join(tmp, datadir.MasterKey), b)
		clear(b)
		if err != nil {
			return nil, err
		}
	}
	_, statErr := os.Lstat(dst)
	existed := statErr == nil
	if err := place(tmp, dst, placedKey); err != nil {
		return nil, err
	}
	if tx != nil {
		if err := tx.Commit(ctx); err != nil {
			// Take the directory back: nothing is restored.
			if uerr := unplace(tmp, dst, placedKey, existed); uerr != nil {
				return nil, fmt.Errorf("%w (and the restored directory %s could not be removed: %v)", &dbError{err}, dst, uerr)
			}
			return nil, &dbError{err}
		}
	}
	placed = true
	return s, nil
}

// unplace undoes [place]: it moves the restored directory dst back to
// tmp (removed by the caller), leaving dst absent or empty as it was
// (existed), or holding only the master key if withKey.
func unplace(tmp, dst string, withKey, existed bool) error {
	if err := os.Rename(dst, tmp); err != nil {
		return err
	}
	if !existed && !withKey {
		return nil
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	if withKey {
		return os.Rename(filepath.Join(tmp, datadir.MasterKey), filepath.Join(dst, datadir.MasterKey))
	}
	return nil
}

// checkTarget checks that dst is absent, empty or holds only master.key,
// and reports the latter.
func checkTarget(dst string) (bool, error) {
	fi, err := os.Lstat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("backup: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("%w: %s is not a directory", ErrTarget, dst)
	}
	ents, err := os.ReadDir(dst)
	if err != nil {
		return false, fmt.Errorf("backup: %w", err)
	}
	switch {
	case len(ents) == 0:
		return false, nil
	case len(ents) == 1 && ents[0].Name() == datadir.MasterKey && ents[0].Type().IsRegular():
		return true, nil
	}
	return false, fmt.Errorf("%w: %s is not empty (it holds %s): restore into an empty or new directory", ErrTarget, dst, ents[0].Name())
}

// checkMasterKey checks that the master key (keyFile, fromEnv) opens the
// key store of the restored deployment: the key directory of dir, or the
// soft_keys table that tx (nil for a data directory of SQLite files)
// restored. A deployment without a key store needs none.
func checkMasterKey(ctx context.Context, dir, keyFile, fromEnv string, tx pgx.Tx) error {
	keys := filepath.Join(dir, datadir.KeysDir)
	var v soft.Vault = txVault{tx}
	if tx == nil {
		if _, err := os.Stat(filepath.Join(keys, soft.CheckHandle)); errors.Is(err, fs.ErrNotExist) {
			v = nil
		} else if v, err = soft.NewDirVault(keys); err != nil {
			return fmt.Errorf("%w: %w", ErrMasterKey, err)
		}
	}
	if v != nil {
		if _, err := v.Get(ctx, soft.CheckHandle); errors.Is(err, fs.ErrNotExist) {
			v = nil
		} else if err != nil {
			return fmt.Errorf("%w: %w", ErrMasterKey, err)
		}
	}
	if v == nil {
		// No key store: a master key file given is still checked to be
		// one, since it is installed.
		if keyFile != "" {
			mk, err := soft.LoadKeyFile(keyFile, noNewKey{})
			if err != nil {
				return fmt.Errorf("%w: %w", ErrMasterKey, err)
			}
			clear(mk)
		}
		return nil
	}
	if keyFile == "" && fromEnv == "" {
		return fmt.Errorf("%w: the backup holds no master key: give it with --master-key FILE, %s, or copy it to DIR/%s first", ErrMasterKey, soft.MasterKeyEnv, datadir.MasterKey)
	}
	file := keyFile
	if file == "" {
		file = filepath.Join(dir, datadir.MasterKey) // absent: the key comes from fromEnv
	}
	mk, err := soft.LoadMasterKeyVault(ctx, file, fromEnv, v, noNewKey{})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMasterKey, err)
	}
	defer clear(mk)
	if _, err := soft.NewContext(ctx, soft.Config{Vault: v, MasterKey: mk}); err != nil {
		if errors.Is(err, soft.ErrWrongMasterKey) {
			return fmt.Errorf("%w: the master key given does not open the backup's key store (%w)", ErrMasterKey, err)
		}
		return fmt.Errorf("%w: %w", ErrMasterKey, err)
	}
	return nil
}

// noNewKey refuses to make up a master key.
type noNewKey struct{}

func (noNewKey) Read([]byte) (int, error) {
	return 0, errors.New("backup: no master key")
}

// writeSynced writes b to a new file at path (0600) and syncs it.
func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("backup: %w", err)
	}
	return f.Close()
}

// place renames the restored directory tmp to dst (absent or empty, or
// holding only master.key when withKey, which moves into tmp first and
// back if the rename fails), and syncs the parent directory.
func place(tmp, dst string, withKey bool) error {
	_, err := os.Lstat(dst)
	existed := err == nil
	if withKey {
		if err := os.Rename(filepath.Join(dst, datadir.MasterKey), filepath.Join(tmp, datadir.MasterKey)); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	// dst is now absent or empty: an empty directory gives way.
	if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		if withKey {
			os.Rename(filepath.Join(tmp, datadir.MasterKey), filepath.Join(dst, datadir.MasterKey))
		}
		return fmt.Errorf("%w: %w", ErrTarget, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		if existed {
			os.Mkdir(dst, 0o700)
		}
		if withKey {
			os.Rename(filepath.Join(tmp, datadir.MasterKey), filepath.Join(dst, datadir.MasterKey))
		}
		return fmt.Errorf("backup: put the restored directory in place: %w", err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
