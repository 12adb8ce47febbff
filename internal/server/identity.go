package server

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/signet-pki/signet/internal/identity/oidc"
	"github.com/signet-pki/signet/internal/identity/passkey"
	"github.com/signet-pki/signet/internal/mail/sms"
)

// Defaults of [IdentityConfig].
const (
	DefaultSessionIdle     = 30 * time.Minute
	DefaultSessionAbsolute = 12 * time.Hour
	// MaxSessionAbsolute bounds a session's lifetime.
	MaxSessionAbsolute = 7 * 24 * time.Hour
)

// IdentityConfig configures how people sign in: sessions, passkeys
// (WebAuthn) and external OpenID providers.
type IdentityConfig struct {
	// SessionIdle ends a session after that long without a request
	// (default 30 min); SessionAbsolute ends it anyway (default 12 h, at
	// most 7 days).
	SessionIdle     Duration `json:"session_idle"`
	SessionAbsolute Duration `json:"session_absolute"`
	// WebAuthnRPID is the relying party id of passkeys: the registrable
	// domain browsers see (default the first DNS name of tls_hosts, else
	// "localhost"). WebAuthnOrigins are the origins allowed in their
	// client data (default https://RPID and https://RPID:PORT of listen).
	WebAuthnRPID    string   `json:"webauthn_rp_id"`
	WebAuthnOrigins []string `json:"webauthn_origins"`
	// OIDC are the external identity providers users of a tenant may
	// sign in with.
	OIDC []OIDCProviderConfig `json:"oidc"`
}

// OIDCProviderConfig is one external OpenID provider of one tenant.
type OIDCProviderConfig struct {
	// Name identifies the provider in URLs (/v1/auth/oidc/NAME/...).
	Name string `json:"name"`
	// Tenant is the tenant whose users sign in there.
	Tenant string `json:"tenant"`
	// Issuer, ClientID and RedirectURL as registered at the provider;
	// ClientSecretEnv names the environment variable of the client
	// secret (empty for a public client).
	Issuer          string `json:"issuer"`
	ClientID        string `json:"client_id"`
	ClientSecretEnv string `json:"client_secret_env"`
	RedirectURL     string `json:"redirect_url"`
	// Scopes default to openid, email and profile; GroupsClaim to
	// "groups".
	Scopes      []string `json:"scopes"`
	GroupsClaim string   `json:"groups_claim"`
	// RoleMap maps the provider's groups to Signet roles, given as
	// standing grants while the user's login says so.
	RoleMap map[string][]string `json:"role_map"`
	// StrongACR lists the acr values that count as a strong (multi-factor)
	// login.
	StrongACR []string `json:"strong_acr"`
}

// SMSConfig is the HTTP gateway that sends recipients' SMS codes.
type SMSConfig struct {
	// URL is the gateway's endpoint (https, or http on loopback).
	URL string `json:"url"`
	// TokenEnv names the environment variable of its bearer token.
	TokenEnv string `json:"token_env"`
	// Timeout bounds each attempt (default 10 s).
	Timeout Duration `json:"timeout"`
}

func (c *IdentityConfig) defaults() {
	if c.SessionIdle == 0 {
		c.SessionIdle = Duration(DefaultSessionIdle)
	}
	if c.SessionAbsolute == 0 {
		c.SessionAbsolute = Duration(DefaultSessionAbsolute)
	}
}

func (c IdentityConfig) validate() error {
	var errs []error
	switch {
	case c.SessionIdle < Duration(time.Minute) || c.SessionIdle > c.SessionAbsolute:
		errs = append(errs, fmt.Errorf("identity.session_idle %v must be at least 1m and at most session_absolute", time.Duration(c.SessionIdle)))
	case c.SessionAbsolute > Duration(MaxSessionAbsolute):
		errs = append(errs, fmt.Errorf("identity.session_absolute %v exceeds %v", time.Duration(c.SessionAbsolute), MaxSessionAbsolute))
	}
	for i, o := range c.WebAuthnOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" {
			errs = append(errs, fmt.Errorf("identity.webauthn_origins[%d] %q is not an https://HOST[:PORT] origin", i, o))
		}
	}
	seen := map[string]bool{}
	for i, p := range c.OIDC {
		if p.Name == "" || p.Tenant == "" || p.Issuer == "" || p.ClientID == "" || p.RedirectURL == "" {
			errs = append(errs, fmt.Errorf("identity.oidc[%d]: name, tenant, issuer, client_id and redirect_url are required", i))
			continue
		}
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("identity.oidc[%d]: provider name %q is used twice", i, p.Name))
		}
		seen[p.Name] = true
	}
	return errors.Join(errs...)
}

// oidcProvider returns the library's provider for p with its secret.
func (p OIDCProviderConfig) oidcProvider(secret string) oidc.Provider {
	return oidc.Provider{Name: p.Name, Tenant: p.Tenant, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: secret,
		RedirectURL: p.RedirectURL, Scopes: p.Scopes, GroupsClaim: p.GroupsClaim, RoleMap: p.RoleMap, StrongACR: p.StrongACR}
}

func (c *SMSConfig) validate() error {
	probe := sms.Config{URL: c.URL, Token: "x", Timeout: time.Duration(c.Timeout)}
	if err := probe.Validate(); err != nil {
		return fmt.Errorf("sms_gateway: %w", err)
	}
	if c.TokenEnv == "" {
		return errors.New("sms_gateway.token_env names the environment variable of the gateway's token; it is required")
	}
	return nil
}

// webAuthn returns the passkeys' relying party: identity.webauthn_rp_id
// (default the first DNS name of tls_hosts, else "localhost") and its
// origins (default https://RPID and https://RPID:PORT of listen).
func (c Config) webAuthn() passkey.Config {
	rp := c.Identity.WebAuthnRPID
	if rp == "" {
		rp = "localhost"
		for _, h := range c.TLSHosts {
			if net.ParseIP(h) == nil {
				rp = h
				break
			}
		}
	}
	origins := c.Identity.WebAuthnOrigins
	if len(origins) == 0 {
		origins = []string{"https://" + rp}
		if _, port, err := net.SplitHostPort(c.Listen); err == nil && port != "443" && port != "0" {
			origins = append(origins, "https://"+net.JoinHostPort(rp, port))
		}
	}
	return passkey.Config{RPID: rp, RPName: "Signet", Origins: origins}
}
