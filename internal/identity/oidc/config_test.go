package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/identity/oidc/oidctest"
)

func TestNewRefusesConfiguration(t *testing.T) {
	op := oidctest.Start(t, testConfig())
	for _, tc := range []struct {
		name  string
		mod   func(*Provider)
		field string
	}{
		{"no name", func(p *Provider) { p.Name = "" }, "Name"},
		{"no tenant", func(p *Provider) { p.Tenant = "" }, "Tenant"},
		{"no issuer", func(p *Provider) { p.Issuer = "" }, "Issuer"},
		{"http issuer", func(p *Provider) { p.Issuer = "http://idp.example.com" }, "Issuer"},
		{"issuer with query", func(p *Provider) { p.Issuer += "?tenant=x" }, "Issuer"},
		{"issuer with user info", func(p *Provider) { p.Issuer = "https://" + testSecret + "@idp.example.com" }, "Issuer"},
		{"no client id", func(p *Provider) { p.ClientID = "" }, "ClientID"},
		{"huge secret", func(p *Provider) { p.ClientSecret = strings.Repeat("s", maxField+1) }, "ClientSecret"},
		{"relative redirect", func(p *Provider) { p.RedirectURL = "/oidc/callback" }, "RedirectURL"},
		{"http redirect", func(p *Provider) { p.RedirectURL = "http://signet.example.com/cb" }, "RedirectURL"},
		{"redirect with fragment", func(p *Provider) { p.RedirectURL += "#x" }, "RedirectURL"},
		{"no openid scope", func(p *Provider) { p.Scopes = []string{"email"} }, "Scopes"},
		{"bad scope", func(p *Provider) { p.Scopes = []string{"openid", "a b"} }, "Scopes"},
		{"bad role", func(p *Provider) { p.RoleMap = map[string][]string{"g": {"Tenant Admin"}} }, "RoleMap"},
		{"group without role", func(p *Provider) { p.RoleMap = map[string][]string{"g": nil} }, "RoleMap"},
		{"empty group", func(p *Provider) { p.RoleMap = map[string][]string{"": {"sender"}} }, "RoleMap"},
		{"empty acr", func(p *Provider) { p.StrongACR = []string{""} }, "StrongACR"},
		{"short max auth age", func(p *Provider) { p.MaxAuthAge = time.Second }, "MaxAuthAge"},
		{"negative max auth age", func(p *Provider) { p.MaxAuthAge = -time.Hour }, "MaxAuthAge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testProvider(op.Issuer)
			tc.mod(&p)
			_, err := New(context.Background(), p, op.HTTPClient())
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("New: %v, want ErrConfig", err)
			}
			checkMessage(t, err, p.Name, tc.field)
		})
	}
}

func checkMessage(t *testing.T, err error, name, field string) {
	t.Helper()
	msg := err.Error()
	if name != "" && !strings.Contains(msg, `"`+name+`"`) {
		t.Errorf("error %q does not name the provider", msg)
	}
	if !strings.Contains(msg, field+":") {
		t.Errorf("error %q does not name the field %s", msg, field)
	}
	if strings.Contains(msg, testSecret) {
		t.Errorf("error %q reveals the client secret", msg)
	}
}

func TestNewDiscoveryFailures(t *testing.T) {
	op := oidctest.Start(t, testConfig())
	for _, tc := range []struct {
		name   string
		issuer string
		client *http.Client
	}{
		// The document names op.Issuer, not this one.
		{"another issuer", op.Issuer + "/other", op.HTTPClient()},
		{"untrusted certificate", op.Issuer, &http.Client{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testProvider(tc.issuer)
			_, err := New(context.Background(), p, tc.client)
			if !errors.Is(err, ErrDiscovery) {
				t.Fatalf("New: %v, want ErrDiscovery", err)
			}
			checkMessage(t, err, p.Name, "Issuer")
		})
	}
}

// TestNewCopiesProvider checks that the caller's later changes to the
// slices and map of its Provider do not reach the client.
func TestNewCopiesProvider(t *testing.T) {
	op := oidctest.Start(t, testConfig())
	p := testProvider(op.Issuer)
	c, err := New(context.Background(), p, op.HTTPClient())
	if err != nil {
		t.Fatal(err)
	}
	p.RoleMap["signers"][0] = "tenant-admin"
	p.RoleMap["unmapped"] = []string{"key-custodian"}
	if got := c.Roles(Identity{Issuer: op.Issuer, Groups: []string{"signers", "unmapped"}}); len(got) != 1 || got[0] != "sender" {
		t.Errorf("Roles = %v after the caller changed its map", got)
	}
	if got := c.p; got.GroupsClaim != DefaultGroupsClaim || got.MaxAuthAge != DefaultMaxAuthAge {
		t.Errorf("defaults not applied: %+v", got)
	}
}

// TestDiscoveryResponseLimit serves a valid discovery document padded to
// just under and just over 1 MiB: only the second is refused.
func TestDiscoveryResponseLimit(t *testing.T) {
	var pad int
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{
			"issuer":                 srv.URL,
			"authorization_endpoint": srv.URL + "/authorize",
			"token_endpoint":         srv.URL + "/token",
			"jwks_uri":               srv.URL + "/keys",
			"x_padding":              strings.Repeat("x", pad),
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		pad int
		ok  bool
	}{{maxResponse - 1024, true}, {maxResponse + 1, false}} {
		pad = tc.pad
		_, err := New(context.Background(), testProvider(srv.URL), srv.Client())
		switch {
		case tc.ok && err != nil:
			t.Errorf("padding %d: %v", tc.pad, err)
		case !tc.ok && !(errors.Is(err, ErrDiscovery) && strings.Contains(err.Error(), errTooLarge.Error())):
			t.Errorf("padding %d: %v, want ErrDiscovery for the size", tc.pad, err)
		}
	}
}
