package workflow_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/workflow"
)

func TestRemindersAndExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.upload("t1", "one")
	env := e.draft("t1", []string{d.ID}, "signer:1", "signer:1", "signer:2") // reminders every 24 h
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	e.outbox.take()
	e.sign(env.ID, env.Recipients[0].ID) // R0 done; R1 still pending
	tick := func() []string {
		t.Helper()
		if _, err := e.svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		return kinds(e.outbox.take())
	}
	e.clock.Advance(23 * time.Hour)
	if got := tick(); len(got) != 0 {
		t.Fatalf("reminded before the interval: %v", got)
	}
	e.clock.Advance(2 * time.Hour)
	if got := tick(); !slices.Equal(got, []string{"reminder:R1"}) {
		t.Fatalf("after 25 h: %v, want a reminder to R1 only", got)
	}
	if got := tick(); len(got) != 0 {
		t.Fatalf("reminded twice in one interval: %v", got)
	}
	e.clock.Advance(24 * time.Hour)
	if got := tick(); !slices.Equal(got, []string{"reminder:R1"}) {
		t.Fatalf("second reminder: %v", got)
	}
	if s := e.get(env.ID).Status; s != workflow.StatusInProgress {
		t.Fatalf("status %s before expiry", s)
	}
	e.clock.Advance(workflow.DefaultExpiry)
	got := tick()
	if !slices.Equal(got, []string{"ended:R0", "ended:R1"}) {
		t.Fatalf("expiry notified %v", got)
	}
	env = e.get(env.ID)
	if env.Status != workflow.StatusExpired {
		t.Fatalf("status %s after expiry", env.Status)
	}
	last, _ := e.svc.Explain(ctx, actor("t1"), env.ID)
	if last.Action != workflow.ActionExpire || last.ActorKind != "system" {
		t.Fatalf("expiry explained as %+v", last)
	}
	rec, err := e.audit.RecordByID(ctx, last.AuditEventID)
	if err != nil || !bytes.Contains(rec.Leaf, []byte("envelope.expired")) {
		t.Fatalf("expiry audit event: %v %s", err, rec.Leaf)
	}
	// An expired envelope is due no more.
	e.clock.Advance(100 * 24 * time.Hour)
	if n, err := e.svc.Tick(ctx); err != nil || n != 0 {
		t.Fatalf("Tick after expiry handled %d (%v)", n, err)
	}
	// Signing after expiry is refused.
	if _, err := e.signDoc(env.ID, env.Recipients[1].ID, d.ID); err == nil {
		t.Fatal("signature accepted after expiry")
	}
}

func TestNotificationRetry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	env := e.draft("t1", []string{e.upload("t1", "one").ID}, "signer:1")
	e.outbox.failing.Store(true)
	got, err := e.svc.Send(ctx, actor("t1"), env.ID)
	if err != nil {
		t.Fatalf("send must not fail on the mail server: %v", err)
	}
	if !got.Recipients[0].NotifiedAt.IsZero() {
		t.Fatal("recipient marked notified although the notifier failed")
	}
	e.outbox.failing.Store(false)
	e.clock.Advance(time.Second)
	if _, err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if k := kinds(e.outbox.take()); !slices.Equal(k, []string{"turn:R0"}) {
		t.Fatalf("retry sent %v", k)
	}
	if e.get(env.ID).Recipients[0].NotifiedAt.IsZero() {
		t.Fatal("retry not recorded")
	}
}

func TestCompletionRetry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	env := e.draft("t1", []string{e.upload("t1", "one").ID}, "signer:1", "cc:2")
	e.svc.Send(ctx, actor("t1"), env.ID)
	e.sealer.failing.Store(true)
	if p := e.sign(env.ID, env.Recipients[0].ID); !p.ReadyToComplete {
		t.Fatal("not ready to complete")
	}
	if _, err := e.svc.Complete(ctx, env.ID); err == nil {
		t.Fatal("Complete succeeded with a failing seal")
	}
	if s := e.get(env.ID).Status; s != workflow.StatusInProgress {
		t.Fatalf("status %s after a failed seal", s)
	}
	e.sealer.failing.Store(false)
	e.outbox.take()
	if _, err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if s := e.get(env.ID).Status; s != workflow.StatusCompleted {
		t.Fatalf("scheduler did not complete: %s", s)
	}
	if k := kinds(e.outbox.take()); !slices.Equal(k, []string{"completed:R0", "completed:R1"}) {
		t.Fatalf("completion notified %v (the cc must be told)", k)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx, time.Millisecond) }()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
}

