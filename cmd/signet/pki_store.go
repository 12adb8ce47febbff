package main

import (
	"context"
	"errors"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki/ca"
)

// pkiData is a data directory opened for a pki command: its PKI roles in
// files ([datadir.PKIFiles], under the directory's PKI lock), the key
// manager, the audit log and the certificate records.
type pkiData struct {
	dir   *datadir.Dir
	roles *datadir.PKIFiles
	keys  *keys.Manager
	log   *auditlog.Log
	store ca.Store
}

// openPKIData opens (creating if needed) the data directory and takes its
// PKI lock, so that two pki commands never write it at once.
func openPKIData(ctx context.Context, dir string, env *environment) (*pkiData, error) {
	d, err := openData(location{dir: dir}, env)
	if err != nil {
		return nil, err
	}
	p := &pkiData{dir: d}
	if p.roles, err = d.PKIFiles(ctx); err == nil {
		p.keys, err = d.Keys(ctx)
	}
	if err == nil {
		p.log, err = d.AuditLog(ctx)
	}
	if err == nil {
		p.store, err = d.CAStore(ctx)
	}
	if err != nil {
		d.Close()
		if errors.Is(err, datadir.ErrInUse) {
			return nil, failf("%v", err)
		}
		return nil, dataError(err)
	}
	return p, nil
}

// close closes the data directory and releases the PKI lock.
func (p *pkiData) close() error { return p.dir.Close() }
