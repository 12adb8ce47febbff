package alert

import "time"

// A window holds the times of the last n occurrences of something, n
// the threshold's count: the threshold is reached when all n fall within
// its window.
type window struct {
	times []time.Time // ring
	next  int
	full  bool
}

func newWindow(n int) *window { return &window{times: make([]time.Time, n)} }

// add records an occurrence at now and reports whether the last n
// occurrences fall within d.
func (w *window) add(now time.Time, d time.Duration) bool {
	w.times[w.next] = now
	w.next = (w.next + 1) % len(w.times)
	if w.next == 0 {
		w.full = true
	}
	if !w.full {
		return false
	}
	oldest := w.times[w.next] // the next slot to overwrite is the oldest
	return now.Sub(oldest) <= d
}

// counters are windows per subject, bounded.
type counters struct {
	t   Threshold
	lru *lru[string, *window]
}

func newCounters(t Threshold, max int) *counters {
	return &counters{t: t, lru: newLRU[string, *window](max)}
}

// add records an occurrence for subject at now and reports whether the
// threshold is reached. An off threshold (negative count) never is.
func (c *counters) add(subject string, now time.Time) bool {
	if c.t.Count <= 0 {
		return false
	}
	w := c.lru.getOr(subject, func() *window { return newWindow(c.t.Count) })
	return w.add(now, c.t.Window)
}
