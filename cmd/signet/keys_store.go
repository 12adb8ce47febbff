package main

import (
	"context"
	"fmt"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/keyref"
	"github.com/signet-pki/signet/keys"
)

// openKeys opens the key manager of data directory dir (creating the
// directory if needed) and returns it with the directory, which the caller
// closes.
func openKeys(ctx context.Context, loc location, env *environment) (*keys.Manager, *datadir.Dir, error) {
	d, err := openData(loc, env)
	if err != nil {
		return nil, nil, err
	}
	m, err := d.Keys(ctx)
	if err != nil {
		d.Close()
		return nil, nil, dataError(err)
	}
	return m, d, nil
}

// keyStoreRef resolves "signet:KEY-ID" references for signet sign from the
// data directory named by SIGNET_DATA (default ./signet-data), or from the
// PostgreSQL deployment named by SIGNET_DATABASE_URL.
func keyStoreRef(env *environment) func(ref string, opts keyref.Options) (*keyref.Key, error) {
	return func(ref string, opts keyref.Options) (*keyref.Key, error) {
		dir := env.getenv("SIGNET_DATA")
		if dir == "" {
			dir = defaultDataDir
		}
		loc := location{dir: dir, databaseURL: env.getenv(databaseURLEnv)}
		if loc.databaseURL == "" && !fileExists(datadir.File(dir, datadir.KeysDB)) {
			return nil, fmt.Errorf("no key store in %s (set SIGNET_DATA, or SIGNET_DATABASE_URL for a deployment on PostgreSQL): %w", dir, keys.ErrNotFound)
		}
		m, d, err := openKeys(context.Background(), loc, env)
		if err != nil {
			return nil, err
		}
		k, err := openSignetRef(m, ref, opts)
		if err != nil {
			d.Close()
			return nil, err
		}
		k.Close = d.Close
		return k, nil
	}
}
