// Package oidctest runs an OpenID Provider in process for tests: the
// provider of github.com/zitadel/oidc/v3/pkg/op over HTTPS
// (httptest.NewTLSServer) with an in-memory storage holding one client
// and one user, and a login page that authenticates that user without
// asking (or declines, [User.Deny]). It speaks the real protocol:
// discovery, JWKS, the authorization endpoint with PKCE, the token
// endpoint with client authentication, UserInfo, and ES256-signed ID
// tokens.
//
// [OP.Browse] plays the browser: it follows the redirects from an
// authorization URL through the login page back to the client's redirect
// URL and returns the query the client receives there.
//
// Knobs make the provider misbehave the ways a relying party must
// detect: [Config.EditIDToken] (an ID token for another client or issuer,
// or with other claims), [Config.ForeignKey] (a signature by another
// key), [Config.IDTokenLifetime] (an expired ID token), [User.AuthAge]
// (an old authentication).
package oidctest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// ScopeGroups is the scope that adds the "groups" claim.
const ScopeGroups = "groups"

const loginPath = "/login"

// A User is the one person the provider logs in.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Groups        []string
	// AMR and ACR are stated in the ID token as amr and acr.
	AMR []string
	ACR string
	// AuthAge sets auth_time that long before the login (an earlier
	// session at the provider).
	AuthAge time.Duration
	// Deny makes the login page answer error=access_denied.
	Deny bool
}

// Config configures the provider.
type Config struct {
	// ClientID, ClientSecret (empty for a public client) and RedirectURL
	// register the one client.
	ClientID     string
	ClientSecret string
	RedirectURL  string
	// User is the user the login page authenticates.
	User User
	// IDTokenLifetime is the ID token's lifetime; zero means 5 minutes,
	// a negative value issues tokens that have already expired.
	IDTokenLifetime time.Duration
	// EditIDToken, when set, makes the token endpoint answer with its ID
	// token's claims passed through EditIDToken and signed again with the
	// provider's key: a provider that mixes up clients (aud), issuers
	// (iss) or claims. (The library's provider always puts the client in
	// aud.)
	EditIDToken func(claims map[string]any)
	// ForeignKey makes the token endpoint answer with its ID token signed
	// again by a key the provider does not publish, under the published
	// key's ID.
	ForeignKey bool
	// ClaimsFromUserinfoOnly keeps e-mail, name and groups out of the ID
	// token: the client must read them from the UserInfo endpoint.
	ClaimsFromUserinfoOnly bool
}

// An OP is a running OpenID Provider.
type OP struct {
	// Issuer is the provider's issuer identifier, an https URL.
	Issuer string
	srv    *httptest.Server
	cfg    Config
	st     *storage
}

// SetUser replaces the user the login page authenticates from the next
// login on (e.g. other groups, other amr), as a provider whose directory
// changed. Deny keeps its value from Start.
func (o *OP) SetUser(u User) {
	o.st.mu.Lock()
	defer o.st.mu.Unlock()
	u.Deny = o.st.cfg.User.Deny
	u.Groups, u.AMR = slices.Clone(u.Groups), slices.Clone(u.AMR)
	o.st.cfg.User = u
}

// Start starts a provider; it stops when the test ends.
func Start(t testing.TB, cfg Config) *OP {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st := &storage{
		cfg: cfg, key: key, kid: newID(),
		requests: map[string]*authRequest{}, codes: map[string]string{}, tokens: map[string]*accessToken{},
	}
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)

	var opKey [32]byte
	if _, err := rand.Read(opKey[:]); err != nil {
		t.Fatal(err)
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:      opKey,
		CodeMethodS256: true,
		AuthMethodPost: true,
	}, st, op.StaticIssuer(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	login := func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		if cfg.User.Deny {
			ar, err := st.AuthRequestByID(r.Context(), id)
			if err != nil {
				http.Error(w, "unknown request", http.StatusBadRequest)
				return
			}
			op.AuthRequestError(w, r, ar, oidc.ErrAccessDenied().WithDescription("the user declined"), provider)
			return
		}
		if _, err := st.login(id); err != nil {
			http.Error(w, "unknown request", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, op.AuthCallbackURL(provider)(r.Context(), id), http.StatusFound)
	}
	mux.Handle(loginPath, op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(login))
	var root http.Handler = provider
	if cfg.EditIDToken != nil || cfg.ForeignKey {
		root, err = resigning(provider, st, cfg)
		if err != nil {
			t.Fatal(err)
		}
	}
	mux.Handle("/", root)
	return &OP{Issuer: srv.URL, srv: srv, cfg: cfg, st: st}
}

// HTTPClient returns a client that trusts the provider's certificate,
// for the relying party's back-channel calls.
func (o *OP) HTTPClient() *http.Client { return o.srv.Client() }

// Browse plays the browser: it GETs authURL and follows the redirects
// until one leads to the client's redirect URL, whose query it returns.
// It fails if the provider answers anything else.
func (o *OP) Browse(ctx context.Context, authURL string) (url.Values, error) {
	var callback *url.URL
	browser := &http.Client{
		Transport: o.srv.Client().Transport,
		Timeout:   30 * time.Second,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if strings.HasPrefix(r.URL.String(), o.cfg.RedirectURL) {
				callback = r.URL
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("oidctest: too many redirects")
			}
			return nil
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := browser.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if callback == nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("oidctest: no redirect to the client: %s: %s", resp.Status, body)
	}
	return callback.Query(), nil
}

// resigning wraps the provider so that its token endpoint's ID tokens are
// edited and signed again as cfg says.
func resigning(next http.Handler, st *storage, cfg Config) (http.Handler, error) {
	key := st.key
	if cfg.ForeignKey {
		var err error
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, err
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != tokenPath {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
			copyResponse(w, rec)
			return
		}
		raw, _ := body["id_token"].(string)
		tok, err := resign(raw, st, key, cfg.EditIDToken)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		body["id_token"] = tok
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}), nil
}

const tokenPath = "/oauth/token"

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// resign returns the ID token raw, verified with the provider's key, with
// its claims passed through edit (if not nil), signed by key under the
// provider's key ID.
func resign(raw string, st *storage, key *ecdsa.PrivateKey, edit func(map[string]any)) (string, error) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return "", err
	}
	payload, err := jws.Verify(&st.key.PublicKey)
	if err != nil {
		return "", err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", err
	}
	if edit != nil {
		edit(claims)
	}
	payload, err = json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: st.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	signed, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return signed.CompactSerialize()
}
