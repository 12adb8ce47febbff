package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"testing"
)

// TestSetTimestampToken adds a signature-time-stamp token as an unsigned
// attribute and checks that the signature still verifies, with Verify and
// openssl, and that the token reads back unchanged.
func TestSetTimestampToken(t *testing.T) {
	f := newFixture(t, "rsa2048", 900)
	sd, err := Sign(f.key, f.digest, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	ca := rootCA(t)
	tsaKey := testKey(t, "p256")
	tsaCert := ca.issue(t, tsaKey.Public(), 901, "TSA")
	token := func(content string) []byte {
		tok, err := Sign(tsaKey, nil, SignOptions{
			Hash:         crypto.SHA256,
			Certificates: []*x509.Certificate{tsaCert},
			ContentType:  OIDTSTInfo,
			Content:      []byte(content),
		})
		if err != nil {
			t.Fatal(err)
		}
		der, err := tok.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	signedBefore := bytes.Clone(sd.signedAttrsDER)
	sigBefore := bytes.Clone(sd.Signature())
	if sd.TimestampToken() != nil {
		t.Fatal("fresh SignedData has a timestamp token")
	}

	for _, content := range []string{"first token", "replacement token"} {
		tok := token(content)
		if err := sd.SetTimestampToken(tok); err != nil {
			t.Fatalf("SetTimestampToken: %v", err)
		}
		der, err := sd.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := Parse(der)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parsed.Verify(f.digest); err != nil {
			t.Fatalf("Verify after adding a token: %v", err)
		}
		if !bytes.Equal(parsed.TimestampToken(), tok) {
			t.Fatalf("TimestampToken differs from the token set")
		}
		n := 0
		for _, a := range parsed.UnsignedAttributes {
			if a.Type.Equal(OIDTimestampToken) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d timestamp attributes, want 1", n)
		}
		if !bytes.Equal(parsed.signedAttrsDER, signedBefore) || !bytes.Equal(parsed.Signature(), sigBefore) {
			t.Errorf("signed attributes or signature changed")
		}
		inner, err := Parse(parsed.TimestampToken())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := inner.Verify(nil); err != nil || string(inner.Content) != content {
			t.Errorf("token inside the attribute: %v, content %q", err, inner.Content)
		}
		dir := t.TempDir()
		openssl(t, "cms", "-verify", "-inform", "DER", "-in", writeFile(t, dir, "sig.der", der), "-binary",
			"-content", writeFile(t, dir, "content.bin", f.content),
			"-CAfile", writePEM(t, dir, "root.pem", "CERTIFICATE", ca.cert.Raw), "-purpose", "any", "-out", "/dev/null")
	}

	for _, bad := range [][]byte{nil, {0x04, 0x01, 0x00}, append(token("x"), 0x00), {0x30, 0x05, 0x00}} {
		if err := sd.SetTimestampToken(bad); err == nil {
			t.Errorf("SetTimestampToken(%x) accepted", bad)
		}
	}
}
