package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/signet-pki/signet/internal/backup"
	"github.com/signet-pki/signet/keys/soft"
)

const backupUsage = `Usage:
  signet backup keygen --out KEYFILE
  signet backup create (--data DIR | --config FILE | --database-url URL --data DIR) --out FILE [--key-file KEYFILE]
  signet backup verify FILE [--key-file KEYFILE]
  signet backup restore FILE --data DIR [--database-url OWNER_URL [--app-role ROLE]] [--key-file KEYFILE] [--master-key FILE]

On a PostgreSQL deployment (database_url), create reads every table in one
snapshot while the nodes serve, and restore recreates them, in one
transaction, in an empty database (--database-url: the owner's URL).

The backup key comes from --key-file or SIGNET_BACKUP_KEY (base64); it is
never the master key and never stored in the backup or the data directory.
A backup does not hold the master key: restore takes it from --master-key,
SIGNET_MASTER_KEY or DIR/master.key (copied there first), and refuses one
that does not open the backup's key store. See docs/OPERATIONS.md.
`

// backupKeyEnv holds a backup key, base64, when no --key-file is given.
const backupKeyEnv = "SIGNET_BACKUP_KEY"

func cmdBackup(args []string, env *environment) error {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, backupUsage)
		return usageErrorf("backup: missing subcommand")
	}
	if args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(env.stdout, backupUsage)
		return nil
	}
	sub := map[string]command{
		"keygen":  cmdBackupKeygen,
		"create":  cmdBackupCreate,
		"verify":  cmdBackupVerify,
		"restore": cmdBackupRestore,
	}
	cmd, ok := sub[args[0]]
	if !ok {
		return usageErrorf("backup: unknown subcommand %q (want keygen, create, verify or restore)", args[0])
	}
	return cmd(args[1:], env)
}

// backupKey returns the backup key: the --key-file file, else
// SIGNET_BACKUP_KEY.
func backupKey(keyFile string, env *environment) ([]byte, error) {
	fromEnv := env.getenv(backupKeyEnv)
	switch {
	case keyFile != "":
		k, err := backup.LoadKeyFile(keyFile)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		return k, nil
	case fromEnv != "":
		k, err := backup.ParseKey(fromEnv)
		if err != nil {
			return nil, usageErrorf("%s: %v", backupKeyEnv, err)
		}
		return k, nil
	}
	return nil, usageErrorf("no backup key: give --key-file KEYFILE or set %s (make a key with signet backup keygen --out KEYFILE)", backupKeyEnv)
}

