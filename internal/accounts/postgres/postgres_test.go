package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/accounts"
	accountspostgres "github.com/signet-pki/signet/internal/accounts/postgres"
	"github.com/signet-pki/signet/internal/accounts/storetest"
	"github.com/signet-pki/signet/internal/api"
	apipostgres "github.com/signet-pki/signet/internal/api/postgres"
	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/secretscan"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// open returns a pool on a fresh database as its owner.
func open(t *testing.T) *pgxpool.Pool {
	t.Helper()
	owner, _ := pgtest.NewDatabase(t)
	pool, err := pgdb.Open(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestConformance runs the accounts stores' conformance suite on a fresh
// PostgreSQL database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, err := accountspostgres.New(t.Context(), open(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestOpenOrder: the accounts and idempotency stores share one history
// (version 100 of the api tables, then the accounts' 500) and open in
// either order, the second applying nothing of the first's.
func TestOpenOrder(t *testing.T) {
	for _, accountsFirst := range []bool{true, false} {
		name := map[bool]string{true: "accounts first", false: "api first"}[accountsFirst]
		t.Run(name, func(t *testing.T) {
			pool := open(t)
			ctx := t.Context()
			openAcc := func() {
				if _, err := accountspostgres.New(ctx, pool); err != nil {
					t.Fatal(err)
				}
			}
			openAPI := func() {
				if _, err := apipostgres.New(ctx, pool); err != nil {
					t.Fatal(err)
				}
			}
			if accountsFirst {
				openAcc()
				openAPI()
			} else {
				openAPI()
				openAcc()
			}
			var got []string
			rows, err := pool.Query(ctx, `SELECT version || ' ' || name FROM schema_migrations ORDER BY version`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				got = append(got, s)
			}
			want := []string{"100 " + apipostgres.Migrations[0].Name}
			for _, m := range accountspostgres.Migrations {
				want = append(want, fmt.Sprintf("%d %s", m.Version, m.Name))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("history %q, want %q", got, want)
			}
		})
	}
}

// TestSecretNotStored: a key created through accounts.NewAPIKey is found
// by its secret's hash, and no column of the database holds the secret.
func TestSecretNotStored(t *testing.T) {
	pool := open(t)
	ctx := t.Context()
	s, err := accountspostgres.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	secret, k, err := accounts.NewAPIKey(nil, accounts.KeySpec{Tenant: "t-1", Name: "ci", Roles: []string{"sender"}, Actions: []string{"document.read"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	p, err := accounts.KeyVerifier{Keys: s}.VerifyCredential(ctx, secret, netip.Addr{})
	if err != nil || p.ID != k.ID || p.Tenant != "t-1" {
		t.Fatalf("principal %+v, %v", p, err)
	}
	var n int
	if err := pool.QueryRow(ctx,
		`SELECT count(*) FROM api_keys a WHERE position($1 in a::text) > 0 OR position(convert_to($1, 'UTF8') in a.hash) > 0`,
		secret).Scan(&n); err != nil {
		t.Fatal(err)
	}
	var prefix int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM api_keys a WHERE position($1 in a::text) > 0`, k.Prefix).Scan(&prefix); err != nil {
		t.Fatal(err)
	}
	if n != 0 || prefix != 1 {
		t.Fatalf("rows holding the secret: %d; holding its displayed prefix: %d (want 0 and 1)", n, prefix)
	}
}

// TestMigratesScopes: keys stored before version 500 (scoped keys, as
// version 100 created them) get roles and actions from their scopes, as
// on SQLite, and keep authenticating.
func TestMigratesScopes(t *testing.T) {
	pool := open(t)
	ctx := t.Context()
	if _, err := apipostgres.New(ctx, pool); err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		id, tenant, scopes string
		roles, actions     []string
	}{
		{"key_docs", "t-1", "documents:write documents:read", []string{"sender"}, []string{"document.upload", "document.read"}},
		{"key_all", "t-1", "api-keys:read api-keys:write documents:read documents:write envelopes:read envelopes:write envelopes:send",
			[]string{"sender", "tenant-admin"},
			[]string{"document.upload", "document.read", "envelope.prepare", "envelope.read", "envelope.send", "envelope.void", "apikey.read", "apikey.admin"}},
		{"key_env", "t-1", "envelopes:send envelopes:write", []string{"sender"}, []string{"envelope.prepare", "envelope.send", "envelope.void"}},
		{"key_read", "t-1", "envelopes:read", []string{"sender"}, []string{"envelope.read"}},
		{"key_keys", "t-1", "api-keys:read", []string{"tenant-admin"}, []string{"apikey.read"}},
		{"key_platform", "", "admin", nil, []string{"tenant.admin"}},
		{"key_none", "t-1", "", nil, nil},
	}
	secret := "sk_" + strings.Repeat("A", 43)
	for i, r := range rows {
		hash := sha256.Sum256([]byte(fmt.Sprint(i)))
		if r.id == "key_docs" {
			hash = accounts.HashSecret(secret)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO api_keys (id, tenant, name, scopes, prefix, hash, created_at) VALUES ($1, $2, 'old', $3, 'sk_old', $4, now())`,
			r.id, r.tenant, r.scopes, hash[:]); err != nil {
			t.Fatal(err)
		}
	}
	s, err := accountspostgres.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		k, err := s.Key(ctx, r.tenant, r.id)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(k.Roles, r.roles) || !slices.Equal(k.Actions, r.actions) || k.Owner != "" || k.ExpiresAt != nil {
			t.Errorf("%s (%q): roles %q actions %q, want %q %q", r.id, r.scopes, k.Roles, k.Actions, r.roles, r.actions)
		}
	}
	p, err := accounts.KeyVerifier{Keys: s}.VerifyCredential(ctx, secret, netip.Addr{})
	if err != nil || p.ID != "key_docs" || !slices.Equal(p.Actions, []string{"document.upload", "document.read"}) {
		t.Fatalf("migrated key: %+v, %v", p, err)
	}
	var scopes int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'api_keys' AND column_name = 'scopes'`).Scan(&scopes); err != nil || scopes != 0 {
		t.Fatalf("the scopes column remains (%d, %v)", scopes, err)
	}
}

// discard records nothing (the audit log has its own tests).
type discard struct{}

func (discard) Record(context.Context, auditlog.Event) error { return nil }

// allowAll is an authorizer that allows everything.
type allowAll struct{}

func (allowAll) Authorize(context.Context, api.Principal, api.AccessCheck) error { return nil }

// TestNoSecretsInDatabase: after keys are provisioned, created, rotated
// and exchanged for access tokens through the service, no row of the
// database holds a key secret or a token in any encoding secretscan
// knows; the keys' displayed prefixes are there, so the dump does hold
// the rows.
func TestNoSecretsInDatabase(t *testing.T) {
	owner, _ := pgtest.NewDatabase(t)
	pool, err := pgdb.Open(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ctx := t.Context()
	s, err := accountspostgres.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	svc := &accounts.Service{Tenants: s, Keys: s, Tokens: s, Recorder: discard{}}
	platform := api.Principal{Kind: api.PrincipalAPIKey, ID: "key_admin", Platform: true}
	tn, err := svc.CreateTenant(ctx, platform, auditlog.Request{}, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	provisioned, k1, err := svc.ProvisionKey(ctx, platform, auditlog.Request{}, tn.ID, accounts.CreateKeyRequest{Name: "ci", Roles: []string{"sender"}})
	if err != nil {
		t.Fatal(err)
	}
	admin := api.Principal{Kind: api.PrincipalUser, ID: "u-admin", Tenant: tn.ID}
	actx := api.WithAuthorizer(api.WithPrincipal(ctx, admin), allowAll{})
	created, k2, err := svc.CreateKey(actx, admin, auditlog.Request{}, accounts.CreateKeyRequest{Name: "own", Roles: []string{"approver"}})
	if err != nil {
		t.Fatal(err)
	}
	rotated, k3, err := svc.RotateKey(actx, admin, auditlog.Request{}, k1.ID, accounts.RotateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{provisioned, created, rotated}
	for _, key := range secrets {
		tok, _, err := svc.ExchangeToken(ctx, key, netip.MustParseAddr("192.0.2.1"), auditlog.Request{}, accounts.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, tok)
	}
	dump := pgtest.Dump(t, owner)
	for i, sec := range secrets {
		for _, f := range secretscan.Forms(sec) {
			if bytes.Contains(dump, f) {
				t.Errorf("the database holds secret %d (as %.12q…)", i, f)
			}
		}
	}
	for _, k := range []accounts.APIKey{k1, k2, k3} {
		if !bytes.Contains(dump, []byte(k.Prefix)) || !bytes.Contains(dump, []byte(k.ID)) {
			t.Errorf("the dump lacks key %s", k.ID)
		}
	}
}

// TestNodes: two pools on one database (two nodes) see each other's keys,
// rotations, revocations and tokens, and a key's live tokens stay within
// the limit when both issue them at once.
func TestNodes(t *testing.T) {
	owner, _ := pgtest.NewDatabase(t)
	ctx := t.Context()
	var nodes [2]*accountspostgres.Store
	for i := range nodes {
		pool, err := pgdb.Open(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		if nodes[i], err = accountspostgres.New(ctx, pool); err != nil {
			t.Fatal(err)
		}
	}
	a, b := nodes[0], nodes[1]
	now := time.Now()
	secret, k, err := accounts.NewAPIKey(nil, accounts.KeySpec{Tenant: "t-1", Name: "ci", Roles: []string{"sender"}, Actions: []string{"document.read"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if p, err := (accounts.KeyVerifier{Keys: b, Tokens: b}).VerifyCredential(ctx, secret, netip.Addr{}); err != nil || p.ID != k.ID {
		t.Fatalf("node b: %+v %v", p, err)
	}
	const n, max = 12, 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := 0
	for i := range n {
		node := nodes[i%2]
		wg.Go(func() {
			_, tok, err := accounts.NewAccessToken(nil, k, k.Actions, time.Hour, now)
			if err != nil {
				t.Error(err)
				return
			}
			err = node.CreateToken(ctx, tok, max)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				stored++
			case !errors.Is(err, accounts.ErrTooManyTokens):
				t.Errorf("token: %v", err)
			}
		})
	}
	wg.Wait()
	if stored != max {
		t.Fatalf("%d tokens stored by two nodes, want %d", stored, max)
	}
	if err := b.RevokeKey(ctx, "t-1", k.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := (accounts.KeyVerifier{Keys: a, Tokens: a}).VerifyCredential(ctx, secret, netip.Addr{}); !errors.Is(err, api.ErrUnauthorized) {
		t.Fatalf("node a after node b revoked: %v", err)
	}
}

// TestNodesDeleteTenant: while node a keeps creating keys of a tenant,
// node b deletes the tenant; every key a stored is revoked, a refuses
// the rest with ErrTenantDeleted, and a credential issued before the
// deletion no longer authenticates on either node.
func TestNodesDeleteTenant(t *testing.T) {
	owner, _ := pgtest.NewDatabase(t)
	ctx := t.Context()
	var nodes [2]*accountspostgres.Store
	for i := range nodes {
		pool, err := pgdb.Open(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		if nodes[i], err = accountspostgres.New(ctx, pool); err != nil {
			t.Fatal(err)
		}
	}
	a, b := nodes[0], nodes[1]
	now := time.Now()
	if err := a.CreateTenant(ctx, accounts.Tenant{ID: "t-1", Name: "Doomed", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	secret, k, err := accounts.NewAPIKey(nil, accounts.KeySpec{Tenant: "t-1", Name: "ci", Actions: []string{"document.read"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	created := 0
	deleted := make(chan error, 1)
	for i := 0; ; i++ {
		if i == 5 {
			go func() { deleted <- b.DeleteTenant(ctx, "t-1", now) }()
		}
		_, next, err := accounts.NewAPIKey(nil, accounts.KeySpec{Tenant: "t-1", Name: fmt.Sprint("k", i), Actions: []string{"document.read"}}, now)
		if err != nil {
			t.Fatal(err)
		}
		err = a.CreateKey(ctx, next)
		if errors.Is(err, accounts.ErrTenantDeleted) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		created++
		if i > 10000 {
			t.Fatal("node a was never refused")
		}
	}
	if err := <-deleted; err != nil {
		t.Fatalf("node b: DeleteTenant: %v", err)
	}
	ks, err := a.Keys(ctx, "t-1")
	if err != nil || len(ks) != created+1 {
		t.Fatalf("%d keys (%v), want %d", len(ks), err, created+1)
	}
	for _, k := range ks {
		if k.RevokedAt == nil {
			t.Errorf("key %s survived its tenant's deletion", k.ID)
		}
	}
	for i, n := range nodes {
		if _, err := (accounts.KeyVerifier{Keys: n, Tokens: n}).VerifyCredential(ctx, secret, netip.Addr{}); !errors.Is(err, api.ErrUnauthorized) {
			t.Errorf("node %d: a deleted tenant's key authenticates: %v", i, err)
		}
	}
}
