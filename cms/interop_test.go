package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"os"
	"path/filepath"
	"testing"
)

// TestVerifyOpenSSLSigned verifies SignedData that OpenSSL produced at test
// time with `openssl cms -sign -cades`, detached and attached, for ECDSA,
// RSA PKCS #1 v1.5 and RSASSA-PSS.
func TestVerifyOpenSSLSigned(t *testing.T) {
	tests := []struct {
		key      string
		md       string
		hash     crypto.Hash
		attached bool
		pss      bool
		stream   bool // BER output with indefinite lengths
		keyid    bool // sid is subjectKeyIdentifier
		want     x509.SignatureAlgorithm
	}{
		{key: "p256", md: "sha256", hash: crypto.SHA256, keyid: true, want: x509.ECDSAWithSHA256},
		{key: "p256", md: "sha256", hash: crypto.SHA256, stream: true, want: x509.ECDSAWithSHA256},
		{key: "rsa2048", md: "sha384", hash: crypto.SHA384, attached: true, stream: true, want: x509.SHA384WithRSA},
		{key: "p256", md: "sha256", hash: crypto.SHA256, want: x509.ECDSAWithSHA256},
		{key: "p384", md: "sha384", hash: crypto.SHA384, attached: true, want: x509.ECDSAWithSHA384},
		{key: "rsa2048", md: "sha256", hash: crypto.SHA256, want: x509.SHA256WithRSA},
		{key: "rsa3072", md: "sha512", hash: crypto.SHA512, attached: true, want: x509.SHA512WithRSA},
		{key: "rsa2048", md: "sha256", hash: crypto.SHA256, pss: true, want: x509.SHA256WithRSAPSS},
		{key: "rsa4096", md: "sha384", hash: crypto.SHA384, pss: true, want: x509.SHA384WithRSAPSS},
	}
	ca := rootCA(t)
	for i, tc := range tests {
		name := tc.key + "-" + tc.md
		if tc.pss {
			name += "-pss"
		}
		if tc.attached {
			name += "-attached"
		}
		if tc.stream {
			name += "-ber"
		}
		if tc.keyid {
			name += "-keyid"
		}
		t.Run(name, func(t *testing.T) {
			key := testKey(t, tc.key)
			cert := ca.issue(t, key.Public(), int64(800+i), "OpenSSL signer "+name)
			pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			keyFile := writePEM(t, dir, "key.pem", "PRIVATE KEY", pkcs8)
			certFile := writePEM(t, dir, "cert.pem", "CERTIFICATE", cert.Raw)
			content := []byte("content signed by openssl for " + name)
			contentFile := writeFile(t, dir, "content.bin", content)
			out := filepath.Join(dir, "sig.der")
			args := []string{"cms", "-sign", "-binary", "-outform", "DER", "-md", tc.md, "-cades",
				"-in", contentFile, "-signer", certFile, "-inkey", keyFile, "-out", out}
			if tc.attached {
				args = append(args, "-nodetach")
			}
			if tc.pss {
				args = append(args, "-keyopt", "rsa_padding_mode:pss")
			}
			if tc.stream {
				args = append(args, "-stream")
			}
			if tc.keyid {
				args = append(args, "-keyid")
			}
			openssl(t, args...)
			der, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			sd, err := Parse(der)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			digest := hashOf(tc.hash, content)
			if tc.attached {
				if !bytes.Equal(sd.Content, content) {
					t.Fatalf("attached content = %q", sd.Content)
				}
				digest = nil
			}
			if tc.keyid != (sd.sid.Class == asn1.ClassContextSpecific) {
				t.Fatalf("sid class %d, want subjectKeyIdentifier = %v", sd.sid.Class, tc.keyid)
			}
			got, err := sd.Verify(digest)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !got.Equal(cert) {
				t.Errorf("Verify returned %v, want the OpenSSL signer", got.Subject)
			}
			if sd.SignatureAlgorithm != tc.want {
				t.Errorf("SignatureAlgorithm = %v, want %v", sd.SignatureAlgorithm, tc.want)
			}
			if _, ok := sd.SignedAttribute(OIDSigningTime); !ok {
				t.Errorf("OpenSSL's signing-time attribute not reported")
			}
			if _, ok := sd.SignedAttribute(OIDSigningCertificateV2); !ok {
				t.Errorf("OpenSSL -cades signing-certificate-v2 attribute not found")
			}
			again, err := sd.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if tc.stream {
				if !bytes.Contains(der[:4], []byte{0x80}) {
					t.Fatalf("openssl -stream did not write indefinite lengths")
				}
				reparsed, err := Parse(again)
				if err != nil {
					t.Fatalf("Parse(Marshal(BER)): %v", err)
				}
				if _, err := reparsed.Verify(hashOf(tc.hash, content)); err != nil {
					t.Fatalf("Verify after BER to DER: %v", err)
				}
			} else if !bytes.Equal(again, der) {
				t.Errorf("Marshal does not reproduce OpenSSL's DER")
			}
			wrong := hashOf(tc.hash, append(content, '!'))
			if _, err := sd.Verify(wrong); err == nil {
				t.Errorf("Verify accepted the digest of other content")
			}
		})
	}
}
