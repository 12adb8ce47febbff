package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/signet-pki/signet/auditlog"
)

// RunWriters checks that several [auditlog.Log]s, one per node, append to
// one log concurrently: a node whose append another node preceded retries
// it at the new end, so every Append succeeds, every event is stored once
// at the index its Append returned, indexes are consecutive, times never
// go backwards across the nodes, and the log verifies with a checkpoint
// published by one of them. open returns n Storages over one new, empty
// log (for PostgreSQL, n pools on one database); RunWriters closes them.
func RunWriters(t *testing.T, open func(t *testing.T, n int) []auditlog.Storage) {
	const nodes, perNode, rounds = 2, 4, 40
	ctx := context.Background()
	stores := open(t, nodes)
	conflicts := make([]*conflictCounter, nodes)
	logs := make([]*auditlog.Log, nodes)
	keys, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		t.Cleanup(func() { s.Close() })
		conflicts[i] = &conflictCounter{Storage: s}
		var counted auditlog.Storage = conflicts[i]
		if ls, ok := s.(auditlog.LockingStorage); ok {
			counted = lockingCounter{conflicts[i], ls}
		}
		l, err := auditlog.New(ctx, auditlog.Config{Storage: counted, Keys: keys})
		if err != nil {
			t.Fatalf("node %d: auditlog.New: %v", i, err)
		}
		t.Cleanup(func() { l.Shutdown(context.Background()) })
		logs[i] = l
	}

	type stored struct {
		id    string
		index int64
	}
	var (
		mu   sync.Mutex
		acks []stored
	)
	appendOne := func(node, g, r int) error {
		e := writerEvent(node, g, r)
		idx, err := logs[node].Append(ctx, e)
		if err != nil {
			return fmt.Errorf("node %d: Append: %w", node, err)
		}
		mu.Lock()
		acks = append(acks, stored{e.ID, idx})
		mu.Unlock()
		return nil
	}

	// Every node opened the log at size 0: the second node's first append
	// is preceded by the first node's and must be retried.
	for node := range logs {
		if err := appendOne(node, -1, 0); err != nil {
			t.Fatal(err)
		}
	}
	if conflicts[1].n.Load() == 0 {
		t.Fatal("the second node's stale append met no conflict")
	}

	var wg sync.WaitGroup
	errs := make(chan error, nodes*perNode)
	for node := range logs {
		for g := range perNode {
			wg.Go(func() {
				for r := range rounds {
					if err := appendOne(node, g, r); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	want := int64(nodes * (1 + perNode*rounds))
	size, err := stores[0].Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if size != want {
		t.Fatalf("size %d, want %d events", size, want)
	}
	recs, err := stores[0].Records(ctx, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int64{}
	for i, r := range recs {
		if r.Index != int64(i) {
			t.Fatalf("record %d has index %d", i, r.Index)
		}
		if _, dup := byID[r.ID]; dup {
			t.Fatalf("event %s stored twice", r.ID)
		}
		byID[r.ID] = r.Index
		h, err := auditlog.ParseLeafHeader(r.Leaf)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if h.Index != r.Index || h.ID != r.ID {
			t.Fatalf("record %d: leaf says index %d, id %s", i, h.Index, h.ID)
		}
		if i > 0 && !r.Time.After(recs[i-1].Time) {
			t.Fatalf("record %d at %v is not after record %d at %v", i, r.Time, i-1, recs[i-1].Time)
		}
	}
	if len(acks) != len(recs) {
		t.Fatalf("%d appends acknowledged, %d stored", len(acks), len(recs))
	}
	for _, a := range acks {
		if idx, ok := byID[a.id]; !ok || idx != a.index {
			t.Fatalf("event %s acknowledged at %d, stored at %d (found %v)", a.id, a.index, idx, ok)
		}
	}

	signer, verifier := NewKey(t, "signet.test/audit")
	pub := newPublisher(t, stores[1], signer)
	cp, err := pub.Publish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != want {
		t.Fatalf("checkpoint of size %d, want %d", cp.Size, want)
	}
	res, err := auditlog.Verify(ctx, stores[0], auditlog.VerifyOptions{Verifier: verifier, ChunkSize: 37})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.Size != want || res.Checkpoints != 1 {
		t.Fatalf("verified %d records and %d checkpoints, want %d and 1", res.Size, res.Checkpoints, want)
	}
}

// writerEvent is goroutine g's r-th event on node, with a fixed ID so
// that the test can find it.
func writerEvent(node, g, r int) auditlog.Event {
	return auditlog.Event{
		ID:      fmt.Sprintf("node%d-g%d-r%d", node, g, r),
		Type:    auditlog.SignatureCreated,
		Tenant:  "acme",
		Actor:   auditlog.Actor{Kind: auditlog.ActorRecipient, ID: fmt.Sprintf("r%d", r), Email: fmt.Sprintf("signer%d@acme.example", r)},
		Subject: auditlog.Subject{EnvelopeID: fmt.Sprintf("env-%d-%d", node, g)},
		Request: auditlog.Request{CorrelationID: fmt.Sprintf("req-%d-%d-%d", node, g, r), IP: "192.0.2.8"},
		Outcome: auditlog.OutcomeSuccess,
		Policy:  auditlog.Policy{Decision: "allow", Policy: "envelope", Rule: "recipient-signs"},
	}
}

// conflictCounter counts the appends its Storage refused with
// [auditlog.ErrConflict].
type conflictCounter struct {
	auditlog.Storage
	n atomic.Int64
}

func (c *conflictCounter) Append(ctx context.Context, recs []auditlog.Record, hashes []auditlog.HashEntry) error {
	err := c.Storage.Append(ctx, recs, hashes)
	if errors.Is(err, auditlog.ErrConflict) {
		c.n.Add(1)
	}
	return err
}

// lockingCounter is a conflictCounter over a [auditlog.LockingStorage]
// that keeps its AppendLocked.
type lockingCounter struct {
	*conflictCounter
	ls auditlog.LockingStorage
}

func (c lockingCounter) AppendLocked(ctx context.Context, build func(auditlog.StorageReader) ([]auditlog.Record, []auditlog.HashEntry, error)) error {
	err := c.ls.AppendLocked(ctx, build)
	if errors.Is(err, auditlog.ErrConflict) {
		c.n.Add(1)
	}
	return err
}
