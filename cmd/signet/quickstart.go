package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/soft"
	"github.com/signet-pki/signet/pades"
)

// bootstrapKeyRE finds the bootstrap administrator key that a first
// start prints to its terminal. It is compiled on first use: no command
// but quickstart needs it.
var bootstrapKeyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\bsk_[A-Za-z0-9_-]+`) })

// quickstartSigner is one of the two recipients of the quickstart
// envelope.
type quickstartSigner struct{ name, email string }

var quickstartSigners = []quickstartSigner{
	{"Alice Example", "alice@example.com"},
	{"Bob Example", "bob@example.com"},
}

func cmdQuickstart(args []string, env *environment) error {
	fs := newFlagSet("quickstart", env)
	dir := fs.String("dir", "signet-quickstart", "directory for the files quickstart leaves behind")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("quickstart takes no arguments")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := runQuickstart(ctx, *dir, env.getenv(soft.MasterKeyEnv), env.stdout); err != nil {
		return failf("quickstart: %v", err)
	}
	return nil
}

// runQuickstart is the whole flow: an in-process server over DIR/data, a
// tenant and an API key, a sample document, an envelope to two signers in
// sequence, their links and codes from the data directory's outbox (the
// server has no SMTP server configured, so it spools its e-mail there,
// and the binary links no SMTP server), their signatures,
// the sealed B-LTA result in DIR/signed.pdf, verified against the
// tenant's root in DIR/root.pem, and the envelope's evidence bundle in
// DIR/evidence.zip, verified offline against the same root. masterKey is SIGNET_MASTER_KEY's value, as
// for every command that opens a data directory.
func runQuickstart(ctx context.Context, dir, masterKey string, out io.Writer) error {
	step := func(format string, a ...any) { fmt.Fprintf(out, "• "+format+"\n", a...) }
	data := filepath.Join(dir, "data")
	// The data directory is quickstart's own: start fresh, so that the
	// bootstrap administrator key is printed (only a first start does).
	if err := os.RemoveAll(data); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}

	// 1. The server, with no SMTP server: its e-mail goes to the outbox.
	var terminal bytes.Buffer
	srv, err := server.New(ctx, server.Config{
		DataDir: data, Listen: "127.0.0.1:0", PKIListen: "127.0.0.1:0",
	}, server.WithTerminal(&terminal), server.WithLogger(slog.New(slog.DiscardHandler)), server.WithMasterKey(masterKey))
	if err != nil {
		return fmt.Errorf("starting the server: %w", err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	defer func() {
		stop()
		<-done
	}()
	base := "https://" + srv.Addr().String()
	outbox := datadir.File(data, datadir.OutboxDir)
	step("started Signet at %s (data in %s; no SMTP server, so e-mails go to %s)", base, data, outbox)
	admin := bootstrapKeyRE().FindString(terminal.String())
	if admin == "" {
		return errors.New("the server printed no bootstrap administrator key")
	}
	rootPEM, err := os.ReadFile(datadir.File(data, datadir.RootCert))
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		return errors.New("no root certificate in the data directory")
	}
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13}}}
	client := &apiclient.Client{Base: base, HTTP: hc}

	// 2. A tenant and its API key.
	t, err := client.WithAuth("Bearer "+admin).CreateTenant(ctx, "Quickstart Inc.")
	if err != nil {
		return fmt.Errorf("creating the tenant: %w", err)
	}
	secret, err := client.WithAuth("Bearer "+admin).CreateKey(ctx, t.ID, "quickstart", []string{authz.RoleSender}, nil)
	if err != nil {
		return fmt.Errorf("creating the API key: %w", err)
	}
	step("created tenant %q (%s), with its own issuing CA and seal key, and a service account key (role sender)", t.Name, t.ID)
	sender := client.WithAuth("Bearer " + secret)

	// 3. A document and an envelope to two signers in sequence.
	var sample bytes.Buffer
	if err := pdf.WriteSample(&sample, pdf.SampleOptions{Pages: 1, Title: "Signet quickstart agreement", Lines: []string{
		"Signed by Alice, then Bob, then sealed by Signet.",
		"Check it with: signet verify --trust root.pem signed.pdf",
	}}); err != nil {
		return err
	}
	doc, err := sender.Upload(ctx, "agreement.pdf", sample.Bytes())
	if err != nil {
		return fmt.Errorf("uploading: %w", err)
	}
	step("uploaded agreement.pdf (%d bytes, SHA-256 %s…)", doc.Size, doc.SHA256[:16])
	req := workflow.CreateRequest{Subject: "Quickstart agreement", Message: "Please sign.", Documents: []string{doc.ID}}
	for i, s := range quickstartSigners {
		req.Recipients = append(req.Recipients, workflow.RecipientInput{Role: workflow.RoleSigner, Name: s.name, Email: s.email, Order: i + 1})
	}
	e, err := sender.CreateEnvelope(ctx, req)
	if err != nil {
		return fmt.Errorf("creating the envelope: %w", err)
	}
	if e, err = sender.Send(ctx, e.ID); err != nil {
		return fmt.Errorf("sending the envelope: %w", err)
	}
	step("sent envelope %s to %s, then %s", e.ID, quickstartSigners[0].email, quickstartSigners[1].email)

	// 4. Each signer: link, code, view, consent, sign.
	// The outbox's messages are sealed: the server's spool opens them.
	mb := &apiclient.Mailbox{Inbox: srv.Outbox()}
	for _, s := range quickstartSigners {
		link, err := mb.Link(ctx, s.email, 1)
		if err != nil {
			return err
		}
		rc, err := mb.Authenticate(ctx, client, s.email, link)
		if err != nil {
			return fmt.Errorf("%s: proving the email address: %w", s.name, err)
		}
		step("%s opened the e-mailed link and proved control of %s with a one-time code", s.name, s.email)
		if _, err := rc.View(ctx); err != nil {
			return err
		}
		if err := rc.Consent(ctx); err != nil {
			return err
		}
		res, err := rc.Sign(ctx)
		if err != nil {
			return fmt.Errorf("%s: signing: %w", s.name, err)
		}
		step("%s consented and signed (PAdES B-T, ten-minute certificate from the tenant's CA, key destroyed after use)", s.name)
		if res.Completed {
			step("every signer is done: Signet sealed the document and made it PAdES B-LTA (DSS + document time-stamp)")
		}
	}
	if e, err = sender.Envelope(ctx, e.ID); err != nil {
		return err
	}
	if e.Status != workflow.StatusCompleted {
		return fmt.Errorf("envelope is %s, not completed", e.Status)
	}

	// 5. The result, its trust anchor, and a verification.
	signed, err := sender.Content(ctx, e.ID, doc.ID)
	if err != nil {
		return err
	}
	signedPath, rootPath := filepath.Join(dir, "signed.pdf"), filepath.Join(dir, "root.pem")
	if err := os.WriteFile(signedPath, signed, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(rootPath, rootPEM, 0o600); err != nil {
		return err
	}
	rep, err := pades.Verify(bytes.NewReader(signed), int64(len(signed)), pades.VerifyOptions{Roots: roots})
	if err != nil {
		return err
	}
	for _, s := range rep.Signatures {
		who := "document time-stamp"
		if s.Signer != nil {
			who = s.Signer.Subject
		}
		step("verified %s: %s, %s, %s", s.Field, s.Verdict, s.Level, who)
	}
	if !rep.Valid {
		return errors.New("the completed document did not verify")
	}

	// 6. The envelope's evidence bundle, verified offline against the root.
	bundlePath := filepath.Join(dir, "evidence.zip")
	if err := os.Remove(bundlePath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := writeNewFile(bundlePath, func(w io.Writer) error { return fetchEvidence(ctx, sender, e.ID, w, time.Minute) }); err != nil {
		return fmt.Errorf("the evidence bundle: %w", err)
	}
	brep, err := verifyBundleFile(bundlePath, roots)
	if err != nil {
		return err
	}
	step("wrote the evidence bundle (documents, certificate of completion, audit events with their proofs, signed manifest) and verified it offline: %s", brep.Indication)
	if !brep.Valid() {
		for _, f := range brep.Findings {
			step("finding %s: %s", f.Code, f.Detail)
		}
		return fmt.Errorf("the evidence bundle did not verify: %s %s", brep.Indication, brep.SubIndication)
	}
	fmt.Fprintf(out, "\nWrote %s (the signed, sealed document), %s (its evidence bundle) and %s (the tenant's root CA).\n", signedPath, bundlePath, rootPath)
	fmt.Fprintf(out, "Try:\n  signet verify --trust %s %s\n  signet verify --trust %s %s\n  pdfsig %s\n", rootPath, signedPath, rootPath, bundlePath, signedPath)
	return nil
}

// verifyBundleFile verifies the evidence bundle at path offline against roots.
func verifyBundleFile(path string, roots *x509.CertPool) (*evidence.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return evidence.Verify(f, st.Size(), evidence.VerifyOptions{Roots: roots})
}
