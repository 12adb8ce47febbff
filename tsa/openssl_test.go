package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestOpenSSLQueryParses checks requests made by `openssl ts -query`.
func TestOpenSSLQueryParses(t *testing.T) {
	dir := t.TempDir()
	data := writeFile(t, dir, "data.txt", []byte("Signet time-stamp test data\n"))
	sum := sha256.Sum256([]byte("Signet time-stamp test data\n"))
	nonceRE := regexp.MustCompile(`Nonce: 0x([0-9A-F]+)`)
	tests := []struct {
		name      string
		args      []string
		certReq   bool
		policy    bool
		wantNonce bool
	}{
		{"cert and nonce", []string{"-cert"}, true, false, true},
		{"no nonce", []string{"-no_nonce"}, false, false, false},
		{"policy", []string{"-cert", "-tspolicy", testPolicy.String()}, true, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".tsq")
			openssl(t, append([]string{"ts", "-query", "-data", data, "-sha256", "-out", q}, tc.args...)...)
			der, err := os.ReadFile(q)
			if err != nil {
				t.Fatal(err)
			}
			req, err := ParseRequest(der)
			if err != nil {
				t.Fatal(err)
			}
			if req.Hash != crypto.SHA256 || !bytes.Equal(req.Digest, sum[:]) {
				t.Errorf("imprint %v %x, want SHA-256 %x", req.Hash, req.Digest, sum)
			}
			if req.CertReq != tc.certReq {
				t.Errorf("CertReq %v, want %v", req.CertReq, tc.certReq)
			}
			if got := req.Policy != nil && req.Policy.Equal(testPolicy); got != tc.policy {
				t.Errorf("policy %v", req.Policy)
			}
			m := nonceRE.FindStringSubmatch(openssl(t, "ts", "-query", "-in", q, "-text"))
			switch {
			case tc.wantNonce && m == nil:
				t.Fatal("openssl printed no nonce")
			case tc.wantNonce:
				want, _ := new(big.Int).SetString(m[1], 16)
				if !sameBig(req.Nonce, want) {
					t.Errorf("nonce %v, want %v", req.Nonce, want)
				}
			case req.Nonce != nil:
				t.Errorf("nonce %v, want none", req.Nonce)
			}
			// Re-encoding an openssl request reproduces it byte for byte.
			again, err := req.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, der) {
				t.Errorf("re-encoding differs:\n got %x\nwant %x", again, der)
			}
		})
	}
}

// TestOpenSSLReadsOurQuery checks that openssl decodes Request.Marshal output.
func TestOpenSSLReadsOurQuery(t *testing.T) {
	digest := digestOf(crypto.SHA384, "our query")
	req := Request{Hash: crypto.SHA384, Digest: digest, Policy: testPolicy, Nonce: big.NewInt(0x1234567890abcdef), CertReq: true}
	der, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q := writeFile(t, t.TempDir(), "ours.tsq", der)
	out := openssl(t, "ts", "-query", "-in", q, "-text")
	// openssl prints the digest as a hex dump: "0000 - 58 91 b5 b5 ...-6d ...".
	var dumped strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if m := regexp.MustCompile(`^\s+[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){1,16})`).FindStringSubmatch(line); m != nil {
			dumped.WriteString(strings.NewReplacer(" ", "", "-", "").Replace(m[1]))
		}
	}
	for _, want := range []string{"Hash Algorithm: sha384", "Policy OID: " + testPolicy.String(), "Nonce: 0x1234567890ABCDEF", "Certificate required: yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("openssl output lacks %q:\n%s", want, out)
		}
	}
	if got := dumped.String(); got != hex.EncodeToString(digest) {
		t.Errorf("openssl shows digest %s, want %x\n%s", got, digest, out)
	}
}

