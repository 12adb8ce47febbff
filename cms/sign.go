package cms

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
)

// SignOptions configures [Sign].
type SignOptions struct {
	// Hash is the digest algorithm and the signature hash: crypto.SHA256,
	// crypto.SHA384 or crypto.SHA512.
	Hash crypto.Hash
	// PSS selects RSASSA-PSS (RFC 4056) for RSA keys, with a salt as long as
	// the hash, MGF1 with the same hash, and explicit parameters in the
	// AlgorithmIdentifier. It is an error with other keys.
	PSS bool
	// Certificates holds the signer certificate at index 0, followed by the
	// chain; all are written to the certificates field in this order.
	Certificates []*x509.Certificate
	// ContentType is the eContentType; nil means id-data.
	ContentType asn1.ObjectIdentifier
	// Content is the encapsulated content. Nil means detached content
	// (encapContentInfo without eContent); non-nil is attached as eContent
	// (e.g. the DER of a TSTInfo).
	Content []byte
	// Rand is the randomness passed to the signer; nil means
	// crypto/rand.Reader.
	Rand io.Reader
}

// Sign builds a SignedData (RFC 5652 §5) with one SignerInfo (sid =
// issuerAndSerialNumber, version 1) whose signed attributes are exactly
// content-type (RFC 5652 §11.1), message-digest (RFC 5652 §11.2) and ESS
// signing-certificate-v2 (RFC 5035 §3; one ESSCertIDv2 with the hash of the
// signer certificate under opts.Hash, hashAlgorithm omitted for SHA-256, and
// issuerSerial), as ETSI EN 319 122-1 CAdES baseline asks. It writes no
// signing-time attribute (ETSI EN 319 142-1 §6.3).
//
// digest is the digest under opts.Hash of the content; if it is nil and
// opts.Content is not, Sign computes it. The signature covers the DER of the
// signed attributes encoded as a SET OF (RFC 5652 §5.4). Signature
// algorithms are ECDSA (ecdsa-with-SHA256/384/512), RSA PKCS #1 v1.5
// (sha256WithRSAEncryption etc.) and RSASSA-PSS.
//
// Sign returns [ErrKeyMismatch] when signer.Public() is not the public key
// of opts.Certificates[0].
func Sign(signer crypto.Signer, digest []byte, opts SignOptions) (*SignedData, error) {
	attrs, err := signedAttributes(digest, opts)
	if err != nil {
		return nil, err
	}
	return signWithAttributes(signer, attrs, opts)
}

// signedAttributes builds the three CAdES baseline signed attributes.
func signedAttributes(digest []byte, opts SignOptions) ([]Attribute, error) {
	if len(opts.Certificates) == 0 || opts.Certificates[0] == nil {
		return nil, errors.New("cms: no signer certificate")
	}
	switch opts.Hash {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return nil, fmt.Errorf("%w: hash %v", ErrUnsupportedAlgorithm, opts.Hash)
	}
	if digest == nil {
		if opts.Content == nil {
			return nil, errors.New("cms: no digest and no content to sign")
		}
		h := opts.Hash.New()
		h.Write(opts.Content)
		digest = h.Sum(nil)
	}
	if len(digest) != opts.Hash.Size() {
		return nil, fmt.Errorf("cms: digest is %d bytes, %v needs %d", len(digest), opts.Hash, opts.Hash.Size())
	}
	ct := opts.ContentType
	if ct == nil {
		ct = OIDData
	}
	ctDER, err := asn1.Marshal(ct)
	if err != nil {
		return nil, fmt.Errorf("cms: content type: %w", err)
	}
	mdDER, err := asn1.Marshal(digest)
	if err != nil {
		return nil, err
	}
	scDER, err := essSigningCertificateV2(opts.Certificates[0], opts.Hash)
	if err != nil {
		return nil, err
	}
	return []Attribute{
		{Type: OIDContentType, Values: []asn1.RawValue{{FullBytes: ctDER}}},
		{Type: OIDMessageDigest, Values: []asn1.RawValue{{FullBytes: mdDER}}},
		{Type: OIDSigningCertificateV2, Values: []asn1.RawValue{{FullBytes: scDER}}},
	}, nil
}

// signWithAttributes signs attrs, in DER order, and assembles the
// SignedData.
func signWithAttributes(signer crypto.Signer, attrs []Attribute, opts SignOptions) (*SignedData, error) {
	if len(opts.Certificates) == 0 || opts.Certificates[0] == nil {
		return nil, errors.New("cms: no signer certificate")
	}
	cert := opts.Certificates[0]
	pub := signer.Public()
	eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(cert.PublicKey) {
		return nil, ErrKeyMismatch
	}
	sigAlgID, sigAlg, err := signatureAlgorithmID(pub, opts.Hash, opts.PSS)
	if err != nil {
		return nil, err
	}
	digestAlgID, err := digestAlgorithmID(opts.Hash)
	if err != nil {
		return nil, err
	}
	content, err := marshalAttributes(attrs, true)
	if err != nil {
		return nil, err
	}
	asSet, err := tlv(asn1.ClassUniversal, asn1.TagSet, true, content)
	if err != nil {
		return nil, err
	}
	asImplicit, err := tlv(asn1.ClassContextSpecific, 0, true, content)
	if err != nil {
		return nil, err
	}
	h := opts.Hash.New()
	h.Write(asSet)
	var signerOpts crypto.SignerOpts = opts.Hash
	if opts.PSS {
		signerOpts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: opts.Hash}
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	sig, err := signer.Sign(rnd, h.Sum(nil), signerOpts)
	if err != nil {
		return nil, fmt.Errorf("cms: sign: %w", err)
	}
	sid, err := asn1.Marshal(issuerAndSerialNumber{
		Issuer:       asn1.RawValue{FullBytes: cert.RawIssuer},
		SerialNumber: cert.SerialNumber,
	})
	if err != nil {
		return nil, fmt.Errorf("cms: sid: %w", err)
	}
	// Parse the attributes back so SignedAttributes holds them in stored
	// (DER) order with FullBytes set.
	stored, err := parseAttributes(content, "signed attribute")
	if err != nil {
		return nil, err
	}
	ct := opts.ContentType
	if ct == nil {
		ct = OIDData
	}
	version := 1 // RFC 5652 §5.1
	if !ct.Equal(OIDData) {
		version = 3
	}
	var algID algorithmIdentifier
	if err := unmarshalExact(sigAlgID, &algID, "signatureAlgorithm"); err != nil {
		return nil, err
	}
	info, err := parseSignatureAlgorithm(algID, opts.Hash)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	certs = append(certs, opts.Certificates...)
	var eContent []byte
	if opts.Content != nil {
		eContent = append([]byte{}, opts.Content...)
	}
	return &SignedData{
		ContentType:        ct,
		Content:            eContent,
		Certificates:       certs,
		DigestAlgorithm:    opts.Hash,
		SignatureAlgorithm: sigAlg,
		SignedAttributes:   stored,
		version:            version,
		signerVersion:      1,
		sid:                asn1.RawValue{FullBytes: sid},
		digestAlgID:        digestAlgID,
		sigAlgID:           sigAlgID,
		signedAttrsDER:     asImplicit,
		signature:          sig,
		pssSaltLength:      info.saltLength,
		signatureHash:      info.hash,
		signatureScheme:    info.scheme,
	}, nil
}
