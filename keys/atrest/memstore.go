package atrest

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// MemStore is a [Store] in memory, for tests and tools.
type MemStore struct {
	mu      sync.Mutex
	keys    map[Cursor]DataKey
	tenants map[string]TenantKEK
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{keys: map[Cursor]DataKey{}, tenants: map[string]TenantKEK{}}
}

func cloneKey(k DataKey) DataKey {
	k.Wrapped = bytes.Clone(k.Wrapped)
	return k
}

// InsertDataKey implements [Store].
func (s *MemStore) InsertDataKey(_ context.Context, k DataKey) (DataKey, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e, ok := s.tenants[k.Tenant]; {
	case !ok:
		return DataKey{}, false, ErrNoTenantKEK
	case e.Shredded:
		return DataKey{}, false, ErrTenantShredded
	}
	id := Cursor{k.Tenant, k.Object}
	if old, ok := s.keys[id]; ok {
		return cloneKey(old), false, nil
	}
	s.keys[id] = cloneKey(k)
	return cloneKey(k), true, nil
}

// DataKey implements [Store].
func (s *MemStore) DataKey(_ context.Context, tenant, object string) (DataKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[Cursor{tenant, object}]
	if !ok {
		return DataKey{}, ErrNoKey
	}
	return cloneKey(k), nil
}

// DeleteDataKey implements [Store].
func (s *MemStore) DeleteDataKey(_ context.Context, tenant, object string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := Cursor{tenant, object}
	k, ok := s.keys[id]
	if ok {
		clear(k.Wrapped)
		delete(s.keys, id)
	}
	return ok, nil
}

// DeleteTenantDataKeys implements [Store].
func (s *MemStore) DeleteTenantDataKeys(_ context.Context, tenant string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for id, k := range s.keys {
		if id.Tenant == tenant {
			clear(k.Wrapped)
			delete(s.keys, id)
			n++
		}
	}
	return n, nil
}

func cmpCursor(a, b Cursor) int {
	if c := strings.Compare(a.Tenant, b.Tenant); c != 0 {
		return c
	}
	return strings.Compare(a.Object, b.Object)
}

// ListDataKeys implements [Store].
func (s *MemStore) ListDataKeys(_ context.Context, tenant string, after Cursor, limit int) ([]DataKey, error) {
	if err := CheckPage(limit); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []Cursor
	for id := range s.keys {
		if (tenant == "" || id.Tenant == tenant) && cmpCursor(id, after) > 0 {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, cmpCursor)
	out := []DataKey{}
	for _, id := range ids[:min(limit, len(ids))] {
		out = append(out, cloneKey(s.keys[id]))
	}
	return out, nil
}

// UpdateWrapped implements [Store].
func (s *MemStore) UpdateWrapped(_ context.Context, old DataKey, wrapped []byte, kekVersion int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := Cursor{old.Tenant, old.Object}
	k, ok := s.keys[id]
	if !ok || !bytes.Equal(k.Wrapped, old.Wrapped) {
		return ErrConflict
	}
	k.Wrapped, k.KEKVersion = bytes.Clone(wrapped), kekVersion
	s.keys[id] = k
	return nil
}

// TenantKEK implements [Store].
func (s *MemStore) TenantKEK(_ context.Context, tenant string) (TenantKEK, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.tenants[tenant]
	if !ok {
		return TenantKEK{}, ErrNoTenantKEK
	}
	return e, nil
}

// InsertTenantKEK implements [Store].
func (s *MemStore) InsertTenantKEK(_ context.Context, e TenantKEK) (TenantKEK, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.tenants[e.Tenant]; ok {
		return old, false, nil
	}
	s.tenants[e.Tenant] = e
	return e, true, nil
}

// MarkTenantShredded implements [Store].
func (s *MemStore) MarkTenantShredded(_ context.Context, tenant string, at time.Time) (TenantKEK, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.tenants[tenant]
	if !ok {
		e = TenantKEK{Tenant: tenant, Created: at}
	}
	if !e.Shredded {
		e.Shredded, e.ShreddedAt = true, at
	}
	s.tenants[tenant] = e
	return e, nil
}
