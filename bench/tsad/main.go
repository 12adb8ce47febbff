// Command tsad serves an RFC 3161 time-stamp authority over HTTP for the
// Signet benchmarks (BENCHMARKS.md), from a TSA certificate and key such
// as those bench/mkpki writes. It prints its URL on standard output once it
// is listening and serves until killed.
//
//	go run ./bench/tsad -cert tsa.pem -key tsa-key.pem -addr 127.0.0.1:0
package main

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/signet-pki/signet/tsa"
)

// benchPolicy is the TSA policy OID of the benchmark TSA (a private arc
// used for examples).
var benchPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1, 2}

func main() {
	certPath := flag.String("cert", "", "TSA certificate (PEM, required)")
	keyPath := flag.String("key", "", "TSA private key (PKCS#8 PEM, required)")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	if err := run(*certPath, *keyPath, *addr); err != nil {
		fmt.Fprintf(os.Stderr, "tsad: %v\n", err)
		os.Exit(1)
	}
}

func run(certPath, keyPath, addr string) error {
	cert, err := readPEM(certPath, "CERTIFICATE")
	if err != nil {
		return err
	}
	c, err := x509.ParseCertificate(cert)
	if err != nil {
		return err
	}
	keyDER, err := readPEM(keyPath, "PRIVATE KEY")
	if err != nil {
		return err
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return errors.New("the key cannot sign")
	}
	srv := &tsa.Server{Signer: signer, Certificate: c, Policy: benchPolicy, Hash: crypto.SHA256}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("http://%s/\n", ln.Addr())
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	return hs.Serve(ln)
}

func readPEM(path, typ string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != typ {
		return nil, fmt.Errorf("%s: no PEM %s block", path, typ)
	}
	return b.Bytes, nil
}
