package accounts

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
)

// KeyPrefix starts every API key secret.
const KeyPrefix = "sk_"

// Limits of an API key.
const (
	// MaxKeyRoles bounds the roles of a key.
	MaxKeyRoles = 16
	// MaxAllowedIPs bounds a key's source-address allow-list.
	MaxAllowedIPs = 32
	// MaxKeyLifetime is the longest a key may live from its creation.
	MaxKeyLifetime = 365 * 24 * time.Hour
	// MaxRotationOverlap is the longest the old secret of a rotated key
	// keeps working; DefaultRotationOverlap applies when none is asked.
	MaxRotationOverlap     = 7 * 24 * time.Hour
	DefaultRotationOverlap = 24 * time.Hour
	// LastUsedGranularity: a key's last use is written at most once per
	// this interval, to bound writes.
	LastUsedGranularity = time.Minute
)

// PlatformActions are the actions of the platform administrator's keys
// (the keys without a tenant).
var PlatformActions = []string{string(authz.ActionTenantAdmin)}

// A KeySpec is what a new API key is bound to; [NewAPIKey] copies it
// without checking it (the [Service] checks it with [CheckKeySpec]).
type KeySpec struct {
	// Tenant is the key's tenant; "" only for the platform administrator.
	Tenant string
	Name   string
	// Roles, Actions, Owner, AllowedIPs and ExpiresAt are as in [APIKey].
	Roles      []string
	Actions    []string
	Owner      string
	AllowedIPs []string
	ExpiresAt  *time.Time
}

// NewAPIKey generates an API key as spec says, reading 256 bits of secret
// and 96 bits of id from rand (crypto/rand when nil). It returns the
// secret, to be shown once, and the record to store.
func NewAPIKey(rnd io.Reader, spec KeySpec, now time.Time) (string, APIKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var buf [32 + 12]byte
	if _, err := io.ReadFull(rnd, buf[:]); err != nil {
		return "", APIKey{}, fmt.Errorf("accounts: api key: %w", err)
	}
	secret := KeyPrefix + base64.RawURLEncoding.EncodeToString(buf[:32])
	k := APIKey{
		ID:         "key_" + hex.EncodeToString(buf[32:]),
		Tenant:     spec.Tenant,
		Name:       spec.Name,
		Roles:      slices.Clone(spec.Roles),
		Actions:    slices.Clone(spec.Actions),
		Owner:      spec.Owner,
		AllowedIPs: slices.Clone(spec.AllowedIPs),
		Prefix:     secret[:len(KeyPrefix)+6],
		Hash:       HashSecret(secret),
		CreatedAt:  now.UTC(),
	}
	if spec.ExpiresAt != nil {
		t := spec.ExpiresAt.UTC()
		k.ExpiresAt = &t
	}
	return secret, k, nil
}

// HashSecret returns the SHA-256 of an API key secret or access token:
// the only form in which they are stored.
func HashSecret(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// wellFormed reports whether s has the shape of a credential with prefix:
// the prefix and 43 characters of unpadded base64url.
func wellFormed(s, prefix string) bool {
	if len(s) != len(prefix)+43 || !strings.HasPrefix(s, prefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(prefix):])
	return err == nil
}

func invalid(typ, format string, a ...any) error {
	return &api.Error{Kind: api.KindInvalid, Type: typ, Detail: fmt.Sprintf(format, a...)}
}

// CheckKeySpec checks and normalizes spec for a new key of a tenant at
// now, returning the spec to store:
//
//   - a name of 1–200 characters (trimmed);
//   - at most [MaxKeyRoles] roles, each a built-in role or a valid custom
//     role name (authz.ValidateRole's syntax; whether the tenant defines
//     it is the authorizer's question), sorted, without repeats;
//   - actions, each an authz action that a role may hold (not
//     recipient-only, platform-only or self-service), in the order of
//     authz.AllActions; none given means the union of the built-in roles'
//     actions, and a key bound to no action is refused;
//   - at most [MaxAllowedIPs] CIDR prefixes (a bare address is its own
//     prefix), normalized;
//   - an expiry, if any, after now and at most [MaxKeyLifetime] away.
func CheckKeySpec(spec KeySpec, now time.Time) (KeySpec, error) {
	if spec.Tenant == "" {
		return KeySpec{}, &api.Error{Kind: api.KindForbidden, Detail: "a service account key belongs to a tenant"}
	}
	spec.Name = strings.TrimSpace(spec.Name)
	if spec.Name == "" || len(spec.Name) > 200 {
		return KeySpec{}, invalid("invalid-field", "name must be 1–200 characters")
	}
	roles, err := checkRoles(spec.Roles)
	if err != nil {
		return KeySpec{}, err
	}
	actions, err := checkActions(roles, spec.Actions)
	if err != nil {
		return KeySpec{}, err
	}
	ips, err := checkAllowedIPs(spec.AllowedIPs)
	if err != nil {
		return KeySpec{}, err
	}
	if spec.ExpiresAt != nil {
		t := spec.ExpiresAt.UTC()
		if !t.After(now) || t.Sub(now) > MaxKeyLifetime {
			return KeySpec{}, invalid("invalid-field", "expires_at must be in the future and at most a year away")
		}
		spec.ExpiresAt = &t
	}
	spec.Roles, spec.Actions, spec.AllowedIPs = roles, actions, ips
	return spec, nil
}

