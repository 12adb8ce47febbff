package oidc

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"time"

	"github.com/signet-pki/signet/internal/authz"
)

// A Provider is one external OpenID Provider configured for one tenant.
// The zero value is not usable; [New] checks it.
type Provider struct {
	// Name names the provider within its tenant (e.g. "corp-entra"); it
	// appears in errors.
	Name string
	// Issuer is the OpenID Provider's issuer identifier, an https URL (or
	// http on a loopback host). Discovery reads
	// Issuer/.well-known/openid-configuration and the document MUST name
	// exactly this issuer.
	Issuer string
	// ClientID is Signet's client identifier at the provider.
	ClientID string
	// ClientSecret is Signet's client secret at the provider; empty for a
	// public client, which then relies on PKCE alone. It never appears in
	// an error.
	ClientSecret string
	// RedirectURL is Signet's callback, registered at the provider: an
	// absolute https URL (or http on a loopback host) without fragment.
	RedirectURL string
	// Scopes are the scopes requested; they MUST include "openid". Empty
	// means openid, email and profile.
	Scopes []string
	// GroupsClaim names the claim that carries the user's groups, an
	// array of strings; empty means "groups".
	GroupsClaim string
	// RoleMap maps an IdP group to the names of Signet roles it confers
	// ([Client.Roles]).
	RoleMap map[string][]string
	// Tenant is the Signet tenant the provider logs users into.
	Tenant string
	// StrongACR lists acr values that this provider uses only for
	// multi-factor or phishing-resistant logins; an ID token carrying one
	// of them is strong whatever its amr says ([Assurance]).
	StrongACR []string
	// MaxAuthAge bounds how long before the login the user may have
	// authenticated at the provider: it is sent as max_age, and an ID
	// token whose auth_time is older is refused. Zero means
	// [DefaultMaxAuthAge].
	MaxAuthAge time.Duration
}

// Defaults and limits of a [Provider].
const (
	// DefaultMaxAuthAge is the default of [Provider.MaxAuthAge].
	DefaultMaxAuthAge = time.Hour
	// DefaultGroupsClaim is the default of [Provider.GroupsClaim].
	DefaultGroupsClaim = "groups"
	maxField           = 2048 // bytes of one configured string
	maxScopes          = 32
	maxRoleMap         = 1024 // groups in RoleMap
	maxRolesPerGroup   = 32
	maxStrongACR       = 32
	maxRoleName        = authz.MaxRoleName
)

// ErrConfig is matched by every error about an invalid [Provider].
var ErrConfig = errors.New("invalid provider configuration")

// configError names the provider and the field, never a value that could
// be secret.
func (p Provider) configError(field, format string, a ...any) error {
	return fmt.Errorf("oidc: provider %q (tenant %q): %s: %w: %s", p.Name, p.Tenant, field, ErrConfig, fmt.Sprintf(format, a...))
}

// withDefaults returns p with the defaults filled in and its slices and
// map copied, so that the caller's later changes do not reach the client.
func (p Provider) withDefaults() Provider {
	if len(p.Scopes) == 0 {
		p.Scopes = []string{"openid", "email", "profile"}
	} else {
		p.Scopes = slices.Clone(p.Scopes)
	}
	if p.GroupsClaim == "" {
		p.GroupsClaim = DefaultGroupsClaim
	}
	if p.MaxAuthAge == 0 {
		p.MaxAuthAge = DefaultMaxAuthAge
	}
	p.StrongACR = slices.Clone(p.StrongACR)
	m := make(map[string][]string, len(p.RoleMap))
	for g, roles := range p.RoleMap {
		m[g] = slices.Clone(roles)
	}
	p.RoleMap = m
	return p
}

// validate checks p after withDefaults.
func (p Provider) validate() error {
	if p.Name == "" || len(p.Name) > 64 || !printable(p.Name) {
		return p.configError("Name", "1 to 64 printable characters")
	}
	if p.Tenant == "" || len(p.Tenant) > 128 || !printable(p.Tenant) {
		return p.configError("Tenant", "1 to 128 printable characters")
	}
	if err := checkURL(p.Issuer, true); err != nil {
		return p.configError("Issuer", "%v", err)
	}
	if p.ClientID == "" || len(p.ClientID) > maxField || !printable(p.ClientID) {
		return p.configError("ClientID", "1 to %d printable characters", maxField)
	}
	if len(p.ClientSecret) > maxField {
		return p.configError("ClientSecret", "longer than %d bytes", maxField)
	}
	if err := checkURL(p.RedirectURL, false); err != nil {
		return p.configError("RedirectURL", "%v", err)
	}
	if len(p.Scopes) > maxScopes {
		return p.configError("Scopes", "more than %d", maxScopes)
	}
	for _, s := range p.Scopes {
		if !scopeToken(s) {
			return p.configError("Scopes", "%q is not a scope token (RFC 6749, section 3.3)", s)
		}
	}
	if !slices.Contains(p.Scopes, "openid") {
		return p.configError("Scopes", `"openid" is missing`)
	}
	if len(p.GroupsClaim) > 256 || !printable(p.GroupsClaim) {
		return p.configError("GroupsClaim", "1 to 256 printable characters")
	}
	if len(p.RoleMap) > maxRoleMap {
		return p.configError("RoleMap", "more than %d groups", maxRoleMap)
	}
	for g, roles := range p.RoleMap {
		if g == "" || len(g) > maxGroupLen {
			return p.configError("RoleMap", "a group name has 1 to %d bytes", maxGroupLen)
		}
		if len(roles) == 0 || len(roles) > maxRolesPerGroup {
			return p.configError("RoleMap", "group %q maps to %d roles, not 1 to %d", g, len(roles), maxRolesPerGroup)
		}
		for _, r := range roles {
			if !roleName(r) {
				return p.configError("RoleMap", "group %q: %q is not a role name", g, r)
			}
		}
	}
	if len(p.StrongACR) > maxStrongACR {
		return p.configError("StrongACR", "more than %d values", maxStrongACR)
	}
	for _, a := range p.StrongACR {
		if a == "" || len(a) > 256 || !printable(a) {
			return p.configError("StrongACR", "an acr value has 1 to 256 printable characters")
		}
	}
	if p.MaxAuthAge < time.Minute || p.MaxAuthAge > 7*24*time.Hour {
		return p.configError("MaxAuthAge", "%v is outside 1m to 168h", p.MaxAuthAge)
	}
	return nil
}

// checkURL accepts an absolute https URL, or http on a loopback host,
// without fragment; an issuer also has no query (OpenID Connect
// Discovery 1.0, section 2).
func checkURL(s string, issuer bool) error {
	if s == "" {
		return errors.New("missing")
	}
	if len(s) > maxField {
		return fmt.Errorf("longer than %d bytes", maxField)
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return errors.New("not an absolute URL with a host, no user info and no fragment")
	}
	if issuer && u.RawQuery != "" {
		return errors.New("an issuer has no query")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return errors.New("http only on a loopback host; use https")
		}
	default:
		return fmt.Errorf("scheme %q, not https", u.Scheme)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// scopeToken reports whether s is a scope-token of RFC 6749, section 3.3:
// %x21 / %x23-5B / %x5D-7E, at least one.
func scopeToken(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}

// roleName reports whether s has the syntax of a Signet role name (see
// authz.ValidateRole): 2 to 40 of a-z, 0-9 and '-', starting with a
// letter and not ending with '-'.
func roleName(s string) bool {
	if len(s) < 2 || len(s) > maxRoleName || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
		case ('0' <= c && c <= '9' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}
