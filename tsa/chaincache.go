package tsa

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"
)

// maxCachedChains bounds a [Client]'s chain cache; when full it is
// emptied. A client talks to a handful of TSAs, each with one chain at a
// time.
const maxCachedChains = 64

// chainCache holds, by signer and certificate set, the window in which a
// validated chain stays valid: from the latest NotBefore to the earliest
// NotAfter of its certificates. Chain validation by crypto/x509 depends
// only on the certificates, the roots and the time, so inside that window
// the result is the same.
type chainCache struct {
	mu sync.Mutex
	m  map[[32]byte]window
}

type window struct{ from, to time.Time }

// chainKey names a signer certificate with the certificates its token
// carried (possible intermediates).
func chainKey(signer *x509.Certificate, certs []*x509.Certificate) [32]byte {
	h := sha256.New()
	sum := sha256.Sum256(signer.Raw)
	h.Write(sum[:])
	for _, c := range certs {
		sum = sha256.Sum256(c.Raw)
		h.Write(sum[:])
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *chainCache) valid(key [32]byte, at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.m[key]
	return ok && !at.Before(w.from) && !at.After(w.to)
}

func (c *chainCache) add(key [32]byte, chain []*x509.Certificate) {
	var w window
	for i, cert := range chain {
		if i == 0 || cert.NotBefore.After(w.from) {
			w.from = cert.NotBefore
		}
		if i == 0 || cert.NotAfter.Before(w.to) {
			w.to = cert.NotAfter
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedChains {
		c.m = make(map[[32]byte]window)
	}
	c.m[key] = w
}
