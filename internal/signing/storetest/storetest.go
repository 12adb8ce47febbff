// Package storetest is the conformance suite of [signing.Store]: every
// driver (internal/signing/sqlite, internal/signing/postgres) runs [Run]
// from a test named TestConformance, and [RunNodes] on two stores over
// one database from a test named TestNodes.
//
// # Times
//
// The stores promise that a time round-trips as the same instant to the
// nanosecond (both drivers keep integer nanoseconds since the Unix
// epoch), that every time they return is in UTC, and that a zero time
// stays zero. The suite gives times with nanoseconds in a zone other than
// UTC and compares what it reads back with [reflect.DeepEqual] against
// the same values converted to UTC, so a driver that rounds, or returns
// another location, fails.
package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/identity/passkey"
	"github.com/signet-pki/signet/internal/signing"
)

// Run runs the suite; open returns a new, empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) signing.Store) {
	t.Run("Links", func(t *testing.T) { testLinks(t, open(t)) })
	t.Run("MarkLinksUsed", func(t *testing.T) { testMarkLinksUsed(t, open(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open(t)) })
	t.Run("AuthState", func(t *testing.T) { testAuthState(t, open(t)) })
	t.Run("RevokeRecipient", func(t *testing.T) { testRevokeRecipient(t, open(t)) })
	t.Run("Reissue", func(t *testing.T) { testReissue(t, open(t)) })
	t.Run("ReissueRefused", func(t *testing.T) { testReissueRefused(t, open(t)) })
	t.Run("ConcurrentReissue", func(t *testing.T) {
		s := open(t)
		testRacingReissues(t, s, s)
	})
	t.Run("PurgeEnvelope", func(t *testing.T) { testPurgeEnvelope(t, open(t)) })
}

// RunNodes runs the checks of two nodes sharing one database: open
// returns two stores, each with its own connections, over one new, empty
// database.
func RunNodes(t *testing.T, open func(t *testing.T) (signing.Store, signing.Store)) {
	t.Run("SeeEachOthersWrites", func(t *testing.T) {
		a, b := open(t)
		testSeeEachOther(t, a, b)
	})
	t.Run("RacingReissues", func(t *testing.T) {
		a, b := open(t)
		testRacingReissues(t, a, b)
	})
}

// base is the suite's clock: nanoseconds, in a zone other than UTC.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))

// hash returns the SHA-256 of a token named s, as the service stores it.
func hash(s string) [32]byte { return sha256.Sum256([]byte("token " + s)) }

func link(name, envelope, recipient string, created time.Time) signing.Link {
	return signing.Link{Hash: hash(name), Tenant: "acme", EnvelopeID: envelope, RecipientID: recipient,
		CreatedAt: created, ExpiresAt: created.Add(72 * time.Hour)}
}

func session(name, envelope, recipient string, at time.Time) signing.Session {
	return signing.Session{Hash: hash(name), Tenant: "acme", EnvelopeID: envelope, RecipientID: recipient,
		Email: recipient + "@example.com", AuthTime: at, ExpiresAt: at.Add(30 * time.Minute),
		Methods: []string{"otp", "email"}, Assurance: "aal1"}
}

func linkUTC(l signing.Link) signing.Link {
	l.CreatedAt, l.ExpiresAt, l.UsedAt, l.RevokedAt = l.CreatedAt.UTC(), l.ExpiresAt.UTC(), l.UsedAt.UTC(), l.RevokedAt.UTC()
	return l
}

func stateUTC(st signing.AuthState) signing.AuthState {
	st.CodeExpiresAt, st.LockedUntil, st.RevokedAt, st.WindowStart = st.CodeExpiresAt.UTC(), st.LockedUntil.UTC(), st.RevokedAt.UTC(), st.WindowStart.UTC()
	if len(st.CodeMAC) == 0 {
		st.CodeMAC = nil // an empty code MAC is no code
	}
	if len(st.Ceremony) == 0 {
		st.Ceremony = nil // nor is an empty ceremony one
	}
	if len(st.UsedAssertions) == 0 {
		st.UsedAssertions = nil
	}
	return st
}

func create(t *testing.T, s signing.Store, ls ...signing.Link) {
	t.Helper()
	for _, l := range ls {
		if err := s.CreateLink(t.Context(), l); err != nil {
			t.Fatalf("create link %x: %v", l.Hash[:4], err)
		}
	}
}

