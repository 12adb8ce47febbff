package anchor_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
)

// testLog is an in-memory Merkle tree (tlog stored hashes) whose
// checkpoints are C2SP tlog-checkpoint notes signed with an Ed25519 note
// key, like the audit log's.
type testLog struct {
	origin string
	signer note.Signer
	vkey   string
	hashes []tlog.Hash
	n      int64
}

// newTestLog returns an empty log for origin with a fresh key.
func newTestLog(t testing.TB, origin string) *testLog {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{origin: origin, signer: s, vkey: vkey}
}

// fork returns a copy of l with the same key and origin and the same first
// n leaves.
func (l *testLog) fork(t testing.TB, n int64) *testLog {
	t.Helper()
	f := &testLog{origin: l.origin, signer: l.signer, vkey: l.vkey}
	for i := range n {
		f.add(t, leaf(l.origin, i))
	}
	return f
}

func leaf(origin string, i int64) []byte { return fmt.Appendf(nil, "%s event %d", origin, i) }

func (l *testLog) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = l.hashes[x]
		}
		return out, nil
	})
}

// add appends one leaf.
func (l *testLog) add(t testing.TB, data []byte) {
	t.Helper()
	hs, err := tlog.StoredHashes(l.n, data, l.reader())
	if err != nil {
		t.Fatal(err)
	}
	l.hashes = append(l.hashes, hs...)
	l.n++
}

// grow appends leaves until the log has size n.
func (l *testLog) grow(t testing.TB, n int64) *testLog {
	for l.n < n {
		l.add(t, leaf(l.origin, l.n))
	}
	return l
}

// checkpoint signs the current tree head.
func (l *testLog) checkpoint(t testing.TB) auditlog.Checkpoint {
	t.Helper()
	root, err := tlog.TreeHash(l.n, l.reader())
	if err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", l.origin, l.n, root)
	msg, err := note.Sign(&note.Note{Text: text}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	return auditlog.Checkpoint{Size: l.n, Note: msg}
}

// proof returns the consistency proof from old to the current size.
func (l *testLog) proof(t testing.TB, old int64) tlog.TreeProof {
	t.Helper()
	p, err := l.proofFrom(context.Background(), old, l.n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// proofFrom is an anchor.ProofFunc over the log.
func (l *testLog) proofFrom(_ context.Context, old, n int64) (tlog.TreeProof, error) {
	if old == 0 || old == n {
		return nil, nil
	}
	return tlog.ProveTree(n, old, l.reader())
}

// newEd25519 returns a fresh Ed25519 key pair.
func newEd25519(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}
