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

// TestParseNoteKey: a note key file's key, signing through NoteSigner,
// makes the same signatures and verifier key as the file's own signer.
func TestParseNoteKey(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "signet.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	name, priv, err := auditlog.ParseNoteKey(skey)
	if err != nil || name != "signet.test/audit" {
		t.Fatalf("ParseNoteKey = %q, %v", name, err)
	}
	_, vkey2, err := auditlog.NoteSigner(name, priv)
	if err != nil || vkey2 != vkey {
		t.Fatalf("verifier key %q, want %q (%v)", vkey2, vkey, err)
	}
	for _, bad := range []string{"", "PRIVATE+KEY+x+00000000+AQ==", skey[:len(skey)-4] + "AAAA"} {
		if _, _, err := auditlog.ParseNoteKey(bad); err == nil {
			t.Errorf("ParseNoteKey(%.30q) succeeded", bad)
		}
	}
}
