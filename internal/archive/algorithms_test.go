package archive

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"
)

// TestDefaultWeakenings reads the default table: what is weak already,
// what is scheduled, and what it leaves alone.
func TestDefaultWeakenings(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name    string
		digests []crypto.Hash
		key     crypto.PublicKey
		want    time.Time
	}{
		{"SHA-256 and P-256", []crypto.Hash{crypto.SHA256}, &p256.PublicKey, time.Time{}},
		{"SHA-384 and P-384", []crypto.Hash{crypto.SHA384, crypto.SHA384}, &p384.PublicKey, time.Time{}},
		{"RSA-2048", []crypto.Hash{crypto.SHA256}, &rsa2048.PublicKey, time.Time{}},
		{"Ed25519", []crypto.Hash{crypto.SHA512}, edPub, time.Time{}},
		{"SHA-1 imprint", []crypto.Hash{crypto.SHA1, crypto.SHA256}, &p256.PublicKey, date(2017, 1, 1)},
		{"MD5 signature digest", []crypto.Hash{crypto.SHA256, crypto.MD5}, &p256.PublicKey, date(2005, 1, 1)},
		{"RSA-1024", []crypto.Hash{crypto.SHA256}, &rsa1024.PublicKey, date(2014, 1, 1)},
		{"P-224 scheduled", []crypto.Hash{crypto.SHA256}, &p224.PublicKey, date(2031, 1, 1)},
		{"SHA-224 scheduled", []crypto.Hash{crypto.SHA224}, &p256.PublicKey, date(2031, 1, 1)},
		{"the earliest wins", []crypto.Hash{crypto.SHA224, crypto.SHA1}, &rsa1024.PublicKey, date(2014, 1, 1)},
	} {
		got, what := weakensAt(DefaultWeakenings, tc.digests, tc.key)
		if !got.Equal(tc.want) || got.IsZero() != (what == "") {
			t.Errorf("%s: weakens at %v (%q), want %v", tc.name, got, what, tc.want)
		}
	}
}
