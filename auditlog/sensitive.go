package auditlog

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/signet-pki/signet/auditlog/internal/jcs"
)

// ErrKeyDestroyed means a tenant's audit keys were destroyed
// (crypto-shredded): its sealed values can no longer be opened.
var ErrKeyDestroyed = errors.New("auditlog: tenant keys destroyed")

// TenantKeys provides each tenant's audit keys: a MAC key for the keyed
// HMAC-SHA256 of sensitive values in leaves, and a 32-byte AES-256-GCM data
// key that seals their clear values. Implementations MUST return the same
// keys for a tenant every time until they are destroyed, and then MUST
// return an error wrapping [ErrKeyDestroyed].
type TenantKeys interface {
	Keys(ctx context.Context, tenant string) (mac, data []byte, err error)
}

// DerivedKeys is a software [TenantKeys] that derives every tenant's keys
// from one master secret with HKDF-SHA256 (RFC 5869). Destroy forgets a
// tenant in this process only; durable crypto-shredding needs per-tenant
// keys held in a key store.
type DerivedKeys struct {
	master []byte
	mu     sync.RWMutex
	gone   map[string]bool
}

var _ TenantKeys = (*DerivedKeys)(nil)

// NewDerivedKeys returns DerivedKeys over master, which must hold at least
// 32 bytes.
func NewDerivedKeys(master []byte) (*DerivedKeys, error) {
	if len(master) < 32 {
		return nil, errors.New("auditlog: master key shorter than 32 bytes")
	}
	return &DerivedKeys{master: append([]byte(nil), master...), gone: map[string]bool{}}, nil
}

// Keys implements [TenantKeys].
func (k *DerivedKeys) Keys(ctx context.Context, tenant string) (mac, data []byte, err error) {
	k.mu.RLock()
	gone := k.gone[tenant]
	k.mu.RUnlock()
	if gone {
		return nil, nil, fmt.Errorf("auditlog: tenant %q: %w", tenant, ErrKeyDestroyed)
	}
	mac, err = hkdf.Key(sha256.New, k.master, nil, "signet audit mac v1\x00"+tenant, 32)
	if err != nil {
		return nil, nil, err
	}
	data, err = hkdf.Key(sha256.New, k.master, nil, "signet audit seal v1\x00"+tenant, 32)
	return mac, data, err
}

// Destroy makes the tenant's keys unavailable.
func (k *DerivedKeys) Destroy(tenant string) {
	k.mu.Lock()
	k.gone[tenant] = true
	k.mu.Unlock()
}

// hmacPrefix marks a keyed digest in place of a clear value.
const hmacPrefix = "hmac-sha256:"

// MatchValue returns the leaf form of a sensitive value for a tenant's MAC
// key: "hmac-sha256:" and the base64 HMAC-SHA256 of the value. Exported
// leaves can be searched for a known value with it, without revealing any
// other value.
func MatchValue(macKey []byte, value string) string {
	m := hmac.New(sha256.New, macKey)
	m.Write([]byte(value))
	return hmacPrefix + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// sealVersion is the first byte of Record.Sealed.
const sealVersion = 1

// seal encrypts the clear values with AES-256-GCM, bound to the event id.
// The result is version ‖ nonce ‖ ciphertext.
func seal(dataKey []byte, id string, clear map[string]string, r io.Reader) ([]byte, error) {
	if len(clear) == 0 {
		return nil, nil
	}
	m := make(map[string]any, len(clear))
	for k, v := range clear {
		m[k] = v
	}
	pt, err := jcs.Marshal(m)
	if err != nil {
		return nil, err
	}
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(pt)+aead.Overhead())
	out[0] = sealVersion
	if _, err := io.ReadFull(r, out[1:]); err != nil {
		return nil, fmt.Errorf("auditlog: seal: %w", err)
	}
	return aead.Seal(out, out[1:], pt, sealAAD(id)), nil
}

// Unseal opens the sealed clear values of a record with its tenant's keys:
// a map from field name (e.g. "actor.email") to clear value. A record
// without sensitive values yields an empty map.
func Unseal(ctx context.Context, keys TenantKeys, rec Record) (map[string]string, error) {
	out := map[string]string{}
	if len(rec.Sealed) == 0 {
		return out, nil
	}
	_, data, err := keys.Keys(ctx, rec.Tenant)
	if err != nil {
		return nil, err
	}
	aead, err := newGCM(data)
	if err != nil {
		return nil, err
	}
	if len(rec.Sealed) < 1+aead.NonceSize() || rec.Sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w sealed values", ErrMalformed)
	}
	pt, err := aead.Open(nil, rec.Sealed[1:1+aead.NonceSize()], rec.Sealed[1+aead.NonceSize():], sealAAD(rec.ID))
	if err != nil {
		return nil, fmt.Errorf("auditlog: unseal %s: %w", rec.ID, err)
	}
	if err := json.Unmarshal(pt, &out); err != nil {
		return nil, fmt.Errorf("auditlog: unseal %s: %w", rec.ID, err)
	}
	return out, nil
}

func sealAAD(id string) []byte { return []byte("signet audit seal v1\x00" + id) }

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("auditlog: data key: %w", err)
	}
	return cipher.NewGCM(b)
}
