package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/identity"
)

const (
	issuerA = "https://idp-a.example.org"
	issuerB = "https://idp-b.example.org"
)

func link(tenant, userID, issuer, subject string, at time.Time) identity.ExternalLink {
	return identity.ExternalLink{Tenant: tenant, UserID: userID, Issuer: issuer, Subject: subject, CreatedAt: at}
}

func sameLink(a, b identity.ExternalLink) bool {
	return a.Tenant == b.Tenant && a.UserID == b.UserID && a.Issuer == b.Issuer && a.Subject == b.Subject &&
		a.CreatedAt.Equal(b.CreatedAt)
}

// testLinks: a link is read back on the other node by (issuer, subject)
// and among the user's links; a subject links one user, a user one
// subject per issuer; the user must exist and be active; another tenant's
// link is not found; a disabled user keeps their links.
func testLinks(t *testing.T, db DB) {
	ctx := t.Context()
	mustCreate(t, db.A, user("t-1", "u-1"), user("t-1", "u-2"), user("t-2", "u-3"))
	l1 := link("t-1", "u-1", issuerA, "sub-1", base)
	l2 := link("t-1", "u-1", issuerB, "sub-1", base.Add(time.Second))
	is(t, "link", db.A.LinkExternal(ctx, l1), nil)
	is(t, "link to a second issuer", db.A.LinkExternal(ctx, l2), nil)

	got, err := db.B.ExternalLink(ctx, "t-1", issuerA, "sub-1")
	if err != nil || !sameLink(got, l1) {
		t.Fatalf("link read back: %+v, %v", got, err)
	}
	ls, err := db.B.ExternalLinksOf(ctx, "t-1", "u-1")
	if err != nil || len(ls) != 2 || !sameLink(ls[0], l1) || !sameLink(ls[1], l2) {
		t.Fatalf("links of u-1: %+v, %v", ls, err)
	}
	if ls, err := db.B.ExternalLinksOf(ctx, "t-1", "u-2"); err != nil || len(ls) != 0 {
		t.Fatalf("links of u-2: %+v, %v", ls, err)
	}

	for _, c := range []struct {
		what string
		l    identity.ExternalLink
		want error
	}{
		{"the same subject again", link("t-1", "u-1", issuerA, "sub-1", base), identity.ErrExists},
		{"the subject to another user", link("t-1", "u-2", issuerA, "sub-1", base), identity.ErrExists},
		{"another subject of the issuer to the user", link("t-1", "u-1", issuerA, "sub-2", base), identity.ErrExists},
		{"the subject in another tenant", link("t-2", "u-3", issuerA, "sub-1", base), nil},
		{"a user of another tenant", link("t-1", "u-3", issuerA, "sub-3", base), identity.ErrNotFound},
		{"an unknown user", link("t-1", "u-9", issuerA, "sub-9", base), identity.ErrNotFound},
		{"no subject", link("t-1", "u-2", issuerA, "", base), identity.ErrInvalid},
		{"no issuer", link("t-1", "u-2", "", "sub-2", base), identity.ErrInvalid},
		{"no tenant", link("", "u-2", issuerA, "sub-2", base), identity.ErrInvalid},
		{"no user", link("t-1", "", issuerA, "sub-2", base), identity.ErrInvalid},
		{"no time", link("t-1", "u-2", issuerA, "sub-2", time.Time{}), identity.ErrInvalid},
		{"a long subject", link("t-1", "u-2", issuerA, strings.Repeat("s", identity.MaxSubject+1), base), identity.ErrInvalid},
		{"a long issuer", link("t-1", "u-2", strings.Repeat("i", identity.MaxIssuer+1), "sub-2", base), identity.ErrInvalid},
		{"a subject not UTF-8", link("t-1", "u-2", issuerA, "\xff", base), identity.ErrInvalid},
		{"a subject at the bound", link("t-1", "u-2", issuerA, strings.Repeat("s", identity.MaxSubject), base), nil},
	} {
		is(t, c.what, db.B.LinkExternal(ctx, c.l), c.want)
	}
	if got, err := db.A.ExternalLink(ctx, "t-1", issuerA, "sub-1"); err != nil || got.UserID != "u-1" {
		t.Fatalf("link after refusals: %+v, %v", got, err)
	}

	// Another tenant's link is not found, under its tenant's name only.
	_, err = db.A.ExternalLink(ctx, "t-2", issuerB, "sub-1")
	is(t, "link of t-1 looked up in t-2", err, identity.ErrNotFound)
	_, err = db.A.ExternalLink(ctx, "t-1", issuerA, "sub-unknown")
	is(t, "unknown subject", err, identity.ErrNotFound)
	_, err = db.A.ExternalLink(ctx, "t-1", issuerB, "sub-2")
	is(t, "known subject, other issuer", err, identity.ErrNotFound)
	if ls, err := db.A.ExternalLinksOf(ctx, "t-2", "u-1"); err != nil || len(ls) != 0 {
		t.Fatalf("links of t-1's user under t-2: %+v, %v", ls, err)
	}
	if got, err := db.A.ExternalLink(ctx, "t-2", issuerA, "sub-1"); err != nil || got.UserID != "u-3" {
		t.Fatalf("t-2's link of the same subject: %+v, %v", got, err)
	}

	// A disabled user keeps their links and gets no new one.
	if _, err := db.A.DisableUser(ctx, "t-1", "u-1", base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := db.B.ExternalLink(ctx, "t-1", issuerA, "sub-1"); err != nil || got.UserID != "u-1" {
		t.Fatalf("link of a disabled user: %+v, %v", got, err)
	}
	is(t, "link of a disabled user", db.B.LinkExternal(ctx, link("t-1", "u-1", "https://idp-c.example.org", "sub-1", base)),
		identity.ErrDisabled)
}

// testLinkRaces: of racing links of one subject to several users, on both
// nodes, exactly one succeeds; likewise of racing links of one user to
// several subjects of one issuer.
func testLinkRaces(t *testing.T, db DB) {
	ctx := t.Context()
	const n = 8
	for i := range n {
		mustCreate(t, db.A, user("t-1", fmt.Sprint("u-", i)))
	}
	won := race(t, db, n, identity.ErrExists, func(s identity.Store, i int) error {
		return s.LinkExternal(ctx, link("t-1", fmt.Sprint("u-", i), issuerA, "sub-1", base))
	})
	if won != 1 {
		t.Fatalf("subject linked %d times", won)
	}
	l, err := db.B.ExternalLink(ctx, "t-1", issuerA, "sub-1")
	if err != nil {
		t.Fatal(err)
	}
	if ls, err := db.A.ExternalLinksOf(ctx, "t-1", l.UserID); err != nil || len(ls) != 1 {
		t.Fatalf("links of the winner %s: %+v, %v", l.UserID, ls, err)
	}

	won = race(t, db, n, identity.ErrExists, func(s identity.Store, i int) error {
		return s.LinkExternal(ctx, link("t-1", "u-0", issuerB, fmt.Sprint("sub-", i), base))
	})
	if won != 1 {
		t.Fatalf("user linked to %d subjects of one issuer", won)
	}
}
