//go:build cgo

package pkcs11

import (
	"encoding/asn1"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/signet-pki/signet/keys"
)

// Named-curve OIDs for CKA_EC_PARAMS (RFC 5480 §2.1.1.1).
var (
	oidP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
)

// A keySpec says how to generate one algorithm's key pair.
type keySpec struct {
	mech    uint // key-pair generation mechanism
	keyType uint // CKA_KEY_TYPE
	curve   asn1.ObjectIdentifier
	bits    int
}

var specs = sync.OnceValue(func() map[keys.Algorithm]keySpec {
	return map[keys.Algorithm]keySpec{
		keys.ECDSAP256: {mech: p11.CKM_EC_KEY_PAIR_GEN, keyType: p11.CKK_EC, curve: oidP256},
		keys.ECDSAP384: {mech: p11.CKM_EC_KEY_PAIR_GEN, keyType: p11.CKK_EC, curve: oidP384},
		keys.RSA2048:   {mech: p11.CKM_RSA_PKCS_KEY_PAIR_GEN, keyType: p11.CKK_RSA, bits: 2048},
		keys.RSA3072:   {mech: p11.CKM_RSA_PKCS_KEY_PAIR_GEN, keyType: p11.CKK_RSA, bits: 3072},
		keys.RSA4096:   {mech: p11.CKM_RSA_PKCS_KEY_PAIR_GEN, keyType: p11.CKK_RSA, bits: 4096},
	}
})

// templates returns the public and private key templates: both token
// objects with the given CKA_ID and CKA_LABEL; the private key private,
// sensitive, non-extractable and usable only to sign (PKCS#11 v2.40 §4.9).
func (s keySpec) templates(id []byte, label string) (pub, priv []*p11.Attribute) {
	pub = []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, s.keyType),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, false),
		p11.NewAttribute(p11.CKA_VERIFY, true),
		p11.NewAttribute(p11.CKA_ENCRYPT, false),
		p11.NewAttribute(p11.CKA_WRAP, false),
		p11.NewAttribute(p11.CKA_ID, id),
	}
	priv = []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, s.keyType),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_SIGN, true),
		p11.NewAttribute(p11.CKA_DECRYPT, false),
		p11.NewAttribute(p11.CKA_UNWRAP, false),
		p11.NewAttribute(p11.CKA_DERIVE, false),
		p11.NewAttribute(p11.CKA_ID, id),
	}
	if label != "" {
		pub = append(pub, p11.NewAttribute(p11.CKA_LABEL, label))
		priv = append(priv, p11.NewAttribute(p11.CKA_LABEL, label))
	}
	switch s.keyType {
	case p11.CKK_EC:
		params, _ := asn1.Marshal(s.curve) // a constant OID: cannot fail
		pub = append(pub, p11.NewAttribute(p11.CKA_EC_PARAMS, params))
	case p11.CKK_RSA:
		pub = append(pub,
			p11.NewAttribute(p11.CKA_MODULUS_BITS, s.bits),
			p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
	}
	return pub, priv
}
