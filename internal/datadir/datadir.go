// Package datadir owns a Signet data directory: the names of its files and
// directories, their modes (directories 0700, files 0600), the master key
// (from the master.key file or SIGNET_MASTER_KEY, by the rules of
// [soft.LoadMasterKey]) and the opening of the stores it holds. Both
// `signet serve` and the CLI commands open a data directory through it,
// so the layout is written down once:
//
//	DIR/signet.db       the service database: api, workflow, signing and
//	                    PKI-role tables (sqldb migrations 100–499), and
//	                    the wrapped data keys at rest (keys/atrest,
//	                    1200–1209)
//	DIR/audit.db        the audit log (auditlog/sqlite)
//	DIR/audit.master    the secret the audit log's per-tenant HMAC and
//	                    sealing keys derive from (0600)
//	DIR/audit.pub       the checkpoint verifier keys (every version of the
//	                    key store's audit-checkpoint key)
//	DIR/audit.key       only in data directories without a key store: the
//	                    checkpoint signing key as a note key file (0600)
//	DIR/checkpoints/    write-once copies of every signed checkpoint
//	DIR/keys.db         key metadata (keys/sqlite)
//	DIR/keys/           sealed software keys (keys/soft)
//	DIR/master.key      the soft backend's master key (0600), unless
//	                    SIGNET_MASTER_KEY holds it
//	DIR/service.key     only for the api role of a split deployment: the
//	                    service key (0600), unless SIGNET_SERVICE_KEY
//	                    holds it ([ServiceKey])
//	DIR/pki.db          certificate records and CRL numbers (pki/ca/sqlite)
//	DIR/pki/root.pem    the root CA certificate, the clients' trust anchor
//	DIR/blobs/          documents by SHA-256 (internal/blob)
//	DIR/tmp/            the seal's scratch space
//	DIR/outbox/         e-mails written as sealed files when no SMTP server is set
//
// The PKI roles of `signet serve` are in signet.db ([Dir.PKIRoles]);
// `signet pki serve` keeps them in files instead ([PKIFiles]):
//
//	DIR/pki.json        which key each role uses, and the base URL
//	DIR/pki/ROLE.pem    each role's current certificate
//	DIR/pki.lock        held while a pki command runs
//
// [Open] creates nothing: each opener ([Dir.Keys], [Dir.AuditLog],
// [Dir.ServiceDB], ...) creates what it needs on first use and opens only
// that, so a command pays only for the stores it uses. [Dir.Close] closes
// whatever was opened, in reverse order.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/auditlog"
	blobs3 "github.com/signet-pki/signet/internal/blob/s3"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/soft"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
)

// Default is the data directory of every command unless told otherwise.
const Default = "./signet-data"

// Names of the files and directories of a data directory, relative to it.
const (
	ServiceDB      = "signet.db"
	AuditDB        = "audit.db"
	AuditMaster    = "audit.master"
	AuditPub       = "audit.pub"
	AuditNoteKey   = "audit.key"
	CheckpointsDir = "checkpoints"
	KeysDB         = "keys.db"
	KeysDir        = "keys"
	MasterKey      = "master.key"
	PKIDB          = "pki.db"
	PKIDir         = "pki"
	RootCert       = "pki/root.pem"
	BlobsDir       = "blobs"
	TempDir        = "tmp" // the seal's scratch space in earlier versions; backups leave it out
	OutboxDir      = "outbox"
	PKIState       = "pki.json"
	PKILock        = "pki.lock"
	// WriterLock is held by the one process that appends to the audit
	// log: a running `signet serve`, or a command that records events.
	WriterLock = "signet.lock"
)

// AuditOrigin names a service data directory's audit log in its
// checkpoints.
const AuditOrigin = "signet.local/audit"

// ErrSecret marks a failure to load one of the data directory's secrets
// (the master key, the audit secret): a matter of the operator's set-up,
// such as a key file readable by others or a master key that does not
// match, rather than of the stores.
var ErrSecret = errors.New("datadir: secret")

// secretError is a failure to load the secret what; it matches both
// [ErrSecret] and the cause.
type secretError struct {
	what string
	err  error
}

func (e *secretError) Error() string   { return "datadir: " + e.what + ": " + e.err.Error() }
func (e *secretError) Unwrap() []error { return []error{ErrSecret, e.err} }

var errClosed = errors.New("datadir: data directory closed")

// errNoKeyAccess is the api role's answer to an opener that needs the
// master key.
var errNoKeyAccess = errors.New("datadir: the api role has no key backend credentials: the signer holds the keys")

