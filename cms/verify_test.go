package cms

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
)

// fixture is a signer with its certificate and some detached content.
type fixture struct {
	key     crypto.Signer
	cert    *x509.Certificate
	content []byte
	digest  []byte
	opts    SignOptions
}

func newFixture(t *testing.T, kind string, serial int64) fixture {
	t.Helper()
	ca := rootCA(t)
	key := testKey(t, kind)
	cert := ca.issue(t, key.Public(), serial, "Signer "+kind)
	content := []byte("%PDF-1.7 signed byte ranges for " + kind)
	return fixture{
		key:     key,
		cert:    cert,
		content: content,
		digest:  hashOf(crypto.SHA256, content),
		opts:    SignOptions{Hash: crypto.SHA256, Certificates: []*x509.Certificate{cert, ca.cert}},
	}
}

// roundTrip marshals and re-parses sd, as a PDF reader would see it.
func roundTrip(t *testing.T, sd *SignedData) *SignedData {
	t.Helper()
	der, err := sd.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	out, err := Parse(der)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return out
}

// replaceAttr returns attrs with the attribute of type oid replaced by value,
// or removed when value is nil.
func replaceAttr(attrs []Attribute, oid asn1.ObjectIdentifier, value []byte) []Attribute {
	var out []Attribute
	for _, a := range attrs {
		if a.Type.Equal(oid) {
			if value == nil {
				continue
			}
			a = Attribute{Type: oid, Values: []asn1.RawValue{{FullBytes: value}}}
		}
		out = append(out, a)
	}
	return out
}

// essV1 builds an RFC 2634 SigningCertificate value for cert.
func essV1(t *testing.T, cert *x509.Certificate) []byte {
	t.Helper()
	sum := sha1.Sum(cert.Raw)
	h, _ := asn1.Marshal(sum[:])
	is, err := marshalIssuerSerial(cert)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := sequence(h, is)
	certs, _ := sequence(id)
	v, _ := sequence(certs)
	return v
}

