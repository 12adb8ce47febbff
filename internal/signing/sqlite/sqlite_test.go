package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/signing"
	signingsqlite "github.com/signet-pki/signet/internal/signing/sqlite"
)

// TestRoundTripAcrossRestart writes links, a session and code state,
// closes the database, reopens it and reads everything back.
func TestRoundTripAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "signet.db")
	now := time.Unix(1_800_000_000, 123).UTC()
	link := signing.Link{Hash: [32]byte{1}, Tenant: "acme", EnvelopeID: "env_1", RecipientID: "rcp_1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	other := link
	other.Hash, other.RecipientID = [32]byte{2}, "rcp_2"
	sess := signing.Session{Hash: [32]byte{3}, Tenant: "acme", EnvelopeID: "env_1", RecipientID: "rcp_1", Email: "a@example.com", AuthTime: now, ExpiresAt: now.Add(time.Minute)}
	st := signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1", CodeMAC: []byte{9, 9}, CodeExpiresAt: now, Failures: 3, LockedUntil: now.Add(time.Second), WindowStart: now, WindowSends: 2}

	s, err := signingsqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []signing.Link{link, other} {
		if err := s.CreateLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateLink(ctx, link); err == nil {
		t.Fatal("duplicate link hash accepted")
	}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAuthState(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkLinksUsed(ctx, "env_1", "rcp_1", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = signingsqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.LinkByHash(ctx, link.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !got.UsedAt.Equal(now.Add(time.Minute)) || got.RecipientID != "rcp_1" || !got.ExpiresAt.Equal(link.ExpiresAt) || got.Tenant != "acme" {
		t.Errorf("link = %+v", got)
	}
	if got, err := s.LinkByHash(ctx, other.Hash); err != nil || !got.UsedAt.IsZero() {
		t.Errorf("other recipient's link = %+v, %v; want unused", got, err)
	}
	if _, err := s.LinkByHash(ctx, [32]byte{7}); !errors.Is(err, signing.ErrNoRecord) {
		t.Errorf("missing link: %v", err)
	}
	gs, err := s.SessionByHash(ctx, sess.Hash)
	if err != nil || gs.Email != sess.Email || !gs.AuthTime.Equal(now) || !gs.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Errorf("session = %+v, %v", gs, err)
	}
	if _, err := s.SessionByHash(ctx, [32]byte{8}); !errors.Is(err, signing.ErrNoRecord) {
		t.Errorf("missing session: %v", err)
	}
	ga, err := s.AuthState(ctx, "env_1", "rcp_1")
	if err != nil || !bytes.Equal(ga.CodeMAC, st.CodeMAC) || ga.Failures != 3 || !ga.LockedUntil.Equal(st.LockedUntil) || ga.WindowSends != 2 {
		t.Errorf("auth state = %+v, %v", ga, err)
	}
	ga.CodeMAC, ga.Failures = nil, 0
	if err := s.PutAuthState(ctx, ga); err != nil {
		t.Fatal(err)
	}
	if ga, _ = s.AuthState(ctx, "env_1", "rcp_1"); ga.CodeMAC != nil || ga.Failures != 0 {
		t.Errorf("cleared auth state = %+v", ga)
	}
	if z, err := s.AuthState(ctx, "env_1", "nobody"); err != nil || z.Failures != 0 || z.RecipientID != "nobody" {
		t.Errorf("absent auth state = %+v, %v", z, err)
	}
}

// TestLockoutsAndRevocationAcrossRestart: lockout counters, a revocation
// and a re-issue are stored, survive a restart, and a re-issue replaces
// the recipient's links in one step.
func TestLockoutsAndRevocationAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "signet.db")
	now := time.Unix(1_800_000_000, 0).UTC()
	old := signing.Link{Hash: [32]byte{1}, Tenant: "acme", EnvelopeID: "env_1", RecipientID: "rcp_1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	other := old
	other.Hash, other.RecipientID = [32]byte{2}, "rcp_2"

	s, err := signingsqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []signing.Link{old, other} {
		if err := s.CreateLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	st := signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1", Lockouts: 2, LockedUntil: now.Add(time.Hour)}
	if err := s.PutAuthState(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeRecipient(ctx, st); err == nil {
		t.Fatal("revocation without a time accepted")
	}
	s.Close()

	s, err = signingsqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.AuthState(ctx, "env_1", "rcp_1"); err != nil || got.Lockouts != 2 || !got.LockedUntil.Equal(st.LockedUntil) || !got.RevokedAt.IsZero() {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
	st.Lockouts, st.RevokedAt, st.LockedUntil = 4, now.Add(time.Minute), time.Time{}
	if err := s.RevokeRecipient(ctx, st); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = signingsqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.AuthState(ctx, "env_1", "rcp_1"); err != nil || got.Lockouts != 4 || !got.RevokedAt.Equal(st.RevokedAt) {
		t.Fatalf("revoked state after restart: %+v, %v", got, err)
	}
	if got, err := s.LinkByHash(ctx, old.Hash); err != nil || !got.RevokedAt.Equal(st.RevokedAt) {
		t.Fatalf("revoked link: %+v, %v", got, err)
	}
	if got, err := s.LinkByHash(ctx, other.Hash); err != nil || !got.RevokedAt.IsZero() {
		t.Fatalf("another recipient's link was revoked: %+v, %v", got, err)
	}

	// A re-issue for another recipient's state is refused whole.
	fresh := signing.Link{Hash: [32]byte{3}, Tenant: "acme", EnvelopeID: "env_1", RecipientID: "rcp_1", CreatedAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)}
	if err := s.Reissue(ctx, fresh, signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_2"}); err == nil {
		t.Fatal("re-issue with another recipient's state accepted")
	}
	if _, err := s.LinkByHash(ctx, fresh.Hash); !errors.Is(err, signing.ErrNoRecord) {
		t.Fatalf("refused re-issue left a link: %v", err)
	}
	// A re-issue whose insert fails (a duplicate hash) changes nothing.
	dup := fresh
	dup.Hash = other.Hash
	if err := s.Reissue(ctx, dup, signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1"}); err == nil {
		t.Fatal("re-issue with a duplicate link accepted")
	}
	if got, _ := s.AuthState(ctx, "env_1", "rcp_1"); got.RevokedAt.IsZero() || got.Lockouts != 4 {
		t.Fatalf("failed re-issue cleared the state: %+v", got)
	}
	if err := s.Reissue(ctx, fresh, signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1", WindowSends: 1, WindowStart: now}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.AuthState(ctx, "env_1", "rcp_1"); err != nil || got.Lockouts != 0 || !got.RevokedAt.IsZero() || got.WindowSends != 1 {
		t.Fatalf("state after re-issue: %+v, %v", got, err)
	}
	if got, err := s.LinkByHash(ctx, fresh.Hash); err != nil || !got.RevokedAt.IsZero() {
		t.Fatalf("re-issued link: %+v, %v", got, err)
	}
	if got, _ := s.LinkByHash(ctx, old.Hash); !got.RevokedAt.Equal(st.RevokedAt) {
		t.Fatalf("old link after re-issue: %+v", got)
	}
}
