package main

import (
	"context"
	"fmt"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/keys/soft"
)

// keysExportServiceKey writes the service key, derived from the master
// key, to --out (0600, never overwriting): the api role of a split
// deployment holds it instead of the master key.
func keysExportServiceKey(args []string, env *environment) error {
	fs, lf := keysFlags("export-service-key", env)
	out := fs.String("out", "", "write the service key to `FILE` (created 0600; an existing file is refused)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("keys export-service-key takes no arguments")
	}
	if *out == "" {
		return usageErrorf("keys export-service-key needs --out FILE")
	}
	loc, err := lf.resolve(env)
	if err != nil {
		return err
	}
	// The service key derives from the deployment's master key: a
	// directory without one would get a new master key, and a service key
	// that matches no signer.
	if env.getenv(soft.MasterKeyEnv) == "" && !fileExists(datadir.File(loc.dir, datadir.MasterKey)) {
		return usageErrorf("no master key in %s and %s is unset: export the service key on the signer's host (give --data DIR)", loc.dir, soft.MasterKeyEnv)
	}
	d, err := openData(loc, env)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.ExportServiceKey(context.Background(), *out); err != nil {
		return dataError(err)
	}
	fmt.Fprintf(env.stderr, "signet: service key written to %s; copy it to the api role's data directory as %s, or into SIGNET_SERVICE_KEY\n", *out, "service.key")
	return nil
}
