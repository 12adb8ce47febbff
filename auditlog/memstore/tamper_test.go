package memstore

import (
	"slices"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/storetest"
	"golang.org/x/mod/sumdb/tlog"
)

// tamperer edits a Store's slices directly.
type tamperer struct{}

func (tamperer) pos(t *testing.T, s *Store, index int64) int {
	for i, r := range s.recs {
		if r.Index == index {
			return i
		}
	}
	t.Fatalf("no record %d", index)
	return -1
}

func (m tamperer) SetLeaf(t *testing.T, st auditlog.Storage, index int64, leaf []byte) {
	s := st.(*Store)
	s.recs[m.pos(t, s, index)].Leaf = leaf
}

func (m tamperer) DeleteRecord(t *testing.T, st auditlog.Storage, index int64) {
	s := st.(*Store)
	s.recs = slices.Delete(s.recs, m.pos(t, s, index), m.pos(t, s, index)+1)
}

func (m tamperer) InsertRecord(t *testing.T, st auditlog.Storage, rec auditlog.Record) {
	s := st.(*Store)
	i := m.pos(t, s, rec.Index)
	for j := i; j < len(s.recs); j++ {
		s.recs[j].Index++
	}
	s.recs = slices.Insert(s.recs, i, rec)
}

func (m tamperer) SwapRecords(t *testing.T, st auditlog.Storage, i, j int64) {
	s := st.(*Store)
	a, b := m.pos(t, s, i), m.pos(t, s, j)
	s.recs[a], s.recs[b] = s.recs[b], s.recs[a]
	s.recs[a].Index, s.recs[b].Index = i, j
}

func (m tamperer) Truncate(t *testing.T, st auditlog.Storage, size int64) {
	s := st.(*Store)
	s.recs = s.recs[:size]
	s.hashes = s.hashes[:tlog.StoredHashIndex(0, size)]
}

func (m tamperer) Rollback(t *testing.T, st auditlog.Storage, size int64) {
	m.Truncate(t, st, size)
	s := st.(*Store)
	for len(s.cps) > 0 && s.cps[len(s.cps)-1].Size > size {
		delete(s.anchors, s.cps[len(s.cps)-1].Size)
		s.cps = s.cps[:len(s.cps)-1]
	}
	s.byID = map[string]int64{}
	for _, r := range s.recs {
		s.byID[r.ID] = r.Index
	}
}

func TestTamper(t *testing.T) {
	storetest.RunTamper(t, func(t *testing.T) auditlog.Storage { return New() }, tamperer{})
}
