package login

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/oidc"
	"github.com/signet-pki/signet/internal/identity/passkey"
	"github.com/signet-pki/signet/internal/identity/password"
	"github.com/signet-pki/signet/internal/identity/recovery"
)

// A Sealer encrypts TOTP secrets at rest. Seal MUST authenticate
// additionalData, so that a sealed secret moved to another user's record
// does not open there.
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// A LockoutPolicy says when repeated failures lock a key (an account, a
// client IP, a user's second factor). Zero fields take the defaults.
type LockoutPolicy struct {
	// MaxFailures within Window lock an account or a user's second
	// factor (default 5).
	MaxFailures int
	// MaxClientFailures within Window lock a client IP (default 20:
	// higher, so that one person mistyping does not lock out everyone
	// behind the same address, low enough to stop one client trying
	// many accounts).
	MaxClientFailures int
	// Window is the span failures are counted over (default 15 minutes).
	Window time.Duration
	// Duration is how long a lock lasts (default 15 minutes).
	Duration time.Duration
}

// Defaults.
const (
	DefaultIdleTimeout       = 30 * time.Minute
	DefaultAbsoluteTimeout   = 12 * time.Hour
	DefaultCookieName        = "signet_session"
	DefaultMaxFailures       = 5
	DefaultMaxClientFailures = 20
	DefaultLockoutWindow     = 15 * time.Minute
	DefaultLockoutDuration   = 15 * time.Minute
	// touchEvery bounds the writes of LastSeen: at most one a minute per
	// session.
	touchEvery = time.Minute
)

