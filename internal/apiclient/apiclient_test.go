package apiclient_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/accounts"
	accountssqlite "github.com/signet-pki/signet/internal/accounts/sqlite"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/sqldb"
)

// allowAll stands in for the server's authorizer.
type allowAll struct{}

func (allowAll) Authorize(context.Context, api.Principal, api.AccessCheck) error { return nil }

// TestKeysAndTokens: the client provisions a key through the platform
// route, creates a tenant's own key through the tenant route and
// exchanges a key for a narrowed access token, against the accounts
// handler behind the real authentication middleware.
func TestKeysAndTokens(t *testing.T) {
	ctx := t.Context()
	pool, err := sqldb.OpenPool(ctx, filepath.Join(t.TempDir(), "signet.db"), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	st, err := accountssqlite.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	log, err := auditlog.New(ctx, auditlog.Config{Storage: auditlog.NewMemStore(), Keys: dk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Shutdown(context.Background()) })
	svc := &accounts.Service{Tenants: st, Keys: st, Tokens: st, Recorder: log}
	admin, err := svc.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rt := api.NewRouter()
	(&accounts.Handler{Service: svc}).Register(rt)
	doc, err := api.MergeOpenAPI(api.OpenAPIBase, accounts.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	access, err := api.OpenAPIAccess(doc)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Chain(rt, api.Stack{
		Auth: &api.Authenticator{Credentials: svc.Verifier()},
		Gate: &api.Gate{Router: rt, Access: access, Authorizer: allowAll{}},
	}))
	t.Cleanup(srv.Close)
	c := &apiclient.Client{Base: srv.URL, HTTP: srv.Client()}
	platform := c.WithAuth("Bearer " + admin)
	tn, err := platform.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	// A key that administers its tenant's keys (a service account cannot
	// in the server, where the authorizer denies it apikey.admin; here
	// every check passes, to exercise the tenant route).
	keyAdmin, err := platform.CreateKey(ctx, tn.ID, "admin", []string{"tenant-admin"}, []string{"apikey.admin", "apikey.read"})
	if err != nil {
		t.Fatal(err)
	}
	own, err := c.WithAuth("Bearer "+keyAdmin).CreateOwnKey(ctx, "ci", []string{"sender"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := st.KeyByHash(ctx, accounts.HashSecret(own))
	if err != nil || k.Tenant != tn.ID || !slices.Equal(k.Roles, []string{"sender"}) || len(k.Actions) != 7 {
		t.Fatalf("own key %+v, %v", k, err)
	}
	tok, err := c.WithAuth("Bearer "+own).ExchangeToken(ctx, []string{"envelope.read"}, 120)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 120 || !slices.Equal(tok.Actions, []string{"envelope.read"}) {
		t.Fatalf("token %+v", tok)
	}
	p, err := svc.Verifier().VerifyCredential(ctx, tok.AccessToken, api.RemoteAddr(httptest.NewRequest("GET", "/", nil)))
	if err != nil || p.ID != k.ID || !slices.Equal(p.Actions, []string{"envelope.read"}) {
		t.Fatalf("token principal %+v, %v", p, err)
	}
	if _, err := c.WithAuth("Bearer "+own).CreateKey(ctx, tn.ID, "x", []string{"sender"}, nil); err == nil {
		t.Fatal("a tenant key provisioned through the platform route")
	}
}
