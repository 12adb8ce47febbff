package storetest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
)

// adminTests are the cases of the administration records
// ([identity.Admin]) and of DisableUser's revocation of elevation grants
// and invitations.
var adminTests = []struct {
	name string
	fn   func(*testing.T, DB)
}{
	{"ListUsers", testListUsers},
	{"LastSeen", testLastSeen},
	{"Policies", testPolicies},
	{"PolicyRaces", testPolicyRaces},
	{"Invitations", testInvitations},
	{"InvitationRaces", testInvitationRaces},
	{"DenyElevation", testDenyElevation},
	{"DisableRevokesElevationGrants", testDisableRevokesGrants},
	{"DisableRacesApprovals", testDisableRacesApprovals},
}

func testListUsers(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	var want []string
	for _, id := range []string{"u-b", "u-a", "u-c", "U-Z", "u-e"} {
		mustCreate(t, s, lowerMail(user("t-1", id)))
		want = append(want, id)
	}
	mustCreate(t, s, user("t-2", "u-d"))
	slices.Sort(want) // byte order: "U-Z" first
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		us, err := db.B.ListUsers(ctx, "t-1", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			if u.Tenant != "t-1" || !sameUser(u, lowerMail(user("t-1", u.ID))) {
				t.Fatalf("listed %+v", u)
			}
			got = append(got, u.ID)
		}
		if len(us) < 2 {
			break
		}
		after = us[len(us)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listed %q, want %q", got, want)
	}
	for _, limit := range []int{0, -1, identity.MaxList + 1} {
		_, err := s.ListUsers(ctx, "t-1", "", limit)
		is(t, fmt.Sprint("limit ", limit), err, identity.ErrInvalid)
	}
	if us, err := s.ListUsers(ctx, "t-3", "", identity.MaxList); err != nil || len(us) != 0 {
		t.Fatalf("users of an empty tenant: %v, %v", us, err)
	}
}

func lowerMail(u identity.User) identity.User {
	u.Email = strings.ToLower(u.Email)
	return u
}

func testLastSeen(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"), user("t-1", "u-2"))
	if at, err := s.LastSeen(ctx, "t-1", "u-1"); err != nil || !at.IsZero() {
		t.Fatalf("last seen without sessions: %v, %v", at, err)
	}
	is(t, "session a", s.CreateSession(ctx, session("t-1", "u-1", "a", base)), nil)
	is(t, "session b", s.CreateSession(ctx, session("t-1", "u-1", "b", base)), nil)
	is(t, "session c", s.CreateSession(ctx, session("t-1", "u-2", "c", base)), nil)
	// 10 s after 9 s: a text comparison of the stored times would pick 9 s.
	is(t, "touch a", s.TouchSession(ctx, hash("a"), base.Add(9*time.Second)), nil)
	is(t, "touch b", s.TouchSession(ctx, hash("b"), base.Add(10*time.Second)), nil)
	is(t, "touch c", s.TouchSession(ctx, hash("c"), base.Add(time.Hour)), nil)
	if at, err := db.B.LastSeen(ctx, "t-1", "u-1"); err != nil || !at.Equal(base.Add(10*time.Second)) {
		t.Fatalf("last seen %v, %v; want %v", at, err, base.Add(10*time.Second))
	}
	if at, err := s.LastSeen(ctx, "t-2", "u-1"); err != nil || !at.IsZero() {
		t.Fatalf("last seen from another tenant: %v, %v", at, err)
	}
}

func samplePolicy(tenant string) authz.TenantPolicy {
	return authz.TenantPolicy{
		Tenant: tenant,
		Roles: []authz.Role{
			{Name: "envelope-clerk", Actions: []authz.Action{authz.ActionEnvelopeSend, authz.ActionEnvelopeRead}},
			{Name: "auditor-lite", Actions: []authz.Action{authz.ActionAuditRead}},
		},
		StepUpWindow: 5*time.Minute + 123*time.Millisecond, MaxElevation: 2 * time.Hour,
		Separation:  authz.Separation{SenderMayApprove: true},
		MFAOptional: true, BreakGlass: []string{"u-1", "u-2"},
	}
}