// wantLink checks that the stored link with l's hash is l.
func wantLink(t *testing.T, s signing.Store, what string, l signing.Link) {
	t.Helper()
	got, err := s.LinkByHash(t.Context(), l.Hash)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if want := linkUTC(l); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func wantNoLink(t *testing.T, s signing.Store, what string, h [32]byte) {
	t.Helper()
	if got, err := s.LinkByHash(t.Context(), h); !errors.Is(err, signing.ErrNoRecord) {
		t.Fatalf("%s: %+v, %v; want ErrNoRecord", what, got, err)
	}
}

// wantState checks that the stored code state of st's recipient is st.
func wantState(t *testing.T, s signing.Store, what string, st signing.AuthState) {
	t.Helper()
	got, err := s.AuthState(t.Context(), st.EnvelopeID, st.RecipientID)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if want := stateUTC(st); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func wantSession(t *testing.T, s signing.Store, what string, ss signing.Session) {
	t.Helper()
	got, err := s.SessionByHash(t.Context(), ss.Hash)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	ss.AuthTime, ss.ExpiresAt = ss.AuthTime.UTC(), ss.ExpiresAt.UTC()
	if !reflect.DeepEqual(got, ss) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, ss)
	}
}

func wantNoSession(t *testing.T, s signing.Store, what string, h [32]byte) {
	t.Helper()
	if got, err := s.SessionByHash(t.Context(), h); !errors.Is(err, signing.ErrNoRecord) {
		t.Fatalf("%s: %+v, %v; want ErrNoRecord", what, got, err)
	}
}

func testLinks(t *testing.T, s signing.Store) {
	ctx := t.Context()
	wantNoLink(t, s, "empty store", hash("a"))
	a := link("a", "env_1", "rcp_1", base)
	b := link("b", "env_1", "rcp_2", base.Add(time.Nanosecond))
	used := link("used", "env_1", "rcp_3", base)
	used.UsedAt, used.RevokedAt = base.Add(time.Minute), base.Add(2*time.Minute)
	zero := link("zero", "env_1", "rcp_4", base)
	zero.Hash = [32]byte{} // any 32 bytes are a hash
	create(t, s, a, b, used, zero)
	for _, l := range []signing.Link{a, b, used, zero} {
		wantLink(t, s, fmt.Sprintf("link %x", l.Hash[:4]), l)
	}
	dup := link("a", "env_2", "rcp_9", base.Add(time.Hour))
	if err := s.CreateLink(ctx, dup); err == nil {
		t.Fatal("a duplicate link hash was accepted")
	}
	wantLink(t, s, "link after a refused duplicate", a)
	near := hash("a")
	near[31] ^= 1
	wantNoLink(t, s, "a hash one bit off", near)
}

