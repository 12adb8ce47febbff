package anchor_test

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/tsa"
)

var tsaPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 3161, 7}

// tsaSetup is a TSA served over HTTP and the root it chains to.
type tsaSetup struct {
	root  *testpki.CA
	roots *x509.CertPool
	url   string
}

func newTSA(t *testing.T) *tsaSetup {
	t.Helper()
	root, err := testpki.NewRoot("Signet Test Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := root.IssueTSA("Signet Test TSA", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&tsa.Server{Signer: key, Certificate: cert, Policy: tsaPolicy})
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	return &tsaSetup{root: root, roots: roots, url: srv.URL}
}

// body returns the checkpoint body of a signed note.
func body(cp auditlog.Checkpoint) string {
	b, _, _ := strings.Cut(string(cp.Note), "\n\n")
	return b + "\n"
}

func TestTimestampAnchor(t *testing.T) {
	ts := newTSA(t)
	other := newTSA(t)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer failing.Close()

	l := newTestLog(t, testOrigin).grow(t, 17)
	cp := l.checkpoint(t)
	stamper := &anchor.Timestamper{Client: &tsa.Client{URLs: []string{failing.URL, ts.url}, Roots: ts.roots}}
	as, err := stamper.Anchor(context.Background(), cp, auditlog.Checkpoint{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Kind != anchor.KindRFC3161 || as[0].Name != ts.url || as[0].Size != 17 {
		t.Fatalf("anchors %+v: want one rfc3161 anchor named %s", as, ts.url)
	}
	a := as[0]
	if err := anchor.VerifyTimestampAnchor(a, cp, ts.roots); err != nil {
		t.Fatalf("VerifyTimestampAnchor: %v", err)
	}
	if err := anchor.VerifyTimestampAnchor(a, cp, nil); err != nil {
		t.Fatalf("VerifyTimestampAnchor without roots: %v", err)
	}

	// The same checkpoint re-signed (another signature line) keeps its
	// time-stamp: only the body is stamped.
	resigned := cp
	resigned.Note = append(append([]byte(nil), cp.Note...), []byte("— extra.test/key AAAAAAAA\n")...)

	next := l.grow(t, 18).checkpoint(t)
	mangled := a
	mangled.Data = append([]byte(nil), a.Data...)
	mangled.Data[len(mangled.Data)-5] ^= 0xff

	for _, tc := range []struct {
		name  string
		a     auditlog.Anchor
		cp    auditlog.Checkpoint
		roots *x509.CertPool
		is    error
	}{
		{name: "re-signed note", a: a, cp: resigned, roots: ts.roots},
		{name: "another checkpoint", a: withSize(a, 18), cp: next, roots: ts.roots, is: tsa.ErrImprint},
		{name: "size mismatch", a: a, cp: next, roots: ts.roots, is: errAny},
		{name: "untrusted TSA", a: a, cp: cp, roots: other.roots, is: errAny},
		{name: "mangled token", a: mangled, cp: cp, roots: ts.roots, is: errAny},
		{name: "wrong kind", a: withKind(a, anchor.KindWitness), cp: cp, roots: ts.roots, is: anchor.ErrKind},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := anchor.VerifyTimestampAnchor(tc.a, tc.cp, tc.roots)
			switch {
			case tc.is == nil && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.is == errAny && err == nil, tc.is != nil && tc.is != errAny && !errors.Is(err, tc.is):
				t.Fatalf("got %v, want %v", err, tc.is)
			}
		})
	}

	// Fail closed: no TSA answers, no anchor.
	down := &anchor.Timestamper{Client: &tsa.Client{URLs: []string{failing.URL}}}
	if as, err := down.Anchor(context.Background(), cp, auditlog.Checkpoint{}, nil); !errors.Is(err, tsa.ErrNoToken) || as != nil {
		t.Fatalf("TSA down: got %v, %v; want tsa.ErrNoToken", as, err)
	}
	// A TSA chaining to other roots is refused at request time.
	wrongRoots := &anchor.Timestamper{Client: &tsa.Client{URLs: []string{ts.url}, Roots: other.roots}}
	if as, err := wrongRoots.Anchor(context.Background(), cp, auditlog.Checkpoint{}, nil); err == nil || as != nil {
		t.Fatalf("untrusted TSA: got %v, %v; want an error", as, err)
	}
}

// TestTimestampAnchorOpenSSL has openssl check that the token is over the
// checkpoint body.
func TestTimestampAnchorOpenSSL(t *testing.T) {
	ts := newTSA(t)
	cp := newTestLog(t, testOrigin).grow(t, 5).checkpoint(t)
	stamper := &anchor.Timestamper{Client: &tsa.Client{URLs: []string{ts.url}}}
	as, err := stamper.Anchor(context.Background(), cp, auditlog.Checkpoint{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tok, data, root := filepath.Join(dir, "token.der"), filepath.Join(dir, "checkpoint.txt"), filepath.Join(dir, "root.pem")
	if err := os.WriteFile(tok, as[0].Data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := testpki.WritePEM(root, ts.root.Cert); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data string
		ok   bool
	}{
		{"checkpoint body", body(cp), true},
		{"whole note", string(cp.Note), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(data, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("openssl", "ts", "-verify", "-in", tok, "-token_in", "-data", data, "-CAfile", root).CombinedOutput()
			if (err == nil) != tc.ok {
				t.Fatalf("openssl ts -verify: ok=%v, want %v\n%s", err == nil, tc.ok, out)
			}
		})
	}
}

// errAny marks table cases that expect some error.
var errAny = errors.New("any error")

func withSize(a auditlog.Anchor, n int64) auditlog.Anchor  { a.Size = n; return a }
func withKind(a auditlog.Anchor, k string) auditlog.Anchor { a.Kind = k; return a }
