//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/signet-pki/signet/keys"
)

var _ keys.Wrapper = (*Backend)(nil)

// aesKeyBytes is the length of the AES-256 keys Generate makes.
const aesKeyBytes = 32

// secretTemplate returns the template of an AES-256 key-encryption key: a
// token object, private, sensitive and non-extractable, that encrypts and
// decrypts and does nothing else (PKCS#11 v2.40 §4.10).
func secretTemplate(id []byte, label string) []*p11.Attribute {
	t := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_AES),
		p11.NewAttribute(p11.CKA_VALUE_LEN, aesKeyBytes),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_ENCRYPT, true),
		p11.NewAttribute(p11.CKA_DECRYPT, true),
		p11.NewAttribute(p11.CKA_WRAP, false),
		p11.NewAttribute(p11.CKA_UNWRAP, false),
		p11.NewAttribute(p11.CKA_SIGN, false),
		p11.NewAttribute(p11.CKA_VERIFY, false),
		p11.NewAttribute(p11.CKA_DERIVE, false),
		p11.NewAttribute(p11.CKA_ID, id),
	}
	if label != "" {
		t = append(t, p11.NewAttribute(p11.CKA_LABEL, label))
	}
	return t
}

// generateSecret makes an AES-256 key in the token (C_GenerateKey with
// CKM_AES_KEY_GEN) from secretTemplate, refusing a label another secret
// key carries, and checks that the token honoured the custody attributes.
func (b *Backend) generateSecret(ctx context.Context, id []byte, label string) error {
	return b.with(ctx, "generate "+string(keys.AES256), func(sh p11.SessionHandle) error {
		if label != "" {
			dup, err := b.findObjects(sh, 1, class(p11.CKO_SECRET_KEY), p11.NewAttribute(p11.CKA_LABEL, label))
			if err != nil {
				return err
			}
			if len(dup) > 0 {
				return fmt.Errorf("a secret key labelled %q already exists", label)
			}
		}
		h, err := b.mod.ctx.GenerateKey(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_KEY_GEN, nil)}, secretTemplate(id, label))
		if err != nil {
			return err
		}
		if err := b.checkCustody(sh, h); err != nil {
			b.mod.ctx.DestroyObject(sh, h)
			return err
		}
		return nil
	})
}

// maxCachedSecrets bounds the object handles of AES keys a Backend
// remembers.
const maxCachedSecrets = 4096

// secretCache maps the hex CKA_ID of AES keys to their object handles, so
// that Wrap and Unwrap need not search the token (C_FindObjects, whose cost
// grows with the number of objects) on every call. A cached handle is
// checked before use (secretKeyAt): a handle may name another object once
// its key is destroyed elsewhere.
type secretCache struct {
	mu sync.Mutex
	m  map[string]p11.ObjectHandle
}

func (c *secretCache) get(h string) (p11.ObjectHandle, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.m[h]
	return o, ok
}

func (c *secretCache) put(h string, o p11.ObjectHandle) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]p11.ObjectHandle{}
	}
	if len(c.m) < maxCachedSecrets {
		c.m[h] = o
	}
}

func (c *secretCache) drop(h string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, h)
}

// Ways for secretKey to use a cached object handle.
const (
	// checked: use it if it still carries the key's CKA_ID (one more call
	// into the token). Wrap needs this: under another key, its blob
	// would be lost.
	checked = iota
	// trusted: use it as is. Unwrap may: under another key, GCM fails to
	// authenticate, and Unwrap then tries again with a searched handle.
	trusted
	// searched: search the token.
	searched
)

// secretKey returns the object handle of the AES key whose CKA_ID is id,
// from the cache as use says or from a search of the token, and whether
// it came from the cache.
func (b *Backend) secretKey(sh p11.SessionHandle, id []byte, use int) (p11.ObjectHandle, bool, error) {
	h := hex.EncodeToString(id)
	if o, ok := b.secrets.get(h); ok && use != searched {
		if use == trusted || b.secretKeyAt(sh, o, id) {
			return o, true, nil
		}
		b.secrets.drop(h)
	}
	objs, err := b.findObjects(sh, 2, class(p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_AES), p11.NewAttribute(p11.CKA_ID, id))
	if err != nil {
		return 0, false, err
	}
	switch len(objs) {
	case 0:
		b.secrets.drop(h)
		return 0, false, errorf(keys.ErrKeyNotFound, "token %q: no AES key with id %s", b.label, h)
	case 2:
		return 0, false, fmt.Errorf("more than one AES key with id %s", h)
	}
	b.secrets.put(h, objs[0])
	return objs[0], false, nil
}

