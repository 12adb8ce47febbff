package tsa

import (
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// hashOIDs maps the message imprint hash algorithms Signet understands to
// their object identifiers (RFC 3279 §2.2.1, RFC 5754 §2).
var hashOIDs = []struct {
	hash crypto.Hash
	oid  asn1.ObjectIdentifier
}{
	{crypto.SHA1, asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}},
	{crypto.SHA224, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}},
	{crypto.SHA256, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}},
	{crypto.SHA384, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}},
	{crypto.SHA512, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}},
}

// acceptedHash reports whether h is strong enough for a new time-stamp.
// SHA-1 imprints can be parsed but are neither requested nor served.
func acceptedHash(h crypto.Hash) bool {
	return h != crypto.SHA1 && hashOID(h) != nil
}

func hashOID(h crypto.Hash) asn1.ObjectIdentifier {
	for _, e := range hashOIDs {
		if e.hash == h {
			return e.oid
		}
	}
	return nil
}

// hashAlgorithm returns the AlgorithmIdentifier for h, with NULL parameters
// as most TSAs expect (RFC 3161 §2.4.1 leaves them open; RFC 5754 §2
// permits both forms).
func hashAlgorithm(h crypto.Hash) (pkix.AlgorithmIdentifier, error) {
	oid := hashOID(h)
	if oid == nil {
		return pkix.AlgorithmIdentifier{}, fmt.Errorf("%w: %v", ErrUnsupportedHash, h)
	}
	return pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.NullRawValue}, nil
}

// hashFromAlgorithm returns the hash named by alg. Parameters must be absent
// or NULL.
func hashFromAlgorithm(alg pkix.AlgorithmIdentifier) (crypto.Hash, error) {
	p := alg.Parameters
	if len(p.FullBytes) != 0 && !(p.Class == asn1.ClassUniversal && p.Tag == asn1.TagNull && len(p.Bytes) == 0) {
		return 0, fmt.Errorf("%w: %v has parameters", ErrUnsupportedHash, alg.Algorithm)
	}
	for _, e := range hashOIDs {
		if e.oid.Equal(alg.Algorithm) {
			return e.hash, nil
		}
	}
	return 0, fmt.Errorf("%w: %v", ErrUnsupportedHash, alg.Algorithm)
}
