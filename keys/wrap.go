package keys

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
)

// wrapMagic starts every wrapped blob; the key version follows as a
// big-endian uint32, then the backend's ciphertext.
const wrapMagic = "SKW1"

// wrapAAD binds a backend ciphertext to the key, the version and the
// caller's context, so that blobs cannot be moved between keys or
// relabelled with another version.
func wrapAAD(id string, n int, aad []byte) []byte {
	b := []byte("signet wrap v1\x00" + id + "\x00" + strconv.Itoa(n) + "\x00")
	return append(b, aad...)
}

// Wrap encrypts plaintext (a data key) under the active version of the
// data-key-wrapping key id, binding aad. The blob records the version, so
// [Manager.Unwrap] still opens it after rotations. Asking a signing key to
// wrap fails with [ErrPurpose]. Each wrap is recorded as a key.used event
// of its own, or in blocks with [AggregateUses].
func (m *Manager) Wrap(ctx context.Context, id string, plaintext, aad []byte, opts ...SignerOption) ([]byte, error) {
	spec := useSpec{op: opWrap, purpose: purposeIs(PurposeDataKeyWrapping, opWrap), states: activeOnly, limited: true,
		aggregate: useOptions(opts).aggregate}
	k, v, b, err := m.use(ctx, id, 0, spec)
	if err != nil {
		return nil, err
	}
	w, ok := b.(Wrapper)
	if !ok {
		return nil, m.fail(ctx, opWrap, k, v.Number, fmt.Errorf("%w: backend %s cannot wrap", ErrUnsupportedAlgorithm, b.Name()))
	}
	ct, err := w.Wrap(ctx, v.Handle, plaintext, wrapAAD(id, v.Number, aad))
	if err != nil {
		return nil, m.fail(ctx, opWrap, k, v.Number, fmt.Errorf("keys: wrap with %s/v%d: %w", id, v.Number, err))
	}
	m.afterUse(ctx, k, v, spec)
	out := make([]byte, 0, len(wrapMagic)+4+len(ct))
	out = append(out, wrapMagic...)
	out = binary.BigEndian.AppendUint32(out, uint32(v.Number))
	return append(out, ct...), nil
}

// Unwrap decrypts a blob made by [Manager.Wrap] with key id. It works
// with the active version and with rotated (decrypt-only) versions, not
// with revoked or destroyed ones. Each unwrap is recorded as a key.used
// event of its own, or in blocks with [AggregateUses].
func (m *Manager) Unwrap(ctx context.Context, id string, blob, aad []byte, opts ...SignerOption) ([]byte, error) {
	n, ct, err := ParseWrapped(blob)
	if err != nil {
		return nil, err
	}
	spec := useSpec{op: opUnwrap, purpose: purposeIs(PurposeDataKeyWrapping, opUnwrap), states: []State{StateActive, StateVerifyOnly},
		aggregate: useOptions(opts).aggregate}
	k, v, b, err := m.use(ctx, id, n, spec)
	if err != nil {
		return nil, err
	}
	w, ok := b.(Wrapper)
	if !ok {
		return nil, m.fail(ctx, opUnwrap, k, v.Number, fmt.Errorf("%w: backend %s cannot unwrap", ErrUnsupportedAlgorithm, b.Name()))
	}
	pt, err := w.Unwrap(ctx, v.Handle, ct, wrapAAD(id, n, aad))
	if err != nil {
		return nil, m.fail(ctx, opUnwrap, k, v.Number, fmt.Errorf("keys: unwrap with %s/v%d: %w", id, n, err))
	}
	return pt, nil
}

// ParseWrapped splits a wrapped blob into the key version that made it and
// the backend ciphertext.
func ParseWrapped(blob []byte) (version int, ciphertext []byte, err error) {
	if len(blob) < len(wrapMagic)+4 || string(blob[:len(wrapMagic)]) != wrapMagic {
		return 0, nil, fmt.Errorf("%w: bad header", ErrMalformedBlob)
	}
	n := binary.BigEndian.Uint32(blob[len(wrapMagic):])
	if n == 0 || n > 1<<30 {
		return 0, nil, fmt.Errorf("%w: version %d", ErrMalformedBlob, n)
	}
	return int(n), blob[len(wrapMagic)+4:], nil
}

// MAC computes a MAC over data with the active version of the
// webhook-signing key id (an HMAC-SHA256 key) and names the version used.
func (m *Manager) MAC(ctx context.Context, id string, data []byte) ([]byte, KeyVersionRef, error) {
	check := func(k *Key) error {
		if err := purposeIs(PurposeWebhookSigning, opMAC)(k); err != nil {
			return err
		}
		if k.Algorithm != HMACSHA256 {
			return fmt.Errorf("%w: %s is a %s key, which does not MAC", ErrPurpose, k.ID, k.Algorithm)
		}
		return nil
	}
	spec := useSpec{op: opMAC, purpose: check, states: activeOnly, limited: true}
	k, v, b, err := m.use(ctx, id, 0, spec)
	if err != nil {
		return nil, KeyVersionRef{}, err
	}
	mc, ok := b.(MACer)
	if !ok {
		return nil, KeyVersionRef{}, m.fail(ctx, opMAC, k, v.Number, fmt.Errorf("%w: backend %s cannot MAC", ErrUnsupportedAlgorithm, b.Name()))
	}
	tag, err := mc.MAC(ctx, v.Handle, data)
	if err != nil {
		return nil, KeyVersionRef{}, m.fail(ctx, opMAC, k, v.Number, fmt.Errorf("keys: mac with %s/v%d: %w", id, v.Number, err))
	}
	m.afterUse(ctx, k, v, spec)
	return tag, KeyVersionRef{KeyID: id, Version: v.Number}, nil
}
