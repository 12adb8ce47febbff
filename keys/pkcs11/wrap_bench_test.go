//go:build cgo

package pkcs11

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
)

// BenchmarkWrap measures wraps (and unwraps) per second of a 32-byte data
// key with 64 bytes of additional data under an AES-256 key-encryption
// key, serially and from GOMAXPROCS goroutines, along three paths:
//
//   - pkcs11: Backend.Wrap / Backend.Unwrap on a SoftHSM2 key (session
//     pool, key lookup by CKA_ID, CKM_AES_GCM in the token);
//   - c_encrypt: SoftHSM2's own C_EncryptInit+C_Encrypt with CKM_AES_GCM on
//     the same key, its object handle known, one session per goroutine: the
//     floor for any PKCS#11 caller;
//   - soft: the sealed software backend's Wrap / Unwrap (keys/soft: the key
//     unsealed from its file, then crypto/cipher's AES-GCM).
//
// Run: go test -run '^$' -bench BenchmarkWrap -count 5 ./keys/pkcs11
func BenchmarkWrap(b *testing.B) {
	ctx := context.Background()
	be := openTest(b, 0)
	handle, _, err := be.Generate(ctx, keys.AES256, "bench-wrap")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Destroy(ctx, handle) })
	softBE, err := soft.New(soft.Config{Dir: b.TempDir(), MasterKey: make([]byte, soft.MasterKeySize)})
	if err != nil {
		b.Fatal(err)
	}
	softHandle, _, err := softBE.Generate(ctx, keys.AES256, "bench-wrap")
	if err != nil {
		b.Fatal(err)
	}
	dataKey := make([]byte, 32)
	aad := make([]byte, 64)
	rand.Read(dataKey)
	rand.Read(aad)
	type wrapper interface {
		Wrap(context.Context, string, []byte, []byte) ([]byte, error)
		Unwrap(context.Context, string, []byte, []byte) ([]byte, error)
	}
	paths := []struct {
		name   string
		w      wrapper
		handle string
	}{{"pkcs11", be, handle}, {"soft", softBE, softHandle}}
	for _, mode := range []string{"serial", "parallel"} {
		parallel := mode == "parallel"
		b.Run("wrap/c_encrypt/"+mode, func(b *testing.B) {
			benchCEncrypt(b, be, handle, dataKey, aad, parallel)
		})
		for _, p := range paths {
			blob, err := p.w.Wrap(ctx, p.handle, dataKey, aad)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("wrap/"+p.name+"/"+mode, func(b *testing.B) {
				benchOp(b, parallel, "wrap/s", func() error {
					_, err := p.w.Wrap(ctx, p.handle, dataKey, aad)
					return err
				})
			})
			b.Run("unwrap/"+p.name+"/"+mode, func(b *testing.B) {
				benchOp(b, parallel, "unwrap/s", func() error {
					_, err := p.w.Unwrap(ctx, p.handle, blob, aad)
					return err
				})
			})
		}
	}
}

