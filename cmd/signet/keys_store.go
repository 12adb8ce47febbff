package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"

	"github.com/signet-pki/signet/auditlog"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/keyref"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
	keysqlite "github.com/signet-pki/signet/keys/sqlite"
)

// defaultDataDir is where the key store lives unless --data says
// otherwise.
const defaultDataDir = "./signet-data"

// keyStore is the key manager over a local data directory:
//
//	DIR/master.key  the soft backend's master key (0600), unless
//	                SIGNET_MASTER_KEY is set
//	DIR/keys/       sealed key files
//	DIR/keys.db     key metadata
//	DIR/audit.*     the audit log (see local.go)
type keyStore struct {
	m     *keys.Manager
	log   *auditlog.Log
	audit *auditsqlite.Store // the log's storage
	close func() error
}

// openKeyStore opens (creating if needed) the data directory dir.
func openKeyStore(ctx context.Context, dir string, env *environment) (*keyStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, usageErrorf("%v", err)
	}
	mk, err := soft.LoadMasterKey(filepath.Join(dir, "master.key"), env.getenv(soft.MasterKeyEnv), filepath.Join(dir, "keys"), rand.Reader)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	backend, err := soft.New(soft.Config{Dir: filepath.Join(dir, "keys"), MasterKey: mk})
	clear(mk)
	if errors.Is(err, soft.ErrWrongMasterKey) {
		return nil, usageErrorf("%v", err)
	}
	if err != nil {
		return nil, err
	}
	meta, err := keysqlite.Open(ctx, filepath.Join(dir, "keys.db"))
	if err != nil {
		return nil, err
	}
	log, auditStore, err := openLocalAudit(ctx, dir)
	if err != nil {
		meta.Close()
		return nil, err
	}
	closeAll := func() error {
		return errors.Join(log.Shutdown(context.Background()), auditStore.Close(), meta.Close())
	}
	m, err := keys.New(ctx, keys.Config{
		Store: meta, Backends: []keys.Backend{backend}, Recorder: log, Actor: localActor(),
	})
	if err != nil {
		closeAll()
		return nil, err
	}
	return &keyStore{m: m, log: log, audit: auditStore, close: closeAll}, nil
}

// localActor names the operating-system user running the command.
func localActor() auditlog.Actor {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return auditlog.Actor{Kind: auditlog.ActorUser, ID: "os:" + u.Username}
	}
	return auditlog.Actor{Kind: auditlog.ActorSystem}
}

// keyStoreRef resolves "signet:KEY-ID" references for signet sign from the
// data directory named by SIGNET_DATA (default ./signet-data).
func keyStoreRef(env *environment) func(ref string, opts keyref.Options) (*keyref.Key, error) {
	return func(ref string, opts keyref.Options) (*keyref.Key, error) {
		dir := env.getenv("SIGNET_DATA")
		if dir == "" {
			dir = defaultDataDir
		}
		if _, err := os.Stat(filepath.Join(dir, "keys.db")); err != nil {
			return nil, fmt.Errorf("no key store in %s (set SIGNET_DATA): %w", dir, keys.ErrNotFound)
		}
		ks, err := openKeyStore(context.Background(), dir, env)
		if err != nil {
			return nil, err
		}
		k, err := openSignetRef(ks.m, ref, opts)
		if err != nil {
			ks.close()
			return nil, err
		}
		k.Close = ks.close
		return k, nil
	}
}
