package anchor_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/auditlog/anchor/witnesstest"
	"github.com/signet-pki/signet/tsa"
)

// TestPublisherAnchors runs every anchor behind the log's Publisher with
// the memory store: each published checkpoint gets a time-stamp, a
// cosignature and a sink copy, and each verifies.
func TestPublisherAnchors(t *testing.T) {
	ctx := context.Background()
	store := auditlog.NewMemStore()
	hashes := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return store.ReadHashes(ctx, idx) })
	appendN := func(n int) {
		t.Helper()
		size, err := store.Size(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := size; i < size+int64(n); i++ {
			leaf := fmt.Appendf(nil, `{"id":"e%d"}`, i)
			hs, err := tlog.StoredHashes(i, leaf, hashes)
			if err != nil {
				t.Fatal(err)
			}
			entries := make([]auditlog.HashEntry, len(hs))
			for j, h := range hs {
				entries[j] = auditlog.HashEntry{Index: tlog.StoredHashCount(i) + int64(j), Hash: h}
			}
			rec := auditlog.Record{Index: i, ID: fmt.Sprintf("e%d", i), Type: "test.event", Time: time.Unix(0, 0), Leaf: leaf}
			if err := store.Append(ctx, []auditlog.Record{rec}, entries); err != nil {
				t.Fatal(err)
			}
		}
	}

	skey, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)

	ts := newTSA(t)
	_, wpriv := newEd25519(t)
	w := witnesstest.New(witnessName, wpriv)
	if err := w.AddLog(testOrigin, vkey); err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(t, w)
	wkey, err := anchor.ParseCosignerKey(w.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	sink := &anchor.FileSink{Dir: t.TempDir()}
	pub, err := auditlog.NewPublisher(store, auditlog.PublisherConfig{
		Origin: testOrigin,
		Signer: signer,
		Anchorers: []auditlog.Anchorer{
			&anchor.Timestamper{Client: &tsa.Client{URLs: []string{ts.url}, Roots: ts.roots}},
			&anchor.Witness{Key: wkey, URL: srv, ProofFrom: func(ctx context.Context, old, n int64) (tlog.TreeProof, error) {
				return tlog.ProveTree(n, old, hashes)
			}},
			&anchor.SinkAnchorer{Sink: sink, Name: "file:" + sink.Dir},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, n := range []int{3, 5, 1} {
		appendN(n)
		cp, err := pub.Publish(ctx)
		if err != nil {
			t.Fatal(err)
		}
		as, err := store.Anchors(ctx, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, a := range as {
			kinds[a.Kind]++
			switch a.Kind {
			case anchor.KindRFC3161:
				err = anchor.VerifyTimestampAnchor(a, cp, ts.roots)
			case anchor.KindWitness:
				err = anchor.VerifyCosignatureAnchor(a, cp, wkey)
			case anchor.KindSink:
				err = anchor.VerifySink(ctx, sink, []auditlog.Checkpoint{cp})
			}
			if err != nil {
				t.Fatalf("checkpoint %d, %s anchor: %v", cp.Size, a.Kind, err)
			}
		}
		if kinds[anchor.KindRFC3161] != 1 || kinds[anchor.KindWitness] != 1 || kinds[anchor.KindSink] != 1 {
			t.Fatalf("checkpoint %d: anchors by kind %v", cp.Size, kinds)
		}
	}
	if f := pub.AnchorFailures(); f != 0 {
		t.Fatalf("%d anchor failures", f)
	}
	if got := w.Size(testOrigin); got != 9 {
		t.Fatalf("witness at %d, want 9", got)
	}
	cps, err := store.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := anchor.VerifySink(ctx, sink, cps); err != nil {
		t.Fatal(err)
	}
}
