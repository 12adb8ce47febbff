package ocsp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// ResponseStatus is an OCSPResponseStatus (RFC 6960 §4.2.1).
type ResponseStatus int

// Response statuses.
const (
	Successful       ResponseStatus = 0
	MalformedRequest ResponseStatus = 1
	InternalError    ResponseStatus = 2
	TryLater         ResponseStatus = 3
	SigRequired      ResponseStatus = 5
	Unauthorized     ResponseStatus = 6
)

// errorResponse returns the DER OCSPResponse with status s and no
// responseBytes.
func errorResponse(s ResponseStatus) []byte {
	return []byte{0x30, 0x03, 0x0a, 0x01, byte(s)}
}

var (
	oidBasicResponse  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidInvalidityDate = asn1.ObjectIdentifier{2, 5, 29, 24}
)

// CertStatus is the status of one certificate in a response.
type CertStatus int

// Certificate statuses (RFC 6960 §4.2.1).
const (
	Good CertStatus = iota
	Revoked
	Unknown
)

// A SingleResponse is the answer for one CertID.
type SingleResponse struct {
	CertID CertID
	Status CertStatus
	// RevokedAt, Reason and InvalidityDate describe a revocation; a zero
	// InvalidityDate is left out. Reason 0 (unspecified) is left out, as
	// RFC 5280 §5.3.1 recommends.
	RevokedAt      time.Time
	Reason         int
	InvalidityDate time.Time
	// ThisUpdate and NextUpdate bound the validity of the answer.
	ThisUpdate, NextUpdate time.Time
}

type responseASN1 struct {
	Status asn1.Enumerated
	Bytes  responseBytes `asn1:"explicit,tag:0,optional"`
}

type responseBytes struct {
	Type     asn1.ObjectIdentifier
	Response []byte
}

type basicResponse struct {
	TBSResponseData    asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
	Certs              []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type responseData struct {
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []singleResponseASN1
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type singleResponseASN1 struct {
	CertID     certIDASN1
	CertStatus asn1.RawValue
	ThisUpdate time.Time        `asn1:"generalized"`
	NextUpdate time.Time        `asn1:"generalized,explicit,tag:0,optional"`
	Extensions []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type revokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

// responseSigner signs BasicOCSPResponses as one responder.
type responseSigner struct {
	key         crypto.Signer
	cert        *x509.Certificate
	responderID asn1.RawValue
	sigAlg      pkix.AlgorithmIdentifier
	hash        crypto.Hash
	opts        crypto.SignerOpts
}

// newResponseSigner prepares key (certified by cert) to sign responses,
// identified by key hash (RFC 6960 §4.2.2.3).
func newResponseSigner(key crypto.Signer, cert *x509.Certificate) (*responseSigner, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, fmt.Errorf("ocsp: responder public key: %w", err)
	}
	kh := sha1.Sum(spki.PublicKey.RightAlign())
	khDER, err := asn1.Marshal(kh[:])
	if err != nil {
		return nil, fmt.Errorf("ocsp: responder key hash: %w", err)
	}
	s := &responseSigner{
		key:         key,
		cert:        cert,
		responderID: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, IsCompound: true, Bytes: khDER},
	}
	switch pub := key.Public().(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			s.hash, s.sigAlg.Algorithm = crypto.SHA256, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
		case elliptic.P384():
			s.hash, s.sigAlg.Algorithm = crypto.SHA384, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
		case elliptic.P521():
			s.hash, s.sigAlg.Algorithm = crypto.SHA512, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
		default:
			return nil, errors.New("ocsp: unsupported responder curve")
		}
		s.opts = s.hash
	case *rsa.PublicKey:
		s.hash, s.opts = crypto.SHA256, crypto.SHA256
		s.sigAlg = pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, Parameters: asn1.NullRawValue}
	case ed25519.PublicKey:
		s.opts = crypto.Hash(0)
		s.sigAlg.Algorithm = asn1.ObjectIdentifier{1, 3, 101, 112}
	default:
		return nil, fmt.Errorf("ocsp: unsupported responder key type %T", pub)
	}
	return s, nil
}

