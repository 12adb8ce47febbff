package auditlog

import (
	"context"
	"fmt"
	"sync/atomic"

	"golang.org/x/mod/sumdb/tlog"
)

// A sequencer assigns indexes and times, computes the tree hashes each
// batch adds and writes the batch. Only the Log's run goroutine calls
// commit.
type sequencer struct {
	store Storage
	clock monotonicClock
	size  atomic.Int64
	// frontier caches the stored hashes that later leaves will read: the
	// roots of the complete subtrees on the tree's right edge.
	frontier map[int64]tlog.Hash
	// stale means the size must be re-read before the next batch.
	stale bool
}

func newSequencer(ctx context.Context, cfg Config) (*sequencer, error) {
	s := &sequencer{store: cfg.Storage, clock: monotonicClock{now: cfg.Now}}
	if err := s.resync(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// resync reloads the size, the last event time and the frontier from
// storage.
func (s *sequencer) resync(ctx context.Context) error {
	n, err := s.store.Size(ctx)
	if err != nil {
		return fmt.Errorf("auditlog: size: %w", err)
	}
	s.size.Store(n)
	s.frontier = map[int64]tlog.Hash{}
	if n > 0 {
		recs, err := s.store.Records(ctx, n-1, n)
		if err != nil || len(recs) != 1 {
			return fmt.Errorf("auditlog: last record: %v", err)
		}
		if recs[0].Time.After(s.clock.last) {
			s.clock.last = recs[0].Time
		}
		if h, err := ParseLeafHeader(recs[0].Leaf); err == nil && h.Time.After(s.clock.last) {
			s.clock.last = h.Time
		}
		idx := frontierIndexes(n)
		hs, err := s.store.ReadHashes(ctx, idx)
		if err != nil {
			return fmt.Errorf("auditlog: frontier hashes: %w", err)
		}
		for i, x := range idx {
			s.frontier[x] = hs[i]
		}
	}
	return nil
}

// frontierIndexes returns the stored-hash indexes of the complete
// subtrees whose sizes sum to n: all a new leaf at n can need.
func frontierIndexes(n int64) []int64 {
	var idx []int64
	for level := 0; n>>level > 0; level++ {
		if (n>>level)&1 == 1 {
			idx = append(idx, tlog.StoredHashIndex(level, (n>>level)-1))
		}
	}
	return idx
}

// commit appends the batch and returns the new size. On failure it fails
// the whole batch and re-reads the size from storage before the next one.
func (s *sequencer) commit(batch []*pending) (int64, error) {
	ctx := context.Background()
	if s.stale {
		if err := s.resync(ctx); err != nil {
			return 0, err
		}
		s.stale = false
	}
	n := s.size.Load()
	base := tlog.StoredHashIndex(0, n)
	var added []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x >= base {
				out[i] = added[x-base]
				continue
			}
			h, ok := s.frontier[x]
			if !ok {
				hs, err := s.store.ReadHashes(ctx, []int64{x})
				if err != nil {
					return nil, err
				}
				h = hs[0]
			}
			out[i] = h
		}
		return out, nil
	})
	recs := make([]Record, len(batch))
	lastClock := s.clock.last
	for i, pe := range batch {
		idx := n + int64(i)
		t := s.clock.next()
		leaf, err := pe.p.leaf(idx, t)
		if err != nil {
			s.clock.last = lastClock
			return n, fmt.Errorf("auditlog: encode event: %w", err)
		}
		hs, err := tlog.StoredHashes(idx, leaf, reader)
		if err != nil {
			s.clock.last = lastClock
			return n, fmt.Errorf("auditlog: tree hashes: %w", err)
		}
		added = append(added, hs...)
		recs[i] = Record{Index: idx, ID: pe.p.id, Tenant: pe.p.tenant, Type: pe.p.typ, Time: t, Leaf: leaf, Sealed: pe.p.sealed}
		pe.index = idx
	}
	entries := make([]HashEntry, len(added))
	for i, h := range added {
		entries[i] = HashEntry{Index: base + int64(i), Hash: h}
	}
	if err := s.store.Append(ctx, recs, entries); err != nil {
		if rerr := s.resync(ctx); rerr != nil {
			s.stale = true // resync again before the next batch
		}
		return n, fmt.Errorf("auditlog: append: %w", err)
	}
	end := n + int64(len(recs))
	next := map[int64]tlog.Hash{}
	for _, x := range frontierIndexes(end) {
		if x >= base {
			next[x] = added[x-base]
		} else if h, ok := s.frontier[x]; ok {
			next[x] = h
		}
	}
	s.frontier = next // a missing entry is read from storage when needed
	s.size.Store(end)
	return end, nil
}
