package datadir

import (
	"context"
	"fmt"

	"github.com/signet-pki/signet/internal/accounts"
	accountssqlite "github.com/signet-pki/signet/internal/accounts/sqlite"
	"github.com/signet-pki/signet/internal/api"
	apisqlite "github.com/signet-pki/signet/internal/api/sqlite"
	blobs3 "github.com/signet-pki/signet/internal/blob/s3"
	"github.com/signet-pki/signet/internal/signing"
	signingsqlite "github.com/signet-pki/signet/internal/signing/sqlite"
	"github.com/signet-pki/signet/internal/workflow"
	workflowsqlite "github.com/signet-pki/signet/internal/workflow/sqlite"
)

// Services are the stores of the running service, whichever database
// holds them: idempotency records, tenants and API keys, documents and
// envelopes, recipients' links and sessions, and the documents' bytes.
type Services struct {
	Idempotency api.IdempotencyStore
	Tenants     accounts.TenantStore
	APIKeys     accounts.KeyStore
	Documents   workflow.DocumentStore
	Envelopes   workflow.EnvelopeStore
	Signing     signing.Store
	Blobs       workflow.BlobCollector
	// Ping checks that the service database answers.
	Ping func(ctx context.Context) error
}

// Services opens the service's stores: in signet.db and blobs/
// ([Dir.ServiceDB], [Dir.Blobs]).
func (d *Dir) Services(ctx context.Context) (*Services, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.services != nil {
		return d.services, nil
	}
	if d.Postgres() {
		st, err := d.pgServices(ctx)
		if err != nil {
			return nil, err
		}
		if st.Blobs, err = d.s3Blobs(st.Blobs); err != nil {
			return nil, err
		}
		d.services = st
		return st, nil
	}
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
	var blobs workflow.BlobCollector
	if d.opts.DocumentsS3 != nil {
		blobs, err = d.s3Blobs(nil)
	} else {
		blobs, err = d.Blobs()
	}
	if err != nil {
		return nil, err
	}
	d.services = &Services{Idempotency: idem, Tenants: acc, APIKeys: acc, Documents: wf, Envelopes: wf,
		Signing: sg, Blobs: blobs, Ping: func(ctx context.Context) error {
			var one int
			return pool.Writer().QueryRowContext(ctx, "SELECT 1 FROM schema_migrations LIMIT 1").Scan(&one)
		}}
	return d.services, nil
}

// s3Blobs returns the S3 store of [Options.DocumentsS3] if set, else
// local.
func (d *Dir) s3Blobs(local workflow.BlobCollector) (workflow.BlobCollector, error) {
	if d.opts.DocumentsS3 == nil {
		return local, nil
	}
	st, err := blobs3.New(*d.opts.DocumentsS3)
	if err != nil {
		return nil, fmt.Errorf("datadir: documents_s3: %w", err)
	}
	return st, nil
}
