package server_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/tsa"
)

// TestPKIListenerLimited: the configured pki_limits apply to the PKI
// listener: over real HTTP, time-stamp requests beyond the budget get 429
// with Retry-After.
func TestPKIListenerLimited(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const budget = 2
	r := start(t, dir, func(c *server.Config) {
		l := pki.DefaultLimits
		l.TSA = pki.Rate{PerSecond: 0.0001, Burst: budget}
		c.PKILimits = &l
	})
	digest := sha256.Sum256([]byte("limited"))
	q, err := (&tsa.Request{Hash: crypto.SHA256, Digest: digest[:], CertReq: true}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const n = budget + 4
	granted, limited := 0, 0
	for range n {
		res, err := http.Post("http://"+r.srv.PKIAddr().String()+"/tsa", tsa.ContentTypeQuery, bytes.NewReader(q))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusOK:
			granted++
		case res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") != "":
			limited++
		default:
			t.Fatalf("time-stamp request: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
	if granted > budget || limited < n-budget {
		t.Errorf("%d requests with a budget of %d: %d granted, %d refused", n, budget, granted, limited)
	}
}

// TestPKILimitsConfig: pki_limits fields left out keep their defaults;
// half a rate, no signing at once and unknown fields are refused.
func TestPKILimitsConfig(t *testing.T) {
	c, err := server.ParseConfig([]byte(`{"pki_limits":{"tsa":{"per_second":1,"burst":2}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := pki.DefaultLimits
	want.TSA = pki.Rate{PerSecond: 1, Burst: 2}
	if *c.PKILimits != want {
		t.Errorf("limits %+v, want %+v", *c.PKILimits, want)
	}
	if c, err := server.ParseConfig([]byte(`{}`)); err != nil || *c.PKILimits != pki.DefaultLimits {
		t.Errorf("default limits %+v, %v", c.PKILimits, err)
	}
	for _, bad := range []string{
		`{"pki_limits":{"ocsp":{"per_second":1,"burst":0}}}`,
		`{"pki_limits":{"max_in_flight":0}}`,
		`{"pki_limits":{"tsa_rate":1}}`,
	} {
		if _, err := server.ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
