package auditlog_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const origin = "signet.test/audit"

func newKey(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func testKeys(t testing.TB) *auditlog.DerivedKeys {
	k, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newLog(t testing.TB, s auditlog.Storage, cfg auditlog.Config) *auditlog.Log {
	t.Helper()
	cfg.Storage = s
	if cfg.Keys == nil {
		cfg.Keys = testKeys(t)
	}
	l, err := auditlog.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Shutdown(context.Background()) })
	return l
}

func event(n int) auditlog.Event {
	return auditlog.Event{
		Type:    auditlog.SignatureCreated,
		Tenant:  "acme",
		Actor:   auditlog.Actor{Kind: auditlog.ActorRecipient, ID: fmt.Sprintf("r%d", n), Email: fmt.Sprintf("signer%d@example.com", n), AuthStrength: "aal2", AuthMethods: []string{"otp"}},
		Subject: auditlog.Subject{EnvelopeID: fmt.Sprintf("env-%d", n), KeyID: "signing-key", KeyVersion: "3", CertificateSerial: "01ab"},
		Request: auditlog.Request{CorrelationID: fmt.Sprintf("c%d", n), IP: "198.51.100.9", UserAgent: "test"},
		Outcome: auditlog.OutcomeSuccess,
		Policy:  auditlog.Policy{Decision: "allow", Policy: "envelope", Rule: "recipient-signs"},
	}
}

// naiveTree is a reference RFC 6962 implementation written from Section
// 2.1 of the RFC, recursively, for comparison.
type naiveTree [][]byte

func (nt naiveTree) hash(lo, hi int) tlog.Hash {
	if hi-lo == 1 {
		return tlog.RecordHash(nt[lo])
	}
	k := 1
	for k*2 < hi-lo {
		k *= 2
	}
	return tlog.NodeHash(nt.hash(lo, lo+k), nt.hash(lo+k, hi))
}

// path is PATH(m, D[lo:hi]) of RFC 6962 Section 2.1.1.
func (nt naiveTree) path(m, lo, hi int) []tlog.Hash {
	if hi-lo == 1 {
		return nil
	}
	k := 1
	for k*2 < hi-lo {
		k *= 2
	}
	if m < k {
		return append(nt.path(m, lo, lo+k), nt.hash(lo+k, hi))
	}
	return append(nt.path(m-k, lo+k, hi), nt.hash(lo, lo+k))
}

// proof is PROOF(m, D[n]) of RFC 6962 Section 2.1.2.
func (nt naiveTree) proof(m, n int) []tlog.Hash { return nt.subproof(m, 0, n, true) }

func (nt naiveTree) subproof(m, lo, hi int, b bool) []tlog.Hash {
	n := hi - lo
	if m == n {
		if b {
			return nil
		}
		return []tlog.Hash{nt.hash(lo, hi)}
	}
	k := 1
	for k*2 < n {
		k *= 2
	}
	if m <= k {
		return append(nt.subproof(m, lo, lo+k, b), nt.hash(lo+k, hi))
	}
	return append(nt.subproof(m-k, lo+k, hi, false), nt.hash(lo, lo+k))
}

// storeLeaves appends raw leaves to a fresh memory store.
func storeLeaves(t testing.TB, leaves [][]byte) *auditlog.MemStore {
	t.Helper()
	s := auditlog.NewMemStore()
	var all []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = all[x]
		}
		return out, nil
	})
	const batch = 4096
	for lo := 0; lo < len(leaves); lo += batch {
		hi := min(lo+batch, len(leaves))
		var recs []auditlog.Record
		base := int64(len(all))
		for i := lo; i < hi; i++ {
			hs, err := tlog.StoredHashes(int64(i), leaves[i], r)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, hs...)
			recs = append(recs, auditlog.Record{Index: int64(i), ID: fmt.Sprintf("e%d", i), Type: "document.uploaded", Time: time.Unix(int64(i), 0), Leaf: leaves[i]})
		}
		var es []auditlog.HashEntry
		for x := base; x < int64(len(all)); x++ {
			es = append(es, auditlog.HashEntry{Index: x, Hash: all[x]})
		}
		if err := s.Append(context.Background(), recs, es); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// validLeaves returns n leaves in the form the Log writes.
func validLeaves(n int) [][]byte {
	out := make([][]byte, n)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"actor":{"id":"u1","kind":"user"},"id":"e%d","index":%d,"outcome":"success","tenant":"","time":"%s","type":"document.uploaded","v":1}`, i, i, t0.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano)))
	}
	return out
}
