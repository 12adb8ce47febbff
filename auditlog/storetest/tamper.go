package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"golang.org/x/mod/sumdb/note"
)

// A Tamperer alters a backend's rows directly, as someone with write
// access to the database (but not the audit key) could. Each method
// changes only what it says: stored tree hashes stay as they were.
type Tamperer interface {
	// SetLeaf overwrites the leaf of the record at index.
	SetLeaf(t *testing.T, s auditlog.Storage, index int64, leaf []byte)
	// SetEnvelope overwrites the indexed envelope of the record at index,
	// leaving its leaf as it was.
	SetEnvelope(t *testing.T, s auditlog.Storage, index int64, envelope string)
	// DeleteRecord removes the record at index, leaving a gap.
	DeleteRecord(t *testing.T, s auditlog.Storage, index int64)
	// InsertRecord inserts rec at rec.Index, moving the records at and
	// after it up by one index.
	InsertRecord(t *testing.T, s auditlog.Storage, rec auditlog.Record)
	// SwapRecords exchanges the contents of the records at i and j.
	SwapRecords(t *testing.T, s auditlog.Storage, i, j int64)
	// Truncate removes the records and tree hashes from size on, keeping
	// the checkpoints.
	Truncate(t *testing.T, s auditlog.Storage, size int64)
	// Rollback removes the records, tree hashes, checkpoints and anchors
	// beyond size, restoring an older, self-consistent state.
	Rollback(t *testing.T, s auditlog.Storage, size int64)
}

// TamperFixture is a populated log: 40 events with checkpoints at 16, 32
// and 40, signed by Signer.
type TamperFixture struct {
	Store    auditlog.Storage
	Signer   note.Signer
	Verifier note.Verifier
	// Checkpoints are the published checkpoints, by size.
	Checkpoints map[int64]auditlog.Checkpoint
}

// Populate fills s with the tamper fixture.
func Populate(t *testing.T, s auditlog.Storage) *TamperFixture {
	t.Helper()
	f := &TamperFixture{Store: s, Checkpoints: map[int64]auditlog.Checkpoint{}}
	f.Signer, f.Verifier = NewKey(t, "signet.test/audit")
	pub := newPublisher(t, s, f.Signer)
	for _, upto := range []int64{16, 32, 40} {
		appendEvents(t, s, upto)
		cp, err := pub.Publish(context.Background())
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		f.Checkpoints[cp.Size] = cp
	}
	return f
}

// NewKey returns a fresh Ed25519 note key pair.
func NewKey(t testing.TB, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return signer, verifier
}