func testPolicies(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	r, err := s.PolicyRecord(ctx, "t-1")
	if err != nil || r.Version != 0 || !reflect.DeepEqual(r.Policy, authz.TenantPolicy{Tenant: "t-1"}) || r.UpdatedBy != "" {
		t.Fatalf("default policy %+v, %v", r, err)
	}
	if p, err := s.Policy(ctx, "t-1"); err != nil || !reflect.DeepEqual(p, authz.TenantPolicy{Tenant: "t-1"}) {
		t.Fatalf("default policy %+v, %v", p, err)
	}
	p := samplePolicy("t-1")
	is(t, "stale first version", s.SetPolicy(ctx, p, 1, "u-admin", base), identity.ErrConflict)
	is(t, "first version", s.SetPolicy(ctx, p, 0, "u-admin", base), nil)
	is(t, "first version again", s.SetPolicy(ctx, p, 0, "u-admin", base), identity.ErrConflict)
	r, err = db.B.PolicyRecord(ctx, "t-1")
	if err != nil || r.Version != 1 || !reflect.DeepEqual(r.Policy, p) || r.UpdatedBy != "u-admin" || !r.UpdatedAt.Equal(base) {
		t.Fatalf("stored policy %+v, %v; want %+v", r, err, p)
	}
	q := authz.TenantPolicy{Tenant: "t-1", StandingPrivileged: true}
	is(t, "second version", s.SetPolicy(ctx, q, 1, "u-other", base.Add(time.Hour)), nil)
	is(t, "stale version", s.SetPolicy(ctx, p, 1, "u-admin", base), identity.ErrConflict)
	if r, _ := s.PolicyRecord(ctx, "t-1"); r.Version != 2 || !reflect.DeepEqual(r.Policy, q) || r.UpdatedBy != "u-other" {
		t.Fatalf("policy after a stale update %+v", r)
	}
	bad := samplePolicy("t-1")
	bad.Roles = append(bad.Roles, authz.Role{Name: "sender", Actions: []authz.Action{authz.ActionAuditRead}})
	is(t, "custom role named like a built-in", s.SetPolicy(ctx, bad, 2, "u-admin", base), identity.ErrInvalid)
	long := samplePolicy("t-1")
	long.MaxElevation = authz.ElevationCap + time.Second
	is(t, "cap over the bound", s.SetPolicy(ctx, long, 2, "u-admin", base), identity.ErrInvalid)
	is(t, "no updater", s.SetPolicy(ctx, p, 2, "", base), identity.ErrInvalid)
	if r, _ := s.PolicyRecord(ctx, "t-2"); r.Version != 0 || r.Policy.Tenant != "t-2" {
		t.Fatalf("another tenant's policy %+v", r)
	}
	// The canonical form: the same policy gives the same bytes, and
	// reads back equal.
	a, err := identity.MarshalPolicy(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := identity.MarshalPolicy(samplePolicy("t-1"))
	if string(a) != string(b) {
		t.Fatalf("two encodings of one policy:\n%s\n%s", a, b)
	}
	if back, err := identity.UnmarshalPolicy(a); err != nil || !reflect.DeepEqual(back, p) {
		t.Fatalf("policy read back %+v, %v", back, err)
	}
	if _, err := identity.UnmarshalPolicy(append(a[:len(a)-1:len(a)-1], []byte(`,"superuser":true}`)...)); err == nil {
		t.Fatal("a stored policy with an unknown field was read")
	}
}

// testPolicyRaces: of several updates from one version on two nodes,
// exactly one succeeds.
func testPolicyRaces(t *testing.T, db DB) {
	ctx := t.Context()
	for version := int64(0); version < 3; version++ {
		won := race(t, db, 8, identity.ErrConflict, func(s identity.Store, i int) error {
			p := authz.TenantPolicy{Tenant: "t-1", StepUpWindow: time.Duration(i+1) * time.Minute}
			return s.SetPolicy(ctx, p, version, fmt.Sprint("u-", i), base)
		})
		if won != 1 {
			t.Fatalf("from version %d, %d updates succeeded", version, won)
		}
	}
	if r, err := db.A.PolicyRecord(ctx, "t-1"); err != nil || r.Version != 3 {
		t.Fatalf("policy after three rounds %+v, %v", r, err)
	}
}

func invitation(tenant, userID, token string, at time.Time) identity.Invitation {
	return identity.Invitation{Hash: hash(token), Tenant: tenant, UserID: userID, CreatedBy: "u-admin",
		CreatedAt: at, ExpiresAt: at.Add(72 * time.Hour)}
}

func invited(tenant, id string) identity.User {
	u := user(tenant, id)
	u.PasswordHash = ""
	return u
}

func testInvitations(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	u := invited("t-1", "u-1")
	g := identity.Grant{ID: "g-1", Tenant: "t-1", UserID: "u-1", Role: "sender", GrantedBy: "u-admin", GrantedAt: base}
	is(t, "invite", s.InviteUser(ctx, u, []identity.Grant{g}, invitation("t-1", "u-1", "tok-1", base)), nil)
	if got, err := db.B.UserByID(ctx, "t-1", "u-1"); err != nil || !sameUser(got, u) {
		t.Fatalf("invited user %+v, %v", got, err)
	}
	if gs, err := s.Grants(ctx, "t-1", "u-1"); err != nil || len(gs) != 1 || !sameGrant(gs[0], g) {
		t.Fatalf("invited user's grants %+v, %v", gs, err)
	}
	// All or nothing: a taken grant id stores neither the user nor the
	// invitation.
	u2 := invited("t-1", "u-2")
	g2 := g
	g2.UserID = "u-2"
	is(t, "invite with a taken grant id", s.InviteUser(ctx, u2, []identity.Grant{g2}, invitation("t-1", "u-2", "tok-2", base)), identity.ErrExists)
	_, err := s.UserByID(ctx, "t-1", "u-2")
	is(t, "user of a failed invitation", err, identity.ErrNotFound)
	_, err = s.Invitation(ctx, hash("tok-2"))
	is(t, "invitation of a failed invitation", err, identity.ErrNotFound)
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"same e-mail", s.InviteUser(ctx, func() identity.User { x := invited("t-1", "u-3"); x.Email = u.Email; return x }(), nil, invitation("t-1", "u-3", "tok-3", base)), identity.ErrExists},
		{"same token", s.InviteUser(ctx, invited("t-1", "u-4"), nil, invitation("t-1", "u-4", "tok-1", base)), identity.ErrExists},
		{"invitation for another user", s.InviteUser(ctx, invited("t-1", "u-5"), nil, invitation("t-1", "u-1", "tok-5", base)), identity.ErrInvalid},
		{"grant for another user", s.InviteUser(ctx, invited("t-1", "u-6"), []identity.Grant{g}, invitation("t-1", "u-6", "tok-6", base)), identity.ErrInvalid},
		{"expires at creation", s.InviteUser(ctx, invited("t-1", "u-7"), nil, func() identity.Invitation {
			i := invitation("t-1", "u-7", "tok-7", base)
			i.ExpiresAt = base
			return i
		}()), identity.ErrInvalid},
		{"invitation of a missing user", s.CreateInvitation(ctx, invitation("t-1", "u-none", "tok-8", base)), identity.ErrNotFound},
		{"invitation in another tenant", s.CreateInvitation(ctx, invitation("t-2", "u-1", "tok-8", base)), identity.ErrNotFound},
	} {
		is(t, c.name, c.err, c.want)
	}
	inv, err := db.B.Invitation(ctx, hash("tok-1"))
	if want := invitation("t-1", "u-1", "tok-1", base); err != nil || !sameInvitation(inv, want) {
		t.Fatalf("invitation %+v, %v; want %+v", inv, err, want)
	}

	const pw = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$bmV3"
	expiry := base.Add(72 * time.Hour)
	for _, c := range []struct {
		name string
		tok  string
		at   time.Time
		pw   string
		want error
	}{
		{"unknown token", "tok-none", base, pw, identity.ErrNotFound},
		{"at expiry", "tok-1", expiry, pw, identity.ErrNotFound},
		{"no password hash", "tok-1", base, "", identity.ErrInvalid},
		{"redeem", "tok-1", expiry.Add(-time.Microsecond), pw, nil},
		{"redeem again", "tok-1", expiry.Add(-time.Microsecond), pw, identity.ErrNotFound},
	} {
		_, err := s.RedeemInvitation(ctx, hash(c.tok), c.at, c.pw)
		is(t, c.name, err, c.want)
	}
	if got, _ := s.UserByID(ctx, "t-1", "u-1"); got.PasswordHash != pw {
		t.Fatalf("password hash after redemption %q", got.PasswordHash)
	}
	if inv, _ := s.Invitation(ctx, hash("tok-1")); !inv.UsedAt.Equal(expiry.Add(-time.Microsecond)) {
		t.Fatalf("redeemed invitation %+v", inv)
	}

	// A new invitation for an existing user; disabling the user deletes
	// it, and a disabled user gets none.
	is(t, "re-invite", s.CreateInvitation(ctx, invitation("t-1", "u-1", "tok-9", base)), nil)
	is(t, "second re-invite", s.CreateInvitation(ctx, invitation("t-1", "u-1", "tok-10", base)), nil)
	rev, err := s.DisableUser(ctx, "t-1", "u-1", base.Add(time.Hour))
	if err != nil || rev.Invitations != 2 {
		t.Fatalf("disable: %+v, %v; want 2 invitations deleted", rev, err)
	}
	_, err = s.RedeemInvitation(ctx, hash("tok-9"), base.Add(2*time.Hour), pw)
	is(t, "redeem after the user was disabled", err, identity.ErrNotFound)
	is(t, "invite a disabled user", s.CreateInvitation(ctx, invitation("t-1", "u-1", "tok-11", base)), identity.ErrDisabled)
	if _, err := s.Invitation(ctx, hash("tok-1")); err != nil {
		t.Fatalf("a used invitation is kept: %v", err)
	}

	// The token is never stored, only its hash.
	raw := make([]byte, 32)
	rand.Read(raw)
	token := "inv_" + base64.RawURLEncoding.EncodeToString(raw)
	u8 := invited("t-1", "u-8")
	u8.Email = "invitation.marker@example.org"
	i8 := invitation("t-1", "u-8", "", base)
	i8.Hash = sha256.Sum256([]byte(token))
	is(t, "invite with a random token", s.InviteUser(ctx, u8, nil, i8), nil)
	if db.Holds(t, token) {
		t.Error("the database holds an invitation token")
	}
	if !db.Holds(t, u8.Email) {
		t.Fatal("the scan cannot see the database")
	}
}