// sign builds and signs a successful OCSPResponse holding rs, with the
// responder certificate and, if nonce is set, the nonce extension.
func (s *responseSigner) sign(rnd io.Reader, producedAt time.Time, rs []SingleResponse, nonce []byte) ([]byte, error) {
	rd := responseData{
		ResponderID: s.responderID,
		ProducedAt:  producedAt.UTC().Truncate(time.Second),
	}
	for _, r := range rs {
		sr, err := marshalSingle(r)
		if err != nil {
			return nil, err
		}
		rd.Responses = append(rd.Responses, sr)
	}
	if nonce != nil {
		v, err := asn1.Marshal(nonce)
		if err != nil {
			return nil, fmt.Errorf("ocsp: nonce: %w", err)
		}
		rd.Extensions = []pkix.Extension{{Id: oidNonce, Value: v}}
	}
	tbs, err := asn1.Marshal(rd)
	if err != nil {
		return nil, fmt.Errorf("ocsp: encode response data: %w", err)
	}
	msg := tbs
	if s.hash != 0 {
		h := s.hash.New()
		h.Write(tbs)
		msg = h.Sum(nil)
	}
	sig, err := s.key.Sign(rnd, msg, s.opts)
	if err != nil {
		return nil, fmt.Errorf("ocsp: sign response: %w", err)
	}
	basic, err := asn1.Marshal(basicResponse{
		TBSResponseData:    asn1.RawValue{FullBytes: tbs},
		SignatureAlgorithm: s.sigAlg,
		Signature:          asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
		Certs:              []asn1.RawValue{{FullBytes: s.cert.Raw}},
	})
	if err != nil {
		return nil, fmt.Errorf("ocsp: encode basic response: %w", err)
	}
	der, err := asn1.Marshal(responseASN1{
		Status: asn1.Enumerated(Successful),
		Bytes:  responseBytes{Type: oidBasicResponse, Response: basic},
	})
	if err != nil {
		return nil, fmt.Errorf("ocsp: encode response: %w", err)
	}
	return der, nil
}

func marshalSingle(r SingleResponse) (singleResponseASN1, error) {
	sr := singleResponseASN1{
		CertID: certIDASN1{
			HashAlgorithm:  pkix.AlgorithmIdentifier{Algorithm: r.CertID.HashAlgorithm, Parameters: asn1.NullRawValue},
			IssuerNameHash: r.CertID.IssuerNameHash,
			IssuerKeyHash:  r.CertID.IssuerKeyHash,
			SerialNumber:   r.CertID.SerialNumber,
		},
		ThisUpdate: r.ThisUpdate.UTC().Truncate(time.Second),
		NextUpdate: r.NextUpdate.UTC().Truncate(time.Second),
	}
	switch r.Status {
	case Good:
		sr.CertStatus = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: []byte{}}
	case Unknown:
		sr.CertStatus = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte{}}
	case Revoked:
		ri, err := asn1.Marshal(revokedInfo{RevocationTime: r.RevokedAt.UTC().Truncate(time.Second), Reason: asn1.Enumerated(r.Reason)})
		if err != nil {
			return sr, fmt.Errorf("ocsp: encode revoked info: %w", err)
		}
		var seq asn1.RawValue
		if _, err := asn1.Unmarshal(ri, &seq); err != nil {
			return sr, fmt.Errorf("ocsp: encode revoked info: %w", err)
		}
		sr.CertStatus = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: seq.Bytes}
		if !r.InvalidityDate.IsZero() {
			v, err := asn1.MarshalWithParams(r.InvalidityDate.UTC().Truncate(time.Second), "generalized")
			if err != nil {
				return sr, fmt.Errorf("ocsp: encode invalidity date: %w", err)
			}
			// RFC 6960 §4.4: CRL entry extensions may be single extensions.
			sr.Extensions = []pkix.Extension{{Id: oidInvalidityDate, Value: v}}
		}
	default:
		return sr, fmt.Errorf("ocsp: unknown certificate status %d", r.Status)
	}
	return sr, nil
}

// issuerHashes returns the CertID name and key hashes of issuer under h.
func issuerHashes(issuer *x509.Certificate, h crypto.Hash) (name, key []byte, err error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, nil, fmt.Errorf("ocsp: issuer public key: %w", err)
	}
	hn := h.New()
	hn.Write(issuer.RawSubject)
	hk := h.New()
	hk.Write(spki.PublicKey.RightAlign())
	return hn.Sum(nil), hk.Sum(nil), nil
}

// NewCertID returns the CertID of the certificate with serial issued by
// issuer, hashed with h (RFC 6960 §4.1.1).
func NewCertID(issuer *x509.Certificate, serial *big.Int, h crypto.Hash) (CertID, error) {
	oid := hashOID(h)
	if oid == nil {
		return CertID{}, fmt.Errorf("ocsp: unsupported CertID hash %v", h)
	}
	n, k, err := issuerHashes(issuer, h)
	if err != nil {
		return CertID{}, err
	}
	return CertID{HashAlgorithm: oid, Hash: h, IssuerNameHash: n, IssuerKeyHash: k, SerialNumber: serial}, nil
}
