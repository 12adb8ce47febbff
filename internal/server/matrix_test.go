package server_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/login"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/workflow"
)

// matrixRouteStepUp lists the routes that demand a recent strong
// authentication beyond their action's rule: removing a second factor and
// issuing new recovery codes.
var matrixRouteStepUp = []string{"DELETE /v1/me/mfa/totp", "POST /v1/me/recovery-codes"}

// matrixTenant is one tenant of the HTTP matrix: its id, a sender key,
// and the ids of the resources its routes name.
type matrixTenant struct {
	id, key                       string
	doc, envelope, recipient      string
	keyID, user, grant, elevation string
	// spare is a tenant of its own that DELETE /v1/tenants/{id} names, so
	// that an allowed deletion leaves the matrix's tenant in place.
	spare string
}

// session stores a fresh session of user in the identity store and
// returns its cookie value and CSRF token: strong says whether its last
// strong authentication (TOTP) is recent enough for a step-up.
func session(t *testing.T, st identity.Store, tenant, user string, strong bool) (string, string) {
	t.Helper()
	tok, csrf := make([]byte, 32), make([]byte, 32)
	rand.Read(tok)
	rand.Read(csrf)
	cookie, header := base64.RawURLEncoding.EncodeToString(tok), base64.RawURLEncoding.EncodeToString(csrf)
	now := time.Now().UTC()
	strongAt := now.Add(-2 * time.Hour)
	if strong {
		strongAt = now.Add(-time.Minute)
	}
	s := identity.Session{Hash: sha256.Sum256([]byte(cookie)), UserID: user, Tenant: tenant, CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(time.Hour), IdleTimeout: 30 * time.Minute, StrongAuthMethod: "totp", StrongAuthAt: strongAt,
		CSRFHash: sha256.Sum256([]byte(header))}
	if err := st.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return cookie, header
}

