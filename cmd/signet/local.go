package main

import (
	"context"
	"crypto/rand"
	"path/filepath"

	"github.com/signet-pki/signet/auditlog"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/keys/soft"
)

// A data directory holds, for the audit log:
//
//	DIR/audit.db      the log (SQLite)
//	DIR/audit.master  the secret the per-tenant HMAC and sealing keys of
//	                  sensitive event values derive from (0600, base64)
//	DIR/audit.pub     the checkpoint verifier keys (the key store's
//	                  audit-checkpoint key, every version)
//	DIR/audit.key     only in data directories without a key store: the
//	                  checkpoint signing key as a note key file (0600);
//	                  `signet serve` imports it into its key store
//
// and, for keys and the PKI, the files listed at [keyStore] and [pkiData].

// loadAuditMaster returns DIR/audit.master, creating it on first use.
func loadAuditMaster(dir string) ([]byte, error) {
	return soft.LoadKeyFile(filepath.Join(dir, "audit.master"), rand.Reader)
}

// openLocalAudit opens the audit log of a data directory for appending.
// The caller shuts the log down, then closes the store.
func openLocalAudit(ctx context.Context, dir string) (*auditlog.Log, *auditsqlite.Store, error) {
	secret, err := loadAuditMaster(dir)
	if err != nil {
		return nil, nil, usageErrorf("%v", err)
	}
	tk, err := auditlog.NewDerivedKeys(secret)
	clear(secret)
	if err != nil {
		return nil, nil, err
	}
	st, err := auditsqlite.Open(filepath.Join(dir, "audit.db"))
	if err != nil {
		return nil, nil, err
	}
	log, err := auditlog.New(ctx, auditlog.Config{Storage: st, Keys: tk})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return log, st, nil
}
