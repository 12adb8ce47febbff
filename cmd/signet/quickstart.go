package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/tsa"
)

// quickstartPolicy is the TSA policy OID of the throwaway quickstart TSA
// (a private arc used for examples).
var quickstartPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1, 1}

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
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return failf("%v", err)
	}
	out := env.stdout
	path := func(name string) string { return filepath.Join(*dir, name) }
	step := func(format string, a ...any) { fmt.Fprintf(out, "• "+format+"\n", a...) }

	// 1. A throwaway PKI: root, signer, time-stamp authority.
	root, err := testpki.NewRoot("Signet Quickstart Root CA", testpki.ECDSAP256)
	if err != nil {
		return failf("%v", err)
	}
	signerCert, signerKey, err := root.IssueSigner("Quinn Quickstart", testpki.ECDSAP256, testpki.LeafOptions{Email: "quinn@example.com", Organization: "Signet Quickstart"})
	if err != nil {
		return failf("%v", err)
	}
	tsaCert, tsaKey, err := root.IssueTSA("Signet Quickstart TSA", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		return failf("%v", err)
	}
	for _, w := range []struct {
		name string
		fn   func(string) error
	}{
		{"root.pem", func(p string) error { return testpki.WritePEM(p, root.Cert) }},
		{"signer.pem", func(p string) error { return testpki.WritePEM(p, signerCert) }},
		{"signer-key.pem", func(p string) error { return testpki.WriteKeyPEM(p, signerKey) }},
		{"tsa.pem", func(p string) error { return testpki.WritePEM(p, tsaCert) }},
	} {
		if err := w.fn(path(w.name)); err != nil {
			return failf("%v", err)
		}
	}
	step("created a throwaway CA %q, a signer certificate for %s and a TSA certificate (critical timeStamping EKU)",
		root.Cert.Subject.CommonName, signerCert.EmailAddresses[0])

	// 2. An in-process RFC 3161 time-stamp authority over real HTTP.
	srv := &tsa.Server{Signer: tsaKey, Certificate: tsaCert, Policy: quickstartPolicy, Hash: crypto.SHA256}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return failf("starting the time-stamp authority: %v", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	tsaURL := "http://" + ln.Addr().String() + "/"
	step("started an RFC 3161 time-stamp authority at %s", tsaURL)

	// 3. A sample document.
	sample := path("sample.pdf")
	err = writeAtomically(sample, func(f *os.File) error {
		return pdf.WriteSample(f, pdf.SampleOptions{Pages: 1, Title: "Signet quickstart sample", Lines: []string{
			"This document was signed by signet quickstart.",
			"Check it with: signet verify --trust root.pem signed.pdf",
		}})
	})
	if err != nil {
		return failf("%v", err)
	}
	step("wrote a sample document %s", sample)

	// 4. Sign at PAdES B-T.
	src, err := os.Open(sample)
	if err != nil {
		return failf("%v", err)
	}
	defer src.Close()
	st, _ := src.Stat()
	signed := path("signed.pdf")
	opts := pades.Options{
		Signer: signerKey, Certificates: []*x509.Certificate{signerCert},
		Level: pades.LevelBT, Timestamper: &tsa.Client{URLs: []string{tsaURL}},
		Reason: "Signet quickstart", Location: "localhost",
	}
	err = writeAtomically(signed, func(f *os.File) error {
		return pades.Sign(context.Background(), f, src, st.Size(), opts)
	})
	if err != nil {
		return failf("signing: %v", err)
	}
	step("signed it at PAdES B-T (ECDSA P-256, SHA-256, RFC 3161 time-stamp): %s", signed)

	// 5. Verify it offline against the throwaway root.
	f, err := os.Open(signed)
	if err != nil {
		return failf("%v", err)
	}
	defer f.Close()
	st, _ = f.Stat()
	roots, err := loadPool(path("root.pem"))
	if err != nil {
		return err
	}
	rep, err := pades.Verify(f, st.Size(), pades.VerifyOptions{Roots: roots})
	if err != nil {
		return failf("verifying: %v", err)
	}
	report := path("report.json")
	err = writeAtomically(report, func(f *os.File) error {
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	})
	if err != nil {
		return failf("%v", err)
	}
	for _, s := range rep.Signatures {
		step("verified: %s, %s, signed by %s, time-stamped %s", s.Verdict, s.Level, s.Signer.Subject, s.TimestampTime.UTC().Format(time.RFC3339))
	}
	if !rep.Valid {
		return failf("the quickstart signature did not verify; see %s", report)
	}
	fmt.Fprintf(out, "\nFiles in %s:\n", *dir)
	for _, n := range []string{"root.pem", "signer.pem", "signer-key.pem", "tsa.pem", "sample.pdf", "signed.pdf", "report.json"} {
		fmt.Fprintf(out, "  %s\n", path(n))
	}
	fmt.Fprintf(out, "\nTry:\n  signet verify --trust %s %s\n  pdfsig %s\n", path("root.pem"), signed, signed)
	return nil
}
