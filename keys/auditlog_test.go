package keys_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
)

// TestRealAuditLog runs the manager against the real audit log (memory
// storage) and finds each operation's event, with key id and version, in
// the log's leaves.
func TestRealAuditLog(t *testing.T) {
	ctx := context.Background()
	tk, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st := auditlog.NewMemStore()
	log, err := auditlog.New(ctx, auditlog.Config{Storage: st, Keys: tk})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Shutdown(ctx)
	f := newFixture(t)
	m, err := keys.New(ctx, keys.Config{Store: keys.NewMemStore(), Backends: []keys.Backend{f.soft}, Recorder: log})
	if err != nil {
		t.Fatal(err)
	}
	k, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning, Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := m.Signer(ctx, k.ID, keys.PurposeDocumentSigning)
	if err != nil {
		t.Fatal(err)
	}
	sign(t, s)
	if _, err := m.Rotate(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Revoke(ctx, k.ID, 1, keys.ReasonKeyCompromise, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := m.Destroy(ctx, k.ID, 1); err != nil {
		t.Fatal(err)
	}
	recs, err := st.Records(ctx, 0, log.Size())
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := []auditlog.EventType{auditlog.KeyCreated, auditlog.KeyUsed, auditlog.KeyRotated, auditlog.EventType(revokedType()), auditlog.KeyDestroyed}
	if len(recs) != len(wantTypes) {
		t.Fatalf("%d records, want %d", len(recs), len(wantTypes))
	}
	for i, r := range recs {
		if r.Type != string(wantTypes[i]) || r.Tenant != "acme" || !bytes.Contains(r.Leaf, []byte(k.ID)) {
			t.Errorf("record %d: type %s tenant %q, leaf %s", i, r.Type, r.Tenant, r.Leaf)
		}
	}
	if !bytes.Contains(recs[3].Leaf, []byte("keyCompromise")) {
		t.Errorf("revocation leaf lacks the reason: %s", recs[3].Leaf)
	}
	// Once the log is shut down, operations fail closed.
	if err := log.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(ctx, k.ID); err == nil {
		t.Fatal("rotation succeeded with the audit log shut down")
	}
}
