//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
)

// BenchmarkSign measures signatures per second over a SHA-256 digest for
// ECDSA P-256 and RSA-2048 (PKCS#1 v1.5), serially and from GOMAXPROCS
// goroutines, along four paths:
//
//   - pkcs11: Signet's crypto.Signer on a SoftHSM2 key (session pool,
//     DigestInfo or r‖s→DER conversion included);
//   - c_sign: SoftHSM2's own C_SignInit+C_Sign on the same key through
//     miekg/pkcs11, one session per goroutine, the floor for any PKCS#11
//     caller;
//   - stdlib: crypto/ecdsa and crypto/rsa in process;
//   - soft: the sealed software backend's crypto.Signer (keys/soft).
//
// Run: go test -run '^$' -bench BenchmarkSign -count 5 ./keys/pkcs11
func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	be := openTest(b, 0)
	digest := sha256.Sum256([]byte("Signet benchmark"))
	softBE, err := soft.New(soft.Config{Dir: b.TempDir(), MasterKey: make([]byte, soft.MasterKeySize)})
	if err != nil {
		b.Fatal(err)
	}
	for _, alg := range []keys.Algorithm{keys.ECDSAP256, keys.RSA2048} {
		handle, _, err := be.Generate(ctx, alg, "bench-"+string(alg))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { be.Destroy(ctx, handle) })
		hsmSigner, err := be.Signer(ctx, handle)
		if err != nil {
			b.Fatal(err)
		}
		var std crypto.Signer
		if alg == keys.ECDSAP256 {
			std, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		} else {
			std, err = rsa.GenerateKey(rand.Reader, 2048)
		}
		if err != nil {
			b.Fatal(err)
		}
		sh, _, err := softBE.Generate(ctx, alg, "bench")
		if err != nil {
			b.Fatal(err)
		}
		softSigner, err := softBE.Signer(ctx, sh)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range []crypto.Signer{hsmSigner, std, softSigner} {
			for range 50 { // warm up the token and the caches
				if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		}
		signers := []struct {
			name string
			s    crypto.Signer
		}{{"pkcs11", hsmSigner}, {"stdlib", std}, {"soft", softSigner}}
		for _, mode := range []string{"serial", "parallel"} {
			b.Run(string(alg)+"/c_sign/"+mode, func(b *testing.B) {
				benchCSign(b, be, hsmSigner.(*signer), digest[:], mode == "parallel")
			})
			for _, sg := range signers {
				b.Run(string(alg)+"/"+sg.name+"/"+mode, func(b *testing.B) {
					benchSigner(b, sg.s, digest[:], mode == "parallel")
				})
			}
		}
	}
}

func benchSigner(b *testing.B, s crypto.Signer, digest []byte, parallel bool) {
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Sign(rand.Reader, digest, crypto.SHA256); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for b.Loop() {
			if _, err := s.Sign(rand.Reader, digest, crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
}

// benchCSign calls C_SignInit and C_Sign directly with the mechanism and
// input the signer would use, on sessions opened for the benchmark.
func benchCSign(b *testing.B, be *Backend, s *signer, digest []byte, parallel bool) {
	mech, data, err := s.mechanism(digest, crypto.SHA256)
	if err != nil {
		b.Fatal(err)
	}
	c := be.mod.ctx
	sign := func(sh p11.SessionHandle) error {
		if err := c.SignInit(sh, mech, s.key); err != nil {
			return err
		}
		_, err := c.Sign(sh, data)
		return err
	}
	open := func() p11.SessionHandle {
		sh, err := c.OpenSession(be.slot, p11.CKF_SERIAL_SESSION)
		if err != nil {
			b.Fatal(err)
		}
		return sh
	}
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			sh := open()
			defer c.CloseSession(sh)
			for pb.Next() {
				if err := sign(sh); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		sh := open()
		defer c.CloseSession(sh)
		for b.Loop() {
			if err := sign(sh); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
}

// BenchmarkOverhead compares Signet's PKCS#11 signer with SoftHSM2's own
// C_Sign in alternating rounds of 64 signatures (the order swapped every
// round), so that both see the same machine load, and reports the median
// over rounds of each rate and of their ratio (pkcs11/c_sign; 1.0 means no
// overhead). In the parallel variant each path signs from two goroutines.
//
// Run: go test -run '^$' -bench BenchmarkOverhead -benchtime 40x ./keys/pkcs11
func BenchmarkOverhead(b *testing.B) {
	ctx := context.Background()
	be := openTest(b, 0)
	digest := sha256.Sum256([]byte("Signet benchmark"))
	for _, alg := range []keys.Algorithm{keys.ECDSAP256, keys.RSA2048} {
		handle, _, err := be.Generate(ctx, alg, "overhead-"+string(alg))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { be.Destroy(ctx, handle) })
		cs, err := be.Signer(ctx, handle)
		if err != nil {
			b.Fatal(err)
		}
		s := cs.(*signer)
		mech, data, err := s.mechanism(digest[:], crypto.SHA256)
		if err != nil {
			b.Fatal(err)
		}
		c := be.mod.ctx
		for _, workers := range []int{1, 2} {
			mode := map[int]string{1: "serial", 2: "parallel"}[workers]
			b.Run(string(alg)+"/"+mode, func(b *testing.B) {
				sessions := make([]p11.SessionHandle, workers)
				for i := range sessions {
					if sessions[i], err = c.OpenSession(be.slot, p11.CKF_SERIAL_SESSION); err != nil {
						b.Fatal(err)
					}
					defer c.CloseSession(sessions[i])
				}
				ours := func(w int) error {
					_, err := s.Sign(nil, digest[:], crypto.SHA256)
					return err
				}
				floor := func(w int) error {
					if err := c.SignInit(sessions[w], mech, s.key); err != nil {
						return err
					}
					_, err := c.Sign(sessions[w], data)
					return err
				}
				const perRound = 64
				var oursRates, floorRates, ratios []float64
				for i := 0; b.Loop(); i++ {
					paths := []func(int) error{ours, floor}
					if i%2 == 1 {
						paths = []func(int) error{floor, ours}
					}
					var rates [2]float64
					for j, p := range paths {
						r, err := roundRate(p, workers, perRound)
						if err != nil {
							b.Fatal(err)
						}
						rates[j] = r
					}
					if i%2 == 1 {
						rates[0], rates[1] = rates[1], rates[0]
					}
					oursRates = append(oursRates, rates[0])
					floorRates = append(floorRates, rates[1])
					ratios = append(ratios, rates[0]/rates[1])
				}
				b.ReportMetric(median(oursRates), "pkcs11-sig/s")
				b.ReportMetric(median(floorRates), "c_sign-sig/s")
				b.ReportMetric(median(ratios), "ratio")
			})
		}
	}
}

// roundRate runs n signatures split over workers goroutines and returns
// signatures per second.
func roundRate(sign func(worker int) error, workers, n int) (float64, error) {
	errs := make(chan error, workers)
	start := time.Now()
	for w := range workers {
		go func() {
			for range n / workers {
				if err := sign(w); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
