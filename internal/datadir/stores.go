package datadir

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"

	"github.com/signet-pki/signet/auditlog"
	auditpostgres "github.com/signet-pki/signet/auditlog/postgres"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys"
	keyspostgres "github.com/signet-pki/signet/keys/postgres"
	"github.com/signet-pki/signet/keys/soft"
	keysqlite "github.com/signet-pki/signet/keys/sqlite"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
	capostgres "github.com/signet-pki/signet/pki/ca/postgres"
	casqlite "github.com/signet-pki/signet/pki/ca/sqlite"
	pkipostgres "github.com/signet-pki/signet/pki/postgres"
	pkisqlite "github.com/signet-pki/signet/pki/sqlite"
)

// ServiceReadConns is the number of read-only connections to signet.db:
// reads of envelopes, links, sessions and keys run beside the single
// writer (WAL).
const ServiceReadConns = 4

// AuditStore opens audit.db, the audit log's storage.
func (d *Dir) AuditStore(ctx context.Context) (auditlog.Storage, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.auditStore != nil {
		return d.auditStore, nil
	}
	if d.Postgres() {
		if _, err := d.database(ctx); err != nil {
			return nil, err
		}
		st, err := auditpostgres.Open(ctx, d.opts.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("datadir: audit log: %w", err)
		}
		d.onClose(st.Close)
		d.auditStore = st
		return st, nil
	}
	if _, err := d.mkdir(""); err != nil {
		return nil, err
	}
	st, err := auditsqlite.Open(d.File(AuditDB))
	if err != nil {
		return nil, err
	}
	d.onClose(st.Close)
	d.auditStore = st
	return st, nil
}

// AuditLog starts the audit log over [Dir.AuditStore], its event keys
// derived from audit.master (created on first use). Close shuts it down
// (draining what it holds) before closing its store.
func (d *Dir) AuditLog(ctx context.Context) (*auditlog.Log, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.audit != nil {
		return d.audit, nil
	}
	if _, err := d.mkdir(""); err != nil {
		return nil, err
	}
	var secret []byte
	var err error
	if d.Postgres() {
		// Several nodes append to one log: each batch is sequenced
		// under the database's lock, and a node that finds the log
		// grown by another re-reads its end and retries.
		secret, err = d.auditSecretPG(ctx)
	} else {
		// The log keeps its tree's state in memory: on SQLite, one
		// writer per data directory, held until Close.
		if err := d.lock(WriterLock, "another Signet process (a running signet serve, or a command that records events)"); err != nil {
			return nil, err
		}
		if secret, err = soft.LoadKeyFile(d.File(AuditMaster), rand.Reader); err != nil {
			err = &secretError{"audit secret", err}
		}
	}
	if err != nil {
		return nil, err
	}
	tk, err := auditlog.NewDerivedKeys(secret)
	clear(secret)
	if err != nil {
		return nil, err
	}
	st, err := d.AuditStore(ctx)
	if err != nil {
		return nil, err
	}
	l, err := auditlog.New(ctx, auditlog.Config{Storage: st, Keys: tk, Now: d.opts.Now})
	if err != nil {
		return nil, err
	}
	d.onClose(func() error { return l.Shutdown(context.Background()) })
	d.audit, d.auditKeys = l, tk
	return l, nil
}

// AuditKeys returns the tenant keys of the audit log [Dir.AuditLog]
// opened (it opens the log if need be): what unseals the clear values
// of its events, for an evidence bundle's certificate of completion.
func (d *Dir) AuditKeys(ctx context.Context) (auditlog.TenantKeys, error) {
	if _, err := d.AuditLog(ctx); err != nil {
		return nil, err
	}
	return d.auditKeys, nil
}

// AuditWritable returns the check that the audit log accepts writes now:
// on audit.db, a second handle with a short busy timeout runs BEGIN
// IMMEDIATE, then ROLLBACK (it never changes the log), so that a stuck
// writer shows as not ready instead of hanging the check.
func (d *Dir) AuditWritable(ctx context.Context) (func(context.Context) error, error) {
	if d.Postgres() {
		// On PostgreSQL: the server is a primary (a standby refuses
		// writes) and the service's role may insert into the log.
		pool, err := d.database(ctx)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			var ok bool
			err := pool.QueryRow(ctx, `SELECT NOT pg_is_in_recovery() AND has_table_privilege('records', 'INSERT')`).Scan(&ok)
			if err == nil && !ok {
				err = errors.New("audit log not writable: the database is read-only or the role may not insert")
			}
			return err
		}, nil
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(500)")
	dsn := "file:" + (&url.URL{Path: d.File(AuditDB)}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("datadir: audit probe: %w", err)
	}
	db.SetMaxOpenConns(1)
	d.onClose(db.Close)
	return func(ctx context.Context) error {
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return fmt.Errorf("audit log not writable: %w", err)
		}
		_, err = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}, nil
}