func testMarkLinksUsed(t *testing.T, s signing.Store) {
	ctx := t.Context()
	first := link("first", "env_1", "rcp_1", base)
	second := link("second", "env_1", "rcp_1", base.Add(time.Second))
	early := link("early", "env_1", "rcp_1", base)
	early.UsedAt = base.Add(time.Second)
	other := link("other", "env_1", "rcp_2", base)
	otherEnv := link("other-env", "env_2", "rcp_1", base)
	create(t, s, first, second, early, other, otherEnv)
	at := base.Add(time.Minute)
	if err := s.MarkLinksUsed(ctx, "env_1", "rcp_1", at); err != nil {
		t.Fatal(err)
	}
	first.UsedAt, second.UsedAt = at, at
	// A link used before keeps its time; again later changes nothing.
	if err := s.MarkLinksUsed(ctx, "env_1", "rcp_1", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for what, l := range map[string]signing.Link{
		"first link": first, "second link": second, "link used before": early,
		"another recipient's link": other, "the recipient's link in another envelope": otherEnv,
	} {
		wantLink(t, s, what, l)
	}
	if err := s.MarkLinksUsed(ctx, "env_9", "rcp_9", at); err != nil {
		t.Fatalf("a recipient without links: %v", err)
	}
}

func testSessions(t *testing.T, s signing.Store) {
	ctx := t.Context()
	wantNoSession(t, s, "empty store", hash("s"))
	ss := session("s", "env_1", "rcp_1", base)
	ss.Email = "Ünïcode+tag@example.com"
	if err := s.CreateSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	wantSession(t, s, "session", ss)
	if err := s.CreateSession(ctx, session("s", "env_2", "rcp_2", base.Add(time.Hour))); err == nil {
		t.Fatal("a duplicate session hash was accepted")
	}
	wantSession(t, s, "session after a refused duplicate", ss)
	// A link and a session are looked up in their own tables.
	wantNoLink(t, s, "a session's hash as a link", ss.Hash)
	create(t, s, link("l", "env_1", "rcp_1", base))
	wantNoSession(t, s, "a link's hash as a session", hash("l"))
	// Each session keeps the methods and assurance of its verification.
	for i, ev := range []struct {
		methods   []string
		assurance string
	}{{[]string{"otp", "sms"}, "aal1"}, {[]string{"pwd"}, "aal1"}, {[]string{"email"}, "none"}} {
		ss := session(fmt.Sprintf("m%d", i), "env_3", fmt.Sprintf("rcp_%d", i), base)
		ss.Methods, ss.Assurance = ev.methods, ev.assurance
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
		wantSession(t, s, "session with methods "+strings.Join(ev.methods, " "), ss)
	}
	// A passkey session keeps its intent, evidence included, exactly.
	for i, docs := range [][]signing.DocumentVersion{
		{{DocumentID: "doc_1", SHA256: strings.Repeat("ab", 32)}},
		{{DocumentID: "doc_1", SHA256: strings.Repeat("01", 32)}, {DocumentID: "doc_2", SHA256: strings.Repeat("fe", 32)}},
	} {
		ss := session(fmt.Sprintf("p%d", i), "env_4", fmt.Sprintf("rcp_%d", i), base)
		ss.Methods, ss.Assurance = []string{"hwk", "user"}, "aal3"
		ss.Intent = Intent(t, "env_4", ss.RecipientID, "u_1", docs)
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
		wantSession(t, s, fmt.Sprintf("passkey session of %d documents", len(docs)), ss)
	}
}

// Intent returns a well-formed intent of the recipient over docs, whose
// evidence parses (its signature is not a real one).
func Intent(t testing.TB, envelopeID, recipientID, userID string, docs []signing.DocumentVersion) *signing.Intent {
	t.Helper()
	d, err := signing.IntentDigest(docs)
	if err != nil {
		t.Fatal(err)
	}
	ch := passkey.SigningChallenge(d, envelopeID, recipientID)
	ev, err := passkey.Assertion{CredentialID: []byte{1, 2, 3}, AuthenticatorData: make([]byte, 37), ClientDataJSON: []byte(`{}`),
		Signature: []byte{4, 5, 6}, Challenge: ch[:], Time: base}.Evidence()
	if err != nil {
		t.Fatal(err)
	}
	return &signing.Intent{UserID: userID, Documents: docs, Digest: d, Challenge: ch, Evidence: ev}
}

func testAuthState(t *testing.T, s signing.Store) {
	ctx := t.Context()
	if got, err := s.AuthState(ctx, "env_1", "rcp_1"); err != nil || !reflect.DeepEqual(got, signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1"}) {
		t.Fatalf("absent state = %+v, %v; want a zero state with the ids", got, err)
	}
	full := signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1", CodeMAC: []byte{0, 9, 0xff, 0},
		CodeExpiresAt: base.Add(10 * time.Minute), Failures: 3, LockedUntil: base.Add(15 * time.Minute), Lockouts: 2,
		RevokedAt: base.Add(time.Hour), WindowStart: base, WindowSends: 4,
		Ceremony: []byte{0, 1, 2, 0xfe, 0}, UsedAssertions: [][32]byte{{1}, {2, 3}, sha256.Sum256([]byte("a"))}}
	other := signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_2", Failures: 1, WindowStart: base, WindowSends: 1}
	otherEnv := signing.AuthState{EnvelopeID: "env_2", RecipientID: "rcp_1", Lockouts: 1}
	for _, st := range []signing.AuthState{full, other, otherEnv} {
		if err := s.PutAuthState(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	wantState(t, s, "full state", full)
	// A put replaces the whole state: a success clears the code, the
	// failures and the lock.
	cleared := full
	cleared.CodeMAC, cleared.CodeExpiresAt, cleared.Failures, cleared.LockedUntil = nil, time.Time{}, 0, time.Time{}
	cleared.Ceremony = nil
	cleared.UsedAssertions = make([][32]byte, signing.MaxUsedAssertions)
	for i := range cleared.UsedAssertions {
		cleared.UsedAssertions[i][0] = byte(i + 1)
	}
	if err := s.PutAuthState(ctx, cleared); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, "cleared state", cleared)
	empty := cleared
	empty.CodeMAC = []byte{}
	if err := s.PutAuthState(ctx, empty); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, "state with an empty code", cleared)
	tooMany := cleared
	tooMany.UsedAssertions = append(slices.Clone(cleared.UsedAssertions), [32]byte{0xff})
	if err := s.PutAuthState(ctx, tooMany); err == nil {
		t.Fatalf("%d used assertions were stored (at most %d)", len(tooMany.UsedAssertions), signing.MaxUsedAssertions)
	}
	wantState(t, s, "state after refusing too many used assertions", cleared)
	wantState(t, s, "another recipient's state", other)
	wantState(t, s, "the recipient's state in another envelope", otherEnv)
}

