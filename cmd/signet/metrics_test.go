package main

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/signet-pki/signet/pki/ca"
)

// TestPKIMetrics checks that /metrics of `signet pki serve` is JSON with
// the renewal counters.
func TestPKIMetrics(t *testing.T) {
	s := &pkiServer{renewer: &ca.Renewer{}}
	s.renewer.Renewals.Add(3)
	s.renewer.Failures.Add(1)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var got map[string]int64
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("%v: %q", err, rec.Body.String())
	}
	if len(got) != 2 || got["signet_pki_renewals"] != 3 || got["signet_pki_renewal_failures"] != 1 {
		t.Errorf("metrics %v", got)
	}
}
