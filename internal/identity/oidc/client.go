package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
)

// A Client logs users in at one [Provider]. It is safe for concurrent
// use; it keeps no per-login state (that is the caller's [Pending]).
type Client struct {
	p       Provider
	binding [32]byte
	rp      rp.RelyingParty
	// now is the clock of the Pending's expiry and of the auth_time
	// check (the library checks exp and iat against time.Now).
	now func() time.Time
}

// Errors of [New], [Client.Begin] and [Client.Finish], matched with
// errors.Is; each message also names the provider.
var (
	// ErrDiscovery: the issuer's discovery document could not be read,
	// or names another issuer, or endpoints that are not https.
	ErrDiscovery = errors.New("discovery failed")
	// ErrState: the state parameter of the callback is missing or is not
	// the pending login's (a forged or crossed callback).
	ErrState = errors.New("state does not match the pending login")
	// ErrCallback: the callback has no code, or names another issuer
	// (RFC 9207).
	ErrCallback = errors.New("malformed callback")
	// ErrExchange: the token endpoint refused the code (already used,
	// expired, wrong PKCE verifier, client not authenticated) or could
	// not be reached.
	ErrExchange = errors.New("code exchange failed")
	// ErrIDToken: the ID token is missing or fails a check (signature,
	// issuer, audience, authorized party, expiry, issued-at, nonce,
	// auth_time). The library's own error (e.g. oidc.ErrAudience,
	// oidc.ErrExpired, oidc.ErrNonceInvalid of
	// github.com/zitadel/oidc/v3/pkg/oidc) is wrapped too.
	ErrIDToken = errors.New("ID token refused")
	// ErrClaims: a claim has the wrong type or is beyond the limits, or
	// the UserInfo endpoint failed or answered for another subject.
	ErrClaims = errors.New("claims refused")
)

// An ErrorResponse is an error response of the provider's authorization
// endpoint (RFC 6749, section 4.1.2.1), e.g. access_denied when the user
// declined or is not allowed to use Signet. Code and Description are the
// provider's, reduced to printable ASCII and bounded in length: they may
// be shown, but the caller should not trust them.
type ErrorResponse struct {
	Provider    string
	Code        string
	Description string
}