func TestCollectGarbage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.upload("t1", "kept")
	orphan, _, err := e.blobs.Put(ctx, bytes.NewReader([]byte("%PDF-1.7 orphan of a failed request")))
	if err != nil {
		t.Fatal(err)
	}
	// Within the grace period nothing goes.
	if n, err := e.svc.CollectGarbage(ctx, e.blobs, time.Hour); err != nil || n != 0 {
		t.Fatalf("collected %d (%v) within the grace period", n, err)
	}
	old := e.clock.Now().Add(-2 * time.Hour)
	for _, name := range []string{orphan, d.SHA256} {
		os.Chtimes(filepath.Join(e.dir, "blobs", name[:2], name[2:]), old, old)
	}
	if n, err := e.svc.CollectGarbage(ctx, e.blobs, time.Hour); err != nil || n != 1 {
		t.Fatalf("collected %d (%v), want the orphan only", n, err)
	}
	if _, _, err := e.blobs.Open(ctx, d.SHA256); err != nil {
		t.Fatalf("referenced blob collected: %v", err)
	}
	if _, _, err := e.blobs.Open(ctx, orphan); err == nil {
		t.Fatal("orphan survived")
	}
}

// TestCollectGarbageKeepsChains checks that the versions a kept revision
// extends survive collection while unreferenced revisions go.
func TestCollectGarbageKeepsChains(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.upload("t1", "chained")
	v1, err := appendBlob(ctx, e.blobs, d.SHA256, "%first signature\n")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := appendBlob(ctx, e.blobs, v1, "%second signature\n")
	if err != nil {
		t.Fatal(err)
	}
	abandoned, err := appendBlob(ctx, e.blobs, v1, "%a signature whose request failed\n")
	if err != nil {
		t.Fatal(err)
	}
	// Only the latest version is referenced (as an envelope document's
	// current version would be).
	if err := e.store.InsertDocument(ctx, &workflow.Document{ID: "doc_latest", Tenant: "t1", SHA256: v2,
		Size: 1, Pages: 1, Name: "latest.pdf", Created: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	old := e.clock.Now().Add(-2 * time.Hour)
	for _, name := range []string{d.SHA256, v1, v2, abandoned} {
		ageBlob(t, e.dir, name, old)
	}
	if n, err := e.svc.CollectGarbage(ctx, e.blobs, time.Hour); err != nil || n != 1 {
		t.Fatalf("collected %d (%v), want the abandoned revision only", n, err)
	}
	for _, name := range []string{d.SHA256, v1, v2} {
		if _, _, err := e.blobs.Open(ctx, name); err != nil {
			t.Errorf("version %s of the kept chain: %v", name[:8], err)
		}
	}
	if _, _, err := e.blobs.Open(ctx, abandoned); err == nil {
		t.Error("abandoned revision survived")
	}
}

// ageBlob sets the modification time of blob name's file, whole or
// revision.
func ageBlob(t *testing.T, dir, name string, tm time.Time) {
	t.Helper()
	p := filepath.Join(dir, "blobs", name[:2], name[2:])
	if err := os.Chtimes(p, tm, tm); err == nil {
		return
	}
	if err := os.Chtimes(p+".rev", tm, tm); err != nil {
		t.Fatal(err)
	}
}

// TestTurnNotifiedAfterSign checks that, while the scheduler runs, a
// signature does not wait for the next signer's notification: the sign
// returns with the notification pending, and Run's notifiers send and
// record it.
func TestTurnNotifiedAfterSign(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx, time.Hour) }()
	defer func() { cancel(); <-done }()

	env := e.draft("t1", []string{e.upload("t1", "one").ID}, "signer:1", "signer:2")
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	if k := kinds(e.outbox.take()); !slices.Equal(k, []string{"turn:R0"}) {
		t.Fatalf("send notified %v", k)
	}
	gate := make(chan struct{})
	e.outbox.gate.Store(&gate)
	signed := make(chan workflow.Progress, 1)
	go func() { signed <- e.sign(env.ID, env.Recipients[0].ID) }()
	select {
	case p := <-signed:
		if !p.RecipientDone {
			t.Fatalf("progress %+v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the signature waited for the next signer's notification")
	}
	if !e.get(env.ID).Recipients[1].NotifiedAt.IsZero() {
		t.Fatal("next signer marked notified before the notification was sent")
	}
	close(gate)
	deadline := time.Now().Add(10 * time.Second)
	for e.get(env.ID).Recipients[1].NotifiedAt.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("the next signer was never notified")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if k := kinds(e.outbox.take()); !slices.Equal(k, []string{"turn:R1"}) {
		t.Fatalf("after the signature the notifiers sent %v, want turn:R1 once", k)
	}
}
