package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/signet-pki/signet/cms"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/tsa"
)

// testPKI is a root with an ECDSA signer and a time-stamp authority served
// over HTTP.
type testPKI struct {
	root    *testpki.CA
	rootPEM string
	signer  crypto.Signer
	cert    *x509.Certificate
	tsaURL  string
	tsaSrv  *tsa.Server
	roots   *x509.CertPool
	dir     string
}

var (
	pkiOnce sync.Once
	pkiVal  *testPKI
	pkiErr  error
)

var testPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1, 2}

// sharedPKI returns one PKI per test binary: key generation is not what is
// under test.
func sharedPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		p := &testPKI{}
		dir, err := os.MkdirTemp("", "signet-pades-pki")
		if err != nil {
			pkiErr = err
			return
		}
		p.dir = dir
		if p.root, pkiErr = testpki.NewRoot("Signet Test Root", testpki.ECDSAP256); pkiErr != nil {
			return
		}
		if p.cert, p.signer, pkiErr = p.root.IssueSigner("Alice Signer", testpki.ECDSAP256, testpki.LeafOptions{Email: "alice@example.com"}); pkiErr != nil {
			return
		}
		tsaCert, tsaKey, err := p.root.IssueTSA("Signet Test TSA", testpki.ECDSAP256, testpki.LeafOptions{})
		if err != nil {
			pkiErr = err
			return
		}
		p.tsaSrv = &tsa.Server{Signer: tsaKey, Certificate: tsaCert, Policy: testPolicy}
		srv := httptest.NewServer(p.tsaSrv)
		p.tsaURL = srv.URL
		p.rootPEM = filepath.Join(dir, "root.pem")
		pkiErr = testpki.WritePEM(p.rootPEM, p.root.Cert)
		p.roots = x509.NewCertPool()
		p.roots.AddCert(p.root.Cert)
		pkiVal = p
	})
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pkiVal
}

func (p *testPKI) options(level Level) Options {
	o := Options{Signer: p.signer, Certificates: []*x509.Certificate{p.cert}, Level: level}
	if level == LevelBT {
		o.Timestamper = &tsa.Client{URLs: []string{p.tsaURL}}
	}
	return o
}

// signFile signs in into a new file in t.TempDir and returns its path.
func signFile(t *testing.T, in string, opts Options) string {
	t.Helper()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Sign(context.Background(), &out, bytes.NewReader(data), int64(len(data)), opts); err != nil {
		t.Fatalf("Sign(%s): %v", filepath.Base(in), err)
	}
	path := filepath.Join(t.TempDir(), "signed.pdf")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func verifyFile(t *testing.T, path string, roots *x509.CertPool) *Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(bytes.NewReader(data), int64(len(data)), VerifyOptions{Roots: roots})
	if err != nil {
		t.Fatalf("Verify(%s): %v", filepath.Base(path), err)
	}
	return rep
}

func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed; run make test, which installs it", name)
	}
	return p
}

// checkPdfsig runs poppler's pdfsig and requires "Signature is Valid." for
// exactly n signatures.
func checkPdfsig(t *testing.T, path string, n int) {
	t.Helper()
	out, _ := exec.Command(tool(t, "pdfsig"), path).CombinedOutput()
	got := strings.Count(string(out), "Signature Validation: Signature is Valid.")
	if got != n {
		t.Errorf("pdfsig: %d of %d signatures valid:\n%s", got, n, out)
	}
}

// checkQpdf requires qpdf --check to pass without warnings.
func checkQpdf(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command(tool(t, "qpdf"), "--check", path).CombinedOutput()
	if err != nil || bytes.Contains(bytes.ToLower(out), []byte("warning")) {
		t.Errorf("qpdf --check %s: %v\n%s", filepath.Base(path), err, out)
	}
}

// checkOpenSSL verifies each signature's CMS over its byte ranges with
// openssl cms -verify, and its signature time-stamp with openssl ts -verify.
func checkOpenSSL(t *testing.T, path, rootPEM string, rep *Report) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	openssl := tool(t, "openssl")
	for i, s := range rep.Signatures {
		br := s.ByteRange
		dir := t.TempDir()
		content := append(append([]byte{}, data[br[0]:br[0]+br[1]]...), data[br[2]:br[2]+br[3]]...)
		hexContents := data[br[1]+1 : br[2]-1]
		der := make([]byte, len(hexContents)/2)
		if _, err := hex.Decode(der, hexContents); err != nil {
			t.Fatal(err)
		}
		sd, err := cms.Parse(der)
		if err != nil {
			t.Fatalf("signature %d: %v", i+1, err)
		}
		exact, _ := sd.Marshal()
		write := func(name string, b []byte) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		if s.Kind == "document-timestamp" {
			continue
		}
		sig := write("sig.der", exact)
		cnt := write("content.bin", content)
		out, err := exec.Command(openssl, "cms", "-verify", "-inform", "DER", "-in", sig, "-binary", "-content", cnt,
			"-CAfile", rootPEM, "-purpose", "any", "-out", os.DevNull).CombinedOutput()
		if err != nil || !regexp.MustCompile(`(?i)verification successful`).Match(out) {
			t.Errorf("openssl cms -verify, signature %d: %v\n%s", i+1, err, out)
		}
		if tok := sd.TimestampToken(); tok != nil {
			tp := write("token.der", tok)
			sv := write("signature-value.bin", sd.Signature())
			out, err := exec.Command(openssl, "ts", "-verify", "-in", tp, "-token_in", "-data", sv,
				"-CAfile", rootPEM).CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("Verification: OK")) {
				t.Errorf("openssl ts -verify, signature %d: %v\n%s", i+1, err, out)
			}
		}
	}
}

// requireValid requires every signature TOTAL-PASSED.
func requireValid(t *testing.T, rep *Report, n int) {
	t.Helper()
	if len(rep.Signatures) != n {
		t.Fatalf("got %d signatures, want %d", len(rep.Signatures), n)
	}
	for i, s := range rep.Signatures {
		if s.Indication != TotalPassed {
			t.Errorf("signature %d (%s): %s/%s: %s; checks %+v", i+1, s.Field, s.Indication, s.SubIndication, s.Reason, s.Checks)
		}
	}
	if !rep.Valid {
		t.Errorf("report not valid")
	}
}

// statusHandler lets a test rewrite TSA requests before the real server
// answers them.
func tamperingTSA(srv *tsa.Server, rewrite func(*tsa.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		buf.ReadFrom(r.Body)
		req, err := tsa.ParseRequest(buf.Bytes())
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rewrite(req)
		der, _ := req.Marshal()
		resp, err := srv.Respond(der)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(resp)
	})
}
