package admin_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/admin"
)

// TestOpenAPIDeclaresEveryRoute: every registered route is in the
// fragment with exactly one of an action and security: [], and every
// operation of the fragment is registered.
func TestOpenAPIDeclaresEveryRoute(t *testing.T) {
	e := newEnv(t)
	rt := api.NewRouter()
	e.svc.Register(rt)
	access, err := api.OpenAPIAccess(admin.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := api.OpenAPIRoutes(admin.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ops, rt.Patterns()) {
		t.Fatalf("documented %q\nregistered %q", ops, rt.Patterns())
	}
	for pattern, a := range access {
		if !a.Declared() {
			t.Errorf("%s declares no action", pattern)
		}
		if a.Action != "" && !authz.Action(a.Action).Valid() {
			t.Errorf("%s declares unknown action %q", pattern, a.Action)
		}
	}
	if a := access["POST /v1/invitations/redeem"]; !a.Public {
		t.Error("the redemption of an invitation is not public")
	}
}

// TestFirstAdminBootstrapsAndGrants: the first administrator's standing
// grant does not count by itself; they elevate by break-glass (which
// alerts), create a user with the sender role and grant another role;
// granting themselves a role is refused.
func TestFirstAdminBootstrapsAndGrants(t *testing.T) {
	e := newEnv(t)
	id, tok, err := e.svc.CreateFirstAdmin(t.Context(), tenant, "ada@example.org", "Ada Admin", "platform")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CreateFirstAdmin(t.Context(), tenant, "eve@example.org", "Eve", "platform"); !errors.Is(err, identity.ErrExists) {
		t.Fatalf("a second first administrator: %v", err)
	}
	if pol, _ := e.store.Policy(t.Context(), tenant); !slices.Equal(pol.BreakGlass, []string{id}) {
		t.Fatalf("break-glass list %q, want the first administrator", pol.BreakGlass)
	}
	want(t, "redeem", e.do("", "POST", "/v1/invitations/redeem", admin.RedeemRequest{Token: tok, Password: goodPassword}), http.StatusNoContent)
	// The standing tenant-admin grant does not count under the default
	// policy: privileged roles come by elevation.
	w := e.do(id, "POST", "/v1/users", admin.CreateUserRequest{Email: "bob@example.org", Name: "Bob"})
	want(t, "create a user before elevating", w, http.StatusForbidden)

	g := e.elevate(id, authz.RoleTenantAdmin, "")
	if !g.BreakGlass || !g.Active || g.GrantedBy != id {
		t.Fatalf("break-glass grant %+v", g)
	}
	if len(e.alerts) != 1 || e.alerts[0].Details["break_glass"] != "true" || e.alerts[0].Type != auditlog.AdminElevated {
		t.Fatalf("alerts %+v, want one break-glass elevation", e.alerts)
	}
	if evs := e.rec.of(auditlog.AdminElevated); len(evs) != 1 || evs[0].Details["break_glass"] != "true" || evs[0].Policy.Rule != "break-glass" {
		t.Fatalf("elevation events %+v", evs)
	}

	bob, bobTok := e.createUser(id, "bob@example.org", authz.RoleSender)
	if bobTok == "" || !strings.HasPrefix(bobTok, "sgi_") {
		t.Fatalf("invitation token %q", bobTok)
	}
	if !e.allowed(bob, authz.ActionEnvelopeSend) || e.allowed(bob, authz.ActionEnvelopeApprove) {
		t.Fatal("bob's sender grant is not in force as it should be")
	}
	w = e.do(id, "POST", "/v1/users/"+bob+"/grants", admin.GrantRequest{Role: authz.RoleApprover})
	want(t, "grant approver", w, http.StatusCreated)
	if !e.allowed(bob, authz.ActionEnvelopeApprove) {
		t.Fatal("the approver grant is not in force")
	}
	// Nobody grants a role to themselves, even a tenant-admin.
	w = e.do(id, "POST", "/v1/users/"+id+"/grants", admin.GrantRequest{Role: authz.RoleAuditor})
	want(t, "self-grant", w, http.StatusForbidden)
	if !strings.Contains(decode[api.Problem](t, w).Detail, "themselves") {
		t.Fatalf("self-grant refusal %s", w.Body)
	}
	// A privileged role is not granted standing.
	w = e.do(id, "POST", "/v1/users/"+bob+"/grants", admin.GrantRequest{Role: authz.RoleKeyCustodian})
	want(t, "standing key-custodian", w, http.StatusUnprocessableEntity)
	// A user without role.admin grants nothing.
	w = e.do(bob, "POST", "/v1/users/"+id+"/grants", admin.GrantRequest{Role: authz.RoleSender})
	want(t, "grant by a sender", w, http.StatusForbidden)

	u := decode[admin.User](t, e.do(id, "GET", "/v1/users/"+bob, nil))
	var roles []string
	approver := ""
	for _, g := range u.Grants {
		roles = append(roles, g.Role)
		if g.Role == authz.RoleApprover && g.Active && g.GrantedBy == id {
			approver = g.ID
		}
	}
	if slices.Sort(roles); !slices.Equal(roles, []string{authz.RoleApprover, authz.RoleSender}) || approver == "" {
		t.Fatalf("bob's grants %+v", u.Grants)
	}
	// Revoke the approver grant.
	want(t, "revoke", e.do(id, "DELETE", "/v1/users/"+bob+"/grants/"+approver, nil), http.StatusNoContent)
	want(t, "revoke again", e.do(id, "DELETE", "/v1/users/"+bob+"/grants/"+approver, nil), http.StatusNotFound)
	if e.allowed(bob, authz.ActionEnvelopeApprove) {
		t.Fatal("a revoked grant is in force")
	}
	if n := len(e.rec.of(auditlog.RoleGranted)); n != 3 {
		t.Fatalf("%d role.granted events, want 3 (first admin, bob's sender, bob's approver)", n)
	}
	if evs := e.rec.of(auditlog.RoleRevoked); len(evs) != 1 || evs[0].Details["user_id"] != bob {
		t.Fatalf("role.revoked events %+v", evs)
	}
	for _, ev := range e.rec.of(auditlog.UserCreated) {
		for k, v := range ev.Details {
			if strings.Contains(v, "sgi_") || strings.Contains(v, goodPassword) {
				t.Fatalf("event detail %s holds a secret", k)
			}
		}
	}
	// Listing pages by id.
	page := decode[struct {
		Users []admin.User `json:"users"`
		Next  string       `json:"next"`
	}](t, e.do(id, "GET", "/v1/users?limit=1", nil))
	if len(page.Users) != 1 || page.Next == "" {
		t.Fatalf("first page %+v", page)
	}
	page2 := decode[struct {
		Users []admin.User `json:"users"`
	}](t, e.do(id, "GET", "/v1/users?limit=1&after="+page.Next, nil))
	if len(page2.Users) != 1 || page2.Users[0].ID == page.Users[0].ID {
		t.Fatalf("second page %+v", page2)
	}
}

// TestElevationExpiresWithoutRestart: a request approved by another
// administrator gives an active grant, which stops counting at its
// NotAfter by the clock alone.
func TestElevationExpiresWithoutRestart(t *testing.T) {
	e := newEnv(t)
	ada := e.bootstrap()
	carol, _ := e.createUser(ada, "carol@example.org")
	if e.allowed(carol, authz.ActionKeyAdmin) {
		t.Fatal("carol holds key.admin before any elevation")
	}
	w := e.do(carol, "POST", "/v1/elevations", admin.ElevationBody{Role: authz.RoleKeyCustodian, Reason: "rotate the seal key", DurationSeconds: 1800})
	want(t, "request", w, http.StatusCreated)
	el := decode[admin.Elevation](t, w)
	list := decode[struct {
		Elevations []admin.Elevation `json:"elevations"`
	}](t, e.do(ada, "GET", "/v1/elevations", nil))
	if len(list.Elevations) != 1 || list.Elevations[0].ID != el.ID || list.Elevations[0].Status != "pending" {
		t.Fatalf("pending list %+v", list)
	}
	want(t, "list by a user without role.admin", e.do(carol, "GET", "/v1/elevations", nil), http.StatusForbidden)

	e.clock.Add(time.Minute)
	w = e.do(ada, "POST", "/v1/elevations/"+el.ID+"/approve", nil)
	want(t, "approve", w, http.StatusOK)
	g := decode[admin.Grant](t, w)
	if !g.Active || g.BreakGlass || g.GrantedBy != ada || !g.NotAfter.Equal(e.clock.Now().Add(30*time.Minute)) {
		t.Fatalf("grant %+v", g)
	}
	if !e.allowed(carol, authz.ActionKeyAdmin) {
		t.Fatal("the approved elevation is not in force")
	}
	want(t, "approve again", e.do(ada, "POST", "/v1/elevations/"+el.ID+"/approve", nil), http.StatusConflict)
	if len(e.alerts) != 1 {
		t.Fatalf("an ordinary approval alerted: %+v", e.alerts)
	}

	e.clock.Add(30*time.Minute - time.Nanosecond)
	if !e.allowed(carol, authz.ActionKeyAdmin) {
		t.Fatal("the grant ended before its NotAfter")
	}
	e.clock.Add(time.Nanosecond)
	if e.allowed(carol, authz.ActionKeyAdmin) {
		t.Fatal("the grant is in force at its NotAfter")
	}
	u := decode[admin.User](t, e.do(ada, "GET", "/v1/users/"+carol, nil))
	if len(u.Grants) != 1 || u.Grants[0].Active || u.Grants[0].ElevationID != el.ID {
		t.Fatalf("carol's grants after expiry %+v", u.Grants)
	}
}

// TestSelfApproval: nobody approves their own request, through either
// route, unless the policy lists them for break-glass; then it alerts.
func TestSelfApproval(t *testing.T) {
	e := newEnv(t)
	ada := e.bootstrap()
	dan, _ := e.createUser(ada, "dan@example.org")
	// Dan becomes a tenant-admin by ada's approval: he holds role.admin
	// but is not on the break-glass list.
	e.elevate(dan, authz.RoleTenantAdmin, ada)
	w := e.do(dan, "POST", "/v1/elevations", admin.ElevationBody{Role: authz.RoleAuditor, Reason: "review", DurationSeconds: 600})
	want(t, "request", w, http.StatusCreated)
	el := decode[admin.Elevation](t, w)
	want(t, "self-approval", e.do(dan, "POST", "/v1/elevations/"+el.ID+"/approve", nil), http.StatusForbidden)
	want(t, "self break-glass off the list", e.do(dan, "POST", "/v1/elevations/"+el.ID+"/break-glass", nil), http.StatusForbidden)
	want(t, "break-glass of another's request", e.do(ada, "POST", "/v1/elevations/"+el.ID+"/break-glass", nil), http.StatusForbidden)
	want(t, "self-denial", e.do(dan, "POST", "/v1/elevations/"+el.ID+"/deny", nil), http.StatusForbidden)
	if got, _ := e.store.Elevation(t.Context(), tenant, el.ID); got.Status != identity.ElevationPending {
		t.Fatalf("refused approvals changed the request: %+v", got)
	}
	alerts := len(e.alerts)
	// Ada is on the list: her self-approval through /approve is
	// break-glass too, and alerts.
	w = e.do(ada, "POST", "/v1/elevations", admin.ElevationBody{Role: authz.RoleAuditor, Reason: "incident 9", DurationSeconds: 600})
	want(t, "ada's request", w, http.StatusCreated)
	ael := decode[admin.Elevation](t, w)
	w = e.do(ada, "POST", "/v1/elevations/"+ael.ID+"/approve", nil)
	want(t, "ada's self-approval", w, http.StatusOK)
	if g := decode[admin.Grant](t, w); !g.BreakGlass {
		t.Fatalf("self-approved grant %+v not marked break-glass", g)
	}
	if len(e.alerts) != alerts+1 {
		t.Fatal("a break-glass self-approval did not alert")
	}
	// Denial by another administrator.
	w = e.do(ada, "POST", "/v1/elevations/"+el.ID+"/deny", nil)
	want(t, "deny", w, http.StatusOK)
	if d := decode[admin.Elevation](t, w); d.Status != "denied" || d.DecidedBy != ada {
		t.Fatalf("denied %+v", d)
	}
	if evs := e.rec.of(auditlog.ElevationDenied); len(evs) != 1 || evs[0].Details["elevation_id"] != el.ID {
		t.Fatalf("denial events %+v", evs)
	}
	want(t, "approve a denied request", e.do(ada, "POST", "/v1/elevations/"+el.ID+"/approve", nil), http.StatusConflict)
	// Step-up: an approval without a recent strong authentication.
	w = e.do(dan, "POST", "/v1/elevations", admin.ElevationBody{Role: authz.RoleAuditor, Reason: "again", DurationSeconds: 600})
	el2 := decode[admin.Elevation](t, w)
	w = e.do(ada, "POST", "/v1/elevations/"+el2.ID+"/approve", nil, "X-Test-Weak", "1")
	want(t, "approval without step-up", w, http.StatusUnauthorized)
	if pt := problemType(t, w); pt != "step-up-required" {
		t.Fatalf("problem %s", pt)
	}
}

// TestElevationBounds: a duration over the cap (the built-in or the
// tenant's), an unknown role or no reason is refused; a request waiting
// longer than authz.PendingElevationTTL is listed expired and refused.
func TestElevationBounds(t *testing.T) {
	e := newEnv(t)
	ada := e.bootstrap()
	bob, _ := e.createUser(ada, "bob@example.org")
	for _, c := range []struct {
		name string
		body admin.ElevationBody
	}{
		{"over the cap", admin.ElevationBody{Role: authz.RoleAuditor, Reason: "x", DurationSeconds: int64((authz.ElevationCap + time.Second) / time.Second)}},
		{"zero", admin.ElevationBody{Role: authz.RoleAuditor, Reason: "x"}},
		{"unknown role", admin.ElevationBody{Role: "root", Reason: "x", DurationSeconds: 60}},
		{"no reason", admin.ElevationBody{Role: authz.RoleAuditor, Reason: "  ", DurationSeconds: 60}},
	} {
		want(t, c.name, e.do(bob, "POST", "/v1/elevations", c.body), http.StatusUnprocessableEntity)
	}
	want(t, "at the cap", e.do(bob, "POST", "/v1/elevations", admin.ElevationBody{Role: authz.RoleAuditor, Reason: "x",
		DurationSeconds: int64(authz.ElevationCap / time.Second)}), http.StatusCreated)
	// The tenant lowers its cap to an hour.
	pol := decode[admin.PolicyBody](t, e.do(ada, "GET", "/v1/policy", nil))
	pol.MaxElevationSeconds = 3600
	want(t, "lower the cap", e.do(ada, "PUT", "/v1/policy", pol, "If-Match", `"1"`), http.StatusOK)
	want(t, "over the tenant's cap", e.do(bob, "POST", "/v1/elevations", admin.ElevationBody{Role: authz.RoleAuditor, Reason: "x", DurationSeconds: 3601}), http.StatusUnprocessableEntity)
	// The request made under the old cap no longer fits: refused.
	list := decode[struct {
		Elevations []admin.Elevation `json:"elevations"`
	}](t, e.do(ada, "GET", "/v1/elevations", nil))
	if len(list.Elevations) != 1 {
		t.Fatalf("pending %+v", list)
	}
	want(t, "approve over the new cap", e.do(ada, "POST", "/v1/elevations/"+list.Elevations[0].ID+"/approve", nil), http.StatusConflict)

	w := e.do(bob, "POST", "/v1/elevations", admin.ElevationBody{Role: authz.RoleAuditor, Reason: "x", DurationSeconds: 60})
	want(t, "request", w, http.StatusCreated)
	el := decode[admin.Elevation](t, w)
	e.clock.Add(authz.PendingElevationTTL)
	// Ada's own elevation ended long ago: she elevates again.
	e.elevate(ada, authz.RoleTenantAdmin, "")
	list = decode[struct {
		Elevations []admin.Elevation `json:"elevations"`
	}](t, e.do(ada, "GET", "/v1/elevations", nil))
	if len(list.Elevations) != 2 || !slices.ContainsFunc(list.Elevations, func(x admin.Elevation) bool { return x.ID == el.ID && x.Status == "expired" }) {
		t.Fatalf("pending after the TTL %+v", list)
	}
	w = e.do(ada, "POST", "/v1/elevations/"+el.ID+"/approve", nil)
	want(t, "approve an expired request", w, http.StatusConflict)
	if pt := problemType(t, w); pt != "elevation-expired" {
		t.Fatalf("problem %s", pt)
	}
}

// TestDisableUser: offboarding revokes sessions, pending and active
// elevations, invitations, and (through Offboard) API keys, in one
// request recorded before and after; a disabled user's invitation does
// not work; nobody disables themselves.
func TestDisableUser(t *testing.T) {
	e := newEnv(t)
	ada := e.bootstrap()
	bob, bobTok := e.createUser(ada, "bob@example.org", authz.RoleSender)
	// Bob would have logged in: two sessions.
	for i, tok := range []string{"s1", "s2"} {
		s := identity.Session{Hash: [32]byte{byte(i + 1)}, UserID: bob, Tenant: tenant, CreatedAt: e.clock.Now(), LastSeen: e.clock.Now(),
			ExpiresAt: e.clock.Now().Add(time.Hour), IdleTimeout: time.Minute, CSRFHash: [32]byte{9, byte(i)}}
		if err := e.store.CreateSession(t.Context(), s); err != nil {
			t.Fatalf("session %s: %v", tok, err)
		}
	}
	active := e.elevate(bob, authz.RoleAuditor, ada)
	w := e.do(bob, "POST", "/v1/elevations", admin.ElevationBody{Role: authz.RoleKeyCustodian, Reason: "later", DurationSeconds: 60})
	pending := decode[admin.Elevation](t, w)
	if !e.allowed(bob, authz.ActionAuditRead) {
		t.Fatal("bob's elevation is not in force")
	}
	want(t, "self-disable", e.do(ada, "POST", "/v1/users/"+ada+"/disable", nil), http.StatusForbidden)
	want(t, "disable by a sender", e.do(bob, "POST", "/v1/users/"+ada+"/disable", nil), http.StatusForbidden)

	w = e.do(ada, "POST", "/v1/users/"+bob+"/disable", nil)
	want(t, "disable", w, http.StatusOK)
	off := decode[admin.Offboarding](t, w)
	if off.Sessions != 2 || !slices.Equal(off.Elevations, []string{pending.ID}) || !slices.Equal(off.Grants, []string{active.ID}) ||
		off.Invitations != 1 || !slices.Equal(off.Credentials, []string{"key-of-" + bob}) {
		t.Fatalf("offboarding %+v", off)
	}
	if !slices.Equal(e.offboard, []string{tenant + "/" + bob}) {
		t.Fatalf("Offboard calls %q", e.offboard)
	}
	if hs, _ := e.store.DeleteSessions(t.Context(), tenant, bob); len(hs) != 0 {
		t.Fatalf("%d sessions survived", len(hs))
	}
	if el, _ := e.store.Elevation(t.Context(), tenant, pending.ID); el.Status != identity.ElevationRevoked {
		t.Fatalf("pending request %+v", el)
	}
	if e.allowed(bob, authz.ActionAuditRead) {
		t.Fatal("the disabled user's elevation is still in force")
	}
	dis, off2 := e.rec.of(auditlog.UserDisabled), e.rec.of(auditlog.UserOffboarded)
	if len(dis) != 1 || len(off2) != 1 || off2[0].Details["grants"] != active.ID || off2[0].Details["credentials"] != "key-of-"+bob ||
		off2[0].Details["sessions"] != "2" || off2[0].Outcome != auditlog.OutcomeSuccess {
		t.Fatalf("disable events %+v, %+v", dis, off2)
	}
	// The invitation of a disabled user does not work.
	w = e.do("", "POST", "/v1/invitations/redeem", admin.RedeemRequest{Token: bobTok, Password: goodPassword})
	want(t, "redeem after disable", w, http.StatusNotFound)
	want(t, "re-invite a disabled user", e.do(ada, "POST", "/v1/users/"+bob+"/invitation", nil), http.StatusConflict)
	want(t, "grant to a disabled user", e.do(ada, "POST", "/v1/users/"+bob+"/grants", admin.GrantRequest{Role: authz.RoleApprover}), http.StatusConflict)
}

// TestInvitations: a weak password is refused without using the token;
// a token works once; a re-invitation is for users without a password.
func TestInvitations(t *testing.T) {
	e := newEnv(t)
	ada := e.bootstrap()
	bob, tok := e.createUser(ada, "bob@example.org")
	for _, c := range []struct {
		name, pw string
		code     int
	}{
		{"too short", "short", http.StatusUnprocessableEntity},
		{"common", "password1234", http.StatusUnprocessableEntity},
		{"built on the name", "bob@example.org!", http.StatusUnprocessableEntity},
	} {
		w := e.do("", "POST", "/v1/invitations/redeem", admin.RedeemRequest{Token: tok, Password: c.pw})
		want(t, c.name, w, c.code)
	}
	want(t, "unknown token", e.do("", "POST", "/v1/invitations/redeem", admin.RedeemRequest{Token: "sgi_nope", Password: goodPassword}), http.StatusNotFound)
	want(t, "redeem", e.do("", "POST", "/v1/invitations/redeem", admin.RedeemRequest{Token: tok, Password: goodPassword}), http.StatusNoContent)
	want(t, "redeem again", e.do("", "POST", "/v1/invitations/redeem", admin.RedeemRequest{Token: tok, Password: goodPassword + "x"}), http.StatusNotFound)
	if u, _ := e.store.UserByID(t.Context(), tenant, bob); u.PasswordHash == "" || strings.Contains(u.PasswordHash, goodPassword) {
		t.Fatalf("password hash %q", u.PasswordHash)
	}
	want(t, "re-invite a user with a password", e.do(ada, "POST", "/v1/users/"+bob+"/invitation", nil), http.StatusConflict)
	carol, ctok := e.createUser(ada, "carol@example.org")
	e.clock.Add(admin.DefaultInvitationTTL)
	want(t, "expired token", e.do("", "POST", "/v1/invitations/redeem", admin.RedeemRequest{Token: ctok, Password: goodPassword}), http.StatusNotFound)
	e.elevate(ada, authz.RoleTenantAdmin, "")
	w := e.do(ada, "POST", "/v1/users/"+carol+"/invitation", nil)
	want(t, "re-invite", w, http.StatusCreated)
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatal("an invitation token may be cached")
	}
	want(t, "redeem the new token", e.do("", "POST", "/v1/invitations/redeem", admin.RedeemRequest{Token: decode[admin.Invitation](t, w).Token, Password: goodPassword}), http.StatusNoContent)
	if n := len(e.rec.of(auditlog.UserInvitationRedeemed)); n != 3 {
		t.Fatalf("%d redemption events, want 3", n)
	}
	// No event holds a token or a password, in clear or sensitive fields.
	for _, ev := range e.rec.events {
		for _, m := range []map[string]string{ev.Details, ev.Sensitive} {
			for k, v := range m {
				if strings.Contains(v, "sgi_") || strings.Contains(v, tok[4:]) || strings.Contains(v, goodPassword) || strings.Contains(v, "$argon2id$") {
					t.Fatalf("%s event field %s holds a secret: %q", ev.Type, k, v)
				}
			}
		}
	}
}

