package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/signet-pki/signet/auditlog"
)

// RunLocking runs the conformance suite of [auditlog.LockingStorage].
// open must return a new, empty storage each time it is called;
// RunLocking closes it.
func RunLocking(t *testing.T, open func(t *testing.T) auditlog.LockingStorage) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s auditlog.LockingStorage)
	}{
		{"BuildReadsTheEnd", testLockedAppend},
		{"BuildFails", testLockedBuildFails},
		{"Conflict", testLockedConflict},
		{"Exclusion", testLockedExclusion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

// buildAt returns a build function that appends count records at the
// size it reads, shifted by offset.
func buildAt(ctx context.Context, count int, offset int64, tag string) func(auditlog.StorageReader) ([]auditlog.Record, []auditlog.HashEntry, error) {
	return func(r auditlog.StorageReader) ([]auditlog.Record, []auditlog.HashEntry, error) {
		n, err := r.Size(ctx)
		if err != nil {
			return nil, nil, err
		}
		recs := make([]auditlog.Record, count)
		for i := range recs {
			recs[i] = record(n+offset+int64(i), tag)
		}
		if offset != 0 {
			return recs, nil, nil // refused before the hashes matter
		}
		hs, err := hashesFor(ctx, r, recs)
		return recs, hs, err
	}
}

func checkSize(t *testing.T, s auditlog.Storage, want int64) {
	t.Helper()
	n, err := s.Size(context.Background())
	if err != nil || n != want {
		t.Fatalf("size %d (%v), want %d", n, err, want)
	}
}

// testLockedAppend: build reads the end of the log, and what it returns is
// stored there.
func testLockedAppend(t *testing.T, s auditlog.LockingStorage) {
	ctx := context.Background()
	appendN(t, s, 5, 5, "a")
	if err := s.AppendLocked(ctx, buildAt(ctx, 3, 0, "b")); err != nil {
		t.Fatal(err)
	}
	checkSize(t, s, 8)
	recs, err := s.Records(ctx, 5, 8)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if want := record(int64(5+i), "b"); !sameRecord(r, want) {
			t.Fatalf("record %d: %+v, want %+v", 5+i, r, want)
		}
	}
	checkSize(t, s, 8)
}

// testLockedBuildFails: build's error is returned and nothing is stored.
func testLockedBuildFails(t *testing.T, s auditlog.LockingStorage) {
	ctx := context.Background()
	appendN(t, s, 2, 2, "a")
	errBuild := errors.New("build failed")
	err := s.AppendLocked(ctx, func(r auditlog.StorageReader) ([]auditlog.Record, []auditlog.HashEntry, error) {
		recs, hs, _ := buildAt(ctx, 2, 0, "b")(r)
		return recs, hs, errBuild
	})
	if !errors.Is(err, errBuild) {
		t.Fatalf("AppendLocked: %v, want the build's error", err)
	}
	checkSize(t, s, 2)
}

// testLockedConflict: records that do not start at the size are refused
// with ErrConflict, as by Append.
func testLockedConflict(t *testing.T, s auditlog.LockingStorage) {
	ctx := context.Background()
	appendN(t, s, 3, 3, "a")
	for _, off := range []int64{-1, 1} {
		if err := s.AppendLocked(ctx, buildAt(ctx, 1, off, "b")); !errors.Is(err, auditlog.ErrConflict) {
			t.Fatalf("offset %d: %v, want ErrConflict", off, err)
		}
	}
	checkSize(t, s, 3)
}

// testLockedExclusion: concurrent AppendLocked calls, each appending at
// the size it read, never conflict: nobody appends between a build's
// reads and its append.
func testLockedExclusion(t *testing.T, s auditlog.LockingStorage) {
	ctx := context.Background()
	const writers, rounds = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				if err := s.AppendLocked(ctx, buildAt(ctx, 1, 0, fmt.Sprintf("w%d-r%d", w, r))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkSize(t, s, writers*rounds)
	recs, err := s.Records(ctx, 0, writers*rounds)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if r.Index != int64(i) {
			t.Fatalf("record %d has index %d", i, r.Index)
		}
	}
}
