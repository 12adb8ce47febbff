package datadir

import (
	"context"
	"fmt"

	"github.com/signet-pki/signet/internal/accounts"
	accountssqlite "github.com/signet-pki/signet/internal/accounts/sqlite"
	"github.com/signet-pki/signet/internal/api"
	apisqlite "github.com/signet-pki/signet/internal/api/sqlite"
	blobpostgres "github.com/signet-pki/signet/internal/blob/postgres"
	blobs3 "github.com/signet-pki/signet/internal/blob/s3"
	"github.com/signet-pki/signet/internal/identity"
	identitysqlite "github.com/signet-pki/signet/internal/identity/sqlite"
	"github.com/signet-pki/signet/internal/signing"
	signingsqlite "github.com/signet-pki/signet/internal/signing/sqlite"
	"github.com/signet-pki/signet/internal/webhook"
	webhooksqlite "github.com/signet-pki/signet/internal/webhook/sqlite"
	"github.com/signet-pki/signet/internal/workflow"
	workflowsqlite "github.com/signet-pki/signet/internal/workflow/sqlite"
)

// Services are the stores of the running service, whichever database
// holds them: idempotency records, tenants and API keys, documents and
// envelopes, recipients' links and sessions, users with their
// credentials, sessions and grants, and the documents' bytes.
type Services struct {
	Idempotency api.IdempotencyStore
	Tenants     accounts.TenantStore
	APIKeys     accounts.KeyStore
	Tokens      accounts.TokenStore
	Documents   workflow.DocumentStore
	Envelopes   workflow.EnvelopeStore
	Signing     signing.Store
	Identity    identity.Store
	Blobs       workflow.BlobCollector
	// Webhooks holds the webhook endpoints and the outbox, in the
	// database of the envelopes (whose changes write to the outbox).
	Webhooks webhook.Store
	// Ping checks that the service database answers.
	Ping func(ctx context.Context) error
}

// Services opens the service's stores: in signet.db and blobs/
// ([Dir.ServiceDB], [Dir.Blobs]), or in the PostgreSQL database; the
// documents in an S3 bucket if [Options.DocumentsS3] says so.
func (d *Dir) Services(ctx context.Context) (*Services, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.services != nil {
		return d.services, nil
	}
	var st *Services
	var err error
	if d.Postgres() {
		st, err = d.pgServices(ctx)
	} else {
		st, err = d.sqliteServices(ctx)
	}
	if err != nil {
		return nil, err
	}
	if st.Blobs, err = d.documents(ctx); err != nil {
		return nil, err
	}
	d.services = st
	return st, nil
}

// sqliteServices opens the service's stores in signet.db, all but the
// documents.
func (d *Dir) sqliteServices(ctx context.Context) (*Services, error) {
	pool, err := d.ServiceDB(ctx)
	if err != nil {
		return nil, err
	}
	idem, err := apisqlite.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	acc, err := accountssqlite.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	wf, err := workflowsqlite.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	sg, err := signingsqlite.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	id, err := identitysqlite.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	wh, err := webhooksqlite.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	return &Services{Idempotency: idem, Tenants: acc, APIKeys: acc, Tokens: acc, Documents: wf, Envelopes: wf,
		Signing: sg, Identity: id, Webhooks: wh, Ping: func(ctx context.Context) error {
			var one int
			return pool.Writer().QueryRowContext(ctx, "SELECT 1 FROM schema_migrations LIMIT 1").Scan(&one)
		}}, nil
}

// documents opens the store of the documents: the S3 bucket of
// [Options.DocumentsS3] if set, else the database on PostgreSQL, else
// blobs/.
func (d *Dir) documents(ctx context.Context) (workflow.BlobCollector, error) {
	switch {
	case d.opts.DocumentsS3 != nil:
		st, err := blobs3.New(*d.opts.DocumentsS3)
		if err != nil {
			return nil, fmt.Errorf("datadir: documents_s3: %w", err)
		}
		return st, nil
	case d.Postgres():
		pool, err := d.database(ctx)
		if err != nil {
			return nil, err
		}
		return blobpostgres.New(ctx, pool)
	}
	return d.Blobs()
}