func testRevokeRecipient(t *testing.T, s signing.Store) {
	ctx := t.Context()
	live := link("live", "env_1", "rcp_1", base)
	before := link("before", "env_1", "rcp_1", base)
	before.RevokedAt = base.Add(time.Second)
	other := link("other", "env_1", "rcp_2", base)
	otherEnv := link("other-env", "env_2", "rcp_1", base)
	create(t, s, live, before, other, otherEnv)
	st := signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1", Lockouts: 3, LockedUntil: base.Add(time.Hour)}
	if err := s.PutAuthState(ctx, st); err != nil {
		t.Fatal(err)
	}
	bad := st
	bad.Lockouts = 4
	if err := s.RevokeRecipient(ctx, bad); err == nil {
		t.Fatal("a revocation without a time was accepted")
	}
	wantState(t, s, "state after a refused revocation", st)
	wantLink(t, s, "link after a refused revocation", live)

	st.Lockouts, st.LockedUntil, st.RevokedAt = 4, time.Time{}, base.Add(time.Minute)
	if err := s.RevokeRecipient(ctx, st); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, "revoked state", st)
	live.RevokedAt = st.RevokedAt
	for what, l := range map[string]signing.Link{
		"revoked link": live, "link revoked before": before,
		"another recipient's link": other, "the recipient's link in another envelope": otherEnv,
	} {
		wantLink(t, s, what, l)
	}
	// A recipient without links or state: the state is stored.
	lone := signing.AuthState{EnvelopeID: "env_3", RecipientID: "rcp_1", Lockouts: 1, RevokedAt: base}
	if err := s.RevokeRecipient(ctx, lone); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, "state of a recipient without links", lone)
}

// reissueFixture stores, for rcp_1 of env_1, a live and a revoked link, a
// session and a revoked code state, and beside them links and sessions of
// another recipient and of the same recipient id in another envelope.
type reissueFixture struct {
	live, revoked, other, otherEnv signing.Link
	sess, otherSess, otherEnvSess  signing.Session
	state                          signing.AuthState
}

func newReissueFixture(t *testing.T, s signing.Store) *reissueFixture {
	ctx := t.Context()
	f := &reissueFixture{
		live:         link("live", "env_1", "rcp_1", base),
		revoked:      link("revoked", "env_1", "rcp_1", base),
		other:        link("other", "env_1", "rcp_2", base),
		otherEnv:     link("other-env", "env_2", "rcp_1", base),
		sess:         session("sess", "env_1", "rcp_1", base),
		otherSess:    session("other-sess", "env_1", "rcp_2", base),
		otherEnvSess: session("other-env-sess", "env_2", "rcp_1", base),
		state: signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1", CodeMAC: []byte{1}, CodeExpiresAt: base,
			Failures: 2, Lockouts: 5, RevokedAt: base.Add(time.Second), WindowStart: base, WindowSends: 3},
	}
	f.revoked.RevokedAt = base.Add(time.Second)
	create(t, s, f.live, f.revoked, f.other, f.otherEnv)
	for _, ss := range []signing.Session{f.sess, f.otherSess, f.otherEnvSess} {
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutAuthState(ctx, f.state); err != nil {
		t.Fatal(err)
	}
	return f
}

// unchanged checks that the fixture is as stored.
func (f *reissueFixture) unchanged(t *testing.T, s signing.Store, what string) {
	t.Helper()
	for _, l := range []signing.Link{f.live, f.revoked, f.other, f.otherEnv} {
		wantLink(t, s, what, l)
	}
	for _, ss := range []signing.Session{f.sess, f.otherSess, f.otherEnvSess} {
		wantSession(t, s, what, ss)
	}
	wantState(t, s, what, f.state)
}

