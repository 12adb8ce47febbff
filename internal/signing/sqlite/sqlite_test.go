package sqlite_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/signing"
	signingsqlite "github.com/signet-pki/signet/internal/signing/sqlite"
	"github.com/signet-pki/signet/internal/signing/storetest"
)

func open(t *testing.T, path string) *signingsqlite.Store {
	t.Helper()
	s, err := signingsqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the signing stores' conformance suite on a fresh
// database file.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) signing.Store {
		return open(t, filepath.Join(t.TempDir(), "signet.db"))
	})
}

// TestNodes runs the suite's two-node checks on two stores, each with its
// own connections, over one database file.
func TestNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) (signing.Store, signing.Store) {
		path := filepath.Join(t.TempDir(), "signet.db")
		return open(t, path), open(t, path)
	})
}

// TestRoundTripAcrossRestart writes a link, a session and code state,
// closes the database, reopens it (the migrations run again: a no-op) and
// reads everything back.
func TestRoundTripAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "signet.db")
	now := time.Unix(1_800_000_000, 123).UTC()
	link := signing.Link{Hash: [32]byte{1}, Tenant: "acme", EnvelopeID: "env_1", RecipientID: "rcp_1", CreatedAt: now, ExpiresAt: now.Add(time.Hour), RevokedAt: now}
	sess := signing.Session{Hash: [32]byte{3}, Tenant: "acme", EnvelopeID: "env_1", RecipientID: "rcp_1", Email: "a@example.com", AuthTime: now, ExpiresAt: now.Add(time.Minute)}
	st := signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1", CodeMAC: []byte{9, 9}, CodeExpiresAt: now, Failures: 3,
		LockedUntil: now.Add(time.Second), Lockouts: 2, RevokedAt: now, WindowStart: now, WindowSends: 2}

	s, err := signingsqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLink(ctx, link); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAuthState(ctx, st); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, path)
	if got, err := s.LinkByHash(ctx, link.Hash); err != nil || !reflect.DeepEqual(got, link) {
		t.Errorf("link = %+v, %v", got, err)
	}
	if got, err := s.SessionByHash(ctx, sess.Hash); err != nil || !reflect.DeepEqual(got, sess) {
		t.Errorf("session = %+v, %v", got, err)
	}
	if got, err := s.AuthState(ctx, "env_1", "rcp_1"); err != nil || !reflect.DeepEqual(got, st) {
		t.Errorf("code state = %+v, %v", got, err)
	}
}

// TestSealed runs the suite's check of sealed sessions: the dump is the
// database file with its write-ahead log.
func TestSealed(t *testing.T) {
	storetest.RunSealed(t, func(t *testing.T) (signing.Store, storetest.Dump) {
		dir := t.TempDir()
		return open(t, filepath.Join(dir, "signet.db")), func(*testing.T) string { return dir }
	})
}