// TestPolicy: reading gives the version as ETag; an update needs
// If-Match with the current version; custom roles are validated and can
// then be granted.
func TestPolicy(t *testing.T) {
	e := newEnv(t)
	ada := e.bootstrap()
	w := e.do(ada, "GET", "/v1/policy", nil)
	want(t, "get", w, http.StatusOK)
	if w.Header().Get("ETag") != `"1"` {
		t.Fatalf("ETag %q after the first administrator's entry", w.Header().Get("ETag"))
	}
	pol := decode[admin.PolicyBody](t, w)
	if !slices.Equal(pol.BreakGlass, []string{ada}) {
		t.Fatalf("policy %+v", pol)
	}
	pol.Roles = []admin.RoleBody{{Name: "envelope-clerk", Actions: []string{"envelope.read", "envelope.send"}}}
	want(t, "no If-Match", e.do(ada, "PUT", "/v1/policy", pol), http.StatusPreconditionRequired)
	want(t, "malformed If-Match", e.do(ada, "PUT", "/v1/policy", pol, "If-Match", "1"), http.StatusPreconditionFailed)
	want(t, "stale If-Match", e.do(ada, "PUT", "/v1/policy", pol, "If-Match", `"0"`), http.StatusPreconditionFailed)
	w = e.do(ada, "PUT", "/v1/policy", pol, "If-Match", `"1"`)
	want(t, "put", w, http.StatusOK)
	if w.Header().Get("ETag") != `"2"` {
		t.Fatalf("ETag after update %q", w.Header().Get("ETag"))
	}
	want(t, "put the same version again", e.do(ada, "PUT", "/v1/policy", pol, "If-Match", `"1"`), http.StatusPreconditionFailed)
	for _, c := range []struct {
		name string
		role admin.RoleBody
	}{
		{"built-in name", admin.RoleBody{Name: "sender", Actions: []string{"audit.read"}}},
		{"platform action", admin.RoleBody{Name: "boss", Actions: []string{"tenant.admin"}}},
		{"unknown action", admin.RoleBody{Name: "boss", Actions: []string{"everything"}}},
		{"no action", admin.RoleBody{Name: "boss"}},
		{"bad name", admin.RoleBody{Name: "Boss!", Actions: []string{"audit.read"}}},
	} {
		bad := pol
		bad.Roles = []admin.RoleBody{c.role}
		w := e.do(ada, "PUT", "/v1/policy", bad, "If-Match", `"2"`)
		want(t, c.name, w, http.StatusUnprocessableEntity)
	}
	if r, _ := e.store.PolicyRecord(t.Context(), tenant); r.Version != 2 {
		t.Fatalf("refused updates moved the version to %d", r.Version)
	}
	bob, _ := e.createUser(ada, "bob@example.org", "envelope-clerk")
	if !e.allowed(bob, authz.ActionEnvelopeSend) || e.allowed(bob, authz.ActionEnvelopePrepare) {
		t.Fatal("the custom role's grant does not hold exactly its actions")
	}
	// A policy change needs policy.admin.
	want(t, "put by a clerk", e.do(bob, "PUT", "/v1/policy", pol, "If-Match", `"2"`), http.StatusForbidden)
	if evs := e.rec.of(auditlog.AdminPolicyChanged); len(evs) != 2 || evs[1].Details["version"] != "2" || evs[1].Actor.ID != ada {
		t.Fatalf("policy events %+v", evs)
	}
}

