package evidence

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/internal/workflow"
)

// auditFixture is a real audit log in memory with a publisher whose
// checkpoints are anchored in a write-once directory.
type auditFixture struct {
	t     *testing.T
	store *auditlog.MemStore
	log   *auditlog.Log
	pub   *auditlog.Publisher
	keys  auditlog.TenantKeys
	vkey  string
}

func newAuditFixture(t *testing.T) *auditFixture {
	t.Helper()
	ctx := context.Background()
	f := &auditFixture{t: t, store: auditlog.NewMemStore()}
	master := make([]byte, 32)
	rand.Read(master)
	keys, err := auditlog.NewDerivedKeys(master)
	if err != nil {
		t.Fatal(err)
	}
	f.keys = keys
	if f.log, err = auditlog.New(ctx, auditlog.Config{Storage: f.store, Keys: keys}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.log.Shutdown(ctx) })
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, vkey, err := auditlog.NoteSigner("test.local/audit", priv)
	if err != nil {
		t.Fatal(err)
	}
	f.vkey = vkey
	sink := &anchor.SinkAnchorer{Sink: &anchor.FileSink{Dir: t.TempDir()}, Name: "file:test"}
	if f.pub, err = auditlog.NewPublisher(f.store, auditlog.PublisherConfig{Origin: "test.local/audit", Signer: signer, Anchorers: []auditlog.Anchorer{sink}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *auditFixture) record(typ auditlog.EventType, tenant, envelope string) {
	f.t.Helper()
	_, err := f.log.Append(context.Background(), auditlog.Event{Type: typ, Tenant: tenant,
		Actor:   auditlog.Actor{Kind: auditlog.ActorRecipient, ID: "r1", Email: "rita@example.com", Name: "Rita Recipient"},
		Subject: auditlog.Subject{EnvelopeID: envelope}, Request: auditlog.Request{IP: "192.0.2.7"},
		Outcome: auditlog.OutcomeSuccess})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *auditFixture) publish() auditlog.Checkpoint {
	f.t.Helper()
	cp, err := f.pub.Publish(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return cp
}

func (f *auditFixture) gathering(tenant, envelope string) *gathering {
	s := &Service{cfg: Config{Audit: f.store, AuditKeys: f.keys,
		LogKeys: func(context.Context) (string, error) { return "not a key\n" + f.vkey + "\n", nil }}}
	return &gathering{s: s, ctx: context.Background(), env: &workflow.Envelope{ID: envelope, Tenant: tenant}}
}

// TestCheckpointChoice: the bundle's events are the envelope's own in its
// tenant, proven to the first anchored checkpoint covering the last one;
// without one the answer is "pending, retry"; an export recorded since
// does not make the next bundle wait.
func TestCheckpointChoice(t *testing.T) {
	f := newAuditFixture(t)
	f.record(auditlog.EnvelopeCreated, "t1", "e1")
	f.record(auditlog.EnvelopeCreated, "t2", "e1") // the same id in another tenant
	f.record(auditlog.EnvelopeSent, "t1", "e1")
	f.record(auditlog.EnvelopeCreated, "t1", "e2")

	var ra interface{ RetryAfter() int }
	if err := f.gathering("t1", "e1").audit(); !errors.Is(err, ErrCheckpointPending) || !errors.As(err, &ra) || ra.RetryAfter() <= 0 {
		t.Fatalf("no checkpoint yet: %v", err)
	}
	first := f.publish()
	f.record(auditlog.EnvelopeSent, "t1", "e2")
	latest := f.publish()

	tests := []struct {
		name    string
		before  func()
		records []int64
		pending bool
	}{
		{name: "first anchored checkpoint covering the last event", records: []int64{0, 2}},
		{name: "an export since waits for a later bundle", before: func() { f.record(auditlog.AuditExported, "t1", "e1") }, records: []int64{0, 2}},
		{name: "a new event of the envelope waits for a checkpoint", before: func() { f.record(auditlog.EnvelopeCompleted, "t1", "e1") }, pending: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			g := f.gathering("t1", "e1")
			err := g.audit()
			if tc.pending {
				if !errors.Is(err, ErrCheckpointPending) {
					t.Fatalf("want pending, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range g.records {
				got = append(got, r.Index)
			}
			if len(got) != len(tc.records) || got[0] != tc.records[0] || got[1] != tc.records[1] {
				t.Errorf("records %v, want %v", got, tc.records)
			}
			if g.cp.Size != first.Size || g.latest.Size != latest.Size || len(g.anchors) != 1 {
				t.Errorf("checkpoint %d (want %d), latest %d (want %d), %d anchors", g.cp.Size, first.Size, g.latest.Size, latest.Size, len(g.anchors))
			}
		})
	}

	// The files that prove them: each receipt verifies with the log's
	// key; the consistency proof links the checkpoint to the latest; the
	// disclosed values are those the certificate may show.
	f.publish()
	g := f.gathering("t1", "e1")
	if err := g.audit(); err != nil {
		t.Fatal(err)
	}
	vkey, err := g.logKey()
	if err != nil || vkey != f.vkey {
		t.Fatalf("log key %q, %v", vkey, err)
	}
	v, _ := note.NewVerifier(vkey)
	events, err := g.events()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range g.records {
		if _, _, err := auditlog.VerifyReceipt(events[r.Index].proof, v, r.Leaf); err != nil {
			t.Errorf("event %d: %v", r.Index, err)
		}
		d := events[r.Index].ev.Disclosed
		if d["actor.email"] != "rita@example.com" || d["request.ip"] != "192.0.2.7" || d["actor.name"] != "Rita Recipient" {
			t.Errorf("event %d disclosed %v", r.Index, d)
		}
	}
	g.latest = latest
	g.cp = first
	proof, err := g.consistency()
	if err != nil {
		t.Fatal(err)
	}
	var tp tlog.TreeProof
	sc := bufio.NewScanner(bytes.NewReader(proof))
	for sc.Scan() {
		var h tlog.Hash
		b, err := base64.StdEncoding.DecodeString(sc.Text())
		if err != nil || len(b) != len(h) {
			t.Fatalf("proof line %q", sc.Text())
		}
		copy(h[:], b)
		tp = append(tp, h)
	}
	older, _ := auditlog.ParseCheckpointUnverified(first.Note)
	newer, _ := auditlog.ParseCheckpointUnverified(latest.Note)
	if err := auditlog.CheckConsistency(older, newer, tp); err != nil {
		t.Errorf("consistency proof: %v", err)
	}
}
