// Package atresttest is test support for what seals data at rest: a key
// ring of real AES-256 data keys held in memory, as keys/atrest holds
// them wrapped in a table, for the tests of the stores and services that
// take one (workflow.KeyRing and identity.KeyRing have its two methods).
package atresttest

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"

	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/dataseal"
)

// KeyRing is an in-memory key ring: one random 256-bit data key per
// object of a tenant, given as a [dataseal.NewAESKEK] of version "1"
// (real cryptography). Its zero value is ready to use; it is safe for
// concurrent use.
type KeyRing struct {
	mu       sync.Mutex
	keys     map[string][]byte
	shredded []string
}

func name(tenant, object string) string { return tenant + "\x00" + object }

// ObjectKEK returns the KEK of object in tenant, making its data key when
// create is set; a missing key is an error wrapping [atrest.ErrNoKey].
func (k *KeyRing) ObjectKEK(_ context.Context, tenant, object string, create bool) (dataseal.KEK, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[name(tenant, object)]
	if !ok {
		if !create {
			return nil, fmt.Errorf("%w: %s of %s", atrest.ErrNoKey, object, tenant)
		}
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if k.keys == nil {
			k.keys = map[string][]byte{}
		}
		k.keys[name(tenant, object)] = key
	}
	return dataseal.NewAESKEK("1", key), nil
}

// Shred forgets the data key of object in tenant and remembers that it
// was shredded.
func (k *KeyRing) Shred(_ context.Context, tenant, object string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.keys, name(tenant, object))
	k.shredded = append(k.shredded, name(tenant, object))
	return nil
}

// Has reports whether object of tenant has a data key.
func (k *KeyRing) Has(tenant, object string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.keys[name(tenant, object)]
	return ok
}

// Shredded reports whether the data key of object of tenant was shredded.
func (k *KeyRing) Shredded(tenant, object string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Contains(k.shredded, name(tenant, object))
}
