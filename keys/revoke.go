package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"time"
)

// A KeyRevocation tells a [RevocationHook] which key version was revoked.
type KeyRevocation struct {
	// Key is the key's metadata after the revocation.
	Key *Key
	// Version is the revoked version.
	Version int
	// Public is the version's public key (nil for symmetric keys): the CA
	// revokes the certificates that certify it.
	Public crypto.PublicKey
	// Reason, Time and CompromiseTime are as recorded in [Revocation].
	Reason         RevocationReason
	Time           time.Time
	CompromiseTime time.Time
}

// A RevocationHook is called after a key version is revoked, e.g. by the
// CA to revoke the certificates of that key so that its CRL and OCSP
// responses reflect the revocation at once. An error does not undo the
// revocation; [Manager.Revoke] reports it wrapping [ErrRevocationHook].
type RevocationHook func(ctx context.Context, r KeyRevocation) error

// OnRevoke registers h to be called for every revoked version, in
// registration order.
func (m *Manager) OnRevoke(h RevocationHook) {
	m.hooksMu.Lock()
	defer m.hooksMu.Unlock()
	m.hooks = append(m.hooks, h)
}

// Revoke revokes version n of key id, or every version not yet revoked
// or destroyed if n is 0, with an RFC 5280 §5.3.1 reason and, for
// compromises, the time the key was (or may have been) compromised (RFC
// 5280 §5.3.2 invalidityDate; zero if unknown). Revoked versions stop
// signing, wrapping and unwrapping immediately. Each revocation is
// recorded before it is stored; then the registered hooks run. It returns
// the versions revoked.
func (m *Manager) Revoke(ctx context.Context, id string, n int, reason RevocationReason, compromise time.Time) ([]KeyVersionRef, error) {
	k, err := m.store.Get(ctx, id)
	if err != nil {
		return nil, m.deny(ctx, opRevoke, &Key{ID: id}, n, err)
	}
	now := m.now().UTC()
	if !reason.Valid() {
		return nil, m.deny(ctx, opRevoke, k, n, fmt.Errorf("keys: revocation reason %s is not allowed", reason))
	}
	if compromise.After(now) {
		return nil, m.deny(ctx, opRevoke, k, n, fmt.Errorf("keys: compromise time %s is in the future", compromise.Format(time.RFC3339)))
	}
	var targets []int
	if n == 0 {
		for _, v := range k.Versions {
			if v.State != StateRevoked && v.State != StateDestroyed {
				targets = append(targets, v.Number)
			}
		}
		if len(targets) == 0 {
			return nil, m.deny(ctx, opRevoke, k, 0, fmt.Errorf("%w: %s has no version left to revoke", ErrState, id))
		}
	} else {
		v := k.Version(n)
		if v == nil {
			return nil, m.deny(ctx, opRevoke, k, n, fmt.Errorf("%w: %s has no version %d", ErrNotFound, id, n))
		}
		if v.State == StateRevoked || v.State == StateDestroyed {
			return nil, m.deny(ctx, opRevoke, k, n, fmt.Errorf("%w: %s/v%d is already %s", ErrState, id, n, v.State))
		}
		targets = []int{n}
	}
	details := map[string]string{"reason": reason.String()}
	if !compromise.IsZero() {
		details["compromise_time"] = compromise.UTC().Format(time.RFC3339Nano)
	}
	for _, t := range targets {
		if err := m.attempt(ctx, opRevoke, k, t, details); err != nil {
			return nil, err
		}
	}
	rev := Revocation{Reason: reason, Time: now, CompromiseTime: compromise.UTC()}
	if compromise.IsZero() {
		rev.CompromiseTime = time.Time{}
	}
	var after *Key
	err = m.store.Update(ctx, id, func(c *Key) error {
		for _, t := range targets {
			v := c.Version(t)
			if v == nil || v.State == StateDestroyed {
				return fmt.Errorf("%w: %s/v%d changed while revoking", ErrState, id, t)
			}
			r := rev
			v.State, v.Revocation = StateRevoked, &r
		}
		after = c.Clone()
		return nil
	})
	if err != nil {
		var errs []error
		for _, t := range targets {
			errs = append(errs, m.fail(ctx, opRevoke, k, t, err))
		}
		return nil, errors.Join(errs...)
	}
	refs := make([]KeyVersionRef, len(targets))
	m.hooksMu.RLock()
	hooks := append([]RevocationHook(nil), m.hooks...)
	m.hooksMu.RUnlock()
	var errs []error
	for i, t := range targets {
		refs[i] = KeyVersionRef{KeyID: id, Version: t}
		kr := KeyRevocation{Key: after.Clone(), Version: t, Public: after.Version(t).Public, Reason: reason, Time: rev.Time, CompromiseTime: rev.CompromiseTime}
		for _, h := range hooks {
			if err := h(ctx, kr); err != nil {
				errs = append(errs, fmt.Errorf("%w: %s/v%d: %w", ErrRevocationHook, id, t, err))
			}
		}
	}
	return refs, errors.Join(errs...)
}

// Destroy destroys the material of version n of key id in the backend,
// irreversibly, and marks the version destroyed; its public key stays in
// the metadata for verifying old signatures. The active version cannot be
// destroyed: rotate or revoke it first. The destruction is recorded before
// it happens; a retry after a partial failure completes it.
func (m *Manager) Destroy(ctx context.Context, id string, n int) error {
	k, err := m.store.Get(ctx, id)
	if err != nil {
		return m.deny(ctx, opDestroy, &Key{ID: id}, n, err)
	}
	v := k.Version(n)
	if v == nil {
		return m.deny(ctx, opDestroy, k, n, fmt.Errorf("%w: %s has no version %d", ErrNotFound, id, n))
	}
	switch v.State {
	case StateActive:
		return m.deny(ctx, opDestroy, k, n, fmt.Errorf("%w: %s/v%d is active; rotate or revoke it first", ErrState, id, n))
	case StateDestroyed:
		return m.deny(ctx, opDestroy, k, n, fmt.Errorf("%w: %s/v%d is already destroyed", ErrState, id, n))
	}
	b, err := m.backend(k)
	if err != nil {
		return m.deny(ctx, opDestroy, k, n, err)
	}
	if err := m.attempt(ctx, opDestroy, k, n, nil); err != nil {
		return err
	}
	if err := b.Destroy(ctx, v.Handle); err != nil && !errors.Is(err, ErrKeyNotFound) {
		return m.fail(ctx, opDestroy, k, n, fmt.Errorf("keys: destroy %s/v%d in %s: %w", id, n, b.Name(), err))
	}
	now := m.now().UTC()
	err = m.store.Update(ctx, id, func(c *Key) error {
		cv := c.Version(n)
		if cv == nil {
			return fmt.Errorf("%w: %s has no version %d", ErrNotFound, id, n)
		}
		cv.State, cv.Destroyed = StateDestroyed, now
		return nil
	})
	if err != nil {
		return m.fail(ctx, opDestroy, k, n, fmt.Errorf("keys: destroy %s/v%d: %w", id, n, err))
	}
	return nil
}