// KeyBackend opens the software key backend over keys/, sealed under the
// master key: SIGNET_MASTER_KEY ([Options.MasterKey]) or master.key,
// created on first use only ([soft.LoadMasterKey]).
func (d *Dir) KeyBackend(ctx context.Context) (*soft.Backend, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.backend != nil {
		return d.backend, nil
	}
	if d.opts.Backend != nil {
		return nil, errNoKeyAccess
	}
	if _, err := d.mkdir(""); err != nil {
		return nil, err
	}
	cfg := soft.Config{Dir: d.File(KeysDir)}
	var mk []byte
	var err error
	if d.Postgres() {
		if cfg.Vault, err = d.pgVault(ctx); err != nil {
			return nil, err
		}
		cfg.Dir = ""
		mk, err = d.pgMasterKey()
	} else if mk, err = soft.LoadMasterKey(d.File(MasterKey), d.opts.MasterKey, d.File(KeysDir), rand.Reader); err != nil {
		err = &secretError{"master key", err}
	}
	if err != nil {
		return nil, err
	}
	defer clear(mk)
	cfg.MasterKey = mk
	b, err := soft.NewContext(ctx, cfg)
	if errors.Is(err, soft.ErrWrongMasterKey) {
		return nil, &secretError{"master key", err}
	}
	if err != nil {
		return nil, err
	}
	// The service's secrets (the keys of recipients' one-time code
	// hashes, ...) derive from the master key, so that a copy of
	// signet.db alone does not reveal pending codes.
	if d.svcKey == nil {
		d.svcKey = DeriveServiceKey(mk)
	}
	d.backend = b
	return b, nil
}

// RecipientCodeKey returns the key of the hashes of recipients' one-time
// codes (32 bytes), derived from the master key.
func (d *Dir) RecipientCodeKey(ctx context.Context) ([]byte, error) {
	k, err := d.ServiceKey(ctx)
	if err != nil {
		return nil, err
	}
	return k.secrets[0], nil
}