func (e *ErrorResponse) Error() string {
	s := fmt.Sprintf("oidc: provider %q: the provider refused the login: %s", e.Provider, e.Code)
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Limits of what the provider sends.
const (
	maxGroups         = 256
	maxGroupLen       = 256
	maxAMR            = 16
	maxClaimLen       = 1024 // bytes of a string claim
	maxResponse       = 1 << 20
	defaultHTTPTimout = 15 * time.Second
	clockSkew         = time.Minute
)

// New returns a client of the provider p after reading its discovery
// document (OpenID Connect Discovery 1.0) through httpClient; a nil
// httpClient means a client with a 15-second timeout. Every response the
// client reads is limited to 1 MiB. Errors name the provider and the
// field at fault and match [ErrConfig] or [ErrDiscovery]; they never
// contain the client secret.
func New(ctx context.Context, p Provider, httpClient *http.Client) (*Client, error) {
	p = p.withDefaults()
	if err := p.validate(); err != nil {
		return nil, err
	}
	hc := boundedClient(httpClient)
	party, err := rp.NewRelyingPartyOIDC(ctx, p.Issuer, p.ClientID, p.ClientSecret, p.RedirectURL, p.Scopes,
		rp.WithHTTPClient(hc),
		// iat may be up to clockSkew ahead of this clock (and exp must be
		// more than clockSkew ahead), and no older than a pending login.
		rp.WithVerifierOpts(rp.WithIssuedAtOffset(clockSkew), rp.WithIssuedAtMaxAge(PendingLifetime)),
	)
	if err != nil {
		return nil, fmt.Errorf("oidc: provider %q (tenant %q): Issuer: %w: %v", p.Name, p.Tenant, ErrDiscovery, err)
	}
	for field, u := range map[string]string{
		"authorization_endpoint": party.OAuthConfig().Endpoint.AuthURL,
		"token_endpoint":         party.OAuthConfig().Endpoint.TokenURL,
	} {
		if err := checkURL(u, false); err != nil {
			return nil, fmt.Errorf("oidc: provider %q (tenant %q): Issuer: %w: %s: %v", p.Name, p.Tenant, ErrDiscovery, field, err)
		}
	}
	if u := party.UserinfoEndpoint(); u != "" {
		if err := checkURL(u, false); err != nil {
			return nil, fmt.Errorf("oidc: provider %q (tenant %q): Issuer: %w: userinfo_endpoint: %v", p.Name, p.Tenant, ErrDiscovery, err)
		}
	}
	return &Client{p: p, binding: bindingOf(p), rp: party, now: time.Now}, nil
}

// Begin starts a login: it draws a random state, nonce and PKCE code
// verifier (RFC 7636, method S256) and returns the URL of the provider's
// authorization endpoint to redirect the browser to, and the [Pending]
// that [Client.Finish] needs, valid for [PendingLifetime].
func (c *Client) Begin() (authURL string, state Pending, err error) {
	var pd Pending
	for _, f := range []*string{&pd.state, &pd.nonce, &pd.verifier} {
		if *f, err = newRand(); err != nil {
			return "", Pending{}, err
		}
	}
	pd.client = c.binding
	pd.expires = c.now().Add(PendingLifetime).Unix()
	authURL = rp.AuthURL(pd.state, c.rp,
		rp.WithCodeChallenge(zoidc.NewSHACodeChallenge(pd.verifier)),
		rp.AuthURLOpt(rp.WithURLParam("nonce", pd.nonce)),
		rp.AuthURLOpt(rp.WithURLParam("max_age", strconv.FormatInt(int64(c.p.MaxAuthAge/time.Second), 10))),
	)
	return authURL, pd, nil
}

// Finish completes the login that pending began, with the query of the
// request the provider redirected the browser to. It checks that the
// pending login is this provider's and unexpired and that the state
// matches, turns an error response into an [*ErrorResponse], exchanges
// the code with the PKCE verifier (and the client secret), and verifies
// the ID token: signature by a key of the issuer's JWKS, issuer,
// audience and authorized party, expiry, issued-at, nonce, and an
// auth_time that is present, not in the future and not older than
// [Provider.MaxAuthAge]. Claims the ID token lacks (e-mail, name, groups)
// are read from the UserInfo endpoint, whose subject must match.
//
// The caller MUST delete pending before calling Finish, so that a
// callback cannot be replayed; the provider also refuses a code it has
// already exchanged.
func (c *Client) Finish(ctx context.Context, pending Pending, query url.Values) (Identity, error) {
	if err := c.checkPending(pending); err != nil {
		return Identity{}, err
	}
	if got := query.Get("state"); got == "" || !equalString(got, pending.state) {
		return Identity{}, c.errorf(ErrState, "")
	}
	if iss := query.Get("iss"); iss != "" && iss != c.p.Issuer {
		return Identity{}, c.errorf(ErrCallback, "iss parameter names another issuer")
	}
	if code := query.Get("error"); code != "" {
		return Identity{}, &ErrorResponse{Provider: c.p.Name, Code: clean(code, 64), Description: clean(query.Get("error_description"), 256)}
	}
	code := query.Get("code")
	if code == "" || len(code) > maxField {
		return Identity{}, c.errorf(ErrCallback, "no code")
	}

	xctx := context.WithValue(ctx, oauth2.HTTPClient, c.rp.HttpClient())
	token, err := c.rp.OAuthConfig().Exchange(xctx, code, oauth2.VerifierOption(pending.verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			detail := clean(re.ErrorCode, 64)
			if d := clean(re.ErrorDescription, 256); d != "" {
				detail += ": " + d
			}
			if detail == "" && re.Response != nil {
				detail = "HTTP " + strconv.Itoa(re.Response.StatusCode)
			}
			return Identity{}, c.errorf(ErrExchange, "%s", detail)
		}
		return Identity{}, c.errorf(ErrExchange, "%v", err)
	}
	raw, _ := token.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, c.errorf(ErrIDToken, "the token response has no id_token")
	}
	v := *c.rp.IDTokenVerifier()
	v.Nonce = func(context.Context) string { return pending.nonce }
	claims, err := rp.VerifyTokens[*zoidc.IDTokenClaims](ctx, token.AccessToken, raw, &v)
	if err != nil {
		if errors.Is(err, zoidc.ErrNonceInvalid) {
			// The library's message quotes both nonces.
			err = zoidc.ErrNonceInvalid
		}
		return Identity{}, fmt.Errorf("oidc: provider %q: %w: %w", c.p.Name, ErrIDToken, err)
	}
	if err := c.checkAuthTime(claims.GetAuthTime()); err != nil {
		return Identity{}, err
	}
	return c.identity(ctx, token, claims)
}

func (c *Client) checkPending(p Pending) error {
	if err := p.check(); err != nil {
		return fmt.Errorf("oidc: provider %q: %w", c.p.Name, err)
	}
	if !equalString(string(p.client[:]), string(c.binding[:])) {
		return fmt.Errorf("oidc: provider %q: %w: begun for another provider", c.p.Name, ErrPending)
	}
	now := c.now()
	exp := p.Expiry()
	if !now.Before(exp) {
		return fmt.Errorf("oidc: provider %q: %w: expired", c.p.Name, ErrPending)
	}
	if exp.Sub(now) > PendingLifetime+clockSkew {
		return fmt.Errorf("oidc: provider %q: %w: expiry too far ahead", c.p.Name, ErrPending)
	}
	return nil
}

func (c *Client) checkAuthTime(at time.Time) error {
	now := c.now()
	switch {
	case at.IsZero():
		return fmt.Errorf("oidc: provider %q: %w: %w", c.p.Name, ErrIDToken, zoidc.ErrAuthTimeNotPresent)
	case at.After(now.Add(clockSkew)):
		return c.errorf(ErrIDToken, "auth_time is in the future")
	case at.Before(now.Add(-c.p.MaxAuthAge - clockSkew)):
		return fmt.Errorf("oidc: provider %q: %w: %w (max_age %v)", c.p.Name, ErrIDToken, zoidc.ErrAuthTimeToOld, c.p.MaxAuthAge)
	}
	return nil
}

// errorf returns an error matching sentinel that names the provider.
func (c *Client) errorf(sentinel error, format string, a ...any) error {
	if format == "" {
		return fmt.Errorf("oidc: provider %q: %w", c.p.Name, sentinel)
	}
	return fmt.Errorf("oidc: provider %q: %w: %s", c.p.Name, sentinel, fmt.Sprintf(format, a...))
}

// clean keeps the printable ASCII of s, at most n bytes of it.
func clean(s string, n int) string {
	b := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s) && len(b) < n; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}
