package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/keys/soft"
)

// serviceKeyEnv holds the api role's service key (see `signet keys
// export-service-key`).
const serviceKeyEnv = "SIGNET_SERVICE_KEY"

// cmdServe runs the signing service until SIGINT or SIGTERM, then shuts
// it down gracefully. Flags override the configuration file; the master
// key comes from SIGNET_MASTER_KEY or DATA/master.key (see
// [soft.LoadMasterKey]). Any start-up failure is one line on stderr and
// exit status 1.
func cmdServe(args []string, env *environment) error {
	fs := newFlagSet("serve", env)
	data := fs.String("data", "", "data directory (default ./signet-data)")
	listen := fs.String("listen", "", "HTTPS listen address (default 127.0.0.1:8443)")
	pkiListen := fs.String("pki-listen", "", "plain-HTTP address of the PKI endpoints: CA certificates, CRLs, OCSP, TSA (default 127.0.0.1:8480)")
	config := fs.String("config", "", "JSON configuration file")
	role := fs.String("role", "", "split deployment: \"api\" (users, no key access) or \"signer\" (the keys, a narrow RPC only); default one process, or the configuration's role")
	databaseURL := fs.String("database-url", "", "PostgreSQL URL of the stores, shared by every node (default $"+databaseURLEnv+"; unset: SQLite in the data directory)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("serve takes no arguments")
	}
	cfg := server.Config{}
	if *config != "" {
		if cfg, err = readConfigRole(*config, *role); err != nil {
			return err
		}
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *pkiListen != "" {
		cfg.PKIListen = *pkiListen
	}
	if v := env.getenv(databaseURLEnv); v != "" {
		cfg.DatabaseURL = v
	}
	if v := env.getenv(databaseAdminURLEnv); v != "" {
		cfg.DatabaseAdminURL = v
	}
	if *databaseURL != "" {
		cfg.DatabaseURL = *databaseURL
	}
	if *role != "" {
		cfg.Role = *role
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewJSONHandler(env.stderr, nil))
	// The secrets the configuration names by environment variable (the
	// PKCS#11 PIN, OIDC client secrets, the SMS gateway's token) are
	// read from the environment, never from the file.
	opts := []server.Option{server.WithLogger(logger), server.WithTerminal(env.stdout),
		server.WithMasterKey(env.getenv(soft.MasterKeyEnv)), server.WithServiceKey(env.getenv(serviceKeyEnv)),
		server.WithSecrets(env.getenv)}
	if cfg.Role == server.RoleSigner {
		sg, err := server.NewSigner(ctx, cfg, opts...)
		if err != nil {
			return failf("%v", err)
		}
		if err := sg.Run(ctx); err != nil {
			return failf("%v", err)
		}
		return nil
	}
	if cfg.SMTP.PasswordEnv != "" {
		opts = append(opts, server.WithSMTPPassword(env.getenv(cfg.SMTP.PasswordEnv)))
	}
	if s3 := cfg.DocumentsS3; s3 != nil {
		opts = append(opts, server.WithS3Credentials(env.getenv(s3.AccessKeyEnv), env.getenv(s3.SecretKeyEnv)))
	}
	srv, err := server.New(ctx, cfg, opts...)
	if err != nil {
		return failf("%v", err)
	}
	if err := srv.Run(ctx); err != nil {
		return failf("%v", err)
	}
	return nil
}