func checkRoles(in []string) ([]string, error) {
	if len(in) > MaxKeyRoles {
		return nil, invalid("invalid-role", "at most %d roles", MaxKeyRoles)
	}
	builtin := map[string]bool{}
	for _, r := range authz.BuiltinRoles() {
		builtin[r.Name] = true
	}
	var out []string
	for _, n := range in {
		if !builtin[n] {
			// A custom role: its name must be valid (the probe action
			// makes ValidateRole judge the name only).
			if err := authz.ValidateRole(authz.Role{Name: n, Actions: []authz.Action{authz.ActionDocumentRead}}); err != nil {
				return nil, invalid("invalid-role", "%v", err)
			}
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// keyAction reports why a may not be bound to a key, or "".
func keyAction(a authz.Action) string {
	switch {
	case a == authz.ActionEnvelopeSign:
		return "is held only by recipients"
	case a == authz.ActionTenantAdmin:
		return "is held only by the platform administrator"
	case slices.Contains(authz.SelfService(), a):
		return "is held only by users, on their own account"
	}
	return ""
}

func checkActions(roles, in []string) ([]string, error) {
	set := map[authz.Action]bool{}
	if len(in) == 0 {
		for _, r := range authz.BuiltinRoles() {
			if slices.Contains(roles, r.Name) {
				for _, a := range r.Actions {
					set[a] = true
				}
			}
		}
	}
	if len(in) > len(authz.AllActions()) {
		return nil, invalid("invalid-action", "at most %d actions", len(authz.AllActions()))
	}
	for _, s := range in {
		a, err := authz.ParseAction(s)
		if err != nil {
			return nil, invalid("invalid-action", "%v", err)
		}
		if why := keyAction(a); why != "" {
			return nil, invalid("invalid-action", "%s %s", a, why)
		}
		set[a] = true
	}
	var out []string
	for _, a := range authz.AllActions() {
		if set[a] {
			out = append(out, string(a))
		}
	}
	if len(out) == 0 {
		return nil, invalid("invalid-action", "a key is bound to at least one action: name built-in roles or actions")
	}
	return out, nil
}

func checkAllowedIPs(in []string) ([]string, error) {
	if len(in) > MaxAllowedIPs {
		return nil, invalid("invalid-field", "at most %d allowed_ips", MaxAllowedIPs)
	}
	var out []string
	for _, s := range in {
		p, err := parsePrefix(s)
		if err != nil {
			q := s
			if len(q) > 50 {
				q = q[:50] + "…"
			}
			return nil, invalid("invalid-field", "allowed_ips: %q is not a CIDR prefix", q)
		}
		if ps := p.String(); !slices.Contains(out, ps) {
			out = append(out, ps)
		}
	}
	return out, nil
}

// parsePrefix parses a CIDR prefix or a bare address (its own prefix),
// unmapping IPv4-mapped IPv6 and clearing host bits.
func parsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("zone")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a, bits := p.Addr(), p.Bits()
	if a.Is4In6() {
		if bits < 96 {
			return netip.Prefix{}, fmt.Errorf("mapped prefix")
		}
		a, bits = a.Unmap(), bits-96
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

// allowedFrom reports whether remote is inside one of the key's prefixes
// (any address when it has none; never the zero Addr otherwise).
func (k APIKey) allowedFrom(remote netip.Addr) bool {
	if len(k.AllowedIPs) == 0 {
		return true
	}
	remote = remote.Unmap()
	for _, s := range k.AllowedIPs {
		if p, err := netip.ParsePrefix(s); err == nil && p.Contains(remote) {
			return true
		}
	}
	return false
}

// refusal returns why k does not authenticate at now from remote, or "".
func (k APIKey) refusal(now time.Time, remote netip.Addr) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return "expired"
	case k.ReplacedBy != "" && (k.OverlapEndsAt == nil || !now.Before(*k.OverlapEndsAt)):
		return "rotated out"
	case !k.allowedFrom(remote):
		return "address not allowed"
	}
	return ""
}