// secretKeyAt reports whether object o carries CKA_ID id. The ids are 16
// random bytes that Generate gave the key alone, so the id names the key;
// one attribute is read because every read costs a call into the token.
func (b *Backend) secretKeyAt(sh p11.SessionHandle, o p11.ObjectHandle, id []byte) bool {
	attrs, err := b.mod.ctx.GetAttributeValue(sh, o, []*p11.Attribute{p11.NewAttribute(p11.CKA_ID, nil)})
	return err == nil && len(attrs) == 1 && bytes.Equal(attrs[0].Value, id)
}

// Wrap implements [keys.Wrapper]: it encrypts plaintext (at most
// [MaxWrapSize] bytes) in the token with the AES key whose CKA_ID is the hex
// handle, using CKM_AES_GCM with a random 96-bit IV, aad as the additional
// authenticated data and a 128-bit tag. The result is iv ‖ ciphertext ‖
// tag, the layout of the software backend. A token that chooses its own IV
// (some HSMs ignore the one given) is honoured: the IV it reports is the
// one recorded.
func (b *Backend) Wrap(ctx context.Context, handle string, plaintext, aad []byte) ([]byte, error) {
	id, err := parseHandle(handle)
	if err != nil {
		return nil, err
	}
	if len(plaintext) > MaxWrapSize {
		return nil, fmt.Errorf("pkcs11: wrap: %d bytes of plaintext, at most %d", len(plaintext), MaxWrapSize)
	}
	iv := make([]byte, gcmIVSize)
	if _, err := io.ReadFull(rand.Reader, iv); err != nil {
		return nil, fmt.Errorf("pkcs11: wrap: random IV: %w", err)
	}
	var ct []byte
	err = b.with(ctx, "wrap with "+handle, func(sh p11.SessionHandle) error {
		key, _, err := b.secretKey(sh, id, checked)
		if err != nil {
			return err
		}
		var used []byte
		if ct, used, err = b.gcmEncrypt(sh, key, iv, plaintext, aad); err != nil {
			return err
		}
		if len(used) != gcmIVSize {
			return fmt.Errorf("the token used an IV of %d bytes, want %d", len(used), gcmIVSize)
		}
		copy(iv, used)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ct) != len(plaintext)+gcmTagSize {
		return nil, fmt.Errorf("pkcs11: token %q: wrap with %s: %d bytes of ciphertext for %d of plaintext, want a %d-byte tag", b.label, handle, len(ct), len(plaintext), gcmTagSize)
	}
	out := make([]byte, 0, gcmIVSize+len(ct))
	out = append(out, iv...)
	return append(out, ct...), nil
}

// Unwrap implements [keys.Wrapper]: it opens a blob made by [Backend.Wrap]
// with the same key and aad. A blob that is malformed, damaged, made with
// another key or bound to other additional data gives an error wrapping
// [ErrUnwrap]; a destroyed or unknown key, [keys.ErrKeyNotFound].
//
// Tokens report a tag that does not verify differently: PKCS#11 names
// CKR_ENCRYPTED_DATA_INVALID (v2.40) and CKR_AEAD_DECRYPT_FAILED (v3.0),
// but SoftHSM 2.6 answers CKR_GENERAL_ERROR, which otherwise means the
// token failed. After such an answer Unwrap checks the token with a round
// trip of its own under the same key: if that works the blob was at fault
// ([ErrUnwrap]); if not, the token is ([keys.ErrBackendUnavailable]).
func (b *Backend) Unwrap(ctx context.Context, handle string, ciphertext, aad []byte) ([]byte, error) {
	id, err := parseHandle(handle)
	if err != nil {
		return nil, err
	}
	iv, sealed, err := splitWrapped(ciphertext)
	if err != nil {
		return nil, err
	}
	pt, decryptCK, cached, err := b.unwrap(ctx, handle, id, iv, sealed, aad, trusted)
	if err != nil && cached {
		// The cached handle may name another object by now: search.
		pt, decryptCK, _, err = b.unwrap(ctx, handle, id, iv, sealed, aad, searched)
	}
	if err != nil {
		if decryptCK != nil && b.blobAtFault(ctx, id, decryptCK) {
			return nil, &opError{msg: fmt.Sprintf("%v (key %s; %s)", ErrUnwrap, handle, ckName(decryptCK)), sentinel: ErrUnwrap, cause: decryptCK}
		}
		return nil, err
	}
	if len(pt) != len(sealed)-gcmTagSize {
		clear(pt)
		return nil, fmt.Errorf("pkcs11: token %q: unwrap with %s: %d bytes of plaintext for %d of ciphertext", b.label, handle, len(pt), len(sealed))
	}
	return pt, nil
}

// unwrap decrypts sealed on a pooled session with the key found as use
// says. It returns the error of C_Decrypt itself apart, and whether the
// key's handle came from the cache.
func (b *Backend) unwrap(ctx context.Context, handle string, id, iv, sealed, aad []byte, use int) (pt []byte, decryptCK error, cached bool, err error) {
	err = b.with(ctx, "unwrap with "+handle, func(sh p11.SessionHandle) error {
		key, c, err := b.secretKey(sh, id, use)
		if err != nil {
			return err
		}
		cached = c
		pt, decryptCK = b.gcmDecrypt(sh, key, iv, sealed, aad)
		return decryptCK
	})
	return pt, decryptCK, cached, err
}

// gcmEncrypt runs C_EncryptInit and C_Encrypt with CKM_AES_GCM and returns
// ciphertext ‖ tag and the IV the token used (iv unless it chose its own).
func (b *Backend) gcmEncrypt(sh p11.SessionHandle, key p11.ObjectHandle, iv, plaintext, aad []byte) (ct, used []byte, err error) {
	params := p11.NewGCMParams(iv, aad, 8*gcmTagSize)
	defer params.Free()
	if err := b.mod.ctx.EncryptInit(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, params)}, key); err != nil {
		return nil, nil, err
	}
	if ct, err = b.mod.ctx.Encrypt(sh, plaintext); err != nil {
		return nil, nil, err
	}
	used = params.IV()
	if len(used) == 0 {
		used = iv
	}
	return ct, used, nil
}

