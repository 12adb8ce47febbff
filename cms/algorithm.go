package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
)

// sigScheme is the family of a signature algorithm.
type sigScheme int

const (
	schemeUnknown sigScheme = iota
	schemeECDSA
	schemeRSAPKCS1
	schemeRSAPSS
)

// algorithmIdentifier is AlgorithmIdentifier (RFC 5280 §4.1.1.2).
type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

// pssParameters is RSASSA-PSS-params (RFC 4055 §3.1). Signet always writes
// every field explicitly, as RFC 4056 §2 asks of CMS signers.
type pssParameters struct {
	Hash         algorithmIdentifier `asn1:"explicit,tag:0,optional"`
	MGF          algorithmIdentifier `asn1:"explicit,tag:1,optional"`
	SaltLength   int                 `asn1:"explicit,tag:2,optional,default:20"`
	TrailerField int                 `asn1:"explicit,tag:3,optional,default:1"`
}

var asn1NULL = asn1.RawValue{FullBytes: []byte{0x05, 0x00}}

// digestAlgorithmID returns the DER AlgorithmIdentifier of h with absent
// parameters (RFC 5754 §2).
func digestAlgorithmID(h crypto.Hash) ([]byte, error) {
	oid, ok := OIDFromHash(h)
	if !ok {
		return nil, fmt.Errorf("%w: hash %v", ErrUnsupportedAlgorithm, h)
	}
	return asn1.Marshal(algorithmIdentifier{Algorithm: oid})
}

// signatureAlgorithmID returns the DER signature AlgorithmIdentifier for a
// key of the given public key type under hash h: ecdsa-with-SHA* (RFC 5754
// §3.3), sha*WithRSAEncryption with NULL parameters (RFC 5754 §3.2), or
// id-RSASSA-PSS with explicit parameters (RFC 4056 §2).
func signatureAlgorithmID(pub crypto.PublicKey, h crypto.Hash, pss bool) (der []byte, alg x509.SignatureAlgorithm, err error) {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		if pss {
			return nil, 0, fmt.Errorf("%w: PSS requires an RSA key", ErrUnsupportedAlgorithm)
		}
		var oid asn1.ObjectIdentifier
		switch h {
		case crypto.SHA256:
			oid, alg = oidECDSAWithSHA256, x509.ECDSAWithSHA256
		case crypto.SHA384:
			oid, alg = oidECDSAWithSHA384, x509.ECDSAWithSHA384
		case crypto.SHA512:
			oid, alg = oidECDSAWithSHA512, x509.ECDSAWithSHA512
		default:
			return nil, 0, fmt.Errorf("%w: hash %v", ErrUnsupportedAlgorithm, h)
		}
		der, err = asn1.Marshal(algorithmIdentifier{Algorithm: oid})
		return der, alg, err
	case *rsa.PublicKey:
		if pss {
			hashOID, ok := OIDFromHash(h)
			if !ok || h == crypto.SHA1 {
				return nil, 0, fmt.Errorf("%w: hash %v", ErrUnsupportedAlgorithm, h)
			}
			hashID := algorithmIdentifier{Algorithm: hashOID, Parameters: asn1NULL}
			hashDER, err := asn1.Marshal(hashID)
			if err != nil {
				return nil, 0, err
			}
			params, err := asn1.Marshal(pssParameters{
				Hash:         hashID,
				MGF:          algorithmIdentifier{Algorithm: oidMGF1, Parameters: asn1.RawValue{FullBytes: hashDER}},
				SaltLength:   h.Size(),
				TrailerField: 1,
			})
			if err != nil {
				return nil, 0, err
			}
			der, err = asn1.Marshal(algorithmIdentifier{Algorithm: oidRSAPSS, Parameters: asn1.RawValue{FullBytes: params}})
			return der, pssAlgorithm(h), err
		}
		var oid asn1.ObjectIdentifier
		switch h {
		case crypto.SHA256:
			oid, alg = oidSHA256WithRSA, x509.SHA256WithRSA
		case crypto.SHA384:
			oid, alg = oidSHA384WithRSA, x509.SHA384WithRSA
		case crypto.SHA512:
			oid, alg = oidSHA512WithRSA, x509.SHA512WithRSA
		default:
			return nil, 0, fmt.Errorf("%w: hash %v", ErrUnsupportedAlgorithm, h)
		}
		der, err = asn1.Marshal(algorithmIdentifier{Algorithm: oid, Parameters: asn1NULL})
		return der, alg, err
	}
	return nil, 0, fmt.Errorf("%w: key type %T", ErrUnsupportedAlgorithm, pub)
}

func pssAlgorithm(h crypto.Hash) x509.SignatureAlgorithm {
	switch h {
	case crypto.SHA256:
		return x509.SHA256WithRSAPSS
	case crypto.SHA384:
		return x509.SHA384WithRSAPSS
	case crypto.SHA512:
		return x509.SHA512WithRSAPSS
	}
	return x509.UnknownSignatureAlgorithm
}

// sigAlgInfo is what a parsed signature AlgorithmIdentifier tells a verifier.
type sigAlgInfo struct {
	scheme     sigScheme
	hash       crypto.Hash
	saltLength int
	alg        x509.SignatureAlgorithm
}

