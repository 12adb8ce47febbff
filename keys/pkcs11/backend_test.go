//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/signet-pki/signet/keys"
)

// TestGenerateSign generates each supported key type in the token and
// checks that signatures made through the crypto.Signer verify with the
// standard library, for every hash and padding Signet uses.
func TestGenerateSign(t *testing.T) {
	b := openTest(t, 0)
	ctx := context.Background()
	msg := []byte("Signet PKCS#11 signing test")
	d256 := sha256.Sum256(msg)
	d384 := sha512.Sum384(msg)
	d512 := sha512.Sum512(msg)
	digests := map[crypto.Hash][]byte{crypto.SHA256: d256[:], crypto.SHA384: d384[:], crypto.SHA512: d512[:]}
	tests := []struct {
		alg  keys.Algorithm
		opts []crypto.SignerOpts
	}{
		{keys.ECDSAP256, []crypto.SignerOpts{crypto.SHA256, crypto.SHA384}},
		{keys.ECDSAP384, []crypto.SignerOpts{crypto.SHA384, crypto.SHA256}},
		{keys.RSA2048, []crypto.SignerOpts{crypto.SHA256, crypto.SHA512,
			&rsa.PSSOptions{Hash: crypto.SHA256}, &rsa.PSSOptions{Hash: crypto.SHA384, SaltLength: rsa.PSSSaltLengthEqualsHash}}},
		{keys.RSA3072, []crypto.SignerOpts{crypto.SHA384, &rsa.PSSOptions{Hash: crypto.SHA512, SaltLength: 20}}},
		{keys.RSA4096, []crypto.SignerOpts{crypto.SHA256}},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			label := "gen-" + string(tt.alg)
			handle, pub, err := b.Generate(ctx, tt.alg, label)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			t.Cleanup(func() { b.Destroy(ctx, handle) })
			if len(handle) != 32 {
				t.Errorf("handle %q: want 16 bytes of hex", handle)
			}
			s, err := b.Signer(ctx, handle)
			if err != nil {
				t.Fatalf("Signer: %v", err)
			}
			if !s.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
				t.Fatal("Signer's public key differs from Generate's")
			}
			for _, o := range tt.opts {
				d := digests[o.HashFunc()]
				sig, err := s.Sign(nil, d, o)
				if err != nil {
					t.Fatalf("Sign(%T %v): %v", o, o.HashFunc(), err)
				}
				if err := verify(pub, d, sig, o); err != nil {
					t.Errorf("Sign(%T %v): %v", o, o.HashFunc(), err)
				}
				bad := bytes.Clone(d)
				bad[0] ^= 1
				if verify(pub, bad, sig, o) == nil {
					t.Errorf("Sign(%T %v): signature verifies over another digest", o, o.HashFunc())
				}
			}
			if _, err := s.Sign(nil, d256[:10], crypto.SHA256); err == nil {
				t.Error("Sign accepted a digest of the wrong length")
			}
		})
	}
}

func verify(pub crypto.PublicKey, digest, sig []byte, o crypto.SignerOpts) error {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(p, digest, sig) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	case *rsa.PublicKey:
		if pss, ok := o.(*rsa.PSSOptions); ok {
			return rsa.VerifyPSS(p, o.HashFunc(), digest, sig, &rsa.PSSOptions{SaltLength: pss.SaltLength})
		}
		return rsa.VerifyPKCS1v15(p, o.HashFunc(), digest, sig)
	}
	return fmt.Errorf("unexpected key %T", pub)
}

