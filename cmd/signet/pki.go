package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
)

const pkiUsage = `Usage:
  signet pki serve [--data DIR] [--listen ADDR] [--base-url URL] [--tenant NAME]...
      initialize the internal PKI (first run) and serve /ocsp, /crl/CA.crl,
      /ca/CA.crt, /tsa, /tsa/archive and /metrics over HTTP, with per-client rate limits
  signet pki issue-signer [--data DIR] --name NAME --email ADDR [--tenant NAME]
      [--amr pwd,otp] [--aal aal2] [--validity 10m] --key-out KEY.pem --cert-out CERT.pem
      issue an identity-bound signer certificate for a new key (demo and tests)
  signet pki revoke [--data DIR] --serial HEX [--reason keyCompromise] [--invalid-since RFC3339]
      revoke a certificate; the CRL and OCSP reflect it at once
`

func cmdPKI(args []string, env *environment) error {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, pkiUsage)
		return usageErrorf("pki: missing subcommand")
	}
	switch args[0] {
	case "serve":
		return cmdPKIServe(args[1:], env)
	case "issue-signer":
		return cmdPKIIssueSigner(args[1:], env)
	case "revoke":
		return cmdPKIRevoke(args[1:], env)
	case "-h", "--help", "help":
		fmt.Fprint(env.stdout, pkiUsage)
		return nil
	}
	return usageErrorf("pki: unknown subcommand %q (want serve, issue-signer or revoke)", args[0])
}

// tenantList collects repeated --tenant flags.
type tenantList []string

func (t *tenantList) String() string { return strings.Join(*t, ",") }
func (t *tenantList) Set(v string) error {
	if !ca.ValidName(v) || v == ca.RootName || v == ca.PlatformName {
		return fmt.Errorf("invalid tenant name %q", v)
	}
	*t = append(*t, v)
	return nil
}

