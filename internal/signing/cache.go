package signing

import "sync"

// maxCachedSessions bounds the session cache; when full it is emptied
// (sessions are short-lived and re-read from the store on a miss).
const maxCachedSessions = 10000

// sessionCache keeps sessions by token hash. Sessions are immutable, so a
// cached copy is never stale; expiry is checked on every use.
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
