package keys

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// A Store keeps key metadata (never key material). Implementations: the
// in-memory [MemStore], keys/sqlite and keys/postgres; the suite in
// keys/storetest checks each.
type Store interface {
	// Create stores a new key. It MUST fail with an error wrapping
	// [ErrExists] if the id is taken.
	Create(ctx context.Context, k *Key) error
	// Get returns a copy of the key, or an error wrapping [ErrNotFound].
	Get(ctx context.Context, id string) (*Key, error)
	// List returns copies of the keys of tenant (every key if tenant is
	// "*"), ordered by id.
	List(ctx context.Context, tenant string) ([]*Key, error)
	// Update reads the key, calls fn with a copy it may modify and stores
	// the result, atomically with respect to other Updates of the same
	// key. If fn returns an error nothing is stored and Update returns it.
	// fn MAY be called more than once (on retry) and MUST NOT have side
	// effects beyond the key it is given. Update MUST NOT change the id.
	Update(ctx context.Context, id string, fn func(*Key) error) error
}

// MemStore is a [Store] in memory, for tests and ephemeral use.
type MemStore struct {
	mu   sync.Mutex
	keys map[string]*Key
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{keys: map[string]*Key{}} }

// Create implements [Store].
func (s *MemStore) Create(ctx context.Context, k *Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[k.ID]; ok {
		return fmt.Errorf("%w: %s", ErrExists, k.ID)
	}
	s.keys[k.ID] = k.Clone()
	return nil
}

// Get implements [Store].
func (s *MemStore) Get(ctx context.Context, id string) (*Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return k.Clone(), nil
}

// List implements [Store].
func (s *MemStore) List(ctx context.Context, tenant string) ([]*Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Key
	for _, k := range s.keys {
		if tenant == "*" || k.Tenant == tenant {
			out = append(out, k.Clone())
		}
	}
	slices.SortFunc(out, func(a, b *Key) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Update implements [Store].
func (s *MemStore) Update(ctx context.Context, id string, fn func(*Key) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	c := k.Clone()
	if err := fn(c); err != nil {
		return err
	}
	c.ID = id
	s.keys[id] = c
	return nil
}
