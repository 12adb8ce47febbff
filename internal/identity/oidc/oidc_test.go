package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/signet-pki/signet/internal/identity/oidc/oidctest"
)

const (
	testSecret   = "s3cret-value-that-must-never-appear"
	testRedirect = "https://signet.test/oidc/callback"
)

func testUser() oidctest.User {
	return oidctest.User{
		Subject:       "user-123",
		Email:         "alice@example.com",
		EmailVerified: true,
		Name:          "Alice Example",
		Groups:        []string{"signers", "auditors", "unmapped", "signers"},
		AMR:           []string{"pwd", "otp"},
	}
}

func testConfig() oidctest.Config {
	return oidctest.Config{ClientID: "signet", ClientSecret: testSecret, RedirectURL: testRedirect, User: testUser()}
}

func testProvider(issuer string) Provider {
	return Provider{
		Name:         "corp",
		Tenant:       "tenant-1",
		Issuer:       issuer,
		ClientID:     "signet",
		ClientSecret: testSecret,
		RedirectURL:  testRedirect,
		Scopes:       []string{"openid", "email", "profile", oidctest.ScopeGroups},
		RoleMap: map[string][]string{
			"signers":  {"sender"},
			"auditors": {"auditor", "approver"},
			"admins":   {"tenant-admin"},
		},
	}
}

// start runs an OP configured by cfg (after opMod) and a client of it
// configured by provMod.
func start(t *testing.T, opMod func(*oidctest.Config), provMod func(*Provider)) (*oidctest.OP, *Client) {
	t.Helper()
	cfg := testConfig()
	if opMod != nil {
		opMod(&cfg)
	}
	op := oidctest.Start(t, cfg)
	p := testProvider(op.Issuer)
	if provMod != nil {
		provMod(&p)
	}
	c, err := New(context.Background(), p, op.HTTPClient())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return op, c
}

// login runs Begin, the browser leg, and returns the pending login and
// the callback query.
func login(t *testing.T, op *oidctest.OP, c *Client) (Pending, url.Values) {
	t.Helper()
	authURL, pd, err := c.Begin()
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	q, err := op.Browse(context.Background(), authURL)
	if err != nil {
		t.Fatalf("Browse: %v", err)
	}
	return pd, q
}

func TestLogin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opMod   func(*oidctest.Config)
		provMod func(*Provider)
	}{
		{name: "claims in the ID token"},
		{name: "claims from UserInfo", opMod: func(c *oidctest.Config) { c.ClaimsFromUserinfoOnly = true }},
		{
			name:    "public client",
			opMod:   func(c *oidctest.Config) { c.ClientSecret = "" },
			provMod: func(p *Provider) { p.ClientSecret = "" },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op, c := start(t, tc.opMod, tc.provMod)
			before := time.Now().Add(-time.Second)
			pd, q := login(t, op, c)
			if q.Get("code") == "" || q.Get("state") != pd.State() {
				t.Fatalf("callback query %v", q)
			}
			id, err := c.Finish(context.Background(), pd, q)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			want := Identity{
				Issuer: op.Issuer, Subject: "user-123", Email: "alice@example.com", EmailVerified: true,
				Name: "Alice Example", Groups: []string{"auditors", "signers", "unmapped"}, AMR: []string{"pwd", "otp"},
			}
			got := id
			got.AuthTime = time.Time{}
			if !identityEqual(got, want) {
				t.Errorf("identity\n got %+v\nwant %+v", got, want)
			}
			if id.AuthTime.Before(before.Truncate(time.Second)) || id.AuthTime.After(time.Now()) {
				t.Errorf("auth_time %v, login at %v", id.AuthTime, before)
			}
			if roles := c.Roles(id); !slices.Equal(roles, []string{"approver", "auditor", "sender"}) {
				t.Errorf("Roles = %v", roles)
			}
			if m, strong := Assurance(id); m != MethodOIDCMFA || !strong {
				t.Errorf("Assurance = %q, %v", m, strong)
			}
		})
	}
}

