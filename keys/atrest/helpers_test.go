package atrest_test

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
	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/dataseal"
	"github.com/signet-pki/signet/keys/soft"
)

// recorder is an audit recorder that keeps valid events in memory and
// can be told to refuse them.
type recorder struct {
	mu     sync.Mutex
	events []auditlog.Event
	refuse bool
}

func (r *recorder) Record(_ context.Context, e auditlog.Event) error {
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

// take returns the events of type typ recorded since the last call (all
// of them if typ is ""), and forgets every event.
func (r *recorder) take(typ auditlog.EventType) []auditlog.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []auditlog.Event
	for _, e := range r.events {
		if typ == "" || e.Type == typ {
			out = append(out, e)
		}
	}
	r.events = nil
	return out
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// world is key custody and a data-key store shared by the nodes made
// with node.
type world struct {
	t       testing.TB
	dir     string
	master  []byte
	keyMeta keys.Store
	store   atrest.Store
	rec     *recorder
	clock   *clock
}

func newWorld(t testing.TB) *world {
	t.Helper()
	mk := make([]byte, 32)
	if _, err := rand.Read(mk); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, dir: t.TempDir(), master: mk, keyMeta: keys.NewMemStore(), store: atrest.NewMemStore(),
		rec: &recorder{}, clock: &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}}
}

// manager returns a key manager of its own over the shared key custody.
func (w *world) manager() *keys.Manager {
	w.t.Helper()
	b, err := soft.New(soft.Config{Dir: w.dir, MasterKey: w.master})
	if err != nil {
		w.t.Fatal(err)
	}
	m, err := keys.New(context.Background(), keys.Config{Store: w.keyMeta, Backends: []keys.Backend{b}, Recorder: w.rec, Now: w.clock.Now})
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

// node returns a Service with a manager and a cache of its own over the
// shared custody and store; cfg's Keys, Store, Audit and Now are set.
func (w *world) node(cfg atrest.Config) *atrest.Service {
	w.t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = w.manager()
	}
	if cfg.Store == nil {
		cfg.Store = w.store
	}
	cfg.Audit, cfg.Now = w.rec, w.clock.Now
	s, err := atrest.New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// keyFiles counts the sealed key versions in custody.
func (w *world) keyFiles() int {
	w.t.Helper()
	es, err := os.ReadDir(w.dir)
	if err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Name() != soft.CheckHandle && !e.IsDir() {
			n++
		}
	}
	return n
}

func objectKEK(t *testing.T, s *atrest.Service, tenant, object string, create bool) dataseal.KEK {
	t.Helper()
	k, err := s.ObjectKEK(t.Context(), tenant, object, create)
	if err != nil {
		t.Fatalf("ObjectKEK(%s, %s, %v): %v", tenant, object, create, err)
	}
	return k
}

func sealValue(t *testing.T, kek dataseal.KEK, ad dataseal.AD, v string) []byte {
	t.Helper()
	b, err := dataseal.Seal(t.Context(), kek, ad, []byte(v), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func opens(t *testing.T, kek dataseal.KEK, ad dataseal.AD, sealed []byte, want string) bool {
	t.Helper()
	got, err := dataseal.Open(t.Context(), kek, ad, sealed)
	if err != nil {
		return false
	}
	if string(got) != want {
		t.Fatalf("opened %q, sealed %q", got, want)
	}
	return true
}
