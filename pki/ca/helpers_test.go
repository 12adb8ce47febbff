package ca_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
	"github.com/signet-pki/signet/pki/ca"
)

// tap records the events that pass through to a real audit log.
type tap struct {
	next   ca.Recorder
	mu     sync.Mutex
	events []auditlog.Event
}

func (t *tap) Record(ctx context.Context, e auditlog.Event) error {
	if err := t.next.Record(ctx, e); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, e)
	return nil
}

func (t *tap) types() []auditlog.EventType {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []auditlog.EventType
	for _, e := range t.events {
		out = append(out, e.Type)
	}
	return out
}

// newAuditLogStore returns an audit log in memory with its storage and
// tenant keys.
func newAuditLogStore(t testing.TB) (*auditlog.Log, *auditlog.MemStore, *auditlog.DerivedKeys) {
	t.Helper()
	k, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st := auditlog.NewMemStore()
	l, err := auditlog.New(context.Background(), auditlog.Config{Storage: st, Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Shutdown(context.Background()) })
	return l, st, k
}

func newKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newSoftBackend(t testing.TB) (*soft.Backend, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := soft.New(soft.Config{Dir: dir, MasterKey: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return b, dir
}

// clock is an adjustable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	a       *ca.Authority
	store   *ca.MemStore
	tap     *tap
	log     *auditlog.Log
	logs    *auditlog.MemStore // the log's storage
	logKeys *auditlog.DerivedKeys
	clock   *clock
	root    *ca.Issuer
	acme    *ca.Issuer
	soft    *soft.Backend
	softDir string
	// revoked collects OnRevoke calls.
	mu      sync.Mutex
	revoked []ca.Record
}

const baseURL = "http://pki.example:8080"

var t0 = time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{store: ca.NewMemStore(), clock: &clock{t: t0}}
	f.log, f.logs, f.logKeys = newAuditLogStore(t)
	f.soft, f.softDir = newSoftBackend(t)
	f.tap = &tap{next: f.log}
	a, err := ca.New(ca.Config{
		Store:    f.store,
		Recorder: f.tap,
		BaseURL:  baseURL,
		Keys:     ca.BackendKeys{Backend: f.soft, Algorithm: keys.ECDSAP256},
		Now:      f.clock.Now,
		OnRevoke: func(_ context.Context, r ca.Record) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.revoked = append(f.revoked, r)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.a = a
	ctx := context.Background()
	if f.root, err = a.NewRoot(ctx, newKey(t), ca.KeyRef{ID: "root-key", Version: "1"}, 0); err != nil {
		t.Fatal(err)
	}
	if f.acme, err = a.NewIssuing(ctx, ca.IssuingRequest{Name: "acme", Tenant: "acme", Signer: newKey(t), Key: ca.KeyRef{ID: "acme-ca", Version: "1"}}); err != nil {
		t.Fatal(err)
	}
	return f
}

var alice = ca.Identity{Name: "Alice Example", Email: "alice@example.com", Tenant: "acme"}

var evidence = ca.AuthEvidence{Methods: []string{"pwd", "otp"}, AssuranceLevel: "aal2", Time: t0.Add(-2 * time.Minute)}

// countFiles counts the key files (DIR/<handle>.key) in dir, the software
// backend's key directory.
func countFiles(t testing.TB, dir string) int {
	t.Helper()
	ks, err := filepath.Glob(filepath.Join(dir, "*.key"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ks)
}