func cmdBackupKeygen(args []string, env *environment) error {
	fs := newFlagSet("backup keygen", env)
	out := fs.String("out", "", "the key `FILE` to write (mode 0600; it must not exist)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *out == "" {
		return usageErrorf("backup keygen: want --out KEYFILE")
	}
	k, err := backup.NewKey(rand.Reader)
	if err != nil {
		return failf("%v", err)
	}
	defer clear(k)
	err = writeNewFile(*out, func(w io.Writer) error {
		_, err := io.WriteString(w, backup.EncodeKey(k))
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote backup key %s (key id %s)\n", *out, backup.KeyID(k))
	fmt.Fprintln(env.stdout, "keep it apart from the data directory and from the master key: without it no backup opens")
	return nil
}

func cmdBackupCreate(args []string, env *environment) error {
	fs := newFlagSet("backup create", env)
	lf := registerLocation(fs)
	out := fs.String("out", "", "the backup `FILE` to write (it must not exist)")
	keyFile := fs.String("key-file", "", "the backup key `FILE` (default $"+backupKeyEnv+")")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *out == "" {
		return usageErrorf("backup create: want --data DIR --out FILE")
	}
	loc, err := lf.resolve(env)
	if err != nil {
		return err
	}
	if inside(*out, loc.dir) {
		return usageErrorf("backup create: %s is inside the data directory %s: write backups elsewhere", *out, loc.dir)
	}
	key, err := backupKey(*keyFile, env)
	if err != nil {
		return err
	}
	defer clear(key)
	var s *backup.Summary
	err = writeNewFile(*out, func(w io.Writer) error {
		var err error
		s, err = backup.Create(context.Background(), w, backup.CreateOptions{Dir: loc.dir, DatabaseURL: loc.databaseURL, Key: key})
		return err
	})
	if err != nil {
		return err
	}
	if loc.databaseURL != "" {
		fmt.Fprintf(env.stdout, "wrote backup %s of %s and its PostgreSQL database\n", *out, loc.dir)
	} else {
		fmt.Fprintf(env.stdout, "wrote backup %s of %s\n", *out, loc.dir)
	}
	printSummary(env.stdout, s, false)
	fmt.Fprintln(env.stdout, "it holds no master key: keep the master key and the backup key, apart, to restore it")
	if lf.configFile != "" {
		if cfg, err := readConfig(lf.configFile); err == nil && cfg.DocumentsS3 != nil {
			fmt.Fprintf(env.stdout, "note: the documents are in the S3 bucket %q, which this backup does not hold: back the bucket up with its own versioning or replication\n", cfg.DocumentsS3.Bucket)
		}
	}
	return nil
}

func cmdBackupVerify(args []string, env *environment) error {
	fs := newFlagSet("backup verify", env)
	keyFile := fs.String("key-file", "", "the backup key `FILE` (default $"+backupKeyEnv+")")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("backup verify: want one FILE")
	}
	key, err := backupKey(*keyFile, env)
	if err != nil {
		return err
	}
	defer clear(key)
	f, err := os.Open(pos[0])
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer f.Close()
	s, err := backup.Verify(context.Background(), f, backup.VerifyOptions{Key: key})
	if err != nil {
		return failf("%v", err)
	}
	fmt.Fprintf(env.stdout, "backup OK: %s\n", pos[0])
	printSummary(env.stdout, s, true)
	return nil
}

func cmdBackupRestore(args []string, env *environment) error {
	fs := newFlagSet("backup restore", env)
	data := fs.String("data", "", "the data `DIR` to restore into (absent, empty, or holding only master.key)")
	dbURL := fs.String("database-url", "", "for a PostgreSQL deployment's backup: the `URL` of the empty target database, as the role to own the tables (default $"+databaseAdminURLEnv+")")
	appRole := fs.String("app-role", "", "the `ROLE` the nodes connect as, granted what the service needs (optional: a node given database_admin_url grants it at start)")
	keyFile := fs.String("key-file", "", "the backup key `FILE` (default $"+backupKeyEnv+")")
	masterKey := fs.String("master-key", "", "the master key `FILE` of the backed-up deployment, written to DIR/master.key (default $"+soft.MasterKeyEnv+" or DIR/master.key)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *data == "" {
		return usageErrorf("backup restore: want FILE --data DIR")
	}
	key, err := backupKey(*keyFile, env)
	if err != nil {
		return err
	}
	defer clear(key)
	f, err := os.Open(pos[0])
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer f.Close()
	if *dbURL == "" {
		*dbURL = env.getenv(databaseAdminURLEnv)
	}
	s, err := backup.Restore(context.Background(), f, backup.RestoreOptions{
		Dir: *data, DatabaseURL: *dbURL, AppRole: *appRole, Key: key, MasterKey: env.getenv(soft.MasterKeyEnv), MasterKeyFile: *masterKey})
	if errors.Is(err, backup.ErrTarget) || errors.Is(err, backup.ErrTargetDatabase) || errors.Is(err, backup.ErrNeedsDatabase) {
		return usageErrorf("%v", err)
	}
	if err != nil {
		return failf("%v", err)
	}
	fmt.Fprintf(env.stdout, "restored %s into %s\n", pos[0], *data)
	printSummary(env.stdout, s, true)
	if *dbURL != "" {
		fmt.Fprintf(env.stdout, "start it with: signet serve --data %s --database-url URL (the nodes' role)\n", *data)
	} else {
		fmt.Fprintf(env.stdout, "start it with: signet serve --data %s\n", *data)
	}
	return nil
}

// printSummary prints what a backup holds; checked says that its
// contents were verified.
func printSummary(w io.Writer, s *backup.Summary, checked bool) {
	fmt.Fprintf(w, "  backup id  %s\n  created    %s\n  key id     %s\n", s.ID, s.Created.Format("2006-01-02T15:04:05Z07:00"), s.KeyID)
	fmt.Fprintf(w, "  entries    %d (%d bytes)\n", s.Entries, s.Bytes)
	if s.Tables > 0 {
		fmt.Fprintf(w, "  database   PostgreSQL, schema version %d: %d tables, %d rows\n", s.SchemaVersion, s.Tables, s.Rows)
	} else {
		fmt.Fprintf(w, "  databases  %d (%s)\n", len(s.Databases), strings.Join(s.Databases, ", "))
	}
	fmt.Fprintf(w, "  blobs      %d (%d bytes)\n", s.Blobs, s.BlobBytes)
	if checked && s.Tables > 0 {
		fmt.Fprintf(w, "  audit log  %d events, %d checkpoints: verified\n", s.AuditEvents, s.Checkpoints)
	} else if checked {
		fmt.Fprintf(w, "  audit log  %d bytes, %d events, %d checkpoints: verified\n", s.AuditLogBytes, s.AuditEvents, s.Checkpoints)
	} else {
		fmt.Fprintf(w, "  audit log  %d bytes\n", s.AuditLogBytes)
	}
}

// inside reports whether path is dir or lies under it.
func inside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	if rd, err := filepath.EvalSymlinks(d); err == nil {
		d = rd
	}
	if rp, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		p = filepath.Join(rp, filepath.Base(p))
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// writeNewFile writes a new file at path (0600) through write: into a
// temporary file beside it, synced and renamed into place, so that path
// holds the whole file or nothing. It refuses an existing path.
func writeNewFile(path string, write func(io.Writer) error) error {
	if _, err := os.Lstat(path); err == nil {
		return usageErrorf("%s exists: give a new file name", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return failf("%v", err)
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		var ce *cliError
		if errors.As(err, &ce) {
			return err
		}
		return failf("%v", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return failf("%v", err)
	}
	if err := tmp.Close(); err != nil {
		return failf("%v", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return failf("%v", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