// Options adjust [Open].
type Options struct {
	// MasterKey is the value of SIGNET_MASTER_KEY ("" when unset: the
	// master.key file); see [soft.LoadMasterKey]. Only cmd/ reads the
	// environment.
	MasterKey string
	// Now is the clock of the audit log and the key manager (nil:
	// time.Now).
	Now func() time.Time
	// Actor is recorded as the actor of key operations (zero: the
	// system).
	Actor auditlog.Actor
	// DatabaseURL, when set, puts the stores in this PostgreSQL
	// database instead of the data directory's SQLite files (see
	// [MigrateDatabase] for the roles).
	DatabaseURL string
	// DatabaseAdminURL, optional with DatabaseURL, connects as the owner
	// of the tables to apply the migrations on first use.
	DatabaseAdminURL string
	// DocumentsS3, if set, keeps the documents in an S3-compatible
	// bucket instead of blobs/ or the database.
	DocumentsS3 *blobs3.Config
	// Backend, when set, makes this the api role of a split deployment:
	// the key manager and the PKI use this backend (the signer's,
	// keys/remote), the master key is never loaded ([Dir.KeyBackend]
	// refuses), and the service's secrets come from the service key
	// ([Dir.ServiceKey]).
	Backend keys.Backend
	// ServiceKey is the value of SIGNET_SERVICE_KEY ("" when unset: the
	// service.key file), read in the api role only.
	ServiceKey string
	// Backends are key backends besides the default one (the software
	// backend, or [Options.Backend]), such as a PKCS#11 token, which the
	// caller opens and closes: the key manager ([Dir.Keys]) registers
	// each under its Name, so that key metadata naming it (e.g.
	// "pkcs11:TOKEN") resolves. New keys still go to the default
	// backend unless asked otherwise.
	Backends []keys.Backend
	// AtRestBackend names the backend (one of Backends, by Name) in
	// which [Dir.AtRest] makes new tenant key-encryption keys; "" means
	// the default backend.
	AtRestBackend string
}

// A Dir is an open data directory. Its openers are not safe for
// concurrent use (a command or the server calls them while starting); the
// stores they return are.
type Dir struct {
	path    string
	opts    Options
	made    bool
	closers []func() error
	closed  bool

	auditStore auditlog.Storage
	audit      *auditlog.Log
	auditKeys  auditlog.TenantKeys
	backend    *soft.Backend
	// svcKey holds the secrets derived from the master key, or in the
	// api role read from service.key.
	svcKey   *ServiceKey
	keys     *keys.Manager
	pool     *sqldb.Pool
	caStore  ca.Store
	pkiFiles *PKIFiles
	pkiRoles pki.Store
	services *Services
	db       *pgxpool.Pool
	atRest   *atrest.Service
}

// Open returns the data directory at path. It creates and opens nothing
// yet: the openers do, on first use.
func Open(path string, opts Options) (*Dir, error) {
	if path == "" {
		return nil, errors.New("datadir: no data directory given")
	}
	return &Dir{path: path, opts: opts}, nil
}

// Path returns the data directory's path.
func (d *Dir) Path() string { return d.path }

// File returns the path of name (one of the names above) in the data
// directory.
func (d *Dir) File(name string) string { return File(d.path, name) }

// File returns the path of name (one of the names above) in the data
// directory dir, for a command that only reads a file there.
func File(dir, name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }

// Has reports whether name exists in the data directory.
func (d *Dir) Has(name string) bool {
	_, err := os.Stat(d.File(name))
	return err == nil
}

// Close closes whatever the openers opened, in reverse order. It is safe
// to call more than once.
func (d *Dir) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		errs = append(errs, d.closers[i]())
	}
	if d.svcKey != nil {
		d.svcKey.clear()
	}
	return errors.Join(errs...)
}

// onClose registers f to run at Close.
func (d *Dir) onClose(f func() error) { d.closers = append(d.closers, f) }

// mkdir creates the data directory (0700) and, if given, the
// subdirectory name in it, and returns the latter's path.
func (d *Dir) mkdir(name string) (string, error) {
	if d.closed {
		return "", errClosed
	}
	if !d.made {
		if err := os.MkdirAll(d.path, 0o700); err != nil {
			return "", fmt.Errorf("datadir: data directory: %w", err)
		}
		d.made = true
	}
	if name == "" {
		return d.path, nil
	}
	p := d.File(name)
	if err := os.MkdirAll(p, 0o700); err != nil {
		return "", fmt.Errorf("datadir: %w", err)
	}
	return p, nil
}
