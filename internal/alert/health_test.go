package alert_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/alert"
)

// faultyStore is a MemStore whose appends fail, or block, on demand.
type faultyStore struct {
	*auditlog.MemStore
	fail    atomic.Bool
	blocked chan struct{} // non-nil: appends wait until closed
	mu      sync.Mutex
}

var errDisk = errors.New("disk I/O error")

func (s *faultyStore) Append(ctx context.Context, recs []auditlog.Record, hashes []auditlog.HashEntry) error {
	s.mu.Lock()
	b := s.blocked
	s.mu.Unlock()
	if b != nil {
		<-b
	}
	if s.fail.Load() {
		return errDisk
	}
	return s.MemStore.Append(ctx, recs, hashes)
}

// memRecorder keeps the events it is given.
type memRecorder struct {
	mu     sync.Mutex
	events []auditlog.Event
}

func (m *memRecorder) Record(_ context.Context, e auditlog.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
	return nil
}

func openFaulty(t *testing.T, c *clock, rec auditlog.Recorder, logs *bytes.Buffer) (*faultyStore, *auditlog.Log, *alert.Engine, *sinkRec) {
	t.Helper()
	st := &faultyStore{MemStore: auditlog.NewMemStore()}
	keys, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	l, err := auditlog.New(context.Background(), auditlog.Config{Storage: st, Keys: keys, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Shutdown(context.Background()) })
	if rec == nil {
		rec = l
	}
	sink := &sinkRec{}
	e, err := alert.New(alert.Config{Rules: alert.Rules{AuditStall: 30 * time.Second, CheckpointAge: 10 * time.Minute},
		Recorder: rec, Sinks: []alert.Sink{sink}, Logger: slog.New(slog.NewTextHandler(logs, nil)), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	l.SetObserver(e.ObserveAppend)
	return st, l, e, sink
}

// TestAuditAppendFailing: a failing append is refused to its caller
// (fail closed), raises the alert even though the alert itself cannot be
// recorded (it is logged), and makes the health check fail until an
// append succeeds again.
func TestAuditAppendFailing(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: monday10}
	logs := &bytes.Buffer{}
	st, l, e, sink := openFaulty(t, c, nil, logs)
	ev := auditlog.Event{Type: auditlog.DocumentUploaded, Tenant: "acme", Actor: user("u1"), Outcome: auditlog.OutcomeSuccess}
	if err := l.Record(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if err := e.AuditHealth(); err != nil {
		t.Fatalf("healthy log: %v", err)
	}
	st.fail.Store(true)
	if err := l.Record(ctx, ev); err == nil {
		t.Fatal("an append to a failing store succeeded")
	}
	if n := countRule(sink, alert.RuleAuditAppend); n != 1 {
		t.Fatalf("%d audit-append alerts", n)
	}
	out := logs.String()
	if !strings.Contains(out, "ALERT: audit-append") || !strings.Contains(out, "could not be recorded") {
		t.Errorf("log: %s", out)
	}
	if err := e.AuditHealth(); err == nil || !strings.Contains(err.Error(), "append failed") {
		t.Fatalf("health with a failing log: %v", err)
	}
	st.fail.Store(false)
	c.add(time.Second)
	if err := l.Record(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if err := e.AuditHealth(); err != nil {
		t.Fatalf("health after a success: %v", err)
	}
	// Invalid events and callers that give up are no sign of ill health.
	if err := l.Record(ctx, auditlog.Event{Type: "nonsense"}); err == nil {
		t.Fatal("invalid event recorded")
	}
	if err := e.AuditHealth(); err != nil {
		t.Fatalf("health after an invalid event: %v", err)
	}
}

// TestAuditAppendStalled: appends pending with none succeeding for longer
// than the threshold raise the alert and fail the health check; progress
// clears it.
func TestAuditAppendStalled(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: monday10}
	rec := &memRecorder{}
	st, l, e, sink := openFaulty(t, c, rec, &bytes.Buffer{})
	release := make(chan struct{})
	st.mu.Lock()
	st.blocked = release
	st.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		done <- l.Record(ctx, auditlog.Event{Type: auditlog.DocumentUploaded, Tenant: "acme", Actor: user("u1"), Outcome: auditlog.OutcomeSuccess})
	}()
	// Wait until the append is pending (it calls AppendStarted before
	// queueing).
	for i := 0; e.AuditHealth() == nil; i++ {
		c.add(time.Second)
		if i > 100000 {
			t.Fatal("append never pending")
		}
		runtime.Gosched()
	}
	e.CheckAudit(ctx)
	if n := countRule(sink, alert.RuleAuditAppend); n != 1 {
		t.Fatalf("%d audit-append alerts while stalled", n)
	}
	if len(rec.events) != 1 || rec.events[0].Type != auditlog.AlertRaised || rec.events[0].Details["rule"] != string(alert.RuleAuditAppend) {
		t.Fatalf("recorded %+v", rec.events)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := e.AuditHealth(); err != nil {
		t.Fatalf("health after the append went through: %v", err)
	}
}

// TestAuditAnchoring: new anchoring failures, or a grown log without a
// fresh checkpoint, raise the alert and fail the health check; a later
// checkpoint without failures clears it.
func TestAuditAnchoring(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: monday10}
	rec := &memRecorder{}
	_, _, e, sink := openFaulty(t, c, rec, &bytes.Buffer{})
	cp := c.now()
	e.ObserveAnchoring(ctx, alert.AnchorStatus{LogSize: 10, CheckpointSize: 10, CheckpointTime: cp})
	if err := e.AuditHealth(); err != nil || countRule(sink, alert.RuleAuditAnchoring) != 0 {
		t.Fatalf("healthy anchoring: %v %v", err, sink.rules())
	}
	c.add(time.Minute)
	e.ObserveAnchoring(ctx, alert.AnchorStatus{Failures: 1, LogSize: 20, CheckpointSize: 20, CheckpointTime: c.now()})
	if n := countRule(sink, alert.RuleAuditAnchoring); n != 1 {
		t.Fatalf("%d alerts after an anchoring failure", n)
	}
	if err := e.AuditHealth(); err == nil {
		t.Fatal("healthy after an anchoring failure")
	}
	c.add(time.Minute)
	e.ObserveAnchoring(ctx, alert.AnchorStatus{Failures: 1, LogSize: 30, CheckpointSize: 30, CheckpointTime: c.now()})
	if err := e.AuditHealth(); err != nil {
		t.Fatalf("after an anchored checkpoint: %v", err)
	}
	// The log grows; no checkpoint for longer than the age.
	last := c.now()
	c.add(5 * time.Minute)
	e.ObserveAnchoring(ctx, alert.AnchorStatus{Failures: 1, LogSize: 40, CheckpointSize: 30, CheckpointTime: last})
	if err := e.AuditHealth(); err != nil || countRule(sink, alert.RuleAuditAnchoring) != 1 {
		t.Fatalf("a checkpoint younger than the age: %v %v", err, sink.rules())
	}
	c.add(6 * time.Minute)
	e.ObserveAnchoring(ctx, alert.AnchorStatus{Failures: 1, LogSize: 40, CheckpointSize: 30, CheckpointTime: last})
	if err := e.AuditHealth(); err == nil || countRule(sink, alert.RuleAuditAnchoring) != 2 {
		t.Fatalf("stale checkpoints: %v %v", err, sink.rules())
	}
	e.ObserveAnchoring(ctx, alert.AnchorStatus{Failures: 1, LogSize: 40, CheckpointSize: 40, CheckpointTime: c.now()})
	if err := e.AuditHealth(); err != nil {
		t.Fatalf("after a fresh checkpoint: %v", err)
	}
}

func countRule(s *sinkRec, r alert.Rule) int {
	n := 0
	for _, got := range s.rules() {
		if got == r {
			n++
		}
	}
	return n
}

// TestBoundedMemory: a flood of principals, addresses and failures keeps
// the engine's memory within its bounds.
func TestBoundedMemory(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: monday10}
	e, err := alert.New(alert.Config{Rules: alert.Rules{MaxTracked: 1000}, Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	flood := func(from, to int) {
		for i := from; i < to; i++ {
			id := strconv.Itoa(i)
			ip := "10." + strconv.Itoa(i>>16&255) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)
			ua := "agent/" + id + strings.Repeat("x", 200)
			e.Observe(ctx, auditlog.Event{Type: auditlog.DocumentDownloaded, Tenant: "t" + id, Actor: user("u" + id), Outcome: auditlog.OutcomeSuccess, Request: req(ip, ua)})
			e.Observe(ctx, auditlog.Event{Type: auditlog.RoleGranted, Tenant: "t" + id, Actor: user("u" + id), Outcome: auditlog.OutcomeSuccess, Request: req(ip, ua)})
			e.Observe(ctx, auditlog.Event{Type: auditlog.RecipientAuthenticated, Tenant: "t" + id, Actor: auditlog.Actor{Kind: auditlog.ActorRecipient, ID: "r" + id}, Outcome: auditlog.OutcomeFailure, Request: req(ip, ua)})
			e.AuthorityResult(ctx, "ocsp", "http://ocsp.example/"+id, errDisk)
		}
	}
	flood(0, 5000)
	before := heap()
	flood(5000, 105000)
	after := heap()
	runtime.KeepAlive(e)
	// 100 000 more principals, recipients, addresses and URLs: unbounded
	// tables would hold hundreds of megabytes.
	t.Logf("before %d after %d", before, after)
	if after > before && after-before > 16<<20 {
		t.Fatalf("heap grew by %d MiB over 100 000 principals", (after-before)>>20)
	}
}
