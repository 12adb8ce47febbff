package keys

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"time"
)

// Signer returns a crypto.Signer for the active version of key id, which
// must have the given (signing) purpose, and names that version. The
// signer stays bound to that version: once the key rotates, it fails with
// [ErrState] and a new Signer must be asked for.
//
// Every Sign call checks the version's state, the key's purpose and its
// usage limit at that moment (so a revocation takes effect at once),
// records a key.used event before the backend signs (and a failure event
// if the backend fails), counts the use, and rotates the key when the
// usage limit is reached. Sign uses context.Background(): crypto.Signer
// carries no context. Options may record uses in blocks instead
// ([AggregateUses]).
func (m *Manager) Signer(ctx context.Context, id string, purpose Purpose, opts ...SignerOption) (crypto.Signer, KeyVersionRef, error) {
	o := useOptions(opts)
	check := signingPurpose(purpose)
	k, err := m.store.Get(ctx, id)
	if err != nil {
		return nil, KeyVersionRef{}, m.deny(ctx, opSign, &Key{ID: id}, 0, err)
	}
	if err := check(k); err != nil {
		return nil, KeyVersionRef{}, m.deny(ctx, opSign, k, 0, err)
	}
	if a := k.Active(); a != nil && k.UsageLimit > 0 && a.Usage >= k.UsageLimit {
		if _, err := m.rotateFrom(ctx, id, a.Number, "usage-limit"); err != nil {
			return nil, KeyVersionRef{}, err
		}
		if k, err = m.store.Get(ctx, id); err != nil {
			return nil, KeyVersionRef{}, err
		}
	}
	v := k.Active()
	if v == nil {
		return nil, KeyVersionRef{}, m.deny(ctx, opSign, k, 0, fmt.Errorf("%w: %s has no active version", ErrState, id))
	}
	b, err := m.backend(k)
	if err != nil {
		return nil, KeyVersionRef{}, m.deny(ctx, opSign, k, v.Number, err)
	}
	bs, err := b.Signer(ctx, v.Handle)
	if err != nil {
		return nil, KeyVersionRef{}, m.deny(ctx, opSign, k, v.Number, fmt.Errorf("keys: open %s/v%d in %s: %w", id, v.Number, b.Name(), err))
	}
	if eq, ok := v.Public.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(bs.Public()) {
		return nil, KeyVersionRef{}, m.deny(ctx, opSign, k, v.Number, fmt.Errorf("keys: backend %s returned a different key for %s/v%d", b.Name(), id, v.Number))
	}
	ref := KeyVersionRef{KeyID: id, Version: v.Number}
	return &signer{m: m, ref: ref, pub: v.Public, purpose: purpose, backend: bs, aggregate: o.aggregate}, ref, nil
}

// signingPurpose returns the purpose check for signing under p: the key
// must have purpose p and an asymmetric algorithm.
func signingPurpose(p Purpose) func(*Key) error {
	return func(k *Key) error {
		if k.Purpose != p {
			return fmt.Errorf("%w: %s is a %s key, cannot sign for %s", ErrPurpose, k.ID, k.Purpose, p)
		}
		if !k.Algorithm.Asymmetric() {
			return fmt.Errorf("%w: %s is a %s %s key, which does not sign", ErrPurpose, k.ID, k.Purpose, k.Algorithm)
		}
		return nil
	}
}

// signer is the guarded crypto.Signer the Manager hands out.
type signer struct {
	m       *Manager
	ref     KeyVersionRef
	pub     crypto.PublicKey
	purpose Purpose
	backend crypto.Signer
	// aggregate is the block interval of [AggregateUses], or zero.
	aggregate time.Duration
}

var _ crypto.Signer = (*signer)(nil)

// Public implements crypto.Signer.
func (s *signer) Public() crypto.PublicKey { return s.pub }

// Sign implements crypto.Signer, with the checks described at
// [Manager.Signer].
func (s *signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	ctx := context.Background()
	spec := useSpec{op: opSign, purpose: signingPurpose(s.purpose), states: activeOnly, limited: true, aggregate: s.aggregate}
	k, v, _, err := s.m.use(ctx, s.ref.KeyID, s.ref.Version, spec)
	if err != nil {
		return nil, err
	}
	sig, err := s.backend.Sign(rand, digest, opts)
	if err != nil {
		return nil, s.m.fail(ctx, opSign, k, v.Number, fmt.Errorf("keys: sign with %s: %w", s.ref, err))
	}
	s.m.afterUse(ctx, k, v, spec)
	return sig, nil
}

// String describes the signer without key material.
func (s *signer) String() string { return "keys.Signer(" + s.ref.String() + ")" }

// GoString describes the signer without key material.
func (s *signer) GoString() string { return s.String() }

// Format prints s.String() for every verb, so that no formatting of a
// signer reaches the backend signer inside it.
func (s *signer) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, s.String()) }
