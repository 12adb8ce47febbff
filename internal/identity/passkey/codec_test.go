package passkey_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/identity/passkey"
	"github.com/signet-pki/signet/internal/identity/passkey/passkeytest"
)

// ceremonies returns one ceremony of each kind, made by a real service.
func ceremonies(t *testing.T) (f *fixture, cs []passkey.Ceremony) {
	t.Helper()
	f = newFixture(t)
	f.register(t, f.ann, &passkeytest.Authenticator{})
	_, r, err := f.svc.BeginRegistration(t.Context(), f.ann)
	if err != nil {
		t.Fatal(err)
	}
	_, l, err := f.svc.BeginLogin(t.Context(), f.ann)
	if err != nil {
		t.Fatal(err)
	}
	_, s, err := f.svc.BeginSigning(t.Context(), f.ann, sha256.Sum256([]byte("doc")), "env-Ω", "rcp-1")
	if err != nil {
		t.Fatal(err)
	}
	return f, []passkey.Ceremony{r, l, s}
}

func TestCeremonyBinary(t *testing.T) {
	f, cs := ceremonies(t)
	for i, c := range cs {
		b, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > passkey.MaxCeremony {
			t.Fatalf("ceremony of %d bytes", len(b))
		}
		var got passkey.Ceremony
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("ceremony %d: %v", i, err)
		}
		again, _ := got.MarshalBinary()
		if !bytes.Equal(again, b) || got.Kind() != c.Kind() || !got.Expires().Equal(f.now.Add(5*time.Minute)) {
			t.Fatalf("ceremony %d changed in the round trip", i)
		}
		for name, bad := range map[string][]byte{
			"empty":        nil,
			"truncated":    b[:len(b)-1],
			"trailing":     append(bytes.Clone(b), 0),
			"wrong magic":  append([]byte("XGPK\x01"), b[5:]...),
			"version 2":    append([]byte("SGPK\x02"), b[5:]...),
			"unknown kind": append(append(bytes.Clone(b[:5]), 9), b[6:]...),
			"oversized":    append(bytes.Clone(b), make([]byte, passkey.MaxCeremony)...),
			"short challenge": func() []byte {
				// The challenge's length byte follows the 5-byte magic,
				// the kind and the 8-byte expiry.
				x := bytes.Clone(b)
				x[14] = 8
				return x
			}(),
		} {
			var v passkey.Ceremony
			if err := v.UnmarshalBinary(bad); !errors.Is(err, passkey.ErrCeremony) {
				t.Errorf("ceremony %d, %s: %v, want ErrCeremony", i, name, err)
			}
		}
	}
	if _, err := (passkey.Ceremony{}).MarshalBinary(); !errors.Is(err, passkey.ErrCeremony) {
		t.Fatalf("zero ceremony marshals: %v", err)
	}
}

// FuzzCeremony: the decoder never panics, and what it accepts is valid and
// re-encodes to the same bytes (the form is canonical).
func FuzzCeremony(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var c passkey.Ceremony
		if err := c.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, passkey.ErrCeremony) {
				t.Fatalf("error %v is not ErrCeremony", err)
			}
			return
		}
		again, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted ceremony does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x, read %x", again, b)
		}
	})
}

// loginEvidence makes a real assertion and returns it with its evidence
// and the credential's public key.
func loginEvidence(t *testing.T) (passkey.Assertion, []byte, []byte) {
	t.Helper()
	f := newFixture(t)
	a := &passkeytest.Authenticator{}
	p := f.register(t, f.ann, a)
	as, err := f.login(t, f.ann, a)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := as.Evidence()
	if err != nil {
		t.Fatal(err)
	}
	return as, ev, p.PublicKey
}

