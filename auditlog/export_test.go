package auditlog

import (
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// MemTamperer edits a MemStore's slices directly, for the tamper suite of
// auditlog/storetest.
type MemTamperer struct{}

func (MemTamperer) pos(t *testing.T, s *MemStore, index int64) int {
	for i, r := range s.recs {
		if r.Index == index {
			return i
		}
	}
	t.Fatalf("no record %d", index)
	return -1
}

func (m MemTamperer) SetLeaf(t *testing.T, st Storage, index int64, leaf []byte) {
	s := st.(*MemStore)
	s.recs[m.pos(t, s, index)].Leaf = leaf
}

func (m MemTamperer) SetEnvelope(t *testing.T, st Storage, index int64, envelope string) {
	s := st.(*MemStore)
	s.recs[m.pos(t, s, index)].Envelope = envelope
}

func (m MemTamperer) DeleteRecord(t *testing.T, st Storage, index int64) {
	s := st.(*MemStore)
	s.recs = slices.Delete(s.recs, m.pos(t, s, index), m.pos(t, s, index)+1)
}

func (m MemTamperer) InsertRecord(t *testing.T, st Storage, rec Record) {
	s := st.(*MemStore)
	i := m.pos(t, s, rec.Index)
	for j := i; j < len(s.recs); j++ {
		s.recs[j].Index++
	}
	s.recs = slices.Insert(s.recs, i, rec)
}

func (m MemTamperer) SwapRecords(t *testing.T, st Storage, i, j int64) {
	s := st.(*MemStore)
	a, b := m.pos(t, s, i), m.pos(t, s, j)
	s.recs[a], s.recs[b] = s.recs[b], s.recs[a]
	s.recs[a].Index, s.recs[b].Index = i, j
}

func (m MemTamperer) Truncate(t *testing.T, st Storage, size int64) {
	s := st.(*MemStore)
	s.recs = s.recs[:size]
	s.hashes = s.hashes[:tlog.StoredHashIndex(0, size)]
}

func (m MemTamperer) Rollback(t *testing.T, st Storage, size int64) {
	m.Truncate(t, st, size)
	s := st.(*MemStore)
	for len(s.cps) > 0 && s.cps[len(s.cps)-1].Size > size {
		delete(s.anchors, s.cps[len(s.cps)-1].Size)
		s.cps = s.cps[:len(s.cps)-1]
	}
	s.byID = map[string]int64{}
	for _, r := range s.recs {
		s.byID[r.ID] = r.Index
	}
}

// MaxAttempts bounds the appends of one batch.
const MaxAttempts = maxAttempts
