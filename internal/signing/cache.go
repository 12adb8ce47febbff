package signing

import "sync"

// maxCachedSessions bounds the session cache; when full it is emptied
// (sessions are short-lived and re-read from the store on a miss).
const maxCachedSessions = 10000

// sessionCache keeps sessions by token hash. Sessions are immutable, so a
// cached copy is never stale; expiry is checked on every use, and a
// re-issue, which deletes the recipient's sessions from the store, drops
// them here ([sessionCache.drop]).
type sessionCache struct {
	mu sync.Mutex
	m  map[[32]byte]Session
}

func (c *sessionCache) get(h [32]byte) (Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[h]
	return s, ok
}

func (c *sessionCache) put(s Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedSessions {
		c.m = make(map[[32]byte]Session)
	}
	c.m[s.Hash] = s
}

// drop removes the sessions of recipient recipientID of envelope
// envelopeID.
func (c *sessionCache) drop(envelopeID, recipientID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, s := range c.m {
		if s.EnvelopeID == envelopeID && s.RecipientID == recipientID {
			delete(c.m, h)
		}
	}
}
