package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/signet-pki/signet/internal/testpki"
)

// BenchmarkSignCommand runs `signet sign` in process, without the
// process start-up that BENCHMARKS.md §5 measures: an RSA-2048 key as PEM
// and as PKCS#12 (go-pkcs12's Modern2023 encoding: PBKDF2-HMAC-SHA256 with
// 2,048 iterations, as OpenSSL 3 writes it), signing SIGNET_BENCH_PDF
// (default testdata/pdf/cairo.pdf) into a temporary directory, fsync
// included. BENCHMARKS.md §6 runs it on pdfcpu's Acroforms2.pdf.
func BenchmarkSignCommand(b *testing.B) {
	in := os.Getenv("SIGNET_BENCH_PDF")
	if in == "" {
		in = sample("cairo.pdf")
	}
	root, err := testpki.NewRoot("Benchmark Root", testpki.RSA2048)
	if err != nil {
		b.Fatal(err)
	}
	cert, key, err := root.IssueSigner("Benchmark Signer", testpki.RSA2048, testpki.LeafOptions{})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	keyPEM, certPEM, p12 := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.p12")
	if err := testpki.WriteKeyPEM(keyPEM, key); err != nil {
		b.Fatal(err)
	}
	if err := testpki.WritePEM(certPEM, cert); err != nil {
		b.Fatal(err)
	}
	der, err := pkcs12.Modern2023.Encode(key, cert, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(p12, der, 0o600); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "out.pdf")
	for _, k := range []struct {
		name string
		args []string
	}{
		{"pem", []string{"--key", keyPEM, "--cert", certPEM}},
		{"p12", []string{"--key", p12}},
	} {
		b.Run(k.name, func(b *testing.B) {
			args := append(append([]string{"sign"}, k.args...), in, out)
			for b.Loop() {
				if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
					b.Fatal(err)
				}
				if code := run(args, nil, io.Discard, io.Discard); code != 0 {
					b.Fatalf("signet sign: exit %d", code)
				}
			}
		})
	}
}
