package keys_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
)

// recorder is a Recorder that keeps events in memory and can be told to
// refuse them.
type recorder struct {
	mu     sync.Mutex
	events []auditlog.Event
	refuse bool
}

func (r *recorder) Record(ctx context.Context, e auditlog.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse {
		return errors.New("audit storage is down")
	}
	if err := e.Validate(); err != nil {
		return err
	}
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) setRefuse(v bool) { r.mu.Lock(); r.refuse = v; r.mu.Unlock() }

// take returns the events recorded since the last call.
func (r *recorder) take() []auditlog.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	m     *keys.Manager
	rec   *recorder
	clock *clock
	soft  *soft.Backend
	dir   string
	store keys.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	mk := make([]byte, 32)
	if _, err := rand.Read(mk); err != nil {
		t.Fatal(err)
	}
	b, err := soft.New(soft.Config{Dir: dir, MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{rec: &recorder{}, clock: &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}, soft: b, dir: dir, store: keys.NewMemStore()}
	f.m, err = keys.New(context.Background(), keys.Config{
		Store: f.store, Backends: []keys.Backend{b}, Recorder: f.rec, Now: f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) create(t *testing.T, req keys.CreateRequest) *keys.Key {
	t.Helper()
	k, err := f.m.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	f.rec.take()
	return k
}

// files counts the sealed key files.
func (f *fixture) files(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// ops summarizes events as "type operation vN outcome".
func ops(es []auditlog.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.Type)+" "+e.Details["operation"]+" v"+e.Subject.KeyVersion+" "+string(e.Outcome))
	}
	return out
}
