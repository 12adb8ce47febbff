package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/authz/authztest"
	"github.com/signet-pki/signet/internal/server"
)

// checkDeclarations checks that every route the router registers has one
// operation in the served OpenAPI document declaring either an action
// authz knows (x-signet-action) or that it is public (security: []), and
// that every operation is routed. It returns one problem per offending
// route, naming it, and the declarations.
func checkDeclarations(patterns []string, doc []byte) ([]string, map[string]api.Access) {
	access, err := api.OpenAPIAccess(doc)
	if err != nil {
		return []string{err.Error()}, nil
	}
	var problems []string
	for _, p := range patterns {
		a, ok := access[p]
		switch {
		case !ok:
			problems = append(problems, p+": no operation in the OpenAPI document")
		case !a.Declared():
			problems = append(problems, p+": declares neither "+api.ActionExtension+" nor security: []")
		case a.Action != "":
			if _, err := authz.ParseAction(a.Action); err != nil {
				problems = append(problems, p+": "+err.Error())
			}
		}
	}
	for p := range access {
		if !slices.Contains(patterns, p) {
			problems = append(problems, p+": documented but not routed")
		}
	}
	slices.Sort(problems)
	return problems, access
}

// routeActions returns the declarations of the running server's routes,
// failing the test on any problem.
func routeActions(t *testing.T, srv *server.Server) map[string]api.Access {
	t.Helper()
	problems, access := checkDeclarations(srv.Router().Patterns(), srv.OpenAPI())
	for _, p := range problems {
		t.Error(p)
	}
	if len(problems) > 0 {
		t.FailNow()
	}
	return access
}

// TestRouteDeclarations: every route of the router declares its action or
// that it is public; a route that does not is named.
func TestRouteDeclarations(t *testing.T) {
	t.Run("served", func(t *testing.T) {
		r := start(t, filepath.Join(t.TempDir(), "data"), nil)
		access := routeActions(t, r.srv)
		// The served document is the one the router serves at
		// /v1/openapi.json.
		res := r.do("GET", "/v1/openapi.json", "", nil)
		if res.status != http.StatusOK || string(res.body) != string(r.srv.OpenAPI()) {
			t.Fatalf("GET /v1/openapi.json: %d, differs from Server.OpenAPI", res.status)
		}
		if len(access) != len(r.srv.Router().Patterns()) {
			t.Errorf("%d declarations for %d routes", len(access), len(r.srv.Router().Patterns()))
		}
	})
	t.Run("undeclared routes are named", func(t *testing.T) {
		ok := func(w http.ResponseWriter, r *http.Request) {}
		extra := func(mux api.Mux) {
			mux.HandleFunc("GET /v1/extra/undeclared", ok)
			mux.HandleFunc("GET /v1/extra/undocumented", ok)
			mux.HandleFunc("POST /v1/extra/unknown", ok)
			mux.HandleFunc("GET /v1/extra/declared", ok)
		}
		frag := []byte(`{"paths":{
			"/v1/extra/undeclared": {"get": {"responses": {"200": {"description": "ok"}}}},
			"/v1/extra/unknown": {"post": {"x-signet-action": "envelope.teleport", "responses": {"200": {"description": "ok"}}}},
			"/v1/extra/declared": {"get": {"x-signet-action": "envelope.read", "responses": {"200": {"description": "ok"}}}}
		}}`)
		r := start(t, filepath.Join(t.TempDir(), "data"), nil, server.WithRoutes(extra, frag))
		problems, _ := checkDeclarations(r.srv.Router().Patterns(), r.srv.OpenAPI())
		want := []string{
			"GET /v1/extra/undeclared: declares neither x-signet-action nor security: []",
			"GET /v1/extra/undocumented: no operation in the OpenAPI document",
			`POST /v1/extra/unknown: authz: unknown action "envelope.teleport"`,
		}
		if !slices.Equal(problems, want) {
			t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
		}
	})
}

