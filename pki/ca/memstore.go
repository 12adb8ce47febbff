package ca

import (
	"context"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// MemStore is a [Store] in memory, for tests and single-process tools.
// The zero value is ready to use; [NewMemStore] returns one.
type MemStore struct {
	mu      sync.Mutex
	records map[string]*Record // by serial, hex
	order   []string           // serials in issuance order
	revoked []string           // serials in revocation order
	crlNums map[string]int64
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{} }

func serialKey(s *big.Int) string { return s.Text(16) }

func copyRecord(r *Record) Record {
	c := *r
	c.Serial = new(big.Int).Set(r.Serial)
	c.DER = append([]byte(nil), r.DER...)
	return c
}

// Insert implements [Store].
func (m *MemStore) Insert(_ context.Context, r Record) error {
	if r.Serial == nil {
		return fmt.Errorf("ca: insert: nil serial")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.records == nil {
		m.records = map[string]*Record{}
	}
	k := serialKey(r.Serial)
	if _, ok := m.records[k]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicateSerial, k)
	}
	c := copyRecord(&r)
	m.records[k] = &c
	m.order = append(m.order, k)
	if c.Status == StatusRevoked {
		m.revoked = append(m.revoked, k)
	}
	return nil
}

// Get implements [Store].
func (m *MemStore) Get(_ context.Context, serial *big.Int) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[serialKey(serial)]
	if !ok {
		return Record{}, ErrNotFound
	}
	return copyRecord(r), nil
}

// Revoke implements [Store].
func (m *MemStore) Revoke(_ context.Context, serial *big.Int, reason Reason, at, inv time.Time) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := serialKey(serial)
	r, ok := m.records[k]
	if !ok {
		return Record{}, ErrNotFound
	}
	if r.Status == StatusRevoked {
		return copyRecord(r), ErrAlreadyRevoked
	}
	r.Status, r.Reason, r.RevokedAt, r.InvalidityDate = StatusRevoked, reason, at, inv
	m.revoked = append(m.revoked, k)
	return copyRecord(r), nil
}

// ByKey implements [Store].
func (m *MemStore) ByKey(_ context.Context, id, version string) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for _, k := range m.order {
		r := m.records[k]
		if r.Key.ID == id && (version == "" || r.Key.Version == version) {
			out = append(out, copyRecord(r))
		}
	}
	return out, nil
}

// Revoked implements [Store].
func (m *MemStore) Revoked(_ context.Context, issuer string) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for _, k := range m.revoked {
		if r := m.records[k]; r.Issuer == issuer {
			out = append(out, copyRecord(r))
		}
	}
	return out, nil
}

// NextCRLNumber implements [Store].
func (m *MemStore) NextCRLNumber(_ context.Context, issuer string) (*big.Int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.crlNums == nil {
		m.crlNums = map[string]int64{}
	}
	m.crlNums[issuer]++
	return big.NewInt(m.crlNums[issuer]), nil
}
