package login

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/identity"
)

// Lockout keys. The store gets only their HMAC ([keyedLockouts]) and
// keeps only its SHA-256.
func accountKey(tenant, email string) string { return "login\x00" + tenant + "\x00" + email }
func ipKey(ip string) string                 { return "login-ip\x00" + ip }
func factorKey(tenant, user string) string   { return "mfa\x00" + tenant + "\x00" + user }

// errLocked is the answer to a locked key, the same whatever the key and
// whether or not the account exists.
var errLocked = &api.Error{Kind: api.KindRateLimited, Type: "locked-out", Title: "Locked out",
	Detail: "too many failed attempts; try again later"}

// locked returns the latest end of the locks of keys still in force,
// zero if none is.
func (s *Service) locked(ctx context.Context, keys ...string) (time.Time, error) {
	now := s.cfg.Now()
	var until time.Time
	for _, k := range keys {
		u, err := s.lockouts.LockedUntil(ctx, k)
		if err != nil {
			return time.Time{}, fmt.Errorf("login: lockout: %w", err)
		}
		if u.After(now) && u.After(until) {
			until = u
		}
	}
	return until, nil
}

// writeLocked answers 429 with Retry-After until until.
func (s *Service) writeLocked(w http.ResponseWriter, r *http.Request, until time.Time) {
	secs := int(math.Ceil(until.Sub(s.cfg.Now()).Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	api.WriteProblem(w, r, errLocked)
}

// failure is one failed authentication to count and audit.
type failure struct {
	tenant string
	actor  auditlog.Actor
	method string // "password", "totp", "recovery"
	keys   []string
}

// fail records f: one user.login_failed event, one count under each key,
// and for each key that reaches the limit a lock and a user.locked_out
// event. It returns the end of the lock it set, zero if none; an error
// means the failure could not be recorded (the caller answers 503, never
// a success).
func (s *Service) fail(ctx context.Context, r *http.Request, f failure) (time.Time, error) {
	now := s.cfg.Now()
	ev := auditlog.Event{
		Type: auditlog.UserLoginFailed, Tenant: f.tenant, Actor: f.actor, Request: api.AuditRequest(r),
		Outcome: auditlog.OutcomeFailure, Reason: "wrong " + f.method, Details: map[string]string{"method": f.method},
	}
	if err := s.cfg.Recorder.Record(ctx, ev); err != nil {
		return time.Time{}, fmt.Errorf("login: audit: %w", err)
	}
	var until time.Time
	for _, k := range f.keys {
		n, err := s.lockouts.RecordFailure(ctx, k, now, s.lockout.Window)
		if err != nil {
			return time.Time{}, fmt.Errorf("login: lockout: %w", err)
		}
		limit := s.lockout.MaxFailures
		if scopeOf(k) == "client" {
			limit = s.lockout.MaxClientFailures
		}
		if n < limit {
			continue
		}
		end := now.Add(s.lockout.Duration)
		if err := s.lockouts.Lock(ctx, k, end); err != nil {
			return time.Time{}, fmt.Errorf("login: lockout: %w", err)
		}
		until = end
		if n > limit {
			continue // a racing failure already recorded the lock
		}
		lo := ev
		lo.Type, lo.Outcome = auditlog.UserLockedOut, auditlog.OutcomeDenied
		lo.Reason = fmt.Sprintf("%d failed attempts within %v", n, s.lockout.Window)
		lo.Details = map[string]string{"method": f.method, "scope": scopeOf(k), "until": end.UTC().Format(time.RFC3339)}
		if err := s.cfg.Recorder.Record(ctx, lo); err != nil {
			return time.Time{}, fmt.Errorf("login: audit: %w", err)
		}
	}
	return until, nil
}

// scopeOf names what a lockout key counts, for the audit event.
func scopeOf(key string) string {
	for _, p := range []struct{ prefix, scope string }{{"login-ip\x00", "client"}, {"login\x00", "account"}, {"mfa\x00", "second-factor"}} {
		if len(key) >= len(p.prefix) && key[:len(p.prefix)] == p.prefix {
			return p.scope
		}
	}
	return "other"
}

// keyedLockouts gives the store, instead of each lockout key, its
// HMAC-SHA256 (hex) under a key derived from [Config.RecoveryKey]: the
// store's SHA-256 of a key naming a client IP or an e-mail address could
// be reversed by hashing every address, its SHA-256 of the HMAC not
// without the key.
type keyedLockouts struct {
	store identity.Lockouts
	key   []byte
}

func newKeyedLockouts(store identity.Lockouts, recoveryKey []byte) keyedLockouts {
	m := hmac.New(sha256.New, recoveryKey)
	m.Write([]byte("signet lockout keys"))
	return keyedLockouts{store: store, key: m.Sum(nil)}
}

func (k keyedLockouts) name(key string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil))
}

func (k keyedLockouts) RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	return k.store.RecordFailure(ctx, k.name(key), at, window)
}

func (k keyedLockouts) Lock(ctx context.Context, key string, until time.Time) error {
	return k.store.Lock(ctx, k.name(key), until)
}

func (k keyedLockouts) LockedUntil(ctx context.Context, key string) (time.Time, error) {
	return k.store.LockedUntil(ctx, k.name(key))
}

func (k keyedLockouts) ClearFailures(ctx context.Context, key string) error {
	return k.store.ClearFailures(ctx, k.name(key))
}
