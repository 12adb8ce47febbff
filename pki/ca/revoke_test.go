package ca_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki/ca"
)

func TestRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cert, err := f.a.IssueSigner(ctx, alice, evidence, newKey(t).Public(), ca.KeyRef{ID: "k", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	compromise := t0.Add(-time.Hour)
	r, err := f.a.Revoke(ctx, cert.SerialNumber, ca.ReasonKeyCompromise, compromise)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != ca.StatusRevoked || r.Reason != ca.ReasonKeyCompromise || !r.RevokedAt.Equal(t0.Add(time.Minute)) || !r.InvalidityDate.Equal(compromise) {
		t.Errorf("record = %+v", r)
	}
	if len(f.revoked) != 1 || f.revoked[0].Serial.Cmp(cert.SerialNumber) != 0 {
		t.Errorf("OnRevoke calls = %v", f.revoked)
	}
	last := f.tap.events[len(f.tap.events)-1]
	if last.Type != auditlog.CertificateRevoked || last.Details["reason"] != "keyCompromise" || last.Subject.KeyID != "k" || last.Tenant != "acme" {
		t.Errorf("last event = %+v", last)
	}
	if _, err := f.a.Revoke(ctx, cert.SerialNumber, ca.ReasonSuperseded, time.Time{}); !errors.Is(err, ca.ErrAlreadyRevoked) {
		t.Errorf("second revocation: err = %v", err)
	}
	for _, c := range []struct {
		name   string
		reason ca.Reason
		inv    time.Time
		want   error
	}{
		{"certificateHold", 6, time.Time{}, ca.ErrInvalidRequest},
		{"future invalidity", ca.ReasonKeyCompromise, t0.Add(time.Hour), ca.ErrInvalidRequest},
	} {
		other, err := f.a.IssueSigner(ctx, alice, evidence, newKey(t).Public(), ca.KeyRef{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.Revoke(ctx, other.SerialNumber, c.reason, c.inv); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := f.a.Revoke(ctx, f.root.Certificate.SerialNumber, ca.ReasonCACompromise, time.Time{}); !errors.Is(err, ca.ErrInvalidRequest) {
		t.Errorf("revoking the root: err = %v", err)
	}
}

// TestKeyRevocationHook revokes a key version through the hook the key
// manager calls and checks that exactly that version's live certificates
// are revoked, with the compromise time as invalidity date.
func TestKeyRevocationHook(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	issue := func(version string) ca.Record {
		c, err := f.a.IssueSigner(ctx, alice, evidence, newKey(t).Public(), ca.KeyRef{ID: "key_1", Version: version})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := f.store.Get(ctx, c.SerialNumber)
		return r
	}
	v1a, v1b, v2 := issue("1"), issue("1"), issue("2")
	compromise := t0.Add(-30 * time.Minute)
	hook := f.a.KeyRevocationHook()
	if err := hook(ctx, keys.KeyRevocation{Key: &keys.Key{ID: "key_1"}, Version: 1, Reason: keys.ReasonKeyCompromise, CompromiseTime: compromise}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r    ca.Record
		want ca.Status
	}{{v1a, ca.StatusRevoked}, {v1b, ca.StatusRevoked}, {v2, ca.StatusGood}} {
		got, _ := f.store.Get(ctx, c.r.Serial)
		if got.Status != c.want {
			t.Errorf("version %s serial %x: status %s, want %s", c.r.Key.Version, c.r.Serial, got.Status, c.want)
		}
		if c.want == ca.StatusRevoked && (got.Reason != ca.ReasonKeyCompromise || !got.InvalidityDate.Equal(compromise)) {
			t.Errorf("revoked record = %+v", got)
		}
	}
	// Running it again is a no-op.
	rs, err := f.a.RevokeByKey(ctx, "key_1", "1", ca.ReasonKeyCompromise, compromise)
	if err != nil || len(rs) != 0 {
		t.Errorf("second RevokeByKey = %d records, %v", len(rs), err)
	}
}
