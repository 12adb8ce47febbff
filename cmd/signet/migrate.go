package main

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/transfer"
	"github.com/signet-pki/signet/keys/soft"
)

// cmdMigrate copies a data directory (SQLite) into a PostgreSQL database
// and verifies the copy there: the audit log under the directory's
// checkpoint keys, and every document's hash.
func cmdMigrate(args []string, env *environment) error {
	fs := newFlagSet("migrate", env)
	from := fs.String("from", "", "the data `DIR` to copy (no signet serve may be running on it)")
	to := fs.String("to", "", "PostgreSQL `URL` of the target, as the owner of the tables")
	appRole := fs.String("app-role", "", "the `ROLE` the nodes connect as, granted what the service needs (optional: a node given database_admin_url grants it at start)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *from == "" || *to == "" {
		return usageErrorf("migrate: want --from DIR --to URL")
	}
	if !fileExists(datadir.File(*from, datadir.AuditDB)) {
		return usageErrorf("migrate: %s holds no Signet deployment", *from)
	}
	vs, err := loadVerifiers("", *from)
	if err != nil {
		return err
	}
	ctx := context.Background()
	opts := auditlog.VerifyOptions{Verifier: vs[0], Retired: vs[1:], Origin: datadir.AuditOrigin}
	// The target must hold at least the last checkpoint the data
	// directory's write-once copies hold.
	if sinkDir := datadir.File(*from, datadir.CheckpointsDir); fileExists(sinkDir) {
		if latest, err := (&anchor.FileSink{Dir: sinkDir}).Latest(ctx); err == nil {
			opts.Reference = &latest
		}
	}
	rep, err := transfer.Copy(ctx, transfer.Config{From: *from, To: *to, AppRole: *appRole, MasterKey: env.getenv(soft.MasterKeyEnv)}, opts)
	if err != nil {
		return failf("%v", err)
	}
	var rows int64
	for _, t := range slices.Sorted(maps.Keys(rep.Rows)) {
		rows += rep.Rows[t]
	}
	fmt.Fprintf(env.stdout, "copied %d rows in %d tables, %d sealed key files, %d blobs\n", rows, len(rep.Rows), rep.Keys, rep.Blobs)
	fmt.Fprintf(env.stdout, "verified on the target: audit log OK (%d events, %d checkpoints), %d document hashes OK\n", rep.Events, rep.Checkpoints, rep.Documents)
	return nil
}
