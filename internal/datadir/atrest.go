package datadir

import (
	"context"

	"github.com/signet-pki/signet/keys/atrest"
	atrestpostgres "github.com/signet-pki/signet/keys/atrest/postgres"
	atrestsqlite "github.com/signet-pki/signet/keys/atrest/sqlite"
)

// AtRest starts the keys at rest: the tenants' key-encryption keys in the
// key manager ([Dir.Keys]), the objects' wrapped data keys in signet.db
// ([Dir.ServiceDB]) or in the PostgreSQL database, shreddings recorded in
// the audit log ([Dir.AuditLog]).
func (d *Dir) AtRest(ctx context.Context) (*atrest.Service, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.atRest != nil {
		return d.atRest, nil
	}
	m, err := d.Keys(ctx)
	if err != nil {
		return nil, err
	}
	log, err := d.AuditLog(ctx)
	if err != nil {
		return nil, err
	}
	var st atrest.Store
	if d.Postgres() {
		pool, err := d.database(ctx)
		if err != nil {
			return nil, err
		}
		if st, err = atrestpostgres.New(ctx, pool); err != nil {
			return nil, err
		}
	} else {
		pool, err := d.ServiceDB(ctx)
		if err != nil {
			return nil, err
		}
		if st, err = atrestsqlite.New(ctx, pool); err != nil {
			return nil, err
		}
	}
	s, err := atrest.New(atrest.Config{Keys: m, Store: st, Audit: log, Now: d.opts.Now})
	if err != nil {
		return nil, err
	}
	d.atRest = s
	return s, nil
}
