package datadir

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	auditpostgres "github.com/signet-pki/signet/auditlog/postgres"
	accountspostgres "github.com/signet-pki/signet/internal/accounts/postgres"
	apipostgres "github.com/signet-pki/signet/internal/api/postgres"
	blobpostgres "github.com/signet-pki/signet/internal/blob/postgres"
	identitypostgres "github.com/signet-pki/signet/internal/identity/postgres"
	"github.com/signet-pki/signet/internal/pgdb"
	signingpostgres "github.com/signet-pki/signet/internal/signing/postgres"
	webhookpostgres "github.com/signet-pki/signet/internal/webhook/postgres"
	workflowpostgres "github.com/signet-pki/signet/internal/workflow/postgres"
	atrestpostgres "github.com/signet-pki/signet/keys/atrest/postgres"
	keyspostgres "github.com/signet-pki/signet/keys/postgres"
	"github.com/signet-pki/signet/keys/soft"
	capostgres "github.com/signet-pki/signet/pki/ca/postgres"
	pkipostgres "github.com/signet-pki/signet/pki/postgres"
)

// A deployment on PostgreSQL ([Options.DatabaseURL]) keeps every store in
// one database that several nodes share; the data directory keeps only
// what is the node's own (its scratch space, its outbox, its copies of
// checkpoints, audit.pub). The database holds only sealed or hashed
// secrets, as the SQLite files do: the software keys sealed under the
// master key, which every node must be given (SIGNET_MASTER_KEY or
// DIR/master.key), and the audit secret sealed under it too.

// secretMigrations create the table of the service's sealed secrets
// (versions 1000–1099 of the database's history).
var secretMigrations = []pgdb.Migration{{
	Version: 1000,
	Name:    "sealed service secrets",
	SQL: `CREATE TABLE service_secrets (
	name   text  PRIMARY KEY,
	sealed bytea NOT NULL
)`,
}}

// Migrations returns the history of every store of a PostgreSQL
// deployment, in the order they are applied.
func Migrations() [][]pgdb.Migration {
	return [][]pgdb.Migration{
		auditpostgres.Migrations,
		apipostgres.Migrations,
		accountspostgres.Migrations,
		workflowpostgres.Migrations,
		signingpostgres.Migrations,
		pkipostgres.Migrations,
		keyspostgres.Migrations,
		capostgres.Migrations,
		blobpostgres.Migrations,
		secretMigrations,
		identitypostgres.Migrations,
		atrestpostgres.Migrations,
		webhookpostgres.Migrations,
	}
}

// MigrateDatabase applies, as the owner of the tables (adminURL), every
// migration of a PostgreSQL deployment. If appRole is set it then grants
// that role what the service needs and no more: SELECT, INSERT, UPDATE and
// DELETE on the service tables, only SELECT and INSERT on the audit log's.
// Any number of nodes may run it at once: each step is applied once,
// under a lock ([pgdb.Migrate]). It refuses a schema newer than this
// binary, and an appRole that owns the tables.
func MigrateDatabase(ctx context.Context, adminURL, appRole string) error {
	admin, err := pgdb.Open(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("datadir: database_admin_url: %w", err)
	}
	defer admin.Close()
	var owner string
	if err := admin.QueryRow(ctx, "SELECT current_user").Scan(&owner); err != nil {
		return fmt.Errorf("datadir: database: %w", err)
	}
	if appRole == owner {
		return fmt.Errorf("datadir: database_url connects as %s, the owner of the tables: give the service a role of its own, which may not UPDATE or DELETE audit rows", owner)
	}
	for _, ms := range Migrations() {
		if err := pgdb.Migrate(ctx, admin, ms); err != nil {
			return fmt.Errorf("datadir: database: %w", err)
		}
	}
	if appRole == "" {
		return nil
	}
	if err := pgdb.GrantApp(ctx, admin, appRole, auditpostgres.Tables); err != nil {
		return fmt.Errorf("datadir: database: %w", err)
	}
	return nil
}

// roleOf returns the role that the connection string url logs in as.
func roleOf(url string) (string, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "", errors.New("datadir: database_url is not a PostgreSQL connection string")
	}
	return cfg.User, nil
}

// Postgres reports whether the deployment keeps its stores in PostgreSQL.
func (d *Dir) Postgres() bool { return d.opts.DatabaseURL != "" }