// TestVerifyRejects tampers with one thing at a time and checks that
// Verify (or Sign) names it.
func TestVerifyRejects(t *testing.T) {
	tests := []struct {
		name string
		// build returns the SignedData to verify and the digest to pass.
		build func(t *testing.T, f fixture) (*SignedData, []byte, error)
		want  error
	}{{
		name: "valid",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			sd, err := Sign(f.key, f.digest, f.opts)
			return sd, f.digest, err
		},
	}, {
		name: "flipped content byte",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			sd, err := Sign(f.key, f.digest, f.opts)
			c := bytes.Clone(f.content)
			c[3] ^= 0x01
			return sd, hashOf(crypto.SHA256, c), err
		},
		want: ErrDigestMismatch,
	}, {
		name: "flipped signature byte",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			sd, err := Sign(f.key, f.digest, f.opts)
			if err != nil {
				return nil, nil, err
			}
			der, err := sd.Marshal()
			if err != nil {
				return nil, nil, err
			}
			i := bytes.Index(der, sd.Signature())
			if i < 0 {
				t.Fatal("signature not found in DER")
			}
			der[i+len(sd.Signature())/2] ^= 0x40
			sd, err = Parse(der)
			return sd, f.digest, err
		},
		want: ErrSignature,
	}, {
		name: "swapped certificate with another key",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			sd, err := Sign(f.key, f.digest, f.opts)
			if err != nil {
				return nil, nil, err
			}
			other := rootCA(t).issue(t, testKey(t, "p384").Public(), f.cert.SerialNumber.Int64(), f.cert.Subject.CommonName)
			sd.Certificates[0] = other
			return roundTrip(t, sd), f.digest, nil
		},
		want: ErrSignature,
	}, {
		name: "signing-certificate-v2 hash of another certificate",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			attrs, err := signedAttributes(f.digest, f.opts)
			if err != nil {
				return nil, nil, err
			}
			other := rootCA(t).issue(t, f.key.Public(), 999, "Other")
			v, err := essSigningCertificateV2(other, crypto.SHA256)
			if err != nil {
				return nil, nil, err
			}
			sd, err := signWithAttributes(f.key, replaceAttr(attrs, OIDSigningCertificateV2, v), f.opts)
			return sd, f.digest, err
		},
		want: ErrSigningCertificate,
	}, {
		name: "signing-certificate-v2 issuerSerial with another serial",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			attrs, err := signedAttributes(f.digest, f.opts)
			if err != nil {
				return nil, nil, err
			}
			alt := *f.cert
			alt.SerialNumber = new(big.Int).Add(f.cert.SerialNumber, big.NewInt(1))
			v, err := essSigningCertificateV2(&alt, crypto.SHA256)
			if err != nil {
				return nil, nil, err
			}
			sd, err := signWithAttributes(f.key, replaceAttr(attrs, OIDSigningCertificateV2, v), f.opts)
			return sd, f.digest, err
		},
		want: ErrSigningCertificate,
	}, {
		name: "no signing-certificate attribute",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			attrs, err := signedAttributes(f.digest, f.opts)
			if err != nil {
				return nil, nil, err
			}
			sd, err := signWithAttributes(f.key, replaceAttr(attrs, OIDSigningCertificateV2, nil), f.opts)
			return sd, f.digest, err
		},
		want: ErrNoSigningCertificate,
	}, {
		name: "signing-certificate v1 binds signer",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			attrs, err := signedAttributes(f.digest, f.opts)
			if err != nil {
				return nil, nil, err
			}
			attrs = replaceAttr(attrs, OIDSigningCertificateV2, nil)
			attrs = append(attrs, Attribute{Type: OIDSigningCertificate, Values: []asn1.RawValue{{FullBytes: essV1(t, f.cert)}}})
			sd, err := signWithAttributes(f.key, attrs, f.opts)
			return sd, f.digest, err
		},
	}, {
		name: "signing-certificate v1 of another certificate",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			attrs, err := signedAttributes(f.digest, f.opts)
			if err != nil {
				return nil, nil, err
			}
			attrs = replaceAttr(attrs, OIDSigningCertificateV2, nil)
			attrs = append(attrs, Attribute{Type: OIDSigningCertificate, Values: []asn1.RawValue{{FullBytes: essV1(t, rootCA(t).cert)}}})
			sd, err := signWithAttributes(f.key, attrs, f.opts)
			return sd, f.digest, err
		},
		want: ErrSigningCertificate,
	}, {
		name: "content-type attribute differs",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			attrs, err := signedAttributes(f.digest, f.opts)
			if err != nil {
				return nil, nil, err
			}
			ct, _ := asn1.Marshal(OIDTSTInfo)
			sd, err := signWithAttributes(f.key, replaceAttr(attrs, OIDContentType, ct), f.opts)
			return sd, f.digest, err
		},
		want: ErrContentType,
	}, {
		name: "no message-digest attribute",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			attrs, err := signedAttributes(f.digest, f.opts)
			if err != nil {
				return nil, nil, err
			}
			sd, err := signWithAttributes(f.key, replaceAttr(attrs, OIDMessageDigest, nil), f.opts)
			return sd, f.digest, err
		},
		want: ErrDigestMismatch,
	}, {
		name: "signer certificate left out",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			sd, err := Sign(f.key, f.digest, f.opts)
			if err != nil {
				return nil, nil, err
			}
			sd.Certificates = sd.Certificates[1:]
			return roundTrip(t, sd), f.digest, nil
		},
		want: ErrNoSignerCertificate,
	}, {
		name: "key does not match certificate",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			sd, err := Sign(testKey(t, "p384"), f.digest, f.opts)
			return sd, f.digest, err
		},
		want: ErrKeyMismatch,
	}, {
		name: "PSS with an ECDSA key",
		build: func(t *testing.T, f fixture) (*SignedData, []byte, error) {
			opts := f.opts
			opts.PSS = true
			sd, err := Sign(f.key, f.digest, opts)
			return sd, f.digest, err
		},
		want: ErrUnsupportedAlgorithm,
	}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "p256", int64(500+i))
			sd, digest, err := tc.build(t, f)
			if err == nil {
				var cert *x509.Certificate
				cert, err = roundTrip(t, sd).Verify(digest)
				if err == nil && !cert.Equal(f.cert) {
					t.Fatalf("Verify returned %v, want the signer", cert.Subject)
				}
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