// TestPrivateKeyNotReadable checks that a generated private key is marked
// sensitive, never extractable and kept on the token, that the token
// refuses to reveal its private values (CKR_ATTRIBUTE_SENSITIVE), and that
// OpenSC's pkcs11-tool cannot read it while it can read the public key.
func TestPrivateKeyNotReadable(t *testing.T) {
	b := openTest(t, 0)
	ctx := context.Background()
	tests := []struct {
		alg     keys.Algorithm
		secrets []uint
	}{
		{keys.ECDSAP256, []uint{p11.CKA_VALUE}},
		{keys.RSA2048, []uint{p11.CKA_PRIVATE_EXPONENT, p11.CKA_PRIME_1, p11.CKA_PRIME_2}},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			label := "sealed-" + string(tt.alg)
			handle, _, err := b.Generate(ctx, tt.alg, label)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			t.Cleanup(func() { b.Destroy(ctx, handle) })
			err = b.with(ctx, "inspect", func(sh p11.SessionHandle) error {
				id, _ := parseHandle(handle)
				objs, err := b.findObjects(sh, 2, class(p11.CKO_PRIVATE_KEY), p11.NewAttribute(p11.CKA_ID, id))
				if err != nil || len(objs) != 1 {
					return fmt.Errorf("find private key: %d objects, %v", len(objs), err)
				}
				flags := []struct {
					attr uint
					name string
					want byte
				}{
					{p11.CKA_SENSITIVE, "CKA_SENSITIVE", 1},
					{p11.CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", 1},
					{p11.CKA_EXTRACTABLE, "CKA_EXTRACTABLE", 0},
					{p11.CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", 1},
					{p11.CKA_TOKEN, "CKA_TOKEN", 1},
					{p11.CKA_PRIVATE, "CKA_PRIVATE", 1},
				}
				for _, f := range flags {
					a, err := b.mod.ctx.GetAttributeValue(sh, objs[0], []*p11.Attribute{p11.NewAttribute(f.attr, nil)})
					if err != nil {
						return fmt.Errorf("%s: %v", f.name, err)
					}
					if len(a[0].Value) != 1 || a[0].Value[0] != f.want {
						t.Errorf("%s = %x, want %d", f.name, a[0].Value, f.want)
					}
				}
				for _, attr := range tt.secrets {
					a, err := b.mod.ctx.GetAttributeValue(sh, objs[0], []*p11.Attribute{p11.NewAttribute(attr, nil)})
					if !errors.Is(err, p11.Error(p11.CKR_ATTRIBUTE_SENSITIVE)) {
						t.Errorf("C_GetAttributeValue(0x%X) returned %d attributes, %v; want CKR_ATTRIBUTE_SENSITIVE", attr, len(a), err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			pubFile, privFile := filepath.Join(dir, "pub.der"), filepath.Join(dir, "priv.der")
			if out, err := pkcs11Tool("--read-object", "--type", "pubkey", "--id", handle, "-o", pubFile); err != nil {
				t.Fatalf("pkcs11-tool cannot read the public key (the tool itself fails): %v\n%s", err, out)
			}
			if fi, err := os.Stat(pubFile); err != nil || fi.Size() == 0 {
				t.Fatalf("pkcs11-tool wrote no public key: %v", err)
			}
			out, _ := pkcs11Tool("--read-object", "--type", "privkey", "--id", handle, "-o", privFile)
			if fi, err := os.Stat(privFile); err == nil && fi.Size() > 0 {
				t.Errorf("pkcs11-tool --read-object --type privkey wrote %d bytes (%s)", fi.Size(), out)
			}
			out, err = pkcs11Tool("--list-objects", "--type", "privkey", "--id", handle)
			if err != nil {
				t.Fatalf("pkcs11-tool --list-objects: %v\n%s", err, out)
			}
			for _, want := range []string{"label:      " + label, "Usage:      sign\n", "Access:     sensitive, always sensitive, never extractable, local"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("pkcs11-tool --list-objects does not show %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestOpenErrors checks that an absent module, an absent token and a wrong
// PIN fail closed with keys.ErrBackendUnavailable and a message that names
// the problem and never the PIN.
func TestOpenErrors(t *testing.T) {
	const wrongPIN = "wrong-pin-987"
	holder := openTest(t, 0) // holds the login on testToken
	_ = holder
	tests := []struct {
		name     string
		cfg      Config
		sentinel error
		want     string
	}{
		{"missing module", Config{Module: "/nonexistent/libp11.so", TokenLabel: testToken, PIN: testPIN}, keys.ErrBackendUnavailable, "/nonexistent/libp11.so"},
		{"not a module", Config{Module: "/etc/hostname", TokenLabel: testToken, PIN: testPIN}, keys.ErrBackendUnavailable, "cannot load"},
		{"missing token", Config{Module: softhsmModule, TokenLabel: "no-such-token", PIN: testPIN}, keys.ErrBackendUnavailable, `no initialized token labelled "no-such-token"`},
		{"wrong PIN", Config{Module: softhsmModule, TokenLabel: otherToken, PIN: wrongPIN}, keys.ErrBackendUnavailable, "wrong PIN (CKR_PIN_INCORRECT)"},
		{"wrong PIN while logged in", Config{Module: softhsmModule, TokenLabel: testToken, PIN: wrongPIN}, keys.ErrBackendUnavailable, "wrong PIN"},
		{"no PIN", Config{Module: softhsmModule, TokenLabel: testToken}, nil, "no PIN"},
		{"no token label", Config{Module: softhsmModule, PIN: testPIN}, nil, "no token label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Open(context.Background(), tt.cfg)
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded")
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("error %q does not wrap %v", err, tt.sentinel)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), wrongPIN) || strings.Contains(err.Error(), testPIN) {
				t.Errorf("error %q reveals the PIN", err)
			}
		})
	}
	// The right PIN still works after the failures.
	b, err := Open(context.Background(), Config{Module: softhsmModule, TokenLabel: otherToken, PIN: otherPIN})
	if err != nil {
		t.Fatalf("Open with the right PIN: %v", err)
	}
	b.Close()
}

// TestConfigRedaction checks that printing or logging a Config never shows
// the PIN.
func TestConfigRedaction(t *testing.T) {
	cfg := Config{Module: softhsmModule, TokenLabel: testToken, PIN: "s3cret-PIN-value"}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("open", "config", cfg)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", cfg),
		"%+v":  fmt.Sprintf("%+v", cfg),
		"%#v":  fmt.Sprintf("%#v", cfg),
		"%s":   fmt.Sprintf("%s", cfg), //lint:ignore S1025 the %s verb itself is under test
		"slog": logBuf.String(),
	}
	for verb, out := range outputs {
		if strings.Contains(out, cfg.PIN) {
			t.Errorf("%s shows the PIN: %s", verb, out)
		}
		if !strings.Contains(out, testToken) {
			t.Errorf("%s does not show the token label: %s", verb, out)
		}
	}
}

// TestFindAndDestroy checks label lookup, duplicate labels, and that
// Destroy removes both halves of the pair for good: the handle, the label,
// an earlier signer and pkcs11-tool's listing all stop finding the key.
func TestFindAndDestroy(t *testing.T) {
	b := openTest(t, 0)
	ctx := context.Background()
	const label = "to-destroy"
	handle, _, err := b.Generate(ctx, keys.ECDSAP256, label)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if _, _, err := b.Generate(ctx, keys.ECDSAP256, label); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second Generate with label %q: %v, want refusal", label, err)
	}
	for _, q := range []struct {
		label string
		id    string
	}{{label, ""}, {"", handle}, {label, handle}} {
		id, _ := parseHandle(q.id)
		if q.id == "" {
			id = nil
		}
		got, err := b.Find(ctx, q.label, id)
		if err != nil || got != handle {
			t.Errorf("Find(%q, %q) = %q, %v; want %q", q.label, q.id, got, err, handle)
		}
	}
	s, err := b.Signer(ctx, handle)
	if err != nil {
		t.Fatalf("Signer: %v", err)
	}
	out, err := pkcs11Tool("--list-objects")
	if err != nil || strings.Count(string(out), label) != 2 {
		t.Fatalf("pkcs11-tool --list-objects before Destroy: want 2 objects labelled %q (err %v):\n%s", label, err, out)
	}
	if err := b.Destroy(ctx, handle); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	d := sha256.Sum256([]byte("after destroy"))
	if _, err := s.Sign(nil, d[:], crypto.SHA256); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("Sign after Destroy: %v, want ErrKeyNotFound", err)
	}
	if _, err := b.Signer(ctx, handle); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("Signer after Destroy: %v, want ErrKeyNotFound", err)
	}
	if _, err := b.Find(ctx, label, nil); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("Find after Destroy: %v, want ErrKeyNotFound", err)
	}
	if err := b.Destroy(ctx, handle); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("second Destroy: %v, want ErrKeyNotFound", err)
	}
	out, err = pkcs11Tool("--list-objects")
	if err != nil || strings.Contains(string(out), label) {
		t.Errorf("pkcs11-tool --list-objects after Destroy (err %v):\n%s", err, out)
	}
	for _, h := range []string{"", "zz", strings.Repeat("ab", 65)} {
		if _, err := b.Signer(ctx, h); !errors.Is(err, keys.ErrKeyNotFound) {
			t.Errorf("Signer(%q): %v, want ErrKeyNotFound", h, err)
		}
	}
	if _, _, err := b.Generate(ctx, keys.HMACSHA256, "hmac"); !errors.Is(err, keys.ErrUnsupportedAlgorithm) {
		t.Errorf("Generate(HMACSHA256): %v, want ErrUnsupportedAlgorithm", err)
	}
}

// TestConcurrentSign signs from many goroutines through a pool of two
// sessions; every signature must verify.
func TestConcurrentSign(t *testing.T) {
	b := openTest(t, 2)
	ctx := context.Background()
	handle, pub, err := b.Generate(ctx, keys.ECDSAP256, "concurrent")
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	t.Cleanup(func() { b.Destroy(ctx, handle) })
	s, err := b.Signer(ctx, handle)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				d := sha256.Sum256(fmt.Appendf(nil, "%d/%d", g, i))
				sig, err := s.Sign(nil, d[:], crypto.SHA256)
				if err == nil && !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), d[:], sig) {
					err = errors.New("signature does not verify")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(b.pool.open); n > 2 {
		t.Errorf("%d sessions open, MaxSessions is 2", n)
	}
}

// TestClose checks that signers fail after Close and that the token can
// be opened again.
func TestClose(t *testing.T) {
	ctx := context.Background()
	b, err := Open(ctx, Config{Module: softhsmModule, TokenLabel: testToken, PIN: testPIN})
	if err != nil {
		t.Fatal(err)
	}
	handle, _, err := b.Generate(ctx, keys.ECDSAP256, "close-test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Signer(ctx, handle)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	b.Close()
	d := sha256.Sum256([]byte("x"))
	if _, err := s.Sign(nil, d[:], crypto.SHA256); !errors.Is(err, keys.ErrBackendUnavailable) {
		t.Errorf("Sign after Close: %v, want ErrBackendUnavailable", err)
	}
	b2 := openTest(t, 0)
	if b2.Name() != "pkcs11:"+testToken {
		t.Errorf("Name = %q", b2.Name())
	}
	s2, err := b2.Signer(ctx, handle)
	if err != nil {
		t.Fatalf("Signer after reopening: %v", err)
	}
	if _, err := s2.Sign(nil, d[:], crypto.SHA256); err != nil {
		t.Errorf("Sign after reopening: %v", err)
	}
	if err := b2.Destroy(ctx, handle); err != nil {
		t.Error(err)
	}
}