// deriveKey returns the 32-byte key of purpose label derived from the
// master key (HMAC-SHA256).
func deriveKey(master []byte, label string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// RecoveryCodeKey returns the key of the hashes of users' recovery codes
// (32 bytes), derived from the master key, so that a copy of the
// database alone allows no offline search of the codes.
func (d *Dir) RecoveryCodeKey(ctx context.Context) ([]byte, error) {
	k, err := d.ServiceKey(ctx)
	if err != nil {
		return nil, err
	}
	return k.secrets[1], nil
}

// IdempotencyHashKey returns the key of the idempotency records' request
// hashes (32 bytes), derived from the master key.
func (d *Dir) IdempotencyHashKey(ctx context.Context) ([]byte, error) {
	k, err := d.ServiceKey(ctx)
	if err != nil {
		return nil, err
	}
	return k.secrets[3], nil
}

// IdempotencyBodyKey returns the key that seals the response bodies the
// idempotency records keep (api.Idempotency's BodyKey, 32 bytes),
// derived from the master key.
func (d *Dir) IdempotencyBodyKey(ctx context.Context) ([]byte, error) {
	k, err := d.ServiceKey(ctx)
	if err != nil {
		return nil, err
	}
	return k.secrets[6], nil
}

// OutboxKey returns the key under which the outbox's messages are sealed
// (mail.Spool's Key, 32 bytes), derived from the master key: a copy of
// the outbox alone reveals no link or code.
func (d *Dir) OutboxKey(ctx context.Context) ([]byte, error) {
	k, err := d.ServiceKey(ctx)
	if err != nil {
		return nil, err
	}
	return k.secrets[5], nil
}

// IdentitySealer returns the sealer of users' second-factor secrets (TOTP
// keys): AES-256-GCM under a key derived from the master key, the
// caller's associated data (the tenant and user) bound to each value.
func (d *Dir) IdentitySealer(ctx context.Context) (*Sealer, error) {
	k, err := d.ServiceKey(ctx)
	if err != nil {
		return nil, err
	}
	return newSealer(k.secrets[2])
}

// Keys starts the key manager: the software backend ([Dir.KeyBackend]),
// or in the api role the signer's, as the default backend of new keys,
// beside the extra backends of [Options.Backends]; metadata in keys.db;
// every operation recorded in the audit log ([Dir.AuditLog]).
func (d *Dir) Keys(ctx context.Context) (*keys.Manager, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.keys != nil {
		return d.keys, nil
	}
	backend, err := d.keyBackend(ctx)
	if err != nil {
		return nil, err
	}
	log, err := d.AuditLog(ctx)
	if err != nil {
		return nil, err
	}
	var meta keys.Store
	if d.Postgres() {
		pool, err := d.database(ctx)
		if err != nil {
			return nil, err
		}
		if meta, err = keyspostgres.New(ctx, pool); err != nil {
			return nil, err
		}
	} else {
		st, err := keysqlite.Open(ctx, d.File(KeysDB))
		if err != nil {
			return nil, err
		}
		d.onClose(st.Close)
		meta = st
	}
	backends := append([]keys.Backend{backend}, d.opts.Backends...)
	m, err := keys.New(ctx, keys.Config{Store: meta, Backends: backends, Recorder: log, Actor: d.opts.Actor, Now: d.opts.Now})
	if err != nil {
		return nil, err
	}
	d.keys = m
	return m, nil
}

// ServiceDB opens signet.db: one group-committing writer and
// [ServiceReadConns] read-only connections, shared by the stores of the
// service (each applies its own migrations).
func (d *Dir) ServiceDB(ctx context.Context) (*sqldb.Pool, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.pool != nil {
		return d.pool, nil
	}
	if _, err := d.mkdir(""); err != nil {
		return nil, err
	}
	p, err := sqldb.OpenPool(ctx, d.File(ServiceDB), nil, ServiceReadConns)
	if err != nil {
		return nil, fmt.Errorf("datadir: %w", err)
	}
	d.onClose(p.Close)
	d.pool = p
	return p, nil
}

// CAStore opens pki.db, the certificate authority's records.
func (d *Dir) CAStore(ctx context.Context) (ca.Store, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.caStore != nil {
		return d.caStore, nil
	}
	if d.Postgres() {
		pool, err := d.database(ctx)
		if err != nil {
			return nil, err
		}
		if d.caStore, err = capostgres.New(ctx, pool); err != nil {
			return nil, err
		}
		return d.caStore, nil
	}
	if _, err := d.mkdir(""); err != nil {
		return nil, err
	}
	st, err := casqlite.Open(ctx, d.File(PKIDB))
	if err != nil {
		return nil, err
	}
	d.onClose(st.Close)
	d.caStore = st
	return st, nil
}

// PKIRoles opens the PKI roles of a service (which key serves each role,
// and its certificate) in signet.db ([Dir.ServiceDB]), their keys in the
// key manager ([Dir.Keys]).
func (d *Dir) PKIRoles(ctx context.Context) (pki.Store, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.pkiRoles != nil {
		return d.pkiRoles, nil
	}
	m, err := d.Keys(ctx)
	if err != nil {
		return nil, err
	}
	if d.Postgres() {
		pool, err := d.database(ctx)
		if err != nil {
			return nil, err
		}
		if d.pkiRoles, err = pkipostgres.New(ctx, pool, m); err != nil {
			return nil, err
		}
		return d.pkiRoles, nil
	}
	pool, err := d.ServiceDB(ctx)
	if err != nil {
		return nil, err
	}
	st, err := pkisqlite.New(ctx, pool, m)
	if err != nil {
		return nil, err
	}
	d.pkiRoles = st
	return d.pkiRoles, nil
}

// Blobs opens the blob store in blobs/.
func (d *Dir) Blobs() (*blob.FS, error) {
	p, err := d.mkdir(BlobsDir)
	if err != nil {
		return nil, err
	}
	return blob.NewFS(p)
}

// Checkpoints returns the directory of write-once checkpoint copies,
// created if missing.
func (d *Dir) Checkpoints() (string, error) { return d.mkdir(CheckpointsDir) }

// Outbox returns the directory that e-mails are written to when no SMTP
// server is configured (the mail spool creates it on first use, 0700).
func (d *Dir) Outbox() string { return d.File(OutboxDir) }

// WriteRootCert writes the root CA certificate (DER) to pki/root.pem, the
// trust anchor of clients, unless it already holds it.
func (d *Dir) WriteRootCert(der []byte) error {
	if _, err := d.mkdir(PKIDir); err != nil {
		return err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFileAtomic(d.File(RootCert), b, 0o600); err != nil {
		return fmt.Errorf("datadir: %w", err)
	}
	return nil
}