func TestEvidence(t *testing.T) {
	as, ev, pub := loginEvidence(t)
	got, err := passkey.ParseEvidence(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.CredentialID, as.CredentialID) || !bytes.Equal(got.AuthenticatorData, as.AuthenticatorData) ||
		!bytes.Equal(got.ClientDataJSON, as.ClientDataJSON) || !bytes.Equal(got.Signature, as.Signature) ||
		!bytes.Equal(got.UserHandle, as.UserHandle) || !bytes.Equal(got.Challenge, as.Challenge) ||
		!got.Time.Equal(as.Time.Truncate(time.Second)) || got.UserVerified != as.UserVerified ||
		got.BackupEligible != as.BackupEligible || got.BackupState != as.BackupState {
		t.Fatalf("parsed %+v\nwant %+v", got, as)
	}
	if err := passkey.VerifyEvidence(ev, pub); err != nil {
		t.Fatal(err)
	}

	// Another credential's key does not verify it.
	_, _, other := loginEvidence(t)
	if err := passkey.VerifyEvidence(ev, other); !errors.Is(err, passkey.ErrEvidence) {
		t.Fatalf("another key: %v", err)
	}
	reencode := func(mut func(a *passkey.Assertion)) []byte {
		a := got
		a.AuthenticatorData, a.ClientDataJSON, a.Signature = bytes.Clone(a.AuthenticatorData), bytes.Clone(a.ClientDataJSON), bytes.Clone(a.Signature)
		a.Challenge = bytes.Clone(a.Challenge)
		mut(&a)
		b, err := a.Evidence()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, bad := range map[string][]byte{
		"signature":          reencode(func(a *passkey.Assertion) { a.Signature[len(a.Signature)-1] ^= 1 }),
		"authenticator data": reencode(func(a *passkey.Assertion) { a.AuthenticatorData[36] ^= 1 }),
		"user not verified":  reencode(func(a *passkey.Assertion) { a.AuthenticatorData[32] &^= 0x04 }),
		"client data": reencode(func(a *passkey.Assertion) {
			a.ClientDataJSON = bytes.Replace(a.ClientDataJSON, []byte("https"), []byte("httpx"), 1)
		}),
		"challenge": reencode(func(a *passkey.Assertion) { a.Challenge[0] ^= 1 }),
		"truncated": ev[:len(ev)-1],
		"trailing":  append(bytes.Clone(ev), 0),
		"empty":     nil,
		"oversized": make([]byte, passkey.MaxEvidence+1),
	} {
		if err := passkey.VerifyEvidence(bad, pub); !errors.Is(err, passkey.ErrEvidence) {
			t.Errorf("%s: %v, want ErrEvidence", name, err)
		}
	}
	if err := passkey.VerifyEvidence(ev, nil); !errors.Is(err, passkey.ErrEvidence) {
		t.Errorf("no key: %v", err)
	}

	// Bounds: version, sizes.
	type raw struct {
		Version                                                                      int
		CredentialID, AuthenticatorData, ClientDataJSON, Signature, UserHandle, Chal []byte
		Time                                                                         time.Time `asn1:"generalized"`
	}
	enc := func(r any) []byte {
		b, err := asn1.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ok := raw{1, got.CredentialID, got.AuthenticatorData, got.ClientDataJSON, got.Signature, got.UserHandle, got.Challenge, got.Time}
	if _, err := passkey.ParseEvidence(enc(ok)); err != nil {
		t.Fatalf("control case: %v", err)
	}
	for name, mut := range map[string]func(*raw){
		"version 2":                func(r *raw) { r.Version = 2 },
		"short authenticator data": func(r *raw) { r.AuthenticatorData = r.AuthenticatorData[:36] },
		"no credential id":         func(r *raw) { r.CredentialID = nil },
		"long user handle":         func(r *raw) { r.UserHandle = make([]byte, 65) },
		"short challenge":          func(r *raw) { r.Chal = r.Chal[:15] },
		"long signature":           func(r *raw) { r.Signature = make([]byte, 513) },
	} {
		r := ok
		mut(&r)
		if _, err := passkey.ParseEvidence(enc(r)); !errors.Is(err, passkey.ErrEvidence) {
			t.Errorf("%s: %v, want ErrEvidence", name, err)
		}
	}
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(enc(ok), &outer); err != nil {
		t.Fatal(err)
	}
	outer.FullBytes, outer.Bytes = nil, append(outer.Bytes, 0x02, 0x01, 0x07) // INTEGER 7 after the time
	if _, err := passkey.ParseEvidence(enc(outer)); !errors.Is(err, passkey.ErrEvidence) {
		t.Errorf("trailing element: %v, want ErrEvidence", err)
	}
	if _, err := (passkey.Assertion{}).Evidence(); !errors.Is(err, passkey.ErrEvidence) {
		t.Errorf("zero assertion: %v", err)
	}
}

// FuzzEvidence: the decoder never panics; what it accepts re-encodes to
// evidence that parses to the same assertion; verification never panics.
func FuzzEvidence(f *testing.F) {
	// The key verification runs against: the first seed's credential, whose
	// COSE key is in testdata (fuzz-key.cose).
	key := fuzzKey(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := passkey.ParseEvidence(b)
		if err == nil {
			again, err := a.Evidence()
			if err != nil {
				t.Fatalf("accepted evidence does not re-encode: %v", err)
			}
			a2, err := passkey.ParseEvidence(again)
			if err != nil {
				t.Fatalf("re-encoded evidence does not parse: %v", err)
			}
			if again2, _ := a2.Evidence(); !bytes.Equal(again, again2) {
				t.Fatal("encoding is not stable")
			}
		} else if !errors.Is(err, passkey.ErrEvidence) {
			t.Fatalf("error %v is not ErrEvidence", err)
		}
		if err := passkey.VerifyEvidence(b, key); err != nil && !errors.Is(err, passkey.ErrEvidence) {
			t.Fatalf("verification error %v is not ErrEvidence", err)
		}
	})
}

func fuzzKey(f *testing.F) []byte {
	b, err := os.ReadFile("testdata/fuzz-key.cose")
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// TestFuzzSeeds: the evidence seeds verify with testdata/fuzz-key.cose, so
// that the fuzzer starts from evidence that passes, and the ceremony seeds
// decode.
func TestFuzzSeeds(t *testing.T) {
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") {
			t.Fatalf("%s is not a fuzz seed", path)
		}
		v, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatal(err)
		}
		return []byte(v)
	}
	key, err := os.ReadFile("testdata/fuzz-key.cose")
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := filepath.Glob("testdata/fuzz/FuzzEvidence/seed*")
	cers, _ := filepath.Glob("testdata/fuzz/FuzzCeremony/seed*")
	if len(evs) == 0 || len(cers) != 3 {
		t.Fatalf("%d evidence and %d ceremony seeds", len(evs), len(cers))
	}
	for _, p := range evs {
		if err := passkey.VerifyEvidence(read(p), key); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range cers {
		var c passkey.Ceremony
		if err := c.UnmarshalBinary(read(p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