func testReissue(t *testing.T, s signing.Store) {
	ctx := t.Context()
	f := newReissueFixture(t, s)
	fresh := link("fresh", "env_1", "rcp_1", base.Add(time.Hour))
	st := signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1", WindowStart: base.Add(time.Hour), WindowSends: 1}
	if err := s.Reissue(ctx, fresh, st); err != nil {
		t.Fatal(err)
	}
	wantLink(t, s, "re-issued link", fresh)
	wantState(t, s, "fresh code state", st)
	f.live.RevokedAt = fresh.CreatedAt
	for what, l := range map[string]signing.Link{
		"replaced link": f.live, "link revoked before": f.revoked,
		"another recipient's link": f.other, "the recipient's link in another envelope": f.otherEnv,
	} {
		wantLink(t, s, what, l)
	}
	wantNoSession(t, s, "the recipient's session", f.sess.Hash)
	wantSession(t, s, "another recipient's session", f.otherSess)
	wantSession(t, s, "the recipient's session in another envelope", f.otherEnvSess)
	// A second re-issue replaces the first's link.
	again := link("again", "env_1", "rcp_1", base.Add(2*time.Hour))
	if err := s.Reissue(ctx, again, st); err != nil {
		t.Fatal(err)
	}
	fresh.RevokedAt = again.CreatedAt
	wantLink(t, s, "first re-issued link", fresh)
	wantLink(t, s, "second re-issued link", again)
}

// testReissueRefused: a re-issue that is refused or fails changes
// nothing.
func testReissueRefused(t *testing.T, s signing.Store) {
	ctx := t.Context()
	f := newReissueFixture(t, s)
	fresh := link("fresh", "env_1", "rcp_1", base.Add(time.Hour))
	for _, st := range []signing.AuthState{
		{EnvelopeID: "env_1", RecipientID: "rcp_2"},
		{EnvelopeID: "env_2", RecipientID: "rcp_1"},
		{},
	} {
		if err := s.Reissue(ctx, fresh, st); err == nil {
			t.Fatalf("a re-issue with the state of %s/%s was accepted", st.EnvelopeID, st.RecipientID)
		}
	}
	wantNoLink(t, s, "link of a refused re-issue", fresh.Hash)
	f.unchanged(t, s, "after refused re-issues")
	// The new link's hash is taken: the insert fails last, and the
	// revocation, the deletion and the fresh state go with it.
	dup := fresh
	dup.Hash = f.other.Hash
	if err := s.Reissue(ctx, dup, signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1"}); err == nil {
		t.Fatal("a re-issue with a taken link hash was accepted")
	}
	f.unchanged(t, s, "after a failed re-issue")
}

