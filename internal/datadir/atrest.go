package datadir

import (
	"context"
	"fmt"
	"slices"

	"github.com/signet-pki/signet/keys"

	"github.com/signet-pki/signet/keys/atrest"
	atrestpostgres "github.com/signet-pki/signet/keys/atrest/postgres"
	atrestsqlite "github.com/signet-pki/signet/keys/atrest/sqlite"
)

// AtRest starts the keys at rest: the tenants' key-encryption keys in the
// key manager ([Dir.Keys]), new ones made in the backend
// [Options.AtRestBackend] names, the objects' wrapped data keys in signet.db
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
	if b := d.opts.AtRestBackend; b != "" && !slices.ContainsFunc(d.opts.Backends, func(k keys.Backend) bool { return k.Name() == b }) {
		return nil, fmt.Errorf("datadir: keys at rest: backend %q is not configured", b)
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
	s, err := atrest.New(atrest.Config{Keys: m, Store: st, Backend: d.opts.AtRestBackend, Audit: log, Now: d.opts.Now})
	if err != nil {
		return nil, err
	}
	d.atRest = s
	return s, nil
}