func sameInvitation(a, b identity.Invitation) bool {
	return a.Hash == b.Hash && a.Tenant == b.Tenant && a.UserID == b.UserID && a.CreatedBy == b.CreatedBy &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.UsedAt.Equal(b.UsedAt)
}

// testInvitationRaces: of several redemptions of one token on two nodes,
// exactly one succeeds.
func testInvitationRaces(t *testing.T, db DB) {
	ctx := t.Context()
	is(t, "invite", db.A.InviteUser(ctx, invited("t-1", "u-1"), nil, invitation("t-1", "u-1", "tok", base)), nil)
	won := race(t, db, 8, identity.ErrNotFound, func(s identity.Store, i int) error {
		_, err := s.RedeemInvitation(ctx, hash("tok"), base.Add(time.Minute), fmt.Sprint("$argon2id$", i))
		return err
	})
	if won != 1 {
		t.Fatalf("one invitation redeemed %d times", won)
	}
}

func testDenyElevation(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"))
	e := elevation("t-1", "e-1", "u-1", base)
	is(t, "request", s.RequestElevation(ctx, e), nil)
	is(t, "request 2", s.RequestElevation(ctx, elevation("t-1", "e-2", "u-1", base)), nil)
	at := base.Add(time.Minute)
	is(t, "deny from another tenant", s.DenyElevation(ctx, "t-2", "e-1", "u-2", at), identity.ErrNotFound)
	is(t, "deny", db.B.DenyElevation(ctx, "t-1", "e-1", "u-2", at), nil)
	is(t, "deny again", s.DenyElevation(ctx, "t-1", "e-1", "u-2", at), identity.ErrConflict)
	is(t, "approve a denied request", s.ApproveElevation(ctx, approval(e, "g-1", "u-2", at)), identity.ErrConflict)
	is(t, "deny a missing request", s.DenyElevation(ctx, "t-1", "e-none", "u-2", at), identity.ErrNotFound)
	want := e
	want.Status, want.DecidedBy, want.DecidedAt = identity.ElevationDenied, "u-2", at
	if got, err := s.Elevation(ctx, "t-1", "e-1"); err != nil || !sameElevation(got, want) {
		t.Fatalf("denied request %+v, %v; want %+v", got, err, want)
	}
	if ps, _ := s.PendingElevations(ctx, "t-1"); len(ps) != 1 || ps[0].ID != "e-2" {
		t.Fatalf("pending after a denial %+v", ps)
	}
	if won := race(t, db, 8, identity.ErrConflict, func(s identity.Store, i int) error {
		if i%2 == 0 {
			return s.DenyElevation(ctx, "t-1", "e-2", "u-2", at)
		}
		e2, _ := s.Elevation(ctx, "t-1", "e-2")
		return s.ApproveElevation(ctx, approval(e2, fmt.Sprint("g-r-", i), "u-2", at))
	}); won != 1 {
		t.Fatalf("e-2 decided %d times", won)
	}
}

