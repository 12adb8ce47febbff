package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/atrest/atresttest"
)

// Dump returns a directory of files holding every byte the store's
// database holds at rest, for [secretscan.Check].
type Dump func(t *testing.T) (dir string)

// RunSealed checks [signing.SealStore] over a driver: open returns a new,
// empty store and the dump of its database. A marker address stored
// through the sealing store is returned by it, stored sealed, nowhere in
// the dump, and does not open in another recipient's session.
func RunSealed(t *testing.T, open func(t *testing.T) (signing.Store, Dump)) {
	s, dump := open(t)
	ctx := t.Context()
	keys := &atresttest.KeyRing{}
	sealed := signing.SealStore(s, keys, rand.Reader)
	b := make([]byte, 8)
	rand.Read(b)
	addr := "marker-" + hex.EncodeToString(b) + "@example.com"
	ss := session("a", "env_1", "r1", base)
	ss.Email = addr
	if err := sealed.CreateSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	got, err := sealed.SessionByHash(ctx, ss.Hash)
	if err != nil || got.Email != addr {
		t.Fatalf("sealed session: %+v, %v", got, err)
	}
	raw, err := s.SessionByHash(ctx, ss.Hash)
	if err != nil || !strings.HasPrefix(raw.Email, workflow.SealedPrefix) {
		t.Fatalf("stored session: %+v, %v (want a sealed address)", raw, err)
	}
	secretscan.Check(t, dump(t), addr)
	// The sealed address in another recipient's session, of the same
	// envelope and of another, does not open.
	for i, other := range []signing.Session{session("b", "env_1", "r2", base), session("c", "env_2", "r1", base)} {
		other.Email = raw.Email
		if err := s.CreateSession(ctx, other); err != nil {
			t.Fatal(err)
		}
		if got, err := sealed.SessionByHash(ctx, other.Hash); err == nil {
			t.Errorf("copy %d: session opened with another recipient's address: %+v", i, got)
		}
	}
	// A session stored in clear is refused, and purged.
	plain := session("d", "env_1", "r1", base)
	rand.Read(b)
	plain.Email = "marker-" + hex.EncodeToString(b) + "@example.com"
	if err := s.CreateSession(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if _, err := sealed.SessionByHash(ctx, plain.Hash); err == nil {
		t.Error("a session stored in clear was read")
	}
	p, ok := s.(signing.ClearSessionPurger)
	if !ok {
		t.Fatal("the driver is no ClearSessionPurger")
	}
	if n, err := p.PurgeClearSessions(ctx); err != nil || n != 1 {
		t.Fatalf("PurgeClearSessions = %d, %v; want 1", n, err)
	}
	if _, err := s.SessionByHash(ctx, plain.Hash); !errors.Is(err, signing.ErrNoRecord) {
		t.Fatalf("purged session: %v, want ErrNoRecord", err)
	}
	if got, err := sealed.SessionByHash(ctx, ss.Hash); err != nil || got.Email != addr {
		t.Fatalf("sealed session after the purge: %+v, %v", got, err)
	}
	if n, err := p.PurgeClearSessions(ctx); err != nil || n != 0 {
		t.Fatalf("second PurgeClearSessions = %d, %v; want 0", n, err)
	}
	secretscan.Check(t, dump(t), addr, plain.Email)
}