// testSeeEachOther: what one node writes, the other reads at once.
func testSeeEachOther(t *testing.T, a, b signing.Store) {
	ctx := t.Context()
	l := link("l", "env_1", "rcp_1", base)
	create(t, a, l)
	wantLink(t, b, "link created on a, read on b", l)
	if err := b.CreateLink(ctx, l); err == nil {
		t.Fatal("b accepted a link hash a created")
	}
	ss := session("s", "env_1", "rcp_1", base)
	if err := a.CreateSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	wantSession(t, b, "session created on a, read on b", ss)
	st := signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1", CodeMAC: []byte{7}, CodeExpiresAt: base, Failures: 1}
	if err := b.PutAuthState(ctx, st); err != nil {
		t.Fatal(err)
	}
	wantState(t, a, "state put on b, read on a", st)
	if err := b.MarkLinksUsed(ctx, "env_1", "rcp_1", base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	l.UsedAt = base.Add(time.Minute)
	wantLink(t, a, "link used on b, read on a", l)
	fresh := link("fresh", "env_1", "rcp_1", base.Add(time.Hour))
	if err := a.Reissue(ctx, fresh, signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1"}); err != nil {
		t.Fatal(err)
	}
	l.RevokedAt = fresh.CreatedAt
	wantLink(t, b, "link replaced on a, read on b", l)
	wantLink(t, b, "link re-issued on a, read on b", fresh)
	wantNoSession(t, b, "session ended on a, looked up on b", ss.Hash)
	st = signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1", Lockouts: 6, RevokedAt: base.Add(2 * time.Hour)}
	if err := b.RevokeRecipient(ctx, st); err != nil {
		t.Fatal(err)
	}
	fresh.RevokedAt = st.RevokedAt
	wantLink(t, a, "link revoked on b, read on a", fresh)
	wantState(t, a, "state revoked on b, read on a", st)
}

// testRacingReissues: several writers on a and on b re-issue one
// recipient's link at once, with revocations between, round after round.
// Each call succeeds; afterwards exactly one of the recipient's links is
// live, and it is the one whose code state is stored: the last re-issue
// revoked every link before it, including those that others had just
// created.
func testRacingReissues(t *testing.T, a, b signing.Store) {
	ctx := t.Context()
	const rounds, writers = 6, 6
	var all []signing.Link
	for round := range rounds {
		var wg sync.WaitGroup
		errs := make([]error, writers)
		links := make([]signing.Link, writers)
		for w := range writers {
			s := a
			if w%2 == 1 {
				s = b
			}
			n := round*writers + w
			links[w] = link(fmt.Sprintf("link %d", n), "env_1", "rcp_1", base.Add(time.Duration(n)*time.Second))
			st := signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1", WindowStart: base, WindowSends: n}
			if w == writers-1 {
				// One writer revokes the recipient instead.
				st.RevokedAt, st.Lockouts = base.Add(time.Duration(n)*time.Second), n
				wg.Go(func() { errs[w] = s.RevokeRecipient(ctx, st) })
				continue
			}
			wg.Go(func() { errs[w] = s.Reissue(ctx, links[w], st) })
		}
		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Fatalf("round %d, writer %d: %v", round, w, err)
			}
		}
		all = append(all, links[:writers-1]...)
		st, err := b.AuthState(ctx, "env_1", "rcp_1")
		if err != nil {
			t.Fatal(err)
		}
		var live []int
		for _, l := range all {
			got, err := a.LinkByHash(ctx, l.Hash)
			if err != nil {
				t.Fatal(err)
			}
			if got.RevokedAt.IsZero() {
				live = append(live, int(got.CreatedAt.Sub(base)/time.Second))
			}
		}
		switch {
		case !st.RevokedAt.IsZero():
			// The revocation came last: no link is live.
			if len(live) != 0 {
				t.Fatalf("round %d: the recipient is revoked (%+v), yet links %v are live", round, st, live)
			}
		case len(live) != 1 || live[0] != st.WindowSends:
			t.Fatalf("round %d: live links %v, want exactly the one of the stored state (%d)", round, live, st.WindowSends)
		}
	}
}

// testPurgeEnvelope: purging an envelope deletes its recipients' links,
// sessions and code state, and nothing of another envelope.
func testPurgeEnvelope(t *testing.T, s signing.Store) {
	ctx := t.Context()
	p, ok := s.(signing.EnvelopePurger)
	if !ok {
		t.Fatalf("%T cannot purge an envelope", s)
	}
	gone, kept := link("gone", "env_1", "rcp_1", base), link("kept", "env_2", "rcp_1", base)
	create(t, s, gone, kept)
	goneSess, keptSess := session("gone-session", "env_1", "rcp_1", base), session("kept-session", "env_2", "rcp_1", base)
	for _, ss := range []signing.Session{goneSess, keptSess} {
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	keptState := signing.AuthState{EnvelopeID: "env_2", RecipientID: "rcp_1", Failures: 2, WindowStart: base, WindowSends: 1}
	for _, st := range []signing.AuthState{{EnvelopeID: "env_1", RecipientID: "rcp_1", Failures: 1, WindowStart: base, WindowSends: 1}, keptState} {
		if err := s.PutAuthState(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.PurgeEnvelope(ctx, "env_1"); err != nil {
		t.Fatal(err)
	}
	wantNoLink(t, s, "the purged envelope's link", gone.Hash)
	wantNoSession(t, s, "the purged envelope's session", goneSess.Hash)
	wantState(t, s, "the purged envelope's code state", signing.AuthState{EnvelopeID: "env_1", RecipientID: "rcp_1"})
	wantLink(t, s, "another envelope's link", kept)
	wantSession(t, s, "another envelope's session", keptSess)
	wantState(t, s, "another envelope's code state", keptState)
	if err := p.PurgeEnvelope(ctx, "env_1"); err != nil {
		t.Errorf("purging again: %v", err)
	}
}
