package auditlog_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
)

// plainStorage hides a storage's AppendLocked, so that the Log retries a
// preceded append without the storage's lock.
type plainStorage struct{ auditlog.Storage }

// failing is a storage whose Append fails with err (when set) and counts
// its calls.
type failing struct {
	auditlog.Storage
	err   atomic.Pointer[error]
	calls atomic.Int64
}

func (f *failing) Append(ctx context.Context, recs []auditlog.Record, hashes []auditlog.HashEntry) error {
	f.calls.Add(1)
	if err := f.err.Load(); err != nil {
		return *err
	}
	return f.Storage.Append(ctx, recs, hashes)
}

// TestAppendRetries: which storage failures the sequencer retries, and how
// often: a conflict is retried up to MaxAttempts appends in all, then the
// batch fails closed with nothing stored; any other error is not retried.
func TestAppendRetries(t *testing.T) {
	storageDown := errors.New("storage unreachable")
	conflict := errors.Join(errors.New("append at 0, size is 1"), auditlog.ErrConflict)
	tests := []struct {
		name      string
		err       error
		wantCalls int64
	}{
		{"conflict", conflict, auditlog.MaxAttempts},
		{"other error", storageDown, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := &failing{Storage: auditlog.NewMemStore()}
			l := newLog(t, f, auditlog.Config{})
			f.err.Store(&tc.err)
			_, err := l.Append(ctx, event(1))
			if !errors.Is(err, tc.err) {
				t.Fatalf("Append: %v, want %v", err, tc.err)
			}
			if got := f.calls.Load(); got != tc.wantCalls {
				t.Fatalf("%d appends to the storage, want %d", got, tc.wantCalls)
			}
			if n, _ := f.Storage.Size(ctx); n != 0 || l.Size() != 0 {
				t.Fatalf("size %d (log says %d) after a failed batch", n, l.Size())
			}
			// The storage recovers: the next batch is stored.
			f.err.Store(nil)
			if idx, err := l.Append(ctx, event(2)); err != nil || idx != 0 {
				t.Fatalf("Append after recovery: %d, %v", idx, err)
			}
		})
	}
}

// TestTimesMonotonicAcrossNodes: two nodes take turns, so each append
// was preceded by the other node's and is retried, with or without the
// storage's lock; a node whose clock is behind the other's still gives
// its events later times than the events before them.
func TestTimesMonotonicAcrossNodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(*auditlog.MemStore) auditlog.Storage
	}{
		{"locking", func(s *auditlog.MemStore) auditlog.Storage { return s }},
		{"without lock", func(s *auditlog.MemStore) auditlog.Storage { return plainStorage{s} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := auditlog.NewMemStore()
			now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
			ahead := newLog(t, tc.wrap(s), auditlog.Config{Now: func() time.Time { return now.Add(time.Hour) }})
			behind := newLog(t, tc.wrap(s), auditlog.Config{Now: func() time.Time { return now }})
			nodes := []*auditlog.Log{ahead, behind, ahead, behind, ahead}
			for i, l := range nodes {
				if idx, err := l.Append(ctx, event(i)); err != nil || idx != int64(i) {
					t.Fatalf("append %d: index %d, %v", i, idx, err)
				}
			}
			recs, err := s.Records(ctx, 0, int64(len(nodes)))
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(nodes) {
				t.Fatalf("%d records, want %d", len(recs), len(nodes))
			}
			for i := 1; i < len(recs); i++ {
				if !recs[i].Time.After(recs[i-1].Time) {
					t.Fatalf("record %d at %v is not after record %d at %v", i, recs[i].Time, i-1, recs[i-1].Time)
				}
			}
			_, verifier := newKey(t)
			if _, err := auditlog.Verify(ctx, s, auditlog.VerifyOptions{Verifier: verifier}); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// preceded is a locking storage whose plain Append always finds that
// another writer appended first.
type preceded struct {
	*auditlog.MemStore
	appends, locked atomic.Int64
}

func (p *preceded) Append(ctx context.Context, recs []auditlog.Record, hashes []auditlog.HashEntry) error {
	p.appends.Add(1)
	return auditlog.ErrConflict
}

func (p *preceded) AppendLocked(ctx context.Context, build func(auditlog.StorageReader) ([]auditlog.Record, []auditlog.HashEntry, error)) error {
	p.locked.Add(1)
	return p.MemStore.AppendLocked(ctx, build)
}

// TestAppendRetriesUnderLock: a LockingStorage gets the retry of a
// preceded batch through AppendLocked, once.
func TestAppendRetriesUnderLock(t *testing.T) {
	ctx := context.Background()
	p := &preceded{MemStore: auditlog.NewMemStore()}
	l := newLog(t, p, auditlog.Config{})
	for i := range 3 {
		if idx, err := l.Append(ctx, event(i)); err != nil || idx != int64(i) {
			t.Fatalf("Append %d: %d, %v", i, idx, err)
		}
	}
	if a, k := p.appends.Load(), p.locked.Load(); a != 3 || k != 3 {
		t.Fatalf("%d plain appends and %d locked ones, want 3 and 3", a, k)
	}
}
