package auditlog_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/signet-pki/signet/auditlog"
)

// TestNoteSigner checks that a checkpoint signed through a crypto.Signer
// opens with the verifier key NoteSigner returns, exactly as one signed
// with a note key file, and that a non-Ed25519 key is refused.
func TestNoteSigner(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, vkey, err := auditlog.NoteSigner("signet.test/audit", priv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if v.Name() != s.Name() || v.KeyHash() != s.KeyHash() {
		t.Fatalf("verifier %s/%08x, signer %s/%08x", v.Name(), v.KeyHash(), s.Name(), s.KeyHash())
	}
	msg, err := auditlog.SignTreeHead(auditlog.TreeHead{Origin: "signet.test/audit", Size: 3}, s)
	if err != nil {
		t.Fatal(err)
	}
	th, err := auditlog.OpenCheckpoint(msg, v, "signet.test/audit")
	if err != nil || th.Size != 3 {
		t.Fatalf("OpenCheckpoint = %+v, %v", th, err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, _, err := auditlog.NoteSigner("signet.test/audit", other); err == nil {
		t.Error("an ECDSA key was accepted as a checkpoint signer")
	}
}
