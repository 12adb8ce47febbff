//go:build cgo

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	p11 "github.com/miekg/pkcs11"

	"github.com/signet-pki/signet/keys"
)

// readPublic reads the public key of object o, of key type kt: CKA_EC_PARAMS
// and CKA_EC_POINT for EC keys, CKA_MODULUS and CKA_PUBLIC_EXPONENT for RSA
// keys (PKCS#11 v2.40 §2.3.3, §2.1.2).
func readPublic(c *p11.Ctx, sh p11.SessionHandle, o p11.ObjectHandle, kt uint) (crypto.PublicKey, error) {
	switch kt {
	case p11.CKK_EC:
		attrs, err := c.GetAttributeValue(sh, o, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_EC_PARAMS, nil),
			p11.NewAttribute(p11.CKA_EC_POINT, nil),
		})
		if err != nil {
			return nil, err
		}
		return parseECPublic(attrs[0].Value, attrs[1].Value)
	case p11.CKK_RSA:
		attrs, err := c.GetAttributeValue(sh, o, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_MODULUS, nil),
			p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, nil),
		})
		if err != nil {
			return nil, err
		}
		return parseRSAPublic(attrs[0].Value, attrs[1].Value)
	}
	return nil, fmt.Errorf("key type 0x%X: %w", kt, keys.ErrUnsupportedAlgorithm)
}

// parseECPublic decodes CKA_EC_PARAMS (a named-curve OID) and CKA_EC_POINT
// (the DER OCTET STRING of an uncompressed X9.62 point; some modules omit
// the OCTET STRING wrapping).
func parseECPublic(params, point []byte) (*ecdsa.PublicKey, error) {
	var oid asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(params, &oid); err != nil || len(rest) != 0 {
		return nil, errors.New("CKA_EC_PARAMS is not a named-curve OID")
	}
	var curve elliptic.Curve
	switch {
	case oid.Equal(oidP256):
		curve = elliptic.P256()
	case oid.Equal(oidP384):
		curve = elliptic.P384()
	default:
		return nil, fmt.Errorf("EC curve %s: %w", oid, keys.ErrUnsupportedAlgorithm)
	}
	raw := point
	var inner []byte
	if rest, err := asn1.Unmarshal(point, &inner); err == nil && len(rest) == 0 {
		raw = inner
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
	if err != nil {
		return nil, fmt.Errorf("CKA_EC_POINT: %v", err)
	}
	return pub, nil
}

// parseRSAPublic decodes big-endian CKA_MODULUS and CKA_PUBLIC_EXPONENT.
func parseRSAPublic(mod, exp []byte) (*rsa.PublicKey, error) {
	e := new(big.Int).SetBytes(exp)
	if len(mod) == 0 || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
		return nil, errors.New("CKA_MODULUS or CKA_PUBLIC_EXPONENT out of range")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(mod), E: int(e.Int64())}, nil
}

// ulong decodes a CK_ULONG attribute value, stored in the host's byte order.
func ulong(v []byte) (uint, error) {
	switch len(v) {
	case 8:
		return uint(binary.NativeEndian.Uint64(v)), nil
	case 4:
		return uint(binary.NativeEndian.Uint32(v)), nil
	}
	return 0, fmt.Errorf("CK_ULONG attribute of %d bytes", len(v))
}
