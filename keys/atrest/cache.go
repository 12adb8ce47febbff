package atrest

import (
	"container/list"
	"sync"
	"time"

	"github.com/signet-pki/signet/keys/dataseal"
)

// cache holds the KEKs of recently used objects (their unwrapped data
// keys, as AES-GCM ciphers): a bounded LRU whose entries also expire
// after a TTL. It holds no raw key bytes: an entry is the dataseal.KEK
// made from the data key, which was cleared right after. An evicted,
// expired or shredded entry is unlinked at once; its cipher is then
// garbage, which the Go runtime frees but cannot be made to overwrite.
type cache struct {
	mu   sync.Mutex
	size int
	ttl  time.Duration
	ll   *list.List // front: most recently used
	m    map[Cursor]*list.Element
	// gen counts the evictions by shredding: a load that began before
	// one does not store its key (it might be the key just shredded).
	gen uint64
}

type cacheEntry struct {
	id      Cursor
	kek     dataseal.KEK
	expires time.Time
}

func newCache(size int, ttl time.Duration) *cache {
	return &cache{size: size, ttl: ttl, ll: list.New(), m: map[Cursor]*list.Element{}}
}

// get returns the KEK of id if cached and not expired at now.
func (c *cache) get(id Cursor, now time.Time) dataseal.KEK {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.m[id]
	if el == nil {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		return nil
	}
	c.ll.MoveToFront(el)
	return e.kek
}

// generation returns the current generation, to give to put.
func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches kek for id unless a shred happened since gen was read.
func (c *cache) put(id Cursor, kek dataseal.KEK, now time.Time, gen uint64) {
	if c.size == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if el := c.m[id]; el != nil {
		c.remove(el)
	}
	c.m[id] = c.ll.PushFront(&cacheEntry{id: id, kek: kek, expires: now.Add(c.ttl)})
	for c.ll.Len() > c.size {
		c.remove(c.ll.Back())
	}
}

// remove unlinks el and clears its entry. c.mu is held.
func (c *cache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	delete(c.m, e.id)
	c.ll.Remove(el)
	*e = cacheEntry{}
}

// evict drops id and starts a new generation.
func (c *cache) evict(id Cursor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if el := c.m[id]; el != nil {
		c.remove(el)
	}
}

// evictTenant drops every entry of tenant and starts a new generation.
func (c *cache) evictTenant(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for el := c.ll.Front(); el != nil; {
		next := el.Next()
		if el.Value.(*cacheEntry).id.Tenant == tenant {
			c.remove(el)
		}
		el = next
	}
}

// len returns the number of entries.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
