package ocsp

import (
	"encoding/hex"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxCached bounds the responses a [Responder] keeps when
// [Responder.MaxCached] is zero.
const DefaultMaxCached = 10000

// responseCache keeps pre-produced responses (RFC 6960 §2.4) for single
// certificates, each for the status it states. Concurrent requests for a
// response being produced wait for it, so that a flood of identical
// requests signs once.
type responseCache struct {
	mu sync.Mutex
	m  map[cacheKey]*cachedResponse
}

type cacheKey struct {
	signer *entry // responses of a replaced signer are not served
	certID string
}

type cachedResponse struct {
	ready    chan struct{} // closed once der or err is set
	der      []byte
	err      error
	state    string    // the status the response states (certState)
	produced time.Time // its producedAt and thisUpdate
}

// certIDKey identifies id for the cache: hash algorithm, issuer hashes
// and serial, which the response repeats.
func certIDKey(id CertID) string {
	return indexKey(id.Hash, id.IssuerNameHash, id.IssuerKeyHash) + "|" + hex.EncodeToString(id.SerialNumber.Bytes())
}

// certState names what a response says about one certificate: its status
// and, if revoked, when, why and since when it is invalid. A response
// stating another state than the current record is never served.
func certState(sr SingleResponse) string {
	s := strconv.Itoa(int(sr.Status))
	if sr.Status == Revoked {
		s += "|" + strconv.FormatInt(sr.RevokedAt.Unix(), 10) + "|" + strconv.Itoa(sr.Reason) + "|" + strconv.FormatInt(sr.InvalidityDate.Unix(), 10)
	}
	return s
}

// get returns the response for k stating state, produced at most reuse
// before now (unless renew is set), or has produce make it (at now) and
// keeps it. It keeps at most max responses.
func (c *responseCache) get(k cacheKey, state string, now time.Time, reuse time.Duration, max int, renew bool, produce func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if r := c.m[k]; r != nil && !renew && r.state == state && fresh(r, now, reuse) {
		c.mu.Unlock()
		<-r.ready
		return r.der, r.err
	}
	if c.m == nil {
		c.m = map[cacheKey]*cachedResponse{}
	}
	if len(c.m) >= max {
		c.evict(now, reuse, max)
	}
	r := &cachedResponse{ready: make(chan struct{}), state: state, produced: now}
	c.m[k] = r
	c.mu.Unlock()

	r.der, r.err = produce()
	if r.err != nil {
		c.mu.Lock()
		if c.m[k] == r {
			delete(c.m, k)
		}
		c.mu.Unlock()
	}
	close(r.ready)
	return r.der, r.err
}

// fresh reports whether r may still be served at now.
func fresh(r *cachedResponse, now time.Time, reuse time.Duration) bool {
	return !now.Before(r.produced) && now.Before(r.produced.Add(reuse))
}

// evict drops responses no longer fresh and, if that leaves more than
// nine tenths of max, arbitrary others down to that. c.mu is held.
func (c *responseCache) evict(now time.Time, reuse time.Duration, max int) {
	for k, r := range c.m {
		if !fresh(r, now, reuse) {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) <= max*9/10 {
			break
		}
		delete(c.m, k)
	}
}
