package soft

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// TestSealSecret: a sealed secret opens under its master key and name
// only, and never as a sealed key.
func TestSealSecret(t *testing.T) {
	master := bytes.Repeat([]byte{7}, MasterKeySize)
	other := bytes.Repeat([]byte{8}, MasterKeySize)
	secret := []byte("the audit secret, 32 bytes long!")
	sealed, err := SealSecret(master, "audit", secret, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("the sealed value holds the secret in clear")
	}
	got, err := UnsealSecret(master, "audit", sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("UnsealSecret = %q, %v", got, err)
	}
	if _, err := UnsealSecret(other, "audit", sealed); err == nil {
		t.Error("opened under another master key")
	}
	if _, err := UnsealSecret(master, "codes", sealed); err == nil {
		t.Error("opened under another name")
	}
	if _, err := unseal(master, "audit", sealed); err == nil {
		t.Error("a sealed secret opened as the key of handle \"audit\"")
	}
}
