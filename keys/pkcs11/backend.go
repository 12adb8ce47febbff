//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/signet-pki/signet/keys"
)

// A Backend is a [keys.Backend] on one PKCS#11 token. Its methods, and the
// signers it returns, are safe for concurrent use until Close.
type Backend struct {
	label string
	mod   *module
	slot  uint
	pool  *pool
	rand  io.Reader
	// secrets remembers the object handles of AES keys (wrap.go).
	secrets secretCache

	closeOnce sync.Once
}

var _ keys.Backend = (*Backend)(nil)

// Open loads cfg.Module, finds the token labelled cfg.TokenLabel and logs in
// with cfg.PIN. A missing module, an absent or ambiguous token and a
// rejected PIN give errors wrapping [keys.ErrBackendUnavailable]; the PIN
// never appears in them. The caller must Close the Backend.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := acquire(cfg.Module)
	if err != nil {
		return nil, err
	}
	slot, err := m.findToken(cfg.TokenLabel)
	if err != nil {
		m.release()
		return nil, err
	}
	if err := m.logIn(slot, cfg.TokenLabel, cfg.PIN); err != nil {
		m.release()
		return nil, err
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	return &Backend{
		label: cfg.TokenLabel, mod: m, slot: slot, rand: r,
		pool: newPool(m.ctx, slot, cfg.TokenLabel, cfg.maxSessions()),
	}, nil
}

// Close closes the Backend's sessions, logs out when no other Backend of
// the process uses the token, and unloads the module when none uses it.
// Signers obtained from b fail after Close. Close is idempotent.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		b.pool.close()
		b.mod.logOut(b.slot)
		b.mod.release()
	})
	return nil
}

// Name returns "pkcs11:" followed by the token label.
func (b *Backend) Name() string { return name(b.label) }

// with runs fn on a pooled session and wraps its error for op.
func (b *Backend) with(ctx context.Context, op string, fn func(p11.SessionHandle) error) error {
	sh, err := b.pool.get(ctx)
	if err != nil {
		return err
	}
	err = fn(sh)
	b.pool.put(sh, err)
	return wrap(b.label, op, err)
}

// Generate creates a key pair of alg inside the token (C_GenerateKeyPair)
// as token objects labelled label with a random 16-byte CKA_ID, the private
// half sensitive and non-extractable, and returns the CKA_ID in hex and the
// public key. A label already carried by a private key is refused, so that
// labels name keys unambiguously in RFC 7512 URIs. Supported: ECDSA P-256
// and P-384, RSA 2048, 3072 and 4096.
//
// For [keys.AES256] it creates a secret key (C_GenerateKey) in the same
// custody, usable only to encrypt and decrypt, for [Backend.Wrap] and
// [Backend.Unwrap], and returns no public key. Other algorithms give
// [keys.ErrUnsupportedAlgorithm].
func (b *Backend) Generate(ctx context.Context, alg keys.Algorithm, label string) (string, crypto.PublicKey, error) {
	spec, ok := specs()[alg]
	if !ok && alg != keys.AES256 {
		return "", nil, fmt.Errorf("pkcs11: generate %s: %w", alg, keys.ErrUnsupportedAlgorithm)
	}
	id := make([]byte, 16)
	if _, err := io.ReadFull(b.rand, id); err != nil {
		return "", nil, fmt.Errorf("pkcs11: generate: random id: %w", err)
	}
	if alg == keys.AES256 {
		if err := b.generateSecret(ctx, id, label); err != nil {
			return "", nil, err
		}
		return hex.EncodeToString(id), nil, nil
	}
	var pub crypto.PublicKey
	err := b.with(ctx, "generate "+string(alg), func(sh p11.SessionHandle) error {
		if label != "" {
			dup, err := b.findObjects(sh, 1, class(p11.CKO_PRIVATE_KEY), p11.NewAttribute(p11.CKA_LABEL, label))
			if err != nil {
				return err
			}
			if len(dup) > 0 {
				return fmt.Errorf("a private key labelled %q already exists", label)
			}
		}
		pubT, privT := spec.templates(id, label)
		pubH, privH, err := b.mod.ctx.GenerateKeyPair(sh, []*p11.Mechanism{p11.NewMechanism(spec.mech, nil)}, pubT, privT)
		if err != nil {
			return err
		}
		if err := b.checkCustody(sh, privH); err != nil {
			b.mod.ctx.DestroyObject(sh, privH)
			b.mod.ctx.DestroyObject(sh, pubH)
			return err
		}
		pub, err = readPublic(b.mod.ctx, sh, pubH, spec.keyType)
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return hex.EncodeToString(id), pub, nil
}

// checkCustody reads back the attributes Generate asked for and fails if
// the token did not honour them. key is a private or secret key.
func (b *Backend) checkCustody(sh p11.SessionHandle, key p11.ObjectHandle) error {
	want := []struct {
		attr uint
		val  bool
		name string
	}{
		{p11.CKA_TOKEN, true, "CKA_TOKEN"},
		{p11.CKA_PRIVATE, true, "CKA_PRIVATE"},
		{p11.CKA_SENSITIVE, true, "CKA_SENSITIVE"},
		{p11.CKA_EXTRACTABLE, false, "CKA_EXTRACTABLE"},
	}
	tmpl := make([]*p11.Attribute, len(want))
	for i, w := range want {
		tmpl[i] = p11.NewAttribute(w.attr, nil)
	}
	attrs, err := b.mod.ctx.GetAttributeValue(sh, key, tmpl)
	if err != nil {
		return err
	}
	for i, w := range want {
		v := attrs[i].Value
		if len(v) != 1 || (v[0] != 0) != w.val {
			return fmt.Errorf("the token did not set %s=%t on the new key", w.name, w.val)
		}
	}
	return nil
}

// Find returns the handle of the one private key labelled label (CKA_LABEL)
// and, if id is not empty, with that CKA_ID. No match gives
// [keys.ErrKeyNotFound]; more than one is an error.
func (b *Backend) Find(ctx context.Context, label string, id []byte) (string, error) {
	if label == "" && len(id) == 0 {
		return "", errors.New("pkcs11: find: no label or id")
	}
	tmpl := []*p11.Attribute{class(p11.CKO_PRIVATE_KEY)}
	if label != "" {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_LABEL, label))
	}
	if len(id) > 0 {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_ID, id))
	}
	var handle string
	what := fmt.Sprintf("label %q", label)
	if label == "" {
		what = "id " + hex.EncodeToString(id)
	}
	err := b.with(ctx, "find "+what, func(sh p11.SessionHandle) error {
		objs, err := b.findObjects(sh, 2, tmpl...)
		if err != nil {
			return err
		}
		switch len(objs) {
		case 0:
			return errorf(keys.ErrKeyNotFound, "token %q: no private key with %s", b.label, what)
		case 2:
			return fmt.Errorf("more than one private key with %s: add the id to the URI", what)
		}
		attrs, err := b.mod.ctx.GetAttributeValue(sh, objs[0], []*p11.Attribute{p11.NewAttribute(p11.CKA_ID, nil)})
		if err != nil {
			return err
		}
		if len(attrs[0].Value) == 0 {
			return fmt.Errorf("the private key with %s has no CKA_ID", what)
		}
		handle = hex.EncodeToString(attrs[0].Value)
		return nil
	})
	return handle, err
}