// The tables below, with internal/authz/authztest's, are written by hand,
// independently of internal/authz's data, so that the matrix compares the
// decisions with an expectation and not with themselves.
var (
	// matrixPlatform: what the platform administrator does.
	matrixPlatform = "tenant.admin"
	// matrixPublic: the routes open to anyone.
	matrixPublic = []string{"GET /admin", "GET /healthz", "GET /readyz", "GET /sign", "GET /static/{file...}",
		"GET /v1/auth/oidc/{provider}/callback", "GET /v1/auth/oidc/{provider}/start",
		"GET /v1/openapi.json", "GET /verify", "GET /{$}", "POST /v1/auth/login", "POST /v1/invitations/redeem", "POST /v1/tokens", "POST /v1/verify"}
	// matrixPrincipals: the built-in roles, then a recipient of the
	// envelope acted on, a recipient of another envelope and the platform
	// administrator.
	matrixPrincipals = []string{"sender", "approver", "auditor", "key-custodian", "tenant-admin", "recipient", "recipient-elsewhere", "platform"}
)

// matrixExpect is the decision the matrix expects, from the tables above.
func matrixExpect(who string, action authz.Action, ownTenant, strong bool) authz.Effect {
	a := string(action)
	switch who {
	case "platform":
		if authztest.In(matrixPlatform, a) {
			return authz.Allow
		}
		return authz.Deny
	case "recipient":
		if ownTenant && authztest.In(authztest.Recipient, a) {
			return authz.Allow
		}
		return authz.Deny
	case "recipient-elsewhere":
		return authz.Deny
	}
	if authztest.In(authztest.Self, a) {
		if ownTenant {
			return authz.Allow
		}
		return authz.Deny
	}
	if !ownTenant || !authztest.In(authztest.Roles[a], who) {
		return authz.Deny
	}
	if authztest.In(authztest.AlwaysStepUp, a) && !strong {
		return authz.StepUpRequired
	}
	return authz.Allow
}