// matrixUser creates user with the built-in role: a standing grant, or
// for a privileged role an elevation approved by someone else, and a
// confirmed TOTP enrolment (MFA applies to everyone holding a role).
func matrixUser(t *testing.T, st identity.Store, tenant, user, role string) {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC()
	if err := st.CreateUser(ctx, identity.User{ID: user, Tenant: tenant, Email: user + "@example.com", Status: identity.StatusActive, CreatedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetTOTP(ctx, tenant, identity.TOTPEnrolment{UserID: user, SealedSecret: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	if err := st.AcceptTOTPStep(ctx, tenant, user, 1, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	r, _ := authz.TenantPolicy{Tenant: tenant}.Role(role)
	if !r.Privileged() {
		if err := st.AddGrant(ctx, identity.Grant{ID: "g-" + user, Tenant: tenant, UserID: user, Role: role, GrantedBy: "u-boss", GrantedAt: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		return
	}
	e := identity.Elevation{ID: "e-" + user, Tenant: tenant, Role: role, RequestedBy: user, Reason: "the matrix",
		Duration: 2 * time.Hour, RequestedAt: now.Add(-2 * time.Minute), Status: identity.ElevationPending}
	if err := st.RequestElevation(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := st.ApproveElevation(ctx, identity.Grant{ID: "g-" + user, Tenant: tenant, UserID: user, Role: role, GrantedBy: "u-boss",
		GrantedAt: now.Add(-time.Minute), NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour), ElevationID: e.ID}); err != nil {
		t.Fatal(err)
	}
}

// newMatrixTenant creates a tenant with a sender key, a document, an
// envelope awaiting approval (submitted by the key), a target user with a
// grant and a pending elevation, and a user of every built-in role.
func newMatrixTenant(t *testing.T, r *running, st identity.Store, admin, name string) matrixTenant {
	t.Helper()
	res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": name})
	var tn accounts.Tenant
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &tn) != nil {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	m := matrixTenant{id: tn.ID}
	res = r.do("POST", "/v1/tenants", admin, map[string]string{"name": name + " (to delete)"})
	var spare accounts.Tenant
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &spare) != nil {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	m.spare = spare.ID
	res = r.do("POST", "/v1/tenants/"+tn.ID+"/api-keys", admin, map[string]any{"name": "sender", "roles": []string{"sender"}})
	var key struct{ ID, Secret string }
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &key) != nil {
		t.Fatalf("create key: %d %s", res.status, res.body)
	}
	m.key, m.keyID = key.Secret, key.ID
	d, _ := r.uploadSample(m.key, "Matrix "+name)
	m.doc = d.ID
	res = r.do("POST", "/v1/envelopes", m.key, map[string]any{"subject": "Matrix", "documents": []string{d.ID}, "approval_required": true,
		"recipients": []map[string]any{{"role": "signer", "name": "Sam", "email": "sam@example.com", "routing_order": 1}}})
	var env workflow.Envelope
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &env) != nil {
		t.Fatalf("create envelope: %d %s", res.status, res.body)
	}
	m.envelope, m.recipient = env.ID, env.Recipients[0].ID
	if res = r.do("POST", "/v1/envelopes/"+env.ID+"/send", m.key, nil); res.status != http.StatusOK {
		t.Fatalf("submit envelope: %d %s", res.status, res.body)
	}
	m.user = "u-target-" + name
	matrixUser(t, st, tn.ID, m.user, authz.RoleSender)
	m.grant = "g-" + m.user
	m.elevation = "e-target-" + name
	if err := st.RequestElevation(t.Context(), identity.Elevation{ID: m.elevation, Tenant: tn.ID, Role: authz.RoleAuditor, RequestedBy: m.user,
		Reason: "quarterly audit", Duration: time.Hour, RequestedAt: time.Now().UTC(), Status: identity.ElevationPending}); err != nil {
		t.Fatal(err)
	}
	for _, role := range authz.BuiltinRoles() {
		matrixUser(t, st, tn.ID, "u-"+role.Name+"-"+name, role.Name)
	}
	return m
}

// path fills pattern's wildcards with tenant m's resources.
func (m matrixTenant) path(pattern string) string {
	if pattern == "DELETE /v1/tenants/{id}" {
		return "/v1/tenants/" + m.spare
	}
	_, p, _ := strings.Cut(pattern, " ")
	id := map[string]string{"/v1/documents/": m.doc, "/v1/envelopes/": m.envelope, "/v1/users/": m.user,
		"/v1/api-keys/": m.keyID, "/v1/elevations/": m.elevation, "/v1/tenants/": m.id}
	for prefix, v := range id {
		if strings.HasPrefix(p, prefix+"{id}") {
			p = strings.Replace(p, "{id}", v, 1)
		}
	}
	return strings.NewReplacer("{id}", "unknown", "{recipient}", m.recipient, "{document}", m.doc, "{grant}", m.grant).Replace(p)
}

// TestAuthorizationMatrixHTTP sends, for every route the router registers
// (with the action its OpenAPI operation declares), a request as a user
// of every built-in role — in sessions with and without a recent strong
// authentication — naming the resources of the user's own tenant and, for
// routes that name a resource, another tenant's; and as the platform
// administrator. It compares the answers with the hand-written tables
// (authztest, through matrixExpect): a denial must be a 403, a step-up a
// 401 step-up-required, an allowed request must get past authorization,
// and a request naming another tenant's resource must neither succeed nor
// learn its state (no 2xx, no 409). It counts the unexpected allows,
// which must be zero.
func TestAuthorizationMatrixHTTP(t *testing.T) {
	// The matrix sends some thousand requests from one address: the rate
	// limits are raised so that every answer is the authorization's.
	many := api.Rate{PerSecond: 1e5, Burst: 1e5}
	r := start(t, filepath.Join(t.TempDir(), "data"), func(c *server.Config) {
		c.RateLimits = &api.RateLimits{PerIP: many, PerKey: many, SensitiveIP: many, SensitiveKey: many}
	})
	access := routeActions(t, r.srv)
	st := r.srv.IdentityStore()
	admin := r.bootstrapKey()
	own := newMatrixTenant(t, r, st, admin, "own")
	other := newMatrixTenant(t, r, st, admin, "other")
	cookieName := "__Host-" + login.DefaultCookieName

	send := func(method, path, cookie, csrf, bearer string) (int, api.Problem) {
		var body io.Reader
		if method != "GET" && method != "DELETE" {
			body = bytes.NewReader([]byte("{}"))
		}
		req, _ := http.NewRequest(method, r.base+path, body)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
			req.Header.Set(login.CSRFHeader, csrf)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := r.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var p api.Problem
		json.Unmarshal(b, &p)
		return res.StatusCode, p
	}
	cells, allows, unexpectedAllows := 0, 0, 0
	judge := func(cell string, want authz.Effect, status int, p api.Problem) {
		cells++
		switch {
		case want == authz.Allow && status != http.StatusUnauthorized && status != http.StatusForbidden:
			allows++
		case want == authz.Deny && status == http.StatusForbidden:
		case want == authz.StepUpRequired && status == http.StatusUnauthorized && p.Type == api.ProblemBase+"step-up-required":
		case want != authz.Allow && status != http.StatusUnauthorized && status != http.StatusForbidden:
			unexpectedAllows++
			t.Errorf("UNEXPECTED ALLOW: %s: %d %s, want %v", cell, status, p.Type, want)
		default:
			t.Errorf("%s: %d %s (%s), want %v", cell, status, p.Type, p.Detail, want)
		}
	}
	var routes int
	for _, route := range r.srv.Router().Patterns() {
		decl := access[route]
		if decl.Public || strings.HasPrefix(route, "GET /v1/recipient/") || strings.HasPrefix(route, "POST /v1/recipient/") {
			continue // public, or authenticated by recipients' links (internal/signing's tests)
		}
		routes++
		action := authz.Action(decl.Action)
		method, _, _ := strings.Cut(route, " ")
		names := strings.Contains(route, "{")
		for _, role := range authz.BuiltinRoles() {
			for _, strong := range []bool{false, true} {
				cookie, csrf := session(t, st, own.id, "u-"+role.Name+"-own", strong)
				status, p := send(method, own.path(route), cookie, csrf, "")
				want := matrixExpect(role.Name, action, true, strong)
				if want == authz.Allow && !strong && slices.Contains(matrixRouteStepUp, route) {
					want = authz.StepUpRequired
				}
				judge(fmt.Sprintf("%s × %s × own tenant × step-up %v", route, role.Name, strong), want, status, p)
				if !names {
					continue
				}
				// A user of the other tenant names this tenant's resource.
				cookie, csrf = session(t, st, other.id, "u-"+role.Name+"-other", strong)
				status, _ = send(method, own.path(route), cookie, csrf, "")
				cells++
				if status < 300 || status == http.StatusConflict {
					unexpectedAllows++
					t.Errorf("UNEXPECTED ALLOW: %s × %s of another tenant × step-up %v: %d", route, role.Name, strong, status)
				}
			}
		}
		status, p := send(method, own.path(route), "", "", admin)
		judge(route+" × platform administrator", matrixExpect("platform", action, true, false), status, p)
	}
	t.Logf("%d cells over %d routes: %d allowed, %d unexpected allows", cells, routes, allows, unexpectedAllows)
	if routes < 40 || allows == 0 {
		t.Errorf("the matrix covered %d routes and allowed %d requests", routes, allows)
	}
}