// TestOpenSSLEndToEnd runs Client against Server over HTTP and checks the
// token and the full response with `openssl ts -verify`, and answers an
// openssl-made query.
func TestOpenSSLEndToEnd(t *testing.T) {
	p := newPKI(t)
	srv := httptest.NewServer(p.server())
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	rootPEM := writePEM(t, dir, "root.pem", p.root)
	interPEM := writePEM(t, dir, "inter.pem", p.inter)
	payload := []byte("a document worth time-stamping\n")
	data := writeFile(t, dir, "data.txt", payload)
	sum := sha256.Sum256(payload)

	t.Run("client token", func(t *testing.T) {
		c := &Client{URLs: []string{srv.URL}, Roots: p.rootPool, Policy: testPolicy, Now: func() time.Time { return testNow }}
		tok, err := c.Timestamp(context.Background(), crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		f := writeFile(t, dir, "tok.der", tok.Raw)
		openssl(t, "ts", "-verify", "-in", f, "-token_in", "-digest", hex.EncodeToString(sum[:]), "-CAfile", rootPEM, "-untrusted", interPEM)
		// The same token does not verify for another digest.
		other := sha256.Sum256([]byte("another document"))
		opensslFails(t, "ts", "-verify", "-in", f, "-token_in", "-digest", hex.EncodeToString(other[:]), "-CAfile", rootPEM, "-untrusted", interPEM)
	})

	t.Run("response over data", func(t *testing.T) {
		req := &Request{Hash: crypto.SHA256, Digest: sum[:], Nonce: big.NewInt(77), CertReq: true}
		der, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		resp := post(t, srv.URL, der)
		f := writeFile(t, dir, "resp.tsr", resp)
		openssl(t, "ts", "-verify", "-in", f, "-data", data, "-CAfile", rootPEM, "-untrusted", interPEM)
		q := writeFile(t, dir, "ours.tsq", der)
		openssl(t, "ts", "-verify", "-in", f, "-queryfile", q, "-CAfile", rootPEM, "-untrusted", interPEM)
		// A different root does not vouch for the token.
		otherRoot := writePEM(t, dir, "other.pem", newPKI(t).root)
		opensslFails(t, "ts", "-verify", "-in", f, "-data", data, "-CAfile", otherRoot, "-untrusted", interPEM)
	})

	t.Run("openssl query", func(t *testing.T) {
		q := filepath.Join(dir, "openssl.tsq")
		openssl(t, "ts", "-query", "-data", data, "-sha512", "-cert", "-out", q)
		der, err := os.ReadFile(q)
		if err != nil {
			t.Fatal(err)
		}
		resp := post(t, srv.URL, der)
		f := writeFile(t, dir, "openssl.tsr", resp)
		openssl(t, "ts", "-verify", "-in", f, "-queryfile", q, "-CAfile", rootPEM, "-untrusted", interPEM)
		openssl(t, "ts", "-verify", "-in", f, "-data", data, "-CAfile", rootPEM, "-untrusted", interPEM)
		out := openssl(t, "ts", "-reply", "-in", f, "-text")
		for _, want := range []string{"Status: Granted.", "Policy OID: " + testPolicy.String(), "Accuracy: unspecified seconds, 0x01F4 millis", "Time stamp: Feb  3 04:05:06.789123 2026 GMT", "TSA: DirName:"} {
			if !strings.Contains(out, want) {
				t.Errorf("openssl ts -reply lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("non-critical EKU rejected by openssl", func(t *testing.T) {
		bad := newPKI(t, nonCriticalEKU)
		s := bad.server()
		digest := sha256.Sum256(payload)
		der, err := (&Request{Hash: crypto.SHA256, Digest: digest[:], CertReq: true}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.Respond(der)
		if err != nil {
			t.Fatal(err)
		}
		f := writeFile(t, dir, "noncrit.tsr", resp)
		out := opensslFails(t, "ts", "-verify", "-in", f, "-data", data,
			"-CAfile", writePEM(t, dir, "badroot.pem", bad.root), "-untrusted", writePEM(t, dir, "badinter.pem", bad.inter))
		if !strings.Contains(out, "unsuitable certificate purpose") {
			t.Errorf("openssl output: %s", out)
		}
	})
}

// post sends a time-stamp query to url and returns the reply body.
func post(t testing.TB, url string, der []byte) []byte {
	t.Helper()
	resp, err := http.Post(url, ContentTypeQuery, bytes.NewReader(der))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ContentTypeReply {
		t.Fatalf("POST: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	return body
}
