package alert

import "container/list"

// An lru maps keys to values, keeping at most max entries: adding to a
// full one evicts the least recently used.
type lru[K comparable, V any] struct {
	max   int
	order *list.List // of *entry[K, V], most recent first
	index map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, order: list.New(), index: map[K]*list.Element{}}
}

// get returns k's value and marks it used.
func (c *lru[K, V]) get(k K) (V, bool) {
	if el, ok := c.index[k]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*entry[K, V]).val, true
	}
	var zero V
	return zero, false
}

// put sets k's value and marks it used.
func (c *lru[K, V]) put(k K, v V) {
	if el, ok := c.index[k]; ok {
		el.Value.(*entry[K, V]).val = v
		c.order.MoveToFront(el)
		return
	}
	if c.max <= 0 {
		return
	}
	for c.order.Len() >= c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.index, last.Value.(*entry[K, V]).key)
	}
	c.index[k] = c.order.PushFront(&entry[K, V]{key: k, val: v})
}

// getOr returns k's value, adding mk() first if k is absent.
func (c *lru[K, V]) getOr(k K, mk func() V) V {
	if v, ok := c.get(k); ok {
		return v
	}
	v := mk()
	c.put(k, v)
	return v
}

// len returns the number of entries.
func (c *lru[K, V]) len() int { return c.order.Len() }
