package auditlog_test

import (
	"context"
	"encoding/hex"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// The Certificate Transparency reference leaves and roots for RFC 6962
// trees of sizes 0 to 8.
var (
	ctLeaves = []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}
	ctRoots  = []string{
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	ctInclusion = []struct {
		index, size int64
		path        []string
	}{
		{0, 8, []string{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
		{5, 8, []string{"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
	}
)

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRFC6962Vectors checks the stored tree against the known answers.
func TestRFC6962Vectors(t *testing.T) {
	if h := rfc6962.DefaultHasher.EmptyRoot(); hex.EncodeToString(h) != ctRoots[0] {
		t.Fatalf("empty root %x", h)
	}
	var leaves [][]byte
	for _, l := range ctLeaves {
		leaves = append(leaves, mustHex(t, l))
	}
	s := storeLeaves(t, leaves)
	ctx := context.Background()
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return s.ReadHashes(ctx, idx) })
	for size := 1; size <= 8; size++ {
		got, err := tlog.TreeHash(int64(size), r)
		if err != nil || hex.EncodeToString(got[:]) != ctRoots[size] {
			t.Errorf("root of size %d = %x, %v; want %s", size, got, err, ctRoots[size])
		}
	}
	for _, tc := range ctInclusion {
		p, err := auditlog.InclusionProof(ctx, s, tc.index, tc.size)
		if err != nil || len(p) != len(tc.path) {
			t.Fatalf("InclusionProof(%d, %d) = %d hashes, %v", tc.index, tc.size, len(p), err)
		}
		for i := range p {
			if hex.EncodeToString(p[i][:]) != tc.path[i] {
				t.Errorf("InclusionProof(%d, %d)[%d] = %x, want %s", tc.index, tc.size, i, p[i], tc.path[i])
			}
		}
	}
}

// TestProofsCrossCheck verifies every inclusion and consistency proof of
// small trees with transparency-dev/merkle, and compares them with the
// naive reference tree.
func TestProofsCrossCheck(t *testing.T) {
	const n = 33
	leaves := validLeaves(n)
	s := storeLeaves(t, leaves)
	nt := naiveTree(leaves)
	ctx := context.Background()
	h := rfc6962.DefaultHasher
	for size := 1; size <= n; size++ {
		root := nt.hash(0, size)
		for i := 0; i < size; i++ {
			p, err := auditlog.InclusionProof(ctx, s, int64(i), int64(size))
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(h, uint64(i), uint64(size), h.HashLeaf(leaves[i]), hashes(p), root[:]); err != nil {
				t.Fatalf("merkle rejects inclusion proof %d in %d: %v", i, size, err)
			}
			if !equalHashes(p, nt.path(i, 0, size)) {
				t.Fatalf("inclusion proof %d in %d differs from the reference", i, size)
			}
		}
		for old := 1; old <= size; old++ {
			p, err := auditlog.ConsistencyProof(ctx, s, int64(old), int64(size))
			if err != nil {
				t.Fatal(err)
			}
			oldRoot := nt.hash(0, old)
			if err := proof.VerifyConsistency(h, uint64(old), uint64(size), hashes(p), oldRoot[:], root[:]); err != nil {
				t.Fatalf("merkle rejects consistency proof %d→%d: %v", old, size, err)
			}
			if !equalHashes(p, nt.proof(old, size)) {
				t.Fatalf("consistency proof %d→%d differs from the reference", old, size)
			}
		}
	}
}

func hashes(p []tlog.Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

func equalHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzProofs compares our proofs for random trees with the naive
// reference tree and checks them with transparency-dev/merkle.
func FuzzProofs(f *testing.F) {
	f.Add([]byte("abcdefghij"), uint16(3), uint16(7))
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8}, uint16(0), uint16(8))
	f.Fuzz(func(t *testing.T, data []byte, a, b uint16) {
		if len(data) == 0 || len(data) > 200 {
			return
		}
		leaves := make([][]byte, len(data))
		for i := range data {
			leaves[i] = []byte{data[i], byte(i)}
		}
		n := len(leaves)
		size := int(b)%n + 1
		idx := int(a) % size
		s := storeLeaves(t, leaves)
		nt := naiveTree(leaves)
		ctx := context.Background()
		p, err := auditlog.InclusionProof(ctx, s, int64(idx), int64(size))
		if err != nil || !equalHashes(p, nt.path(idx, 0, size)) {
			t.Fatalf("inclusion proof %d in %d: %v", idx, size, err)
		}
		root := nt.hash(0, size)
		h := rfc6962.DefaultHasher
		if err := proof.VerifyInclusion(h, uint64(idx), uint64(size), h.HashLeaf(leaves[idx]), hashes(p), root[:]); err != nil {
			t.Fatal(err)
		}
		old := idx + 1
		c, err := auditlog.ConsistencyProof(ctx, s, int64(old), int64(size))
		if err != nil || !equalHashes(c, nt.proof(old, size)) {
			t.Fatalf("consistency proof %d→%d: %v", old, size, err)
		}
		oldRoot := nt.hash(0, old)
		if err := proof.VerifyConsistency(h, uint64(old), uint64(size), hashes(c), oldRoot[:], root[:]); err != nil {
			t.Fatal(err)
		}
	})
}