func newPublisher(t *testing.T, s auditlog.Storage, signer note.Signer) *auditlog.Publisher {
	t.Helper()
	pub, err := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: "signet.test/audit", Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// fixtureEnvelope is the envelope of the fixture's n-th event: env-0,
// env-1 or env-2, and none for every fifth.
func fixtureEnvelope(n int64) string {
	if n%5 == 4 {
		return ""
	}
	return fmt.Sprintf("env-%d", n%3)
}

// appendEvents appends events through a Log until s holds upto records.
func appendEvents(t *testing.T, s auditlog.Storage, upto int64) {
	t.Helper()
	ctx := context.Background()
	keys, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	l, err := auditlog.New(ctx, auditlog.Config{Storage: s, Keys: keys})
	if err != nil {
		t.Fatalf("auditlog.New: %v", err)
	}
	for n := l.Size(); n < upto; n++ {
		e := auditlog.Event{
			Type:    auditlog.DocumentUploaded,
			Tenant:  "acme",
			Actor:   auditlog.Actor{Kind: auditlog.ActorUser, ID: fmt.Sprintf("u%d", n%4), Email: fmt.Sprintf("user%d@acme.example", n%4), AuthStrength: "aal2", AuthMethods: []string{"pwd", "otp"}},
			Subject: auditlog.Subject{DocumentSHA256: fmt.Sprintf("%064x", n), EnvelopeID: fixtureEnvelope(n)},
			Request: auditlog.Request{CorrelationID: fmt.Sprintf("req-%d", n), IP: "192.0.2.7"},
			Outcome: auditlog.OutcomeSuccess,
			Policy:  auditlog.Policy{Decision: "allow", Policy: "default", Rule: "owner-upload"},
		}
		if _, err := l.Append(ctx, e); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if err := l.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// RunTamper checks that [auditlog.Verify] detects and names each kind of
// tampering done through tam on a store from open (new and empty each
// time), and that an untouched log verifies.
func RunTamper(t *testing.T, open func(t *testing.T) auditlog.Storage, tam Tamperer) {
	type result struct {
		kind  auditlog.TamperKind
		index int64
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, f *TamperFixture)
		useRef bool
		want   *result
	}{
		{"untouched", func(t *testing.T, f *TamperFixture) {}, true, nil},
		{"modify", func(t *testing.T, f *TamperFixture) {
			recs, err := f.Store.Records(context.Background(), 20, 21)
			if err != nil || len(recs) != 1 {
				t.Fatalf("Records: %v", err)
			}
			leaf := bytes.Replace(recs[0].Leaf, []byte(`"success"`), []byte(`"failure"`), 1)
			tam.SetLeaf(t, f.Store, 20, leaf)
		}, false, &result{auditlog.Modified, 20}},
		// Moving a record out of its envelope's index (hiding it from the
		// envelope's evidence), or into another envelope's.
		{"envelope moved", func(t *testing.T, f *TamperFixture) { tam.SetEnvelope(t, f.Store, 20, "env-other") }, false, &result{auditlog.Modified, 20}},
		{"envelope cleared", func(t *testing.T, f *TamperFixture) { tam.SetEnvelope(t, f.Store, 21, "") }, false, &result{auditlog.Modified, 21}},
		{"envelope added", func(t *testing.T, f *TamperFixture) { tam.SetEnvelope(t, f.Store, 24, "env-1") }, false, &result{auditlog.Modified, 24}},
		{"delete", func(t *testing.T, f *TamperFixture) { tam.DeleteRecord(t, f.Store, 20) }, false, &result{auditlog.Deleted, 20}},
		{"insert", func(t *testing.T, f *TamperFixture) {
			recs, err := f.Store.Records(context.Background(), 20, 21)
			if err != nil || len(recs) != 1 {
				t.Fatalf("Records: %v", err)
			}
			forged := recs[0]
			forged.ID = "forged-event"
			forged.Leaf = bytes.Replace(forged.Leaf, []byte(recs[0].ID), []byte(forged.ID), 1)
			tam.InsertRecord(t, f.Store, forged)
		}, false, &result{auditlog.Inserted, 20}},
		{"reorder", func(t *testing.T, f *TamperFixture) { tam.SwapRecords(t, f.Store, 20, 27) }, false, &result{auditlog.Reordered, 20}},
		{"truncate", func(t *testing.T, f *TamperFixture) { tam.Truncate(t, f.Store, 30) }, false, &result{auditlog.Truncated, 30}},
		{"resign", func(t *testing.T, f *TamperFixture) {
			tam.Rollback(t, f.Store, 24)
			appendEvents(t, f.Store, 44)
			other, _ := NewKey(t, "signet.test/audit")
			if _, err := newPublisher(t, f.Store, other).Publish(context.Background()); err != nil {
				t.Fatalf("re-sign: %v", err)
			}
		}, false, &result{auditlog.Forked, 16}},
		{"rollback", func(t *testing.T, f *TamperFixture) { tam.Rollback(t, f.Store, 32) }, true, &result{auditlog.RolledBack, 32}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			f := Populate(t, s)
			tt.tamper(t, f)
			opts := auditlog.VerifyOptions{Verifier: f.Verifier, Origin: "signet.test/audit", ChunkSize: 7}
			if tt.useRef {
				ref := f.Checkpoints[40]
				opts.Reference = &ref
			}
			res, err := auditlog.Verify(context.Background(), s, opts)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify of an untouched log: %v", err)
				}
				if res.Size != 40 || res.Checkpoints != 3 || res.Latest.Size != 40 {
					t.Fatalf("Verify = %+v", res)
				}
				return
			}
			var te *auditlog.TamperError
			if !errors.As(err, &te) {
				t.Fatalf("Verify = %+v, %v; want %s at %d", res, err, tt.want.kind, tt.want.index)
			}
			if te.Kind != tt.want.kind || te.Index != tt.want.index {
				t.Fatalf("Verify: %v; want %s at %d", te, tt.want.kind, tt.want.index)
			}
		})
	}
}
