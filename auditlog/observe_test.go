package auditlog_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/signet-pki/signet/auditlog"
)

// recordingObserver keeps what it is told.
type recordingObserver struct {
	mu      sync.Mutex
	started int
	done    []auditlog.Event
	errs    []error
}

func (o *recordingObserver) AppendStarted() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started++
}

func (o *recordingObserver) AppendDone(_ context.Context, e auditlog.Event, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done = append(o.done, e)
	o.errs = append(o.errs, err)
}

// TestAppendObserver: the observer is told of each append before and
// after it, with the event's clear values and its outcome; removed, it
// is told nothing.
func TestAppendObserver(t *testing.T) {
	ctx := context.Background()
	l := newLog(t, auditlog.NewMemStore(), auditlog.Config{})
	o := &recordingObserver{}
	l.SetAppendObserver(o)
	if err := l.Record(ctx, event(1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, auditlog.Event{Type: "no.such"}); !errors.Is(err, auditlog.ErrInvalidEvent) {
		t.Fatalf("invalid event: %v", err)
	}
	if o.started != 2 || len(o.done) != 2 {
		t.Fatalf("started %d, done %d", o.started, len(o.done))
	}
	if o.errs[0] != nil || o.done[0].Actor.Email != "signer1@example.com" || o.done[0].Request.IP != "198.51.100.9" {
		t.Errorf("first append: %v %+v", o.errs[0], o.done[0])
	}
	if !errors.Is(o.errs[1], auditlog.ErrInvalidEvent) {
		t.Errorf("second append's error: %v", o.errs[1])
	}
	l.SetAppendObserver(nil)
	if err := l.Record(ctx, event(2)); err != nil {
		t.Fatal(err)
	}
	if o.started != 2 || len(o.done) != 2 {
		t.Fatalf("told after removal: started %d, done %d", o.started, len(o.done))
	}
}