// TestAuthorizationMatrix asks authz.Decide, for every route the router
// registers (with the action its OpenAPI operation declares) × every
// built-in role (a user holding a standing grant, privileged roles
// counting), a recipient of the envelope, a recipient of another envelope
// and the platform administrator × own or other
// tenant × with or without a recent strong authentication, and compares
// with the hand-written tables: zero unexpected allows, and no other
// difference either.
func TestAuthorizationMatrix(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	access := routeActions(t, r.srv)
	if len(authztest.Roles) != len(authz.AllActions()) {
		t.Fatalf("the matrix's table has %d actions, authz %d", len(authztest.Roles), len(authz.AllActions()))
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const own, other, env = "tenant-own", "tenant-other", "env-1"
	policy := authz.TenantPolicy{Tenant: own, StandingPrivileged: true}
	var public []string
	cells, unexpectedAllows := 0, 0
	for _, route := range r.srv.Router().Patterns() {
		decl := access[route]
		if decl.Public {
			public = append(public, route)
			continue
		}
		action, err := authz.ParseAction(decl.Action)
		if err != nil {
			t.Fatalf("%s: %v", route, err)
		}
		for _, who := range matrixPrincipals {
			for _, ownTenant := range []bool{true, false} {
				for _, strong := range []bool{false, true} {
					p := authz.Principal{Kind: authz.KindUser, ID: "user-1", Tenant: own}
					switch who {
					case "recipient":
						p = authz.Principal{Kind: authz.KindRecipient, ID: "recipient-1", Tenant: own, Envelope: env}
					case "recipient-elsewhere":
						p = authz.Principal{Kind: authz.KindRecipient, ID: "recipient-2", Tenant: own, Envelope: "env-2"}
					case "platform":
						p = authz.Principal{Kind: authz.KindUser, ID: "admin-1", Platform: true}
					default:
						p.Grants = []authz.Grant{{Role: who, Tenant: own, GrantedBy: "user-0"}}
					}
					if strong {
						p.StrongAuth = authz.Authentication{Method: authz.MethodPasskey, At: now.Add(-time.Minute)}
					}
					req := authz.Request{Action: action, Tenant: own, Envelope: env, EnvelopeSender: "user-2", Subject: "user-3"}
					if authztest.In(authztest.Self, string(action)) {
						// A self-service route acts on the caller's own account.
						req.Subject = p.ID
					}
					if !ownTenant {
						req.Tenant = other
					}
					got := authz.Decide(p, req, policy, now).Effect
					want := matrixExpect(who, action, ownTenant, strong)
					cells++
					if got != want {
						cell := fmt.Sprintf("%s (%s) × %s × own tenant %v × step-up %v", route, action, who, ownTenant, strong)
						if got == authz.Allow {
							unexpectedAllows++
							t.Errorf("UNEXPECTED ALLOW: %s: want %v", cell, want)
						} else {
							t.Errorf("%s: got %v, want %v", cell, got, want)
						}
					}
				}
			}
		}
	}
	if !slices.Equal(public, matrixPublic) {
		t.Errorf("public routes %q, want %q", public, matrixPublic)
	}
	if unexpectedAllows > 0 {
		t.Errorf("%d unexpected allows", unexpectedAllows)
	}
	t.Logf("%d cells over %d routes", cells, len(access)-len(public))
}

// TestSecuritySchemes: every route that is not public uses the API key
// (bearer) or a recipient token, and the recipient routes declare a
// recipient action.
func TestSecuritySchemes(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	access := routeActions(t, r.srv)
	schemes := operationSecurity(t, r.srv.OpenAPI())
	for _, route := range r.srv.Router().Patterns() {
		decl := access[route]
		if decl.Public {
			continue
		}
		switch sch := schemes[route]; {
		case strings.HasPrefix(sch, "recipient"):
			if !authztest.In(authztest.Recipient, decl.Action) {
				t.Errorf("%s (security %s) declares %s, not a recipient action (%s)", route, sch, decl.Action, authztest.Recipient)
			}
		case sch != "apiKey":
			t.Errorf("%s: security %q, want the API key or a recipient token", route, sch)
		}
	}
}

// operationSecurity returns, per operation, the name of the security
// scheme it uses: its own security requirement or the document's.
func operationSecurity(t *testing.T, doc []byte) map[string]string {
	t.Helper()
	var d struct {
		Security []map[string]any                       `json:"security"`
		Paths    map[string]map[string]*json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	name := func(reqs []map[string]any) string {
		var names []string
		for _, r := range reqs {
			for n := range r {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		return strings.Join(names, " ")
	}
	out := map[string]string{}
	for p, ops := range d.Paths {
		for m, raw := range ops {
			var op struct {
				Security *[]map[string]any `json:"security"`
			}
			if raw == nil || json.Unmarshal(*raw, &op) != nil {
				continue
			}
			sec := name(d.Security)
			if op.Security != nil {
				sec = name(*op.Security)
			}
			out[strings.ToUpper(m)+" "+p] = sec
		}
	}
	return out
}

// TestArchitectureRouteTable checks that the route → action table in
// docs/ARCHITECTURE.md is the served OpenAPI document's declarations,
// row for row.
func TestArchitectureRouteTable(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	access := routeActions(t, r.srv)
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- route-actions -->\n")
	table, _, ok2 := strings.Cut(rest, "<!-- /route-actions -->")
	if !ok || !ok2 {
		t.Fatal("docs/ARCHITECTURE.md has no route-actions markers")
	}
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) < 2 || strings.Join(tableCells(lines[0]), "|") != "Route|Action" {
		t.Fatalf("header %q, want | Route | Action |", lines[0])
	}
	var rows []string
	for _, l := range lines[2:] {
		c := tableCells(l)
		if len(c) != 2 {
			t.Errorf("row %q has %d cells", l, len(c))
			continue
		}
		route := strings.Trim(c[0], "`")
		rows = append(rows, route)
		decl, ok := access[route]
		want := "`" + decl.Action + "`"
		if decl.Public {
			want = "public (`security: []`)"
		}
		switch {
		case !ok:
			t.Errorf("the table lists %s, which the router does not serve", route)
		case c[1] != want:
			t.Errorf("%s: the table says %s, the OpenAPI document %s", route, c[1], want)
		}
	}
	if got := r.srv.Router().Patterns(); !slices.Equal(rows, got) {
		t.Errorf("the table's routes, in order:\n%s\nthe router's, sorted:\n%s", strings.Join(rows, "\n"), strings.Join(got, "\n"))
	}
}

func tableCells(line string) []string {
	parts := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}
