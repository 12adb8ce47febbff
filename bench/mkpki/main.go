// Command mkpki writes a throwaway PKI for the Signet benchmarks
// (BENCHMARKS.md) into a directory: root.pem (the trust anchor),
// signer.pem and signer-key.pem (a document signer), tsa.pem and
// tsa-key.pem (a time-stamp authority), and signer.p12, the signer's key
// and certificate as PKCS#12 for an NSS database, written by openssl.
//
//	go run ./bench/mkpki -dir /tmp/pki -alg rsa-2048
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/signet-pki/signet/internal/testpki"
)

func main() {
	dir := flag.String("dir", "", "output directory (required)")
	alg := flag.String("alg", string(testpki.RSA2048), "key algorithm of the signer: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "mkpki: usage: mkpki -dir DIR [-alg rsa-2048]")
		os.Exit(2)
	}
	if err := run(*dir, testpki.KeyAlg(*alg)); err != nil {
		fmt.Fprintf(os.Stderr, "mkpki: %v\n", err)
		os.Exit(1)
	}
}

func run(dir string, alg testpki.KeyAlg) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	root, err := testpki.NewRoot("Signet Benchmark Root CA", alg)
	if err != nil {
		return err
	}
	cert, key, err := root.IssueSigner("Signet Benchmark Signer", alg, testpki.LeafOptions{Email: "bench@example.com", Organization: "Signet Benchmarks"})
	if err != nil {
		return err
	}
	tsaCert, tsaKey, err := root.IssueTSA("Signet Benchmark TSA", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		return err
	}
	steps := []func() error{
		func() error { return testpki.WritePEM(path("root.pem"), root.Cert) },
		func() error { return testpki.WritePEM(path("signer.pem"), cert) },
		func() error { return testpki.WriteKeyPEM(path("signer-key.pem"), key) },
		func() error { return testpki.WritePEM(path("tsa.pem"), tsaCert) },
		func() error { return testpki.WriteKeyPEM(path("tsa-key.pem"), tsaKey) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	// NSS (pk12util) imports PKCS#12; an empty export password keeps the
	// benchmark non-interactive.
	cmd := exec.Command("openssl", "pkcs12", "-export",
		"-inkey", path("signer-key.pem"), "-in", path("signer.pem"), "-certfile", path("root.pem"),
		"-name", "signet-bench", "-passout", "pass:", "-out", path("signer.p12"))
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("openssl pkcs12: %w", err)
	}
	return nil
}