// testDisableRevokesGrants: disabling a user revokes the grants of their
// elevations that have not ended, and leaves their ended elevations and
// standing grants (which a disabled user cannot use) as records.
func testDisableRevokesGrants(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"), user("t-1", "u-2"))
	standing := identity.Grant{ID: "g-standing", Tenant: "t-1", UserID: "u-1", Role: "sender", GrantedBy: "u-2", GrantedAt: base}
	is(t, "standing grant", s.AddGrant(ctx, standing), nil)
	// e-old ends at base+2h+1m, e-live at base+3h+1m (nanoseconds apart
	// from the disabling time would still count: compare instants).
	eOld, eLive, eOther := elevation("t-1", "e-old", "u-1", base), elevation("t-1", "e-live", "u-1", base), elevation("t-1", "e-other", "u-2", base)
	for _, e := range []identity.Elevation{eOld, eLive, eOther} {
		is(t, "request "+e.ID, s.RequestElevation(ctx, e), nil)
	}
	is(t, "approve e-old", s.ApproveElevation(ctx, approval(eOld, "g-old", "u-2", base.Add(time.Minute))), nil)
	is(t, "approve e-live", s.ApproveElevation(ctx, approval(eLive, "g-live", "u-2", base.Add(time.Hour+time.Minute))), nil)
	is(t, "approve e-other", s.ApproveElevation(ctx, approval(eOther, "g-other", "u-1", base.Add(time.Minute))), nil)

	at := base.Add(2*time.Hour + 30*time.Minute)
	rev, err := db.B.DisableUser(ctx, "t-1", "u-1", at)
	if err != nil || !slices.Equal(rev.Grants, []string{"g-live"}) {
		t.Fatalf("disable: %+v, %v; want grant g-live revoked", rev, err)
	}
	gs, err := s.Grants(ctx, "t-1", "u-1")
	if err != nil || len(gs) != 2 || gs[0].ID != "g-standing" || gs[1].ID != "g-old" {
		t.Fatalf("grants after disabling %+v, %v; want the standing grant and the ended elevation", gs, err)
	}
	if gs, _ := s.Grants(ctx, "t-1", "u-2"); len(gs) != 1 {
		t.Fatalf("another user's grants after disabling %+v", gs)
	}
	rev, err = s.DisableUser(ctx, "t-1", "u-1", at.Add(time.Hour))
	if err != nil || len(rev.Grants) != 0 {
		t.Fatalf("second disable: %+v, %v", rev, err)
	}
}