// gcmDecrypt runs C_DecryptInit and C_Decrypt with CKM_AES_GCM.
func (b *Backend) gcmDecrypt(sh p11.SessionHandle, key p11.ObjectHandle, iv, sealed, aad []byte) ([]byte, error) {
	params := p11.NewGCMParams(iv, aad, 8*gcmTagSize)
	defer params.Free()
	if err := b.mod.ctx.DecryptInit(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, params)}, key); err != nil {
		return nil, err
	}
	return b.mod.ctx.Decrypt(sh, sealed)
}

// ckrAEADDecryptFailed is CKR_AEAD_DECRYPT_FAILED (PKCS#11 v3.0 §5.1),
// which miekg/pkcs11 does not name.
const ckrAEADDecryptFailed = 0x35

// blobAtFault reports whether a C_Decrypt failure means that the blob does
// not open rather than that the token failed: the return value says so, or
// it is a generic failure and a probe round trip under the same key works.
func (b *Backend) blobAtFault(ctx context.Context, id []byte, decryptErr error) bool {
	var ck p11.Error
	if !errors.As(decryptErr, &ck) {
		return false
	}
	switch ck {
	case p11.CKR_ENCRYPTED_DATA_INVALID, p11.CKR_ENCRYPTED_DATA_LEN_RANGE, ckrAEADDecryptFailed:
		return true
	case p11.CKR_GENERAL_ERROR, p11.CKR_FUNCTION_FAILED:
		return b.probe(ctx, id) == nil
	}
	return false
}

// probe encrypts and decrypts a fixed value with the AES key id on a fresh
// pooled session and checks the result.
func (b *Backend) probe(ctx context.Context, id []byte) error {
	want := []byte("signet pkcs11 unwrap probe")
	aad := []byte("probe")
	iv := make([]byte, gcmIVSize)
	if _, err := io.ReadFull(rand.Reader, iv); err != nil {
		return err
	}
	return b.with(ctx, "probe", func(sh p11.SessionHandle) error {
		key, _, err := b.secretKey(sh, id, checked)
		if err != nil {
			return err
		}
		ct, used, err := b.gcmEncrypt(sh, key, iv, want, aad)
		if err != nil {
			return err
		}
		got, err := b.gcmDecrypt(sh, key, used, ct, aad)
		if err != nil {
			return err
		}
		if string(got) != string(want) {
			return errors.New("the probe did not round-trip")
		}
		return nil
	})
}
