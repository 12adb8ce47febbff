// Package vaulttest is the conformance suite for [soft.Vault]
// implementations. Every vault runs it from its own tests:
//
//	func TestVault(t *testing.T) {
//		vaulttest.Run(t, func(t *testing.T) soft.Vault { return open(t) })
//	}
package vaulttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"sync"
	"testing"

	"github.com/signet-pki/signet/keys/soft"
)

// Run runs the suite; open returns a new, empty vault for each subtest.
func Run(t *testing.T, open func(t *testing.T) soft.Vault) {
	t.Run("PutGet", func(t *testing.T) { testPutGet(t, open(t)) })
	t.Run("NeverReplaces", func(t *testing.T) { testNeverReplaces(t, open(t)) })
	t.Run("Missing", func(t *testing.T) { testMissing(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open(t)) })
	t.Run("Empty", func(t *testing.T) { testEmpty(t, open(t)) })
	t.Run("ConcurrentPut", func(t *testing.T) { testConcurrentPut(t, open(t)) })
}

// Handle returns a fresh handle of the form a soft.Backend makes.
func Handle(t testing.TB) string {
	t.Helper()
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	return "soft-" + hex.EncodeToString(r[:])
}

// blob returns n random bytes: the vault never interprets them.
func blob(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func get(t *testing.T, v soft.Vault, h string) []byte {
	t.Helper()
	got, err := v.Get(context.Background(), h)
	if err != nil {
		t.Fatalf("Get(%s): %v", h, err)
	}
	return got
}

func testPutGet(t *testing.T, v soft.Vault) {
	ctx := context.Background()
	want := map[string][]byte{soft.CheckHandle: []byte("check value\n")}
	for _, n := range []int{1, 100, 2600, soft.MaxSealedSize} {
		want[Handle(t)] = blob(t, n)
	}
	for h, b := range want {
		in := bytes.Clone(b)
		if err := v.Put(ctx, h, in); err != nil {
			t.Fatalf("Put(%s): %v", h, err)
		}
		clear(in) // the vault keeps its own copy
	}
	for h, b := range want {
		got := get(t, v, h)
		if !bytes.Equal(got, b) {
			t.Fatalf("Get(%s) returned %d bytes that differ from the %d stored", h, len(got), len(b))
		}
		clear(got) // and hands out copies
		if again := get(t, v, h); !bytes.Equal(again, b) {
			t.Fatalf("Get(%s) shares memory with its caller", h)
		}
	}
}

func testNeverReplaces(t *testing.T, v soft.Vault) {
	ctx := context.Background()
	for _, h := range []string{Handle(t), soft.CheckHandle} {
		first := blob(t, 64)
		if err := v.Put(ctx, h, first); err != nil {
			t.Fatal(err)
		}
		if err := v.Put(ctx, h, blob(t, 64)); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("second Put(%s) = %v, want an error wrapping fs.ErrExist", h, err)
		}
		if got := get(t, v, h); !bytes.Equal(got, first) {
			t.Fatalf("second Put(%s) replaced the stored bytes", h)
		}
	}
}

func testMissing(t *testing.T, v soft.Vault) {
	ctx := context.Background()
	h := Handle(t)
	if _, err := v.Get(ctx, h); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get(missing) = %v, want an error wrapping fs.ErrNotExist", err)
	}
	if _, err := v.Get(ctx, soft.CheckHandle); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get(check, missing) = %v, want an error wrapping fs.ErrNotExist", err)
	}
	if err := v.Delete(ctx, h); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Delete(missing) = %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func testDelete(t *testing.T, v soft.Vault) {
	ctx := context.Background()
	keep, gone := Handle(t), Handle(t)
	kb := blob(t, 80)
	for h, b := range map[string][]byte{keep: kb, gone: blob(t, 80)} {
		if err := v.Put(ctx, h, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get(ctx, gone); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get after Delete = %v, want an error wrapping fs.ErrNotExist", err)
	}
	if err := v.Delete(ctx, gone); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second Delete = %v, want an error wrapping fs.ErrNotExist", err)
	}
	if got := get(t, v, keep); !bytes.Equal(got, kb) {
		t.Error("Delete of one handle changed another")
	}
}

func testEmpty(t *testing.T, v soft.Vault) {
	ctx := context.Background()
	empty := func(want bool, when string) {
		t.Helper()
		got, err := v.Empty(ctx)
		if err != nil || got != want {
			t.Fatalf("Empty %s = %v, %v; want %v", when, got, err, want)
		}
	}
	empty(true, "when new")
	h := Handle(t)
	if err := v.Put(ctx, h, blob(t, 32)); err != nil {
		t.Fatal(err)
	}
	empty(false, "with a sealed key")
	if err := v.Delete(ctx, h); err != nil {
		t.Fatal(err)
	}
	empty(true, "once its only key is deleted")
	if err := v.Put(ctx, soft.CheckHandle, []byte("check\n")); err != nil {
		t.Fatal(err)
	}
	empty(false, "with a check value only")
}

func testConcurrentPut(t *testing.T, v soft.Vault) {
	ctx := context.Background()
	h := Handle(t)
	const n = 8
	blobs := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		blobs[i] = blob(t, 256)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = v.Put(ctx, h, blobs[i])
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("Put %d and Put %d of one handle both succeeded", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, fs.ErrExist):
			t.Fatalf("Put %d = %v, want nil or fs.ErrExist", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no Put succeeded")
	}
	if got := get(t, v, h); !bytes.Equal(got, blobs[won]) {
		t.Fatal("the stored bytes are not those of the Put that succeeded")
	}
}