// Signer returns a crypto.Signer for the private key whose CKA_ID is the
// hex handle. Its public key is read from the public key object with the
// same CKA_ID (or, for RSA, from the private key's modulus and exponent).
func (b *Backend) Signer(ctx context.Context, handle string) (crypto.Signer, error) {
	id, err := parseHandle(handle)
	if err != nil {
		return nil, err
	}
	s := &signer{b: b, handle: handle}
	err = b.with(ctx, "open key "+handle, func(sh p11.SessionHandle) error {
		objs, err := b.findObjects(sh, 2, class(p11.CKO_PRIVATE_KEY), p11.NewAttribute(p11.CKA_ID, id))
		if err != nil {
			return err
		}
		switch len(objs) {
		case 0:
			return errorf(keys.ErrKeyNotFound, "token %q: no private key with id %s", b.label, handle)
		case 2:
			return fmt.Errorf("more than one private key with id %s", handle)
		}
		s.key = objs[0]
		attrs, err := b.mod.ctx.GetAttributeValue(sh, s.key, []*p11.Attribute{p11.NewAttribute(p11.CKA_KEY_TYPE, nil)})
		if err != nil {
			return err
		}
		kt, err := ulong(attrs[0].Value)
		if err != nil {
			return err
		}
		pubs, err := b.findObjects(sh, 1, class(p11.CKO_PUBLIC_KEY), p11.NewAttribute(p11.CKA_ID, id))
		if err != nil {
			return err
		}
		switch {
		case len(pubs) == 1:
			s.pub, err = readPublic(b.mod.ctx, sh, pubs[0], kt)
		case kt == p11.CKK_RSA:
			s.pub, err = readPublic(b.mod.ctx, sh, s.key, kt)
		default:
			err = fmt.Errorf("no public key object with id %s", handle)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Destroy deletes every object whose CKA_ID is the hex handle: the private
// key, the public key and any certificate stored with them, or the secret
// key (C_DestroyObject). Token objects cannot be recovered once destroyed.
func (b *Backend) Destroy(ctx context.Context, handle string) error {
	id, err := parseHandle(handle)
	if err != nil {
		return err
	}
	b.secrets.drop(hex.EncodeToString(id))
	return b.with(ctx, "destroy "+handle, func(sh p11.SessionHandle) error {
		objs, err := b.findObjects(sh, 16, p11.NewAttribute(p11.CKA_ID, id))
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			return errorf(keys.ErrKeyNotFound, "token %q: no objects with id %s", b.label, handle)
		}
		for _, o := range objs {
			if err := b.mod.ctx.DestroyObject(sh, o); err != nil {
				return err
			}
		}
		return nil
	})
}

// findObjects returns up to max objects matching tmpl.
func (b *Backend) findObjects(sh p11.SessionHandle, max int, tmpl ...*p11.Attribute) ([]p11.ObjectHandle, error) {
	if err := b.mod.ctx.FindObjectsInit(sh, tmpl); err != nil {
		return nil, err
	}
	objs, _, err := b.mod.ctx.FindObjects(sh, max)
	if ferr := b.mod.ctx.FindObjectsFinal(sh); err == nil {
		err = ferr
	}
	return objs, err
}

func class(c uint) *p11.Attribute { return p11.NewAttribute(p11.CKA_CLASS, c) }

// parseHandle decodes a hex CKA_ID handle.
func parseHandle(handle string) ([]byte, error) {
	id, err := hex.DecodeString(handle)
	if err != nil || len(id) == 0 || len(id) > 64 {
		return nil, errorf(keys.ErrKeyNotFound, "malformed key handle %q (want the CKA_ID in hex)", printable(handle))
	}
	return id, nil
}

// printable shortens and sanitizes s for a message.
func printable(s string) string {
	if len(s) > 70 {
		s = s[:70] + "..."
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
