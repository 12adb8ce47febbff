package main

import (
	"context"
	"flag"
	"os"

	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/keys"
)

// Environment variables that name a PostgreSQL deployment, for `signet
// serve` and the data commands alike.
const (
	databaseURLEnv      = "SIGNET_DATABASE_URL"
	databaseAdminURLEnv = "SIGNET_DATABASE_ADMIN_URL"
)

// A location names where a deployment keeps its stores: a data directory
// (SQLite files) or, with databaseURL, a PostgreSQL database beside the
// node's data directory.
type location struct {
	dir         string
	databaseURL string
	adminURL    string
	// pkcs11 is the configuration file's PKCS#11 token, if any, and
	// atRestBackend the backend of new tenant keys it names ("": the
	// default one).
	pkcs11        *server.PKCS11Config
	atRestBackend string
	// backends are the key backends opened for the command besides the
	// software one (the token: see openToken).
	backends []keys.Backend
}

// openToken opens the PKCS#11 token the configuration file names, if
// any, with the PIN from the environment variable it names, so that the
// keys in it resolve; the caller runs the returned function after
// closing the data directory.
func (loc *location) openToken(ctx context.Context, env *environment) (func(), error) {
	if loc.pkcs11 == nil {
		return func() {}, nil
	}
	b, err := server.OpenPKCS11(ctx, loc.pkcs11, env.getenv)
	if err != nil {
		return nil, failf("%v", err)
	}
	loc.backends = []keys.Backend{b}
	return func() { b.Close() }, nil
}

// locationFlags are the flags of a data command that name a deployment:
// --data DIR, --database-url URL, or --config FILE (the configuration file
// of `signet serve`, whose data_dir, database_url and database_admin_url
// are taken, and for the key commands its pkcs11 token and
// keys_at_rest.backend). SIGNET_DATABASE_URL and SIGNET_DATABASE_ADMIN_URL win over
// the configuration file, and the flags over both.
type locationFlags struct {
	dirFlag     string
	databaseArg string
	configFile  string
	fs          *flag.FlagSet
}

// registerLocation adds the location flags to fs.
func registerLocation(fs *flag.FlagSet) *locationFlags {
	lf := &locationFlags{fs: fs}
	fs.StringVar(&lf.dirFlag, "data", defaultDataDir, "data `DIR`")
	fs.StringVar(&lf.databaseArg, "database-url", "", "PostgreSQL `URL` of the deployment's stores (default $"+databaseURLEnv+")")
	fs.StringVar(&lf.configFile, "config", "", "the deployment's configuration `FILE` (data_dir, database_url; for the key commands its pkcs11 token)")
	return lf
}

// databaseURL returns the --database-url flag's value.
func (lf *locationFlags) databaseURL() string { return lf.databaseArg }

// resolve returns the location the flags, the configuration file and the
// environment name.
func (lf *locationFlags) resolve(env *environment) (location, error) {
	set := map[string]bool{}
	lf.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var loc location
	if lf.configFile != "" {
		cfg, err := readConfig(lf.configFile)
		if err != nil {
			return loc, err
		}
		loc = location{dir: cfg.DataDir, databaseURL: cfg.DatabaseURL, adminURL: cfg.DatabaseAdminURL, pkcs11: cfg.PKCS11}
		if cfg.PKCS11 != nil && cfg.KeysAtRest.Backend == server.BackendPKCS11 {
			loc.atRestBackend = cfg.PKCS11.BackendName()
		}
	}
	if set["data"] || loc.dir == "" {
		loc.dir = lf.dirFlag
	}
	if v := env.getenv(databaseURLEnv); v != "" {
		loc.databaseURL = v
	}
	if v := env.getenv(databaseAdminURLEnv); v != "" {
		loc.adminURL = v
	}
	if set["database-url"] {
		loc.databaseURL = lf.databaseArg
	}
	return loc, nil
}

// readConfig reads the configuration file of `signet serve` at path; a
// file that cannot be read or parsed is the caller's mistake (exit 2).
func readConfig(path string) (server.Config, error) { return readConfigRole(path, "") }

// readConfigRole is readConfig with the role set to role unless empty
// (signet serve --role).
func readConfigRole(path, role string) (server.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return server.Config{}, usageErrorf("%v", err)
	}
	cfg, err := server.ParseConfigRole(b, role)
	if err != nil {
		return server.Config{}, usageErrorf("%v", err)
	}
	return cfg, nil
}
