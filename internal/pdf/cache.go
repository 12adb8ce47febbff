package pdf

import "container/list"

// cacheKey names a cached item: a parsed object or a decoded object
// stream, by object number.
type cacheKey struct {
	objStm bool
	num    int
}

type cacheEntry struct {
	key  cacheKey
	val  any
	size int64
}

// cache is a least-recently-used cache bounded by the estimated bytes of
// what it holds.
type cache struct {
	max, used int64
	order     *list.List // front: most recently used
	items     map[cacheKey]*list.Element
}

func newCache(max int64) *cache {
	return &cache{max: max, order: list.New(), items: map[cacheKey]*list.Element{}}
}

func (c *cache) get(k cacheKey) (any, bool) {
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).val, true
}

// put keeps v under k unless it alone exceeds the bound, evicting the
// least recently used items to make room.
func (c *cache) put(k cacheKey, v any, size int64) {
	if el, ok := c.items[k]; ok {
		c.used -= el.Value.(*cacheEntry).size
		c.order.Remove(el)
		delete(c.items, k)
	}
	if size > c.max {
		return
	}
	for c.used+size > c.max {
		last := c.order.Back()
		e := last.Value.(*cacheEntry)
		c.order.Remove(last)
		delete(c.items, e.key)
		c.used -= e.size
	}
	c.items[k] = c.order.PushFront(&cacheEntry{key: k, val: v, size: size})
	c.used += size
}

// sizeOf estimates the bytes o occupies in memory.
func sizeOf(o Object) int64 {
	switch v := o.(type) {
	case String:
		return 24 + int64(len(v))
	case Name:
		return 16 + int64(len(v))
	case Array:
		n := int64(24)
		for _, e := range v {
			n += 16 + sizeOf(e)
		}
		return n
	case Dict:
		n := int64(48)
		for k, e := range v {
			n += 32 + int64(len(k)) + sizeOf(e)
		}
		return n
	case *Stream:
		return 32 + sizeOf(v.Dict) + int64(len(v.Data))
	}
	return 16
}