// TestLoginTrustedACR logs in with a password alone under an acr that
// the provider is configured, or not, to trust.
func TestLoginTrustedACR(t *testing.T) {
	for _, tc := range []struct {
		name      string
		strongACR []string
		strong    bool
	}{
		{"trusted", []string{"urn:example:loa:2", "urn:corp:phishing-resistant"}, true},
		{"not trusted", []string{"urn:example:loa:2"}, false},
		{"none configured", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op, c := start(t, func(c *oidctest.Config) {
				c.User.AMR = []string{"pwd"}
				c.User.ACR = "urn:corp:phishing-resistant"
			}, func(p *Provider) { p.StrongACR = tc.strongACR })
			pd, q := login(t, op, c)
			id, err := c.Finish(context.Background(), pd, q)
			if err != nil {
				t.Fatal(err)
			}
			if id.ACR != "urn:corp:phishing-resistant" || id.TrustedACR != tc.strong {
				t.Errorf("ACR %q, TrustedACR %v", id.ACR, id.TrustedACR)
			}
			want := MethodOIDC
			if tc.strong {
				want = MethodOIDCMFA
			}
			if m, strong := Assurance(id); m != want || strong != tc.strong {
				t.Errorf("Assurance = %q, %v", m, strong)
			}
		})
	}
}

func identityEqual(a, b Identity) bool {
	return a.Issuer == b.Issuer && a.Subject == b.Subject && a.Email == b.Email &&
		a.EmailVerified == b.EmailVerified && a.Name == b.Name && slices.Equal(a.Groups, b.Groups) &&
		slices.Equal(a.AMR, b.AMR) && a.ACR == b.ACR && a.TrustedACR == b.TrustedACR && a.AuthTime.Equal(b.AuthTime)
}