// testDisableRacesApprovals: approvals on one node while the user is
// disabled on the other either fail or have their grant revoked by the
// disabling; no elevation grant survives, and nothing deadlocks.
func testDisableRacesApprovals(t *testing.T, db DB) {
	ctx := t.Context()
	mustCreate(t, db.A, user("t-1", "u-1"))
	const n = 8
	for i := range n {
		is(t, "request", db.A.RequestElevation(ctx, elevation("t-1", fmt.Sprint("e-", i), "u-1", base)), nil)
	}
	at := base.Add(time.Minute)
	errs := make([]error, n)
	var rev identity.Revoked
	var derr error
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			e, _ := db.B.Elevation(ctx, "t-1", fmt.Sprint("e-", i))
			<-start
			errs[i] = db.B.ApproveElevation(ctx, approval(e, fmt.Sprint("g-", i), "u-2", at))
		})
	}
	wg.Go(func() {
		<-start
		rev, derr = db.A.DisableUser(ctx, "t-1", "u-1", at)
	})
	close(start)
	wg.Wait()
	if derr != nil {
		t.Fatal(derr)
	}
	var approved []string
	for i, err := range errs {
		switch {
		case err == nil:
			approved = append(approved, fmt.Sprint("g-", i))
		case !errors.Is(err, identity.ErrDisabled) && !errors.Is(err, identity.ErrConflict):
			t.Fatalf("approval %d: %v, want success, ErrDisabled or ErrConflict", i, err)
		}
	}
	got := slices.Clone(rev.Grants)
	slices.Sort(got)
	slices.Sort(approved)
	if !slices.Equal(got, approved) || len(rev.Elevations) != n-len(approved) {
		t.Fatalf("revoked grants %q and requests %q; approved %q", rev.Grants, rev.Elevations, approved)
	}
	if gs, err := db.A.Grants(ctx, "t-1", "u-1"); err != nil || len(gs) != 0 {
		t.Fatalf("grants after the disabling %+v, %v", gs, err)
	}
}
