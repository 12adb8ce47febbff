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
	"testing"

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
			for _, sg := range signers {
				b.Run(string(alg)+"/"+sg.name+"/"+mode, func(b *testing.B) {
					benchSigner(b, sg.s, digest[:], mode == "parallel")
				})
			}
			b.Run(string(alg)+"/c_sign/"+mode, func(b *testing.B) {
				benchCSign(b, be, hsmSigner.(*signer), digest[:], mode == "parallel")
			})
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