// TestAuthorizationRequest checks the parameters Begin sends.
func TestAuthorizationRequest(t *testing.T) {
	_, c := start(t, nil, func(p *Provider) { p.MaxAuthAge = 30 * time.Minute })
	authURL, pd, err := c.Begin()
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	sum := sha256.Sum256([]byte(pd.verifier))
	for k, want := range map[string]string{
		"response_type":         "code",
		"client_id":             "signet",
		"redirect_uri":          testRedirect,
		"scope":                 "openid email profile groups",
		"state":                 pd.state,
		"nonce":                 pd.nonce,
		"code_challenge":        base64.RawURLEncoding.EncodeToString(sum[:]),
		"code_challenge_method": "S256",
		"max_age":               "1800",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if q.Has("code_verifier") || strings.Contains(authURL, pd.verifier) {
		t.Error("the authorization URL reveals the code verifier")
	}
	_, pd2, err := c.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if pd2.state == pd.state || pd2.nonce == pd.nonce || pd2.verifier == pd.verifier {
		t.Error("two logins share a random value")
	}
	if d := time.Until(pd.Expiry()); d <= PendingLifetime-time.Minute || d > PendingLifetime {
		t.Errorf("pending expires in %v", d)
	}
}

func TestFinishRefuses(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		opMod   func(*oidctest.Config)
		provMod func(*Provider)
		// tamper changes the pending login or the callback before Finish.
		tamper func(t *testing.T, op *oidctest.OP, c *Client, pd *Pending, q url.Values)
		want   error
		lib    error // the library's error, also wrapped
	}{
		{
			name:  "access denied",
			opMod: func(c *oidctest.Config) { c.User.Deny = true },
		},
		{
			name: "tampered state",
			tamper: func(t *testing.T, _ *oidctest.OP, _ *Client, _ *Pending, q url.Values) {
				q.Set("state", flip(q.Get("state")))
			},
			want: ErrState,
		},
		{
			name:   "missing state",
			tamper: func(t *testing.T, _ *oidctest.OP, _ *Client, _ *Pending, q url.Values) { q.Del("state") },
			want:   ErrState,
		},
		{
			name: "callback of another login",
			tamper: func(t *testing.T, _ *oidctest.OP, c *Client, pd *Pending, _ url.Values) {
				_, other, err := c.Begin()
				if err != nil {
					t.Fatal(err)
				}
				*pd = other
			},
			want: ErrState,
		},
		{
			name: "replayed code",
			tamper: func(t *testing.T, _ *oidctest.OP, c *Client, pd *Pending, q url.Values) {
				if _, err := c.Finish(ctx, *pd, q); err != nil {
					t.Fatalf("first Finish: %v", err)
				}
			},
			want: ErrExchange,
		},
		{
			name: "wrong code verifier",
			tamper: func(t *testing.T, _ *oidctest.OP, _ *Client, pd *Pending, _ url.Values) {
				pd.verifier = flip(pd.verifier)
			},
			want: ErrExchange,
		},
		{
			name:   "wrong nonce",
			tamper: func(t *testing.T, _ *oidctest.OP, _ *Client, pd *Pending, _ url.Values) { pd.nonce = flip(pd.nonce) },
			want:   ErrIDToken,
			lib:    zoidc.ErrNonceInvalid,
		},
		{
			name:  "ID token for another audience",
			opMod: func(c *oidctest.Config) { c.EditIDToken = setAudience("another-client") },
			want:  ErrIDToken,
			lib:   zoidc.ErrAudience,
		},
		{
			name:  "ID token for several audiences, authorized party another",
			opMod: func(c *oidctest.Config) { c.EditIDToken = setAudience("another-client", "signet") },
			want:  ErrIDToken,
			lib:   zoidc.ErrAzpInvalid,
		},
		{
			name:  "ID token signed by another key",
			opMod: func(c *oidctest.Config) { c.ForeignKey = true },
			want:  ErrIDToken,
			lib:   zoidc.ErrSignatureInvalid,
		},
		{
			name: "ID token of another issuer",
			opMod: func(c *oidctest.Config) {
				c.EditIDToken = func(m map[string]any) { m["iss"] = "https://idp.evil.test" }
			},
			want: ErrIDToken,
			lib:  zoidc.ErrIssuerInvalid,
		},
		{
			name:  "ID token without auth_time",
			opMod: func(c *oidctest.Config) { c.EditIDToken = func(m map[string]any) { delete(m, "auth_time") } },
			want:  ErrIDToken,
			lib:   zoidc.ErrAuthTimeNotPresent,
		},
		{
			name: "ID token with auth_time in the future",
			opMod: func(c *oidctest.Config) {
				c.EditIDToken = func(m map[string]any) { m["auth_time"] = time.Now().Add(time.Hour).Unix() }
			},
			want: ErrIDToken,
		},
		{
			name:  "groups not an array",
			opMod: func(c *oidctest.Config) { c.EditIDToken = func(m map[string]any) { m["groups"] = "admins" } },
			want:  ErrClaims,
		},
		{
			name: "too many groups",
			opMod: func(c *oidctest.Config) {
				c.EditIDToken = func(m map[string]any) {
					g := make([]string, maxGroups+1)
					for i := range g {
						g[i] = fmt.Sprint("g", i)
					}
					m["groups"] = g
				}
			},
			want: ErrClaims,
		},
		{
			name:  "expired ID token",
			opMod: func(c *oidctest.Config) { c.IDTokenLifetime = -time.Minute },
			want:  ErrIDToken,
			lib:   zoidc.ErrExpired,
		},
		{
			name:  "authentication older than max_age",
			opMod: func(c *oidctest.Config) { c.User.AuthAge = 2 * time.Hour },
			want:  ErrIDToken,
			lib:   zoidc.ErrAuthTimeToOld,
		},
		{
			name: "expired pending login",
			tamper: func(t *testing.T, _ *oidctest.OP, c *Client, _ *Pending, _ url.Values) {
				c.now = func() time.Time { return time.Now().Add(PendingLifetime + time.Second) }
			},
			want: ErrPending,
		},
		{
			name: "pending login of another provider",
			tamper: func(t *testing.T, op *oidctest.OP, _ *Client, pd *Pending, _ url.Values) {
				p := testProvider(op.Issuer)
				p.Tenant = "tenant-2"
				other, err := New(ctx, p, op.HTTPClient())
				if err != nil {
					t.Fatal(err)
				}
				pd.client = other.binding
			},
			want: ErrPending,
		},
		{
			name:   "pending login that claims a longer life",
			tamper: func(t *testing.T, _ *oidctest.OP, _ *Client, pd *Pending, _ url.Values) { pd.expires += 3600 },
			want:   ErrPending,
		},
		{
			name:   "zero pending login",
			tamper: func(t *testing.T, _ *oidctest.OP, _ *Client, pd *Pending, _ url.Values) { *pd = Pending{} },
			want:   ErrPending,
		},
		{
			name: "another issuer in the callback",
			tamper: func(t *testing.T, _ *oidctest.OP, _ *Client, _ *Pending, q url.Values) {
				q.Set("iss", "https://idp.evil.test")
			},
			want: ErrCallback,
		},
		{
			name:   "no code",
			tamper: func(t *testing.T, _ *oidctest.OP, _ *Client, _ *Pending, q url.Values) { q.Del("code") },
			want:   ErrCallback,
		},
		{
			name:    "wrong client secret",
			provMod: func(p *Provider) { p.ClientSecret = testSecret + "-wrong" },
			want:    ErrExchange,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op, c := start(t, tc.opMod, tc.provMod)
			pd, q := login(t, op, c)
			if tc.tamper != nil {
				tc.tamper(t, op, c, &pd, q)
			}
			id, err := c.Finish(ctx, pd, q)
			if err == nil {
				t.Fatalf("Finish accepted: %+v", id)
			}
			if tc.want == nil { // access denied
				var er *ErrorResponse
				if !errors.As(err, &er) || er.Code != "access_denied" || er.Description != "the user declined" || er.Provider != "corp" {
					t.Fatalf("Finish: %v, want an access_denied ErrorResponse", err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("Finish: %v, want %v", err, tc.want)
			}
			if tc.lib != nil && !errors.Is(err, tc.lib) {
				t.Errorf("Finish: %v, want it to wrap %v", err, tc.lib)
			}
			msg := err.Error()
			if !strings.Contains(msg, `"corp"`) {
				t.Errorf("error %q does not name the provider", msg)
			}
			for _, secret := range []string{testSecret, pd.nonce, pd.verifier} {
				if secret != "" && strings.Contains(msg, secret) {
					t.Errorf("error %q reveals a secret", msg)
				}
			}
			if id.Subject != "" {
				t.Errorf("Finish returned an identity with its error: %+v", id)
			}
		})
	}
}

// setAudience returns an EditIDToken that sets aud, and azp to its
// first element.
func setAudience(aud ...string) func(map[string]any) {
	return func(m map[string]any) {
		m["aud"] = aud
		m["azp"] = aud[0]
		m["client_id"] = aud[0]
	}
}

// flip changes the last character of s, keeping it base64url.
func flip(s string) string {
	if s == "" {
		return "x"
	}
	last := byte('A')
	if s[len(s)-1] == 'A' {
		last = 'B'
	}
	return s[:len(s)-1] + string(last)
}

// TestConcurrentLogins runs logins in parallel through one Client (run
// with -race).
func TestConcurrentLogins(t *testing.T) {
	op, c := start(t, nil, nil)
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			authURL, pd, err := c.Begin()
			if err == nil {
				var q url.Values
				if q, err = op.Browse(context.Background(), authURL); err == nil {
					var id Identity
					if id, err = c.Finish(context.Background(), pd, q); err == nil && id.Subject != "user-123" {
						err = errors.New("wrong subject " + id.Subject)
					}
				}
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
