//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"

	p11 "github.com/miekg/pkcs11"

	"github.com/signet-pki/signet/keys"
)

// A signer is a crypto.Signer whose private key stays in the token.
type signer struct {
	b      *Backend
	handle string
	key    p11.ObjectHandle
	pub    crypto.PublicKey
}

var _ crypto.Signer = (*signer)(nil)

// Public returns the key's public half.
func (s *signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest in the token. rand is ignored: the token uses its own
// generator. For ECDSA keys the result is an ASN.1 DER Ecdsa-Sig-Value
// (RFC 5480 §2.2.3), as crypto/ecdsa returns; for RSA keys it is a PKCS#1
// v1.5 signature (RFC 8017 §8.2) or, with *rsa.PSSOptions, an RSASSA-PSS
// signature (RFC 8017 §8.1) with MGF1 over the same hash and a salt as long
// as the hash when SaltLength is PSSSaltLengthAuto or
// PSSSaltLengthEqualsHash.
func (s *signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h := opts.HashFunc()
	if h != 0 && len(digest) != h.Size() {
		return nil, fmt.Errorf("pkcs11: sign: digest of %d bytes for %v", len(digest), h)
	}
	mech, data, err := s.mechanism(digest, opts)
	if err != nil {
		return nil, err
	}
	var sig []byte
	err = s.b.with(context.Background(), "sign", func(sh p11.SessionHandle) error {
		if err := s.b.mod.ctx.SignInit(sh, mech, s.key); err != nil {
			return err
		}
		var err error
		sig, err = s.b.mod.ctx.Sign(sh, data)
		return err
	})
	if err != nil {
		return nil, err
	}
	if pub, ok := s.pub.(*ecdsa.PublicKey); ok {
		return ecdsaDER(sig, (pub.Curve.Params().BitSize+7)/8)
	}
	return sig, nil
}

// mechanism chooses the PKCS#11 mechanism and the input to C_Sign.
func (s *signer) mechanism(digest []byte, opts crypto.SignerOpts) ([]*p11.Mechanism, []byte, error) {
	switch s.pub.(type) {
	case *ecdsa.PublicKey:
		return []*p11.Mechanism{p11.NewMechanism(p11.CKM_ECDSA, nil)}, digest, nil
	case *rsa.PublicKey:
		h := opts.HashFunc()
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			hm, ok := pssHashes(h)
			if !ok {
				return nil, nil, fmt.Errorf("pkcs11: sign: RSASSA-PSS with %v: %w", h, keys.ErrUnsupportedAlgorithm)
			}
			salt := pss.SaltLength
			switch {
			case salt == rsa.PSSSaltLengthAuto || salt == rsa.PSSSaltLengthEqualsHash:
				salt = h.Size()
			case salt < 0:
				return nil, nil, fmt.Errorf("pkcs11: sign: RSASSA-PSS salt length %d", salt)
			}
			params := p11.NewPSSParams(hm.hash, hm.mgf, uint(salt))
			return []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS_PSS, params)}, digest, nil
		}
		if h == 0 {
			return []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS, nil)}, digest, nil
		}
		info, err := digestInfo(h, digest)
		if err != nil {
			return nil, nil, err
		}
		return []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS, nil)}, info, nil
	}
	return nil, nil, fmt.Errorf("pkcs11: sign: %T key: %w", s.pub, keys.ErrUnsupportedAlgorithm)
}

// pssHashes maps a hash to its PKCS#11 mechanism and MGF1 variant
// (PKCS#11 v2.40 §2.1.10).
// (A function, not a map: a package-level map is built when the package
// is initialized, by every command of the signet binary.)
func pssHashes(h crypto.Hash) (hm struct{ hash, mgf uint }, ok bool) {
	switch h {
	case crypto.SHA256:
		return struct{ hash, mgf uint }{p11.CKM_SHA256, p11.CKG_MGF1_SHA256}, true
	case crypto.SHA384:
		return struct{ hash, mgf uint }{p11.CKM_SHA384, p11.CKG_MGF1_SHA384}, true
	case crypto.SHA512:
		return struct{ hash, mgf uint }{p11.CKM_SHA512, p11.CKG_MGF1_SHA512}, true
	}
	return hm, false
}

// digestOIDs returns the digest algorithm OID for DigestInfo (RFC 8017
// Appendix B.1).
func digestOIDs(h crypto.Hash) (asn1.ObjectIdentifier, bool) {
	switch h {
	case crypto.SHA256:
		return asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, true
	case crypto.SHA384:
		return asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, true
	case crypto.SHA512:
		return asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, true
	}
	return nil, false
}

// digestInfo DER-encodes the DigestInfo that EMSA-PKCS1-v1_5 pads
// (RFC 8017 §9.2 step 2), with NULL parameters.
func digestInfo(h crypto.Hash, digest []byte) ([]byte, error) {
	oid, ok := digestOIDs(h)
	if !ok {
		return nil, fmt.Errorf("pkcs11: sign: PKCS#1 v1.5 with %v: %w", h, keys.ErrUnsupportedAlgorithm)
	}
	return asn1.Marshal(struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}{pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.NullRawValue}, digest})
}

// ecdsaDER converts the r‖s signature a token returns for CKM_ECDSA
// (PKCS#11 v2.40 §2.3.1) into a DER Ecdsa-Sig-Value (RFC 5480 §2.2.3):
// SEQUENCE { r INTEGER, s INTEGER }, each integer minimal and positive.
func ecdsaDER(sig []byte, size int) ([]byte, error) {
	if len(sig) != 2*size {
		return nil, fmt.Errorf("pkcs11: sign: ECDSA signature of %d bytes, want %d", len(sig), 2*size)
	}
	body := make([]byte, 0, 2*size+6)
	body = derInteger(body, sig[:size])
	body = derInteger(body, sig[size:])
	out := make([]byte, 0, len(body)+4)
	out = append(out, 0x30)
	out = derLength(out, len(body))
	return append(out, body...), nil
}

// derInteger appends the DER INTEGER of the unsigned big-endian v (X.690
// §8.3: minimal octets, a leading zero when the high bit is set).
func derInteger(dst, v []byte) []byte {
	for len(v) > 0 && v[0] == 0 {
		v = v[1:]
	}
	n := len(v)
	pad := n == 0 || v[0]&0x80 != 0
	if pad {
		n++
	}
	dst = append(dst, 0x02)
	dst = derLength(dst, n)
	if pad {
		dst = append(dst, 0)
	}
	return append(dst, v...)
}

// derLength appends a DER length (X.690 §8.1.3).
func derLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n < 0x100:
		return append(dst, 0x81, byte(n))
	}
	return append(dst, 0x82, byte(n>>8), byte(n))
}