// Config configures a [Service].
type Config struct {
	// Store keeps users, credentials, sessions and lockout counters.
	Store identity.Store
	// Sealer seals TOTP secrets when Keys is nil, and opens those it
	// sealed; it also seals what has no tenant's key (pending OIDC logins,
	// passkey ceremonies).
	Sealer Sealer
	// Keys, if set, seals users' TOTP secrets under their object
	// ([identity.UserObject]) of their tenant's keys ([TOTPKeys]).
	Keys identity.KeyRing
	// Recorder records the audit events; an action it cannot record
	// fails.
	Recorder auditlog.Recorder
	// Policy returns a tenant's authorization policy (MFA requirement,
	// step-up window).
	Policy func(ctx context.Context, tenant string) (authz.TenantPolicy, error)
	// RecoveryKey keys the recovery codes' HMAC (at least
	// recovery.MinKeyLen bytes).
	RecoveryKey []byte
	// Issuer is the TOTP issuer label shown by authenticator apps.
	Issuer string
	// IdleTimeout and AbsoluteTimeout end sessions (defaults 30 minutes
	// and 12 hours).
	IdleTimeout, AbsoluteTimeout time.Duration
	// Lockout is the brute-force policy.
	Lockout LockoutPolicy
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of tokens and TOTP secrets (default
	// crypto/rand).
	Rand io.Reader
	// CookieName names the session cookie (default "signet_session"),
	// sent with the __Host- prefix.
	CookieName string
	// Insecure is only for tests over plain HTTP: it drops Secure and
	// the __Host- and __Secure- prefixes.
	Insecure bool
	// Passkeys, if set, serves passkey registration, passkeys as second
	// factors and step-up by passkey; nil answers those routes 404
	// "not-configured".
	Passkeys *passkey.Service
	// OIDC maps the provider name of the /v1/auth/oidc/{provider}/ routes
	// (a token of letters, digits, "-" and "_") to its client; the
	// client's tenant is where its users log in. Empty answers those
	// routes 404 "not-configured".
	OIDC map[string]*oidc.Client
	// OIDCCreateUsers creates, at their first OIDC login, an active user
	// (without a password) for a verified address that matches no user
	// of the provider's tenant. Off (the default), such a login is
	// refused like a wrong password.
	OIDCCreateUsers bool
	// PostLoginPath is where a completed OIDC login sends the browser
	// (default "/"); a path on this origin.
	PostLoginPath string
}

// A Service serves logins and verifies sessions.
type Service struct {
	cfg     Config
	codes   *recovery.Hasher
	dummy   string // an argon2id hash of a random password
	cookie  string
	lockout LockoutPolicy
	// lockouts is the store's lockout counters, keyed ([keyedLockouts]).
	lockouts keyedLockouts
}

// New checks cfg, fills its defaults and returns the service. It
// computes one argon2id hash (the dummy an unknown user's password is
// checked against).
func New(cfg Config) (*Service, error) {
	var missing []string
	for _, f := range []struct {
		name string
		nil  bool
	}{
		{"Store", cfg.Store == nil}, {"Sealer", cfg.Sealer == nil}, {"Recorder", cfg.Recorder == nil},
		{"Policy", cfg.Policy == nil}, {"RecoveryKey", len(cfg.RecoveryKey) == 0}, {"Issuer", cfg.Issuer == ""},
	} {
		if f.nil {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("login: config lacks %v", missing)
	}
	switch {
	case strings.Contains(cfg.Issuer, ":"):
		return nil, errors.New("login: Issuer must not contain a colon (otpauth label)")
	case cfg.IdleTimeout < 0 || cfg.AbsoluteTimeout < 0:
		return nil, errors.New("login: negative IdleTimeout or AbsoluteTimeout")
	case cfg.Lockout.MaxFailures < 0 || cfg.Lockout.MaxClientFailures < 0 || cfg.Lockout.Window < 0 || cfg.Lockout.Duration < 0:
		return nil, errors.New("login: negative Lockout field")
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.AbsoluteTimeout == 0 {
		cfg.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if cfg.IdleTimeout > cfg.AbsoluteTimeout {
		return nil, errors.New("login: IdleTimeout longer than AbsoluteTimeout")
	}
	if cfg.Lockout.MaxFailures == 0 {
		cfg.Lockout.MaxFailures = DefaultMaxFailures
	}
	if cfg.Lockout.MaxClientFailures == 0 {
		cfg.Lockout.MaxClientFailures = DefaultMaxClientFailures
	}
	if cfg.Lockout.Window == 0 {
		cfg.Lockout.Window = DefaultLockoutWindow
	}
	if cfg.Lockout.Duration == 0 {
		cfg.Lockout.Duration = DefaultLockoutDuration
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.CookieName == "" {
		cfg.CookieName = DefaultCookieName
	}
	if cfg.PostLoginPath == "" {
		cfg.PostLoginPath = "/"
	}
	if !strings.HasPrefix(cfg.PostLoginPath, "/") || strings.HasPrefix(cfg.PostLoginPath, "//") ||
		strings.ContainsAny(cfg.PostLoginPath, "\\\r\n") {
		return nil, errors.New("login: PostLoginPath must be a path on this origin")
	}
	for name, c := range cfg.OIDC {
		if !providerName(name) || c == nil {
			return nil, fmt.Errorf("login: OIDC provider %q: want a token of letters, digits, - and _ (at most 64) and a client", name)
		}
	}
	codes, err := recovery.NewHasher(cfg.RecoveryKey)
	if err != nil {
		return nil, fmt.Errorf("login: RecoveryKey: %w", err)
	}
	s := &Service{cfg: cfg, codes: codes, cookie: cfg.CookieName, lockout: cfg.Lockout,
		lockouts: newKeyedLockouts(cfg.Store, cfg.RecoveryKey)}
	if !cfg.Insecure {
		s.cookie = "__Host-" + cfg.CookieName
	}
	pw, err := s.random(32)
	if err != nil {
		return nil, err
	}
	if s.dummy, err = password.Hash(pw); err != nil {
		return nil, fmt.Errorf("login: dummy hash: %w", err)
	}
	return s, nil
}

// CookieName returns the name of the session cookie as sent.
func (s *Service) CookieName() string { return s.cookie }

// random returns n random bytes from cfg.Rand as unpadded base64url.
func (s *Service) random(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("login: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// stepUpWindow returns the tenant's effective step-up window.
func stepUpWindow(p authz.TenantPolicy) time.Duration {
	if p.StepUpWindow > 0 {
		return p.StepUpWindow
	}
	return authz.DefaultStepUpWindow
}

// OpenAPI is the package's OpenAPI 3.1 fragment: the /v1/auth/* and
// /v1/me/* operations, each declaring x-signet-action (account.self) or
// security: [] (login).
//
//go:embed openapi.json
var OpenAPI []byte