// benchOp runs op b.N times, serially or in parallel, and reports the rate
// as unit.
func benchOp(b *testing.B, parallel bool, unit string, op func() error) {
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// benchCEncrypt calls C_EncryptInit and C_Encrypt with CKM_AES_GCM
// directly, on sessions opened for the benchmark and the key's object
// handle found once.
func benchCEncrypt(b *testing.B, be *Backend, handle string, pt, aad []byte, parallel bool) {
	c := be.mod.ctx
	id, err := parseHandle(handle)
	if err != nil {
		b.Fatal(err)
	}
	var key p11.ObjectHandle
	if err := be.with(context.Background(), "find", func(sh p11.SessionHandle) error {
		key, _, err = be.secretKey(sh, id, searched)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	open := func() p11.SessionHandle {
		sh, err := c.OpenSession(be.slot, p11.CKF_SERIAL_SESSION)
		if err != nil {
			b.Fatal(err)
		}
		return sh
	}
	encrypt := func(sh p11.SessionHandle) error {
		iv := make([]byte, gcmIVSize)
		rand.Read(iv)
		params := p11.NewGCMParams(iv, aad, 8*gcmTagSize)
		defer params.Free()
		if err := c.EncryptInit(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, params)}, key); err != nil {
			return err
		}
		_, err := c.Encrypt(sh, pt)
		return err
	}
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			sh := open()
			defer c.CloseSession(sh)
			for pb.Next() {
				if err := encrypt(sh); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		sh := open()
		defer c.CloseSession(sh)
		for b.Loop() {
			if err := encrypt(sh); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "wrap/s")
}

// BenchmarkWrapOverhead compares Backend.Wrap and Backend.Unwrap with
// SoftHSM2's own C_EncryptInit+C_Encrypt and C_DecryptInit+C_Decrypt
// (CKM_AES_GCM, the key's object handle known) in alternating rounds of
// 64 operations, the order reversed every round, so that all paths see the
// same machine load, and reports the median over rounds of each rate and
// of the ratio pkcs11/c_call (1.0 means no overhead). A third path,
// search, is the Backend's call with its cache of object handles emptied
// before every call (a token search each time). extra AES keys are
// created first, since a search's cost grows with the token's objects.
//
// Run: go test -run '^$' -bench BenchmarkWrapOverhead -benchtime 40x ./keys/pkcs11
func BenchmarkWrapOverhead(b *testing.B) {
	ctx := context.Background()
	be := openTest(b, 0)
	handle, _, err := be.Generate(ctx, keys.AES256, "overhead-wrap")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Destroy(ctx, handle) })
	const extra = 200
	for i := range extra {
		h, _, err := be.Generate(ctx, keys.AES256, fmt.Sprintf("overhead-extra-%d", i))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { be.Destroy(ctx, h) })
	}
	id, _ := parseHandle(handle)
	var key p11.ObjectHandle
	if err := be.with(ctx, "find", func(sh p11.SessionHandle) error {
		key, _, err = be.secretKey(sh, id, searched)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	c := be.mod.ctx
	sh, err := c.OpenSession(be.slot, p11.CKF_SERIAL_SESSION)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseSession(sh)
	dataKey, aad := make([]byte, 32), make([]byte, 64)
	blob, err := be.Wrap(ctx, handle, dataKey, aad)
	if err != nil {
		b.Fatal(err)
	}
	wrap := func(int) error {
		_, err := be.Wrap(ctx, handle, dataKey, aad)
		return err
	}
	unwrap := func(int) error {
		_, err := be.Unwrap(ctx, handle, blob, aad)
		return err
	}
	encrypt := func(int) error {
		iv := make([]byte, gcmIVSize)
		rand.Read(iv)
		_, _, err := be.gcmEncrypt(sh, key, iv, dataKey, aad)
		return err
	}
	decrypt := func(int) error {
		_, err := be.gcmDecrypt(sh, key, blob[:gcmIVSize], blob[gcmIVSize:], aad)
		return err
	}
	search := func(op func(int) error) func(int) error {
		return func(w int) error {
			be.secrets.drop(handle)
			return op(w)
		}
	}
	for _, op := range []struct {
		name        string
		ours, floor func(int) error
	}{{"wrap", wrap, encrypt}, {"unwrap", unwrap, decrypt}} {
		b.Run(op.name, func(b *testing.B) {
			paths := []func(int) error{op.ours, op.floor, search(op.ours)}
			const perRound = 64
			var rates [3][]float64
			var ratios []float64
			for i := 0; b.Loop(); i++ {
				var r [3]float64
				for j := range paths {
					k := j
					if i%2 == 1 {
						k = len(paths) - 1 - j
					}
					if r[k], err = roundRate(paths[k], 1, perRound); err != nil {
						b.Fatal(err)
					}
				}
				for k := range r {
					rates[k] = append(rates[k], r[k])
				}
				ratios = append(ratios, r[0]/r[1])
			}
			b.ReportMetric(median(rates[0]), "pkcs11-op/s")
			b.ReportMetric(median(rates[1]), "c_call-op/s")
			b.ReportMetric(median(rates[2]), "search-op/s")
			b.ReportMetric(median(ratios), "ratio")
		})
	}
}
