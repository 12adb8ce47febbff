package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/keys/atrest"
)

// withAtRest opens the keys at rest of an existing deployment, runs fn
// and closes the data directory.
func withAtRest(lf *locationFlags, env *environment, fn func(context.Context, *atrest.Service) error) error {
	loc, err := lf.resolve(env)
	if err != nil {
		return err
	}
	if loc.databaseURL == "" && !fileExists(datadir.File(loc.dir, datadir.KeysDB)) {
		return usageErrorf("no key store in %s (give --data DIR or --database-url URL)", loc.dir)
	}
	ctx := context.Background()
	closeToken, err := loc.openToken(ctx, env)
	if err != nil {
		return err
	}
	defer closeToken()
	d, err := openData(loc, env)
	if err != nil {
		return err
	}
	s, err := d.AtRest(ctx)
	if err != nil {
		d.Close()
		return dataError(err)
	}
	err = fn(ctx, s)
	if cerr := d.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return atRestError(err)
}

// atRestError maps errors of the keys at rest to exit codes: a tenant
// without keys, or shredded, exits 2; other failures exit 1.
func atRestError(err error) error {
	if errors.Is(err, atrest.ErrNoKey) || errors.Is(err, atrest.ErrTenantShredded) {
		return usageErrorf("%v", err)
	}
	return keysError(err)
}

// keysRewrap re-wraps the data keys at rest under their tenant keys'
// active versions.
func keysRewrap(args []string, env *environment) error {
	fs, data := keysFlags("rewrap", env)
	tenant := fs.String("tenant", "", "re-wrap only the data keys of `TENANT` (default: every tenant)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("keys rewrap takes no arguments")
	}
	if *tenant != "" {
		if err := atrest.CheckName("tenant", *tenant); err != nil {
			return usageErrorf("%v", err)
		}
	}
	return withAtRest(data, env, func(ctx context.Context, s *atrest.Service) error {
		n, err := s.Rewrap(ctx, *tenant)
		fmt.Fprintf(env.stdout, "re-wrapped %d data keys\n", n)
		return err
	})
}

// keysRotateKEK rotates a tenant's key of the data keys at rest.
func keysRotateKEK(args []string, env *environment) error {
	fs, data := keysFlags("rotate-kek", env)
	tenant := fs.String("tenant", "", "the `TENANT` whose key-encryption key to rotate (required)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("keys rotate-kek takes no arguments")
	}
	if err := atrest.CheckName("tenant", *tenant); err != nil {
		return usageErrorf("keys rotate-kek: want --tenant T (%v)", err)
	}
	return withAtRest(data, env, func(ctx context.Context, s *atrest.Service) error {
		ref, err := s.RotateTenantKEK(ctx, *tenant)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "rotated the data key-encryption key of %s: %s is active; run signet keys rewrap to move the data keys over\n", *tenant, ref)
		return nil
	})
}
