package ca_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/pki/ca"
)

// TestRenewer drives a 30-day OCSP responder certificate through its life
// with an injected clock: nothing happens before two thirds of it, a renewal
// happens after, and a failing renewal is logged at ERROR and counted on
// every check until it succeeds.
func TestRenewer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key := newKey(t)
	cur, err := f.a.IssueOCSPResponder(ctx, "acme", key.Public(), ca.KeyRef{}, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var failWith error
	var logs bytes.Buffer
	r := &ca.Renewer{Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	r.Add(ca.Renewable{
		Name:    "ocsp/acme",
		Current: func() *x509.Certificate { return cur },
		Renew: func(ctx context.Context) error {
			if failWith != nil {
				return failWith
			}
			c, err := f.a.IssueOCSPResponder(ctx, "acme", key.Public(), ca.KeyRef{}, 30*24*time.Hour)
			if err == nil {
				cur = c
			}
			return err
		},
	})
	first := cur
	steps := []struct {
		advance            time.Duration
		fail               error
		renewals, failures int64
		renewed            bool
	}{
		{0, nil, 0, 0, false},
		{19 * 24 * time.Hour, nil, 0, 0, false},                   // 19 of 30 days: before 2/3
		{2 * 24 * time.Hour, errors.New("hsm down"), 0, 1, false}, // 21 days: due, fails
		{24 * time.Hour, errors.New("hsm down"), 0, 2, false},     // still due, fails again
		{time.Hour, nil, 1, 2, true},                              // succeeds
		{time.Hour, nil, 1, 2, true},                              // the new one is fresh
	}
	for i, s := range steps {
		f.clock.Add(s.advance)
		failWith = s.fail
		err := r.Check(ctx)
		if (err != nil) != (s.fail != nil) {
			t.Errorf("step %d: Check err = %v", i, err)
		}
		if got := r.Renewals.Load(); got != s.renewals {
			t.Errorf("step %d: renewals = %d, want %d", i, got, s.renewals)
		}
		if got := r.Failures.Load(); got != s.failures {
			t.Errorf("step %d: failures = %d, want %d", i, got, s.failures)
		}
		if renewed := cur != first; renewed != s.renewed {
			t.Errorf("step %d: renewed = %v, want %v", i, renewed, s.renewed)
		}
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 2 {
		t.Errorf("%d ERROR log lines, want 2:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "certificate=ocsp/acme") || !strings.Contains(logs.String(), "hsm down") {
		t.Errorf("alert does not name the certificate and cause:\n%s", logs.String())
	}
}

func TestRenewerDue(t *testing.T) {
	cert := &x509.Certificate{NotBefore: t0, NotAfter: t0.Add(90 * time.Hour)}
	for _, c := range []struct {
		name string
		r    *ca.Renewer
		at   time.Duration
		want bool
	}{
		{"default before 2/3", &ca.Renewer{}, 59 * time.Hour, false},
		{"default at 2/3", &ca.Renewer{}, 60 * time.Hour, true},
		{"half", &ca.Renewer{RenewAt: 0.5}, 45 * time.Hour, true},
		{"half before", &ca.Renewer{RenewAt: 0.5}, 44 * time.Hour, false},
		{"margin", &ca.Renewer{Margin: 10 * time.Hour}, 79 * time.Hour, false},
		{"margin reached", &ca.Renewer{Margin: 10 * time.Hour}, 80 * time.Hour, true},
		{"expired", &ca.Renewer{}, 100 * time.Hour, true},
	} {
		if got := c.r.Due(cert, t0.Add(c.at)); got != c.want {
			t.Errorf("%s: Due = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestRenewerDueCertificates: the certificates in use past their renewal
// point are listed (a failed renewal leaves them there); fresh ones and
// items without a certificate are not.
func TestRenewerDueCertificates(t *testing.T) {
	old := &x509.Certificate{NotBefore: t0, NotAfter: t0.Add(90 * time.Hour)}
	fresh := &x509.Certificate{NotBefore: t0.Add(70 * time.Hour), NotAfter: t0.Add(160 * time.Hour)}
	r := &ca.Renewer{}
	none := func(context.Context) error { return nil }
	r.Add(ca.Renewable{Name: "old", Current: func() *x509.Certificate { return old }, Renew: none})
	r.Add(ca.Renewable{Name: "fresh", Current: func() *x509.Certificate { return fresh }, Renew: none})
	r.Add(ca.Renewable{Name: "missing", Current: func() *x509.Certificate { return nil }, Renew: none})
	due := r.DueCertificates(t0.Add(72 * time.Hour))
	if len(due) != 1 || due[0].Name != "old" || due[0].Certificate != old {
		t.Fatalf("due %+v", due)
	}
}