// TestAuditFailsClosed: without an audit record nothing changes.
func TestAuditFailsClosed(t *testing.T) {
	e := newEnv(t)
	ada := e.bootstrap()
	bob, _ := e.createUser(ada, "bob@example.org")
	e.rec.setFail(true)
	want(t, "create user", e.do(ada, "POST", "/v1/users", admin.CreateUserRequest{Email: "carol@example.org"}), http.StatusServiceUnavailable)
	want(t, "grant", e.do(ada, "POST", "/v1/users/"+bob+"/grants", admin.GrantRequest{Role: authz.RoleSender}), http.StatusServiceUnavailable)
	want(t, "disable", e.do(ada, "POST", "/v1/users/"+bob+"/disable", nil), http.StatusServiceUnavailable)
	want(t, "request", e.do(bob, "POST", "/v1/elevations", admin.ElevationBody{Role: authz.RoleAuditor, Reason: "x", DurationSeconds: 60}), http.StatusServiceUnavailable)
	e.rec.setFail(false)
	if _, err := e.store.UserByEmail(t.Context(), tenant, "carol@example.org"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("a user was created without a record: %v", err)
	}
	if u, _ := e.store.UserByID(t.Context(), tenant, bob); u.Status != identity.StatusActive {
		t.Fatal("a user was disabled without a record")
	}
	if gs, _ := e.store.Grants(t.Context(), tenant, bob); len(gs) != 0 {
		t.Fatalf("a grant was stored without a record: %+v", gs)
	}
	if ps, _ := e.store.PendingElevations(t.Context(), tenant); len(ps) != 0 {
		t.Fatalf("a request was stored without a record: %+v", ps)
	}
}

// TestTenantIsolation: a principal of another tenant reaches nothing.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	ada := e.bootstrap()
	bob, _ := e.createUser(ada, "bob@example.org")
	w := e.do(ada, "GET", "/v1/users/"+bob, nil, "X-Test-Tenant", "t-2")
	if w.Code != http.StatusForbidden && w.Code != http.StatusNotFound {
		t.Fatalf("another tenant's user: %d %s", w.Code, w.Body)
	}
	want(t, "no principal", e.do("", "GET", "/v1/users", nil), http.StatusUnauthorized)
}
