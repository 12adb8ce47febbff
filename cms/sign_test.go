package cms

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"testing"
)

type signCase struct {
	key  string
	hash crypto.Hash
	pss  bool
	want x509.SignatureAlgorithm
}

// signCases covers every key type, hash and RSA padding Sign supports.
func signCases() []signCase {
	var cases []signCase
	rsaAlgs := map[crypto.Hash][2]x509.SignatureAlgorithm{
		crypto.SHA256: {x509.SHA256WithRSA, x509.SHA256WithRSAPSS},
		crypto.SHA384: {x509.SHA384WithRSA, x509.SHA384WithRSAPSS},
		crypto.SHA512: {x509.SHA512WithRSA, x509.SHA512WithRSAPSS},
	}
	ecAlgs := map[crypto.Hash]x509.SignatureAlgorithm{
		crypto.SHA256: x509.ECDSAWithSHA256,
		crypto.SHA384: x509.ECDSAWithSHA384,
		crypto.SHA512: x509.ECDSAWithSHA512,
	}
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		for _, k := range []string{"rsa2048", "rsa3072", "rsa4096"} {
			cases = append(cases,
				signCase{key: k, hash: h, want: rsaAlgs[h][0]},
				signCase{key: k, hash: h, pss: true, want: rsaAlgs[h][1]})
		}
		for _, k := range []string{"p256", "p384"} {
			cases = append(cases, signCase{key: k, hash: h, want: ecAlgs[h]})
		}
	}
	return cases
}

func (c signCase) name() string {
	n := fmt.Sprintf("%s-%v", c.key, c.hash)
	if c.pss {
		n += "-PSS"
	}
	return n
}

// TestSignVerify signs detached content with every supported key, hash and
// padding, then checks the result with Verify after a Marshal/Parse round
// trip and with `openssl cms -verify`.
func TestSignVerify(t *testing.T) {
	ca := rootCA(t)
	dir := t.TempDir()
	rootPEM := writePEM(t, dir, "root.pem", "CERTIFICATE", ca.cert.Raw)
	for i, tc := range signCases() {
		t.Run(tc.name(), func(t *testing.T) {
			t.Parallel()
			key := testKey(t, tc.key)
			cert := ca.issue(t, key.Public(), int64(100+i), "Signer "+tc.name())
			content := make([]byte, 1000+i)
			rand.Read(content)
			digest := hashOf(tc.hash, content)

			sd, err := Sign(key, digest, SignOptions{
				Hash:         tc.hash,
				PSS:          tc.pss,
				Certificates: []*x509.Certificate{cert, ca.cert},
			})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			der, err := sd.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			parsed, err := Parse(der)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := parsed.Verify(digest)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !got.Equal(cert) {
				t.Errorf("Verify returned %v, want the signer certificate", got.Subject)
			}
			if parsed.SignatureAlgorithm != tc.want {
				t.Errorf("SignatureAlgorithm = %v, want %v", parsed.SignatureAlgorithm, tc.want)
			}
			if parsed.DigestAlgorithm != tc.hash {
				t.Errorf("DigestAlgorithm = %v, want %v", parsed.DigestAlgorithm, tc.hash)
			}
			if parsed.Content != nil || !parsed.ContentType.Equal(OIDData) {
				t.Errorf("want detached id-data, got type %v with %d content bytes", parsed.ContentType, len(parsed.Content))
			}
			checkBaselineAttributes(t, parsed, digest)
			if len(parsed.Certificates) != 2 || !parsed.Certificates[0].Equal(cert) || !parsed.Certificates[1].Equal(ca.cert) {
				t.Errorf("certificates not kept in order")
			}
			again, err := parsed.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, der) {
				t.Errorf("Marshal(Parse(der)) differs from der")
			}

			sub := t.TempDir()
			sigFile := writeFile(t, sub, "sig.der", der)
			contentFile := writeFile(t, sub, "content.bin", content)
			openssl(t, "cms", "-verify", "-inform", "DER", "-in", sigFile, "-binary",
				"-content", contentFile, "-CAfile", rootPEM, "-purpose", "any", "-out", "/dev/null")
		})
	}
}

// checkBaselineAttributes checks that the signed attributes are exactly
// content-type, message-digest and signing-certificate-v2, in DER order.
func checkBaselineAttributes(t *testing.T, sd *SignedData, digest []byte) {
	t.Helper()
	want := []asn1.ObjectIdentifier{OIDContentType, OIDMessageDigest, OIDSigningCertificateV2}
	if len(sd.SignedAttributes) != len(want) {
		t.Fatalf("got %d signed attributes, want %d", len(sd.SignedAttributes), len(want))
	}
	var prev []byte
	for _, oid := range want {
		if _, ok := sd.SignedAttribute(oid); !ok {
			t.Errorf("signed attribute %v missing", oid)
		}
	}
	for _, a := range sd.SignedAttributes {
		enc, err := marshalAttribute(a)
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && bytes.Compare(prev, enc) > 0 {
			t.Errorf("signed attributes not in DER SET OF order")
		}
		prev = enc
	}
	if _, ok := sd.SignedAttribute(OIDSigningTime); ok {
		t.Errorf("signing-time attribute present")
	}
	if !bytes.Equal(sd.MessageDigest(), digest) {
		t.Errorf("MessageDigest = %x, want %x", sd.MessageDigest(), digest)
	}
}

// TestSignAttached signs attached TSTInfo-typed content, as a timestamp
// authority does, and checks it with Verify(nil) and openssl.
func TestSignAttached(t *testing.T) {
	ca := rootCA(t)
	for _, kind := range []string{"p256", "rsa2048"} {
		t.Run(kind, func(t *testing.T) {
			key := testKey(t, kind)
			cert := ca.issue(t, key.Public(), 7, "TSA "+kind)
			content := []byte("\x30\x03\x02\x01\x01 pretend TSTInfo")
			sd, err := Sign(key, nil, SignOptions{
				Hash:         crypto.SHA384,
				Certificates: []*x509.Certificate{cert},
				ContentType:  OIDTSTInfo,
				Content:      content,
			})
			if err != nil {
				t.Fatal(err)
			}
			der, err := sd.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(parsed.Content, content) || !parsed.ContentType.Equal(OIDTSTInfo) {
				t.Fatalf("content not round-tripped: %v %q", parsed.ContentType, parsed.Content)
			}
			if parsed.version != 3 {
				t.Errorf("SignedData version = %d, want 3 for a non-data content type", parsed.version)
			}
			if _, err := parsed.Verify(nil); err != nil {
				t.Fatalf("Verify(nil): %v", err)
			}
			parsed.Content[0] ^= 1
			if _, err := parsed.Verify(nil); err == nil {
				t.Fatal("Verify accepted altered attached content")
			}
			dir := t.TempDir()
			root := writePEM(t, dir, "root.pem", "CERTIFICATE", ca.cert.Raw)
			out := openssl(t, "cms", "-verify", "-inform", "DER", "-in", writeFile(t, dir, "sig.der", der),
				"-binary", "-CAfile", root, "-purpose", "any")
			if !bytes.Contains(out, content) {
				t.Errorf("openssl did not output the attached content")
			}
		})
	}
}
