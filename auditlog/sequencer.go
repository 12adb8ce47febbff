package auditlog

import (
	"context"
	"errors"
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
func (s *sequencer) resync(ctx context.Context) error { return s.resyncFrom(ctx, s.store) }

// resyncFrom is resync reading through r.
func (s *sequencer) resyncFrom(ctx context.Context, r StorageReader) error {
	n, err := r.Size(ctx)
	if err != nil {
		return fmt.Errorf("auditlog: size: %w", err)
	}
	s.size.Store(n)
	s.frontier = map[int64]tlog.Hash{}
	if n > 0 {
		recs, err := r.Records(ctx, n-1, n)
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
		hs, err := r.ReadHashes(ctx, idx)
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

// maxAttempts bounds the appends of one batch: the first, and the retries
// after another writer appended first (ErrConflict).
const maxAttempts = 16

// commit appends the batch and returns the new size.
//
// When another writer (another node on the same storage) appended first,
// the storage refuses the batch with ErrConflict and stores nothing:
// commit then encodes the batch again at the new end of the log, with
// later times, and retries it, up to maxAttempts appends in all. A
// [LockingStorage] retries under its append lock, reading the end of the
// log there (and only there), so the retry cannot be preceded again;
// another storage re-reads the end first and retries optimistically.
// Any other failure fails the whole batch at once (it may be ambiguous:
// the batch may be stored), and the size is re-read before the next
// batch.
func (s *sequencer) commit(batch []*pending) (int64, error) {
	ctx := context.Background()
	if s.stale {
		if err := s.resync(ctx); err != nil {
			return 0, err
		}
		s.stale = false
	}
	locking, _ := s.store.(LockingStorage)
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt == 1 || locking == nil {
			err = s.appendBatch(ctx, batch)
		} else {
			err = s.appendLocked(ctx, locking, batch)
		}
		if err == nil {
			return s.size.Load(), nil
		}
		if locking != nil && errors.Is(err, ErrConflict) {
			// The locked retry reads the end of the log under the
			// lock: reading it here first would only cost round trips.
			continue
		}
		if rerr := s.resync(ctx); rerr != nil {
			s.stale = true // resync again before the next batch
			return s.size.Load(), err
		}
		if !errors.Is(err, ErrConflict) {
			return s.size.Load(), err
		}
	}
	return s.size.Load(), fmt.Errorf("auditlog: append: %d attempts, each preceded by another writer: %w", maxAttempts, err)
}

// appendBatch encodes the batch at the known end of the log and appends
// it.
func (s *sequencer) appendBatch(ctx context.Context, batch []*pending) error {
	e, err := s.encode(ctx, s.store, batch)
	if err != nil {
		return err
	}
	if err := s.store.Append(ctx, e.recs, e.entries); err != nil {
		return fmt.Errorf("auditlog: append: %w", err)
	}
	s.advance(e)
	return nil
}

// appendLocked reads the end of the log and appends the batch there,
// both under the storage's append lock.
func (s *sequencer) appendLocked(ctx context.Context, store LockingStorage, batch []*pending) error {
	var e encoded
	err := store.AppendLocked(ctx, func(r StorageReader) ([]Record, []HashEntry, error) {
		if err := s.resyncFrom(ctx, r); err != nil {
			return nil, nil, err
		}
		var err error
		e, err = s.encode(ctx, r, batch)
		return e.recs, e.entries, err
	})
	if err != nil {
		return fmt.Errorf("auditlog: append: %w", err)
	}
	s.advance(e)
	return nil
}

// encoded is a batch encoded at the end of the log.
type encoded struct {
	recs    []Record
	entries []HashEntry
	base    int64       // stored-hash index of the first added hash
	added   []tlog.Hash // the stored hashes the batch adds
}

// encode assigns the batch its indexes from the known size and its
// times, and computes the tree hashes it adds, reading the hashes that
// are not in the frontier through r.
func (s *sequencer) encode(ctx context.Context, r StorageReader, batch []*pending) (encoded, error) {
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
				hs, err := r.ReadHashes(ctx, []int64{x})
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
			return encoded{}, fmt.Errorf("auditlog: encode event: %w", err)
		}
		hs, err := tlog.StoredHashes(idx, leaf, reader)
		if err != nil {
			s.clock.last = lastClock
			return encoded{}, fmt.Errorf("auditlog: tree hashes: %w", err)
		}
		added = append(added, hs...)
		recs[i] = Record{Index: idx, ID: pe.p.id, Tenant: pe.p.tenant, Type: pe.p.typ, Envelope: pe.p.envelope, Time: t, Leaf: leaf, Sealed: pe.p.sealed}
		pe.index = idx
	}
	entries := make([]HashEntry, len(added))
	for i, h := range added {
		entries[i] = HashEntry{Index: base + int64(i), Hash: h}
	}
	return encoded{recs: recs, entries: entries, base: base, added: added}, nil
}

// advance records that e is stored: the new size and frontier.
func (s *sequencer) advance(e encoded) {
	end := e.recs[0].Index + int64(len(e.recs))
	next := map[int64]tlog.Hash{}
	for _, x := range frontierIndexes(end) {
		if x >= e.base {
			next[x] = e.added[x-e.base]
		} else if h, ok := s.frontier[x]; ok {
			next[x] = h
		}
	}
	s.frontier = next // a missing entry is read from storage when needed
	s.size.Store(end)
}
