package atrest

import (
	"bytes"
	"testing"
	"time"

	"github.com/signet-pki/signet/keys/dataseal"
)

// TestCache: the cache holds at most its size, evicting the least
// recently used entry; entries expire after the TTL; an evicted entry is
// cleared; a put from before an eviction is dropped; size 0 caches
// nothing.
func TestCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCache(2, time.Minute)
	kek := func(b byte) dataseal.KEK { return dataseal.NewAESKEK("1", bytes.Repeat([]byte{b}, 32)) }
	a, b, d := Cursor{"t", "a"}, Cursor{"t", "b"}, Cursor{"t", "d"}
	c.put(a, kek(1), now, c.generation())
	c.put(b, kek(2), now, c.generation())
	if c.get(a, now) == nil { // a is now the most recently used
		t.Fatal("a is not cached")
	}
	el := c.m[b]
	c.put(d, kek(3), now, c.generation())
	if c.len() != 2 || c.get(b, now) != nil || c.get(a, now) == nil || c.get(d, now) == nil {
		t.Fatalf("after a third put: %d entries, b cached %v", c.len(), c.get(b, now) != nil)
	}
	if e := el.Value.(*cacheEntry); e.kek != nil {
		t.Fatal("an evicted entry still holds its KEK")
	}
	if c.get(a, now.Add(time.Minute)) != nil {
		t.Fatal("an entry served at its TTL")
	}
	if c.len() != 1 {
		t.Fatalf("an expired entry stays: %d entries", c.len())
	}
	gen := c.generation()
	c.evict(Cursor{"t", "x"})
	c.put(a, kek(1), now, gen)
	if c.get(a, now) != nil {
		t.Fatal("a put from before an eviction was cached")
	}
	c.put(a, kek(1), now, c.generation())
	c.put(Cursor{"u", "a"}, kek(4), now, c.generation())
	c.evictTenant("t")
	if c.get(a, now) != nil || c.get(Cursor{"u", "a"}, now) == nil {
		t.Fatal("evictTenant dropped the wrong entries")
	}
	off := newCache(0, time.Minute)
	off.put(a, kek(1), now, off.generation())
	if off.len() != 0 {
		t.Fatal("a cache of size 0 holds an entry")
	}
}