func cmdPKIServe(args []string, env *environment) error {
	fs := newFlagSet("pki serve", env)
	dir := fs.String("data", defaultDataDir, "data directory")
	listen := fs.String("listen", "127.0.0.1:8080", "listen address")
	baseURL := fs.String("base-url", "", "URL written into certificates on first run (default http://LISTEN)")
	var tenants tenantList
	fs.Var(&tenants, "tenant", "tenant to create an issuing CA for (repeatable; default \"default\")")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(tenants) == 0 {
		tenants = tenantList{"default"}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return usageErrorf("pki serve: %v", err)
	}
	defer ln.Close()
	if *baseURL == "" {
		*baseURL = "http://" + ln.Addr().String()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	data, err := openPKIData(ctx, *dir, env)
	if err != nil {
		return err
	}
	defer data.close()
	logger := slog.New(slog.NewTextHandler(env.stderr, nil))
	srv, err := openPKI(ctx, data, pkiOptions{BaseURL: *baseURL, Tenants: tenants, Logger: logger})
	if err != nil {
		return failf("pki serve: %v", err)
	}
	go srv.renewLoop(ctx, time.Minute)
	// The listener's default budgets, signatures at once, request sizes
	// and timeouts (docs/CONFIGURATION.md, "The PKI listener on a
	// network").
	hs := pki.HTTPServer(srv, pki.DefaultLimits)
	fmt.Fprintf(env.stdout, "serving the PKI at %s (certificates name %s)\n", ln.Addr(), data.roles.BaseURL())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return failf("pki serve: %v", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

func cmdPKIIssueSigner(args []string, env *environment) error {
	fs := newFlagSet("pki issue-signer", env)
	dir := fs.String("data", defaultDataDir, "data directory")
	name := fs.String("name", "", "signer's name (subject CN)")
	email := fs.String("email", "", "signer's verified e-mail address")
	tenant := fs.String("tenant", "default", "tenant (selects the issuing CA)")
	amr := fs.String("amr", "pwd", "authentication methods, RFC 8176 amr values, comma-separated")
	aal := fs.String("aal", "aal1", "authenticator assurance level (NIST SP 800-63B)")
	validity := fs.Duration("validity", ca.DefaultEphemeralValidity, "certificate lifetime")
	keyOut := fs.String("key-out", "", "file for the new private key (PKCS#8 PEM, 0600)")
	certOut := fs.String("cert-out", "", "file for the certificate and its chain (PEM)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" || *email == "" || *keyOut == "" || *certOut == "" {
		return usageErrorf("pki issue-signer: --name, --email, --key-out and --cert-out are required")
	}
	ctx := context.Background()
	data, err := openPKIData(ctx, *dir, env)
	if err != nil {
		return err
	}
	defer data.close()
	if data.roles.BaseURL() == "" {
		return usageErrorf("pki issue-signer: no PKI in %s (run signet pki serve first)", *dir)
	}
	a, err := ca.New(ca.Config{Store: data.store, Recorder: data.log, BaseURL: data.roles.BaseURL(), SignerValidity: *validity})
	if err != nil {
		return err
	}
	role := "ca/" + *tenant
	keyID, _, ok := data.roles.RoleKey(role)
	if !ok {
		return usageErrorf("pki issue-signer: no issuing CA for tenant %q", *tenant)
	}
	iss, err := data.roles.Certificate(ctx, role)
	if err != nil {
		return err
	}
	if iss == nil {
		return failf("pki issue-signer: no certificate for %s", role)
	}
	signer, _, err := data.keys.Signer(ctx, keyID, "issuing-ca")
	if err != nil {
		return err
	}
	if err := a.Register(&ca.Issuer{Name: *tenant, Tenant: *tenant, Certificate: iss, Signer: signer}); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	ev := ca.AuthEvidence{Methods: strings.Split(*amr, ","), AssuranceLevel: *aal, Time: time.Now()}
	cert, err := a.IssueSigner(ctx, ca.Identity{Name: *name, Email: *email, Tenant: *tenant}, ev, key.Public(), ca.KeyRef{})
	if err != nil {
		if errors.Is(err, ca.ErrInvalidRequest) {
			return usageErrorf("pki issue-signer: %v", err)
		}
		return err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*keyOut, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		return err
	}
	chain := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.Raw})...)
	if err := os.WriteFile(*certOut, chain, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "issued serial %x to %s <%s>, valid until %s\n", cert.SerialNumber, *name, *email, cert.NotAfter.Format(time.RFC3339))
	return nil
}

func cmdPKIRevoke(args []string, env *environment) error {
	fs := newFlagSet("pki revoke", env)
	dir := fs.String("data", defaultDataDir, "data directory")
	serialHex := fs.String("serial", "", "serial number of the certificate, hex")
	reasonName := fs.String("reason", "unspecified", "RFC 5280 reason, e.g. keyCompromise, superseded")
	since := fs.String("invalid-since", "", "when the key was compromised (RFC 3339), the CRL/OCSP invalidity date")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	serial, ok := new(big.Int).SetString(strings.TrimPrefix(*serialHex, "0x"), 16)
	if !ok {
		return usageErrorf("pki revoke: --serial must be hexadecimal")
	}
	reason, err := ca.ParseReason(*reasonName)
	if err != nil {
		return usageErrorf("pki revoke: %v", err)
	}
	var inv time.Time
	if *since != "" {
		if inv, err = time.Parse(time.RFC3339, *since); err != nil {
			return usageErrorf("pki revoke: --invalid-since: %v", err)
		}
	}
	ctx := context.Background()
	data, err := openPKIData(ctx, *dir, env)
	if err != nil {
		return err
	}
	defer data.close()
	a, err := ca.New(ca.Config{Store: data.store, Recorder: data.log, BaseURL: data.roles.BaseURL()})
	if err != nil {
		return err
	}
	r, err := a.Revoke(ctx, serial, reason, inv)
	if err != nil {
		if errors.Is(err, ca.ErrNotFound) || errors.Is(err, ca.ErrAlreadyRevoked) || errors.Is(err, ca.ErrInvalidRequest) {
			return usageErrorf("pki revoke: %v", err)
		}
		return err
	}
	fmt.Fprintf(env.stdout, "revoked serial %x (%s) at %s\n", r.Serial, r.Reason, r.RevokedAt.Format(time.RFC3339))
	return nil
}