// database opens the PostgreSQL database of the deployment on first use,
// after applying the migrations if [Options.DatabaseAdminURL] is set. It
// refuses a connection whose role could rewrite the audit log.
func (d *Dir) database(ctx context.Context) (*pgxpool.Pool, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.db != nil {
		return d.db, nil
	}
	if d.opts.DatabaseAdminURL != "" {
		role, err := roleOf(d.opts.DatabaseURL)
		if err != nil {
			return nil, err
		}
		if err := MigrateDatabase(ctx, d.opts.DatabaseAdminURL, role); err != nil {
			return nil, err
		}
	}
	pool, err := pgdb.Open(ctx, d.opts.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("datadir: database_url: %w", err)
	}
	if err := pgdb.CheckAppendOnly(ctx, pool, auditpostgres.Tables); err != nil {
		pool.Close()
		return nil, fmt.Errorf("datadir: database_url: %w", err)
	}
	d.onClose(func() error { pool.Close(); return nil })
	d.db = pool
	return pool, nil
}

// pgMasterKey returns the master key of a PostgreSQL deployment:
// SIGNET_MASTER_KEY or DIR/master.key, never a new one, since every node
// must use the same key.
func (d *Dir) pgMasterKey() ([]byte, error) {
	if d.opts.Backend != nil {
		return nil, errNoKeyAccess
	}
	if d.opts.MasterKey == "" {
		if _, err := os.Lstat(d.File(MasterKey)); errors.Is(err, fs.ErrNotExist) {
			return nil, &secretError{"master key", fmt.Errorf("%w: a PostgreSQL deployment needs the same master key on every node: set %s or put it in %s", soft.ErrNoMasterKey, soft.MasterKeyEnv, d.File(MasterKey))}
		}
	}
	mk, err := soft.LoadMasterKey(d.File(MasterKey), d.opts.MasterKey, d.File(KeysDir), rand.Reader)
	if err != nil {
		return nil, &secretError{"master key", err}
	}
	return mk, nil
}

// pgVault opens the sealed software keys' table.
func (d *Dir) pgVault(ctx context.Context) (*keyspostgres.Vault, error) {
	pool, err := d.database(ctx)
	if err != nil {
		return nil, err
	}
	return keyspostgres.NewVault(ctx, pool)
}

// pgSecret returns the service secret name, sealed under the master key in
// the database; the first node to ask creates it.
func (d *Dir) pgSecret(ctx context.Context, name string) ([]byte, error) {
	pool, err := d.database(ctx)
	if err != nil {
		return nil, err
	}
	mk, err := d.pgMasterKey()
	if err != nil {
		return nil, err
	}
	defer clear(mk)
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	defer clear(fresh)
	// Another node may have created it first: then this one is dropped.
	if _, err := putSecret(ctx, pool, mk, name, fresh); err != nil {
		return nil, err
	}
	var sealed []byte
	if err := pool.QueryRow(ctx, `SELECT sealed FROM service_secrets WHERE name = $1`, name).Scan(&sealed); err != nil {
		return nil, fmt.Errorf("datadir: %s secret: %w", name, err)
	}
	secret, err := soft.UnsealSecret(mk, name, sealed)
	if err != nil {
		return nil, &secretError{name + " secret", err}
	}
	return secret, nil
}

// execer runs a statement: a pool, a connection or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// PutSecret stores the service secret name sealed under the master key, as
// `signet migrate` does with a data directory's audit secret. It refuses
// to replace a different one.
func PutSecret(ctx context.Context, db execer, master []byte, name string, secret []byte) error {
	stored, err := putSecret(ctx, db, master, name, secret)
	if err == nil && !stored {
		err = fmt.Errorf("datadir: the database already holds a %s secret", name)
	}
	return err
}

// putSecret stores secret sealed under master as name unless a secret of
// that name is stored, and reports whether it stored it.
func putSecret(ctx context.Context, db execer, master []byte, name string, secret []byte) (bool, error) {
	sealed, err := soft.SealSecret(master, name, secret, rand.Reader)
	if err != nil {
		return false, err
	}
	tag, err := db.Exec(ctx, `INSERT INTO service_secrets (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, sealed)
	if err != nil {
		return false, fmt.Errorf("datadir: %s secret: %w", name, err)
	}
	return tag.RowsAffected() == 1, nil
}

// pgServices opens the service's stores in the database, all but the
// documents.
func (d *Dir) pgServices(ctx context.Context) (*Services, error) {
	pool, err := d.database(ctx)
	if err != nil {
		return nil, err
	}
	idem, err := apipostgres.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	acc, err := accountspostgres.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	wf, err := workflowpostgres.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	sg, err := signingpostgres.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	id, err := identitypostgres.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	wh, err := webhookpostgres.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	return &Services{Idempotency: idem, Tenants: acc, APIKeys: acc, Tokens: acc, Documents: wf, Envelopes: wf,
		Signing: sg, Identity: id, Webhooks: wh, Ping: idem.Ping}, nil
}
