package auditlog

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// A MemStore is a [Storage] in memory, for tests and benchmarks. Nothing it
// holds survives the process. The zero value is not usable; call
// [NewMemStore].
type MemStore struct {
	appendMu sync.Mutex // held by Append and AppendLocked
	mu       sync.RWMutex
	recs     []Record // sorted by Index
	byID     map[string]int64
	hashes   []tlog.Hash // by stored-hash index
	cps      []Checkpoint
	anchors  map[int64][]Anchor
	closed   bool
}

var _ LockingStorage = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{byID: map[string]int64{}, anchors: map[int64][]Anchor{}}
}

func (s *MemStore) check() error {
	if s.closed {
		return fmt.Errorf("auditlog: memstore: closed")
	}
	return nil
}

// Size implements [Storage].
func (s *MemStore) Size(ctx context.Context) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return 0, err
	}
	return int64(len(s.recs)), nil
}

// Append implements [Storage].
func (s *MemStore) Append(ctx context.Context, recs []Record, hashes []HashEntry) error {
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	return s.append(ctx, recs, hashes)
}

// AppendLocked implements [LockingStorage]: no other Append runs between
// build's reads and the append of what it returns.
func (s *MemStore) AppendLocked(ctx context.Context, build func(r StorageReader) ([]Record, []HashEntry, error)) error {
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	recs, hashes, err := build(s)
	if err != nil {
		return err
	}
	return s.append(ctx, recs, hashes)
}

func (s *MemStore) append(ctx context.Context, recs []Record, hashes []HashEntry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("auditlog: memstore: %w", err)
	}
	if len(recs) == 0 {
		return fmt.Errorf("auditlog: memstore: append: no records")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	n := int64(len(s.recs))
	if recs[0].Index != n {
		return fmt.Errorf("auditlog: memstore: append at %d, size %d: %w", recs[0].Index, n, ErrConflict)
	}
	for i, r := range recs {
		if r.Index != n+int64(i) {
			return fmt.Errorf("auditlog: memstore: append: record %d has index %d, want %d", i, r.Index, n+int64(i))
		}
		if _, dup := s.byID[r.ID]; dup || r.ID == "" {
			return fmt.Errorf("auditlog: memstore: append: duplicate or empty event id %q", r.ID)
		}
		if err := CheckEnvelopeID(r.Envelope); err != nil {
			return fmt.Errorf("auditlog: memstore: append: record %d: %w", r.Index, err)
		}
	}
	h := int64(len(s.hashes))
	for i, e := range hashes {
		if e.Index != h+int64(i) {
			return fmt.Errorf("auditlog: memstore: append: hash %d has index %d, want %d", i, e.Index, h+int64(i))
		}
	}
	if want := tlog.StoredHashIndex(0, n+int64(len(recs))); h+int64(len(hashes)) != want {
		return fmt.Errorf("auditlog: memstore: append: %d hashes leave %d stored, want %d", len(hashes), h+int64(len(hashes)), want)
	}
	for _, r := range recs {
		r.Leaf = bytes.Clone(r.Leaf)
		r.Sealed = bytes.Clone(r.Sealed)
		s.byID[r.ID] = r.Index
		s.recs = append(s.recs, r)
	}
	for _, e := range hashes {
		s.hashes = append(s.hashes, e.Hash)
	}
	return nil
}

// ReadHashes implements [Storage].
func (s *MemStore) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s.hashes)) {
			return nil, fmt.Errorf("auditlog: memstore: hash %d: %w", x, ErrNotFound)
		}
		out[i] = s.hashes[x]
	}
	return out, nil
}

// Records implements [Storage].
func (s *MemStore) Records(ctx context.Context, start, end int64) ([]Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	i := sort.Search(len(s.recs), func(i int) bool { return s.recs[i].Index >= start })
	var out []Record
	for ; i < len(s.recs) && s.recs[i].Index < end; i++ {
		r := s.recs[i]
		r.Leaf = bytes.Clone(r.Leaf)
		r.Sealed = bytes.Clone(r.Sealed)
		out = append(out, r)
	}
	return out, nil
}

// RecordByID implements [Storage].
func (s *MemStore) RecordByID(ctx context.Context, id string) (Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return Record{}, err
	}
	if x, ok := s.byID[id]; ok {
		i := sort.Search(len(s.recs), func(i int) bool { return s.recs[i].Index >= x })
		for ; i < len(s.recs) && s.recs[i].Index == x; i++ {
			if s.recs[i].ID == id {
				r := s.recs[i]
				r.Leaf = bytes.Clone(r.Leaf)
				r.Sealed = bytes.Clone(r.Sealed)
				return r, nil
			}
		}
	}
	return Record{}, fmt.Errorf("auditlog: memstore: event %q: %w", id, ErrNotFound)
}

// AddCheckpoint implements [Storage].
func (s *MemStore) AddCheckpoint(ctx context.Context, c Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	i := sort.Search(len(s.cps), func(i int) bool { return s.cps[i].Size >= c.Size })
	if i < len(s.cps) && s.cps[i].Size == c.Size {
		if bytes.Equal(s.cps[i].Note, c.Note) {
			return nil
		}
		return fmt.Errorf("auditlog: memstore: a different checkpoint of size %d exists", c.Size)
	}
	c.Note = bytes.Clone(c.Note)
	s.cps = append(s.cps, Checkpoint{})
	copy(s.cps[i+1:], s.cps[i:])
	s.cps[i] = c
	return nil
}

// Checkpoints implements [Storage].
func (s *MemStore) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	out := make([]Checkpoint, len(s.cps))
	for i, c := range s.cps {
		c.Note = bytes.Clone(c.Note)
		out[i] = c
	}
	return out, nil
}

// AddAnchor implements [Storage].
func (s *MemStore) AddAnchor(ctx context.Context, a Anchor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	a.Data = bytes.Clone(a.Data)
	s.anchors[a.Size] = append(s.anchors[a.Size], a)
	return nil
}

// Anchors implements [Storage].
func (s *MemStore) Anchors(ctx context.Context, size int64) ([]Anchor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	var out []Anchor
	for _, a := range s.anchors[size] {
		a.Data = bytes.Clone(a.Data)
		out = append(out, a)
	}
	return out, nil
}

// Close implements [Storage].
func (s *MemStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// EnvelopeRecords implements [Storage]: it scans the records for the
// stored Envelope field, as the SQL stores' index does.
func (s *MemStore) EnvelopeRecords(ctx context.Context, tenant, envelopeID string) ([]Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	out := []Record{}
	if envelopeID == "" {
		return out, nil
	}
	for _, r := range s.recs {
		if r.Tenant == tenant && r.Envelope == envelopeID {
			r.Leaf = bytes.Clone(r.Leaf)
			r.Sealed = bytes.Clone(r.Sealed)
			out = append(out, r)
		}
	}
	return out, nil
}

// TenantRecords implements [Storage]: it scans the records after after
// for the tenant's.
func (s *MemStore) TenantRecords(ctx context.Context, tenant string, after int64, limit int) ([]Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("auditlog: tenant records: limit %d is not positive", limit)
	}
	out := []Record{}
	i := sort.Search(len(s.recs), func(i int) bool { return s.recs[i].Index > after })
	for ; i < len(s.recs) && len(out) < limit; i++ {
		if r := s.recs[i]; r.Tenant == tenant {
			r.Leaf = bytes.Clone(r.Leaf)
			r.Sealed = bytes.Clone(r.Sealed)
			out = append(out, r)
		}
	}
	return out, nil
}
