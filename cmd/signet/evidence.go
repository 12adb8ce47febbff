package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/server"
)

// apiKeyEnv names the environment variable holding the API key of
// commands that call a running server.
const apiKeyEnv = "SIGNET_API_KEY"

// cmdEvidence downloads an envelope's evidence bundle from a running
// server: one request with an API key (the server holds the stores, the
// seal keys, the time-stamp authority and the audit log's writer, so a
// bundle is made where they are, while it serves).
func cmdEvidence(args []string, env *environment) error {
	fs := newFlagSet("evidence", env)
	out := fs.String("out", "", "the bundle's file (new; written 0600)")
	base := fs.String("server", "https://"+server.DefaultListen, "the Signet server's URL")
	trust := fs.String("trust", "", "PEM root certificates of the server's TLS certificate (e.g. DATA/pki/root.pem); default: the system's")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the audit log to publish a checkpoint covering the envelope")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("usage: signet evidence ENVELOPE_ID --out bundle.zip [--server URL] [--trust root.pem]")
	}
	if *out == "" {
		return usageErrorf("give --out FILE for the bundle")
	}
	key := env.getenv(apiKeyEnv)
	if key == "" {
		return usageErrorf("set %s to an API key allowed document.export (roles sender or auditor)", apiKeyEnv)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if *trust != "" {
		b, err := os.ReadFile(*trust)
		if err != nil {
			return usageErrorf("--trust: %v", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(b) {
			return usageErrorf("--trust: no certificate in %s", *trust)
		}
	}
	client := &apiclient.Client{Base: *base, Authorization: "Bearer " + key,
		HTTP: &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}}
	ctx, cancel := context.WithTimeout(context.Background(), *wait+5*time.Minute)
	defer cancel()
	if err := writeNewFile(*out, func(w io.Writer) error { return fetchEvidence(ctx, client, pos[0], w, *wait) }); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Wrote %s, the evidence bundle of envelope %s.\nCheck it with: signet verify %s --trust ROOT.pem\n", *out, pos[0], *out)
	return nil
}

// fetchEvidence downloads envelope id's bundle into w, waiting up to wait
// (as the server's Retry-After says) while the audit log has no
// checkpoint covering the envelope yet. Nothing is written to w before a
// retry.
func fetchEvidence(ctx context.Context, c *apiclient.Client, id string, w io.Writer, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := c.Evidence(ctx, id, w)
		var p *apiclient.Problem
		if !errors.As(err, &p) || p.Status != http.StatusServiceUnavailable || p.Slug() != "checkpoint-pending" {
			if p != nil {
				return failf("%s (%d %s)", p.Detail, p.Status, p.Slug())
			}
			return err
		}
		delay := 2 * time.Second
		if s, err := strconv.Atoi(p.RetryAfter); err == nil && s > 0 && s < 60 {
			delay = time.Duration(s) * time.Second
		}
		if time.Now().Add(delay).After(deadline) {
			return failf("%s (waited %s)", p.Detail, wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}
