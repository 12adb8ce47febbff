package main

import (
	"errors"
	"os/user"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/keys/soft"
)

// defaultDataDir is the data directory unless --data (or SIGNET_DATA for
// signet sign's key references) says otherwise.
const defaultDataDir = datadir.Default

// openData returns the deployment at loc for a command: its master key
// from SIGNET_MASTER_KEY or the directory's key file, the operating-system
// user as the actor of key operations, and the backends loc opened
// ([location.openToken]). It opens nothing yet (see
// [datadir.Dir]); the caller closes it.
func openData(loc location, env *environment) (*datadir.Dir, error) {
	d, err := datadir.Open(loc.dir, datadir.Options{MasterKey: env.getenv(soft.MasterKeyEnv), Actor: localActor(),
		DatabaseURL: loc.databaseURL, DatabaseAdminURL: loc.adminURL, Backends: loc.backends, AtRestBackend: loc.atRestBackend})
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return d, nil
}

// dataError maps a failure to open part of a data directory to an exit
// status: a problem with its secrets (master key, audit secret) is the
// caller's to fix (exit 2); others exit 1.
func dataError(err error) error {
	var ce *cliError
	switch {
	case err == nil || errors.As(err, &ce):
		return err
	case errors.Is(err, datadir.ErrSecret):
		return usageErrorf("%v", err)
	}
	return failf("%v", err)
}

// localActor names the operating-system user running the command.
func localActor() auditlog.Actor {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return auditlog.Actor{Kind: auditlog.ActorUser, ID: "os:" + u.Username}
	}
	return auditlog.Actor{Kind: auditlog.ActorSystem}
}