// parseSignatureAlgorithm interprets a SignerInfo signatureAlgorithm. The
// bare key algorithms rsaEncryption and id-ecPublicKey, which some signers
// write (RFC 3370 §3.2), take their hash from digestHash.
func parseSignatureAlgorithm(id algorithmIdentifier, digestHash crypto.Hash) (sigAlgInfo, error) {
	oid := id.Algorithm
	switch {
	case oid.Equal(oidECDSAWithSHA256):
		return ecdsaInfo(crypto.SHA256), nil
	case oid.Equal(oidECDSAWithSHA384):
		return ecdsaInfo(crypto.SHA384), nil
	case oid.Equal(oidECDSAWithSHA512):
		return ecdsaInfo(crypto.SHA512), nil
	case oid.Equal(oidECDSAWithSHA1):
		return ecdsaInfo(crypto.SHA1), nil
	case oid.Equal(oidECPublicKey):
		return ecdsaInfo(digestHash), nil
	case oid.Equal(oidSHA256WithRSA):
		return rsaInfo(crypto.SHA256), nil
	case oid.Equal(oidSHA384WithRSA):
		return rsaInfo(crypto.SHA384), nil
	case oid.Equal(oidSHA512WithRSA):
		return rsaInfo(crypto.SHA512), nil
	case oid.Equal(oidSHA1WithRSA):
		return rsaInfo(crypto.SHA1), nil
	case oid.Equal(oidRSAEncryption):
		return rsaInfo(digestHash), nil
	case oid.Equal(oidRSAPSS):
		return parsePSS(id.Parameters)
	}
	return sigAlgInfo{}, fmt.Errorf("%w: signature algorithm %v", ErrUnsupportedAlgorithm, oid)
}

func ecdsaInfo(h crypto.Hash) sigAlgInfo {
	alg := x509.UnknownSignatureAlgorithm
	switch h {
	case crypto.SHA1:
		alg = x509.ECDSAWithSHA1
	case crypto.SHA256:
		alg = x509.ECDSAWithSHA256
	case crypto.SHA384:
		alg = x509.ECDSAWithSHA384
	case crypto.SHA512:
		alg = x509.ECDSAWithSHA512
	}
	return sigAlgInfo{scheme: schemeECDSA, hash: h, alg: alg}
}

func rsaInfo(h crypto.Hash) sigAlgInfo {
	alg := x509.UnknownSignatureAlgorithm
	switch h {
	case crypto.SHA1:
		alg = x509.SHA1WithRSA
	case crypto.SHA256:
		alg = x509.SHA256WithRSA
	case crypto.SHA384:
		alg = x509.SHA384WithRSA
	case crypto.SHA512:
		alg = x509.SHA512WithRSA
	}
	return sigAlgInfo{scheme: schemeRSAPKCS1, hash: h, alg: alg}
}

// parsePSS reads RSASSA-PSS-params (RFC 4055 §3.1). Signet requires an
// explicit SHA-2 hash, MGF1 with the same hash, and trailer field 1.
func parsePSS(params asn1.RawValue) (sigAlgInfo, error) {
	if len(params.FullBytes) == 0 {
		return sigAlgInfo{}, errors.New("cms: RSASSA-PSS without parameters")
	}
	var p pssParameters
	rest, err := asn1.Unmarshal(params.FullBytes, &p)
	if err != nil {
		return sigAlgInfo{}, fmt.Errorf("cms: RSASSA-PSS parameters: %w", err)
	}
	if len(rest) != 0 {
		return sigAlgInfo{}, errors.New("cms: RSASSA-PSS parameters: trailing data")
	}
	h, ok := HashFromOID(p.Hash.Algorithm)
	if !ok || h == crypto.SHA1 {
		return sigAlgInfo{}, fmt.Errorf("%w: RSASSA-PSS hash %v", ErrUnsupportedAlgorithm, p.Hash.Algorithm)
	}
	if !p.MGF.Algorithm.Equal(oidMGF1) {
		return sigAlgInfo{}, fmt.Errorf("%w: RSASSA-PSS mask generation %v", ErrUnsupportedAlgorithm, p.MGF.Algorithm)
	}
	var mgfHash algorithmIdentifier
	if rest, err := asn1.Unmarshal(p.MGF.Parameters.FullBytes, &mgfHash); err != nil || len(rest) != 0 {
		return sigAlgInfo{}, errors.New("cms: RSASSA-PSS MGF1 parameters malformed")
	}
	if mh, ok := HashFromOID(mgfHash.Algorithm); !ok || mh != h {
		return sigAlgInfo{}, fmt.Errorf("%w: RSASSA-PSS MGF1 hash differs from message hash", ErrUnsupportedAlgorithm)
	}
	if p.TrailerField != 1 {
		return sigAlgInfo{}, fmt.Errorf("%w: RSASSA-PSS trailer field %d", ErrUnsupportedAlgorithm, p.TrailerField)
	}
	if p.SaltLength < 0 {
		return sigAlgInfo{}, errors.New("cms: RSASSA-PSS negative salt length")
	}
	return sigAlgInfo{scheme: schemeRSAPSS, hash: h, saltLength: p.SaltLength, alg: pssAlgorithm(h)}, nil
}
