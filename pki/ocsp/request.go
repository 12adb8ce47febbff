package ocsp

import (
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// ErrMalformedRequest means a request is not a well-formed OCSPRequest; the
// responder answers malformedRequest (RFC 6960 §2.3).
var ErrMalformedRequest = errors.New("ocsp: malformed request")

// MaxCertIDs bounds the certificates asked about in one request.
const MaxCertIDs = 16

var (
	oidNonce        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	errTrailing     = errors.New("trailing data")
	maxNonceLength  = 32
	maxSerialOctets = 20
)

// hashes are the CertID hash algorithms the responder matches.
var hashes = []struct {
	oid asn1.ObjectIdentifier
	h   crypto.Hash
}{
	{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, crypto.SHA1},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, crypto.SHA256},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, crypto.SHA384},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, crypto.SHA512},
}

func hashFromOID(oid asn1.ObjectIdentifier) crypto.Hash {
	for _, e := range hashes {
		if e.oid.Equal(oid) {
			return e.h
		}
	}
	return 0
}

func hashOID(h crypto.Hash) asn1.ObjectIdentifier {
	for _, e := range hashes {
		if e.h == h {
			return e.oid
		}
	}
	return nil
}

// A CertID identifies a certificate by its issuer's name and key hashes and
// its serial number (RFC 6960 §4.1.1).
type CertID struct {
	// HashAlgorithm is the OID of the hash of IssuerNameHash and
	// IssuerKeyHash; Hash is that hash, zero if unknown to Signet.
	HashAlgorithm asn1.ObjectIdentifier
	Hash          crypto.Hash
	// IssuerNameHash hashes the issuer's DER subject, IssuerKeyHash the
	// value of its subjectPublicKey BIT STRING.
	IssuerNameHash, IssuerKeyHash []byte
	// SerialNumber is the certificate's serial.
	SerialNumber *big.Int
}

// A Request is a parsed OCSPRequest (RFC 6960 §4.1.1). Signed requests are
// accepted, their signatures ignored; extensions other than the nonce are
// ignored.
type Request struct {
	// CertIDs are the certificates asked about, 1 to [MaxCertIDs].
	CertIDs []CertID
	// Nonce is the content of the nonce extension (RFC 8954), nil if
	// absent.
	Nonce []byte
}

type certIDASN1 struct {
	HashAlgorithm  pkix.AlgorithmIdentifier
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	SerialNumber   *big.Int
}

type singleRequest struct {
	CertID     certIDASN1
	Extensions []pkix.Extension `asn1:"explicit,tag:0,optional"`
}

type tbsRequest struct {
	Version       int           `asn1:"explicit,tag:0,default:0,optional"`
	RequestorName asn1.RawValue `asn1:"explicit,tag:1,optional"`
	RequestList   []singleRequest
	Extensions    []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

type ocspRequest struct {
	TBSRequest tbsRequest
	Signature  asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

// ParseRequest parses a DER OCSPRequest. Errors wrap
// [ErrMalformedRequest].
func ParseRequest(der []byte) (*Request, error) {
	var req ocspRequest
	rest, err := asn1.Unmarshal(der, &req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedRequest, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %v", ErrMalformedRequest, errTrailing)
	}
	tbs := &req.TBSRequest
	if tbs.Version != 0 {
		return nil, fmt.Errorf("%w: version %d", ErrMalformedRequest, tbs.Version)
	}
	if n := len(tbs.RequestList); n == 0 || n > MaxCertIDs {
		return nil, fmt.Errorf("%w: %d certificates asked about (want 1 to %d)", ErrMalformedRequest, n, MaxCertIDs)
	}
	out := &Request{}
	for _, sr := range tbs.RequestList {
		id := sr.CertID
		if id.SerialNumber == nil || id.SerialNumber.Sign() < 0 || len(id.SerialNumber.Bytes()) > maxSerialOctets {
			return nil, fmt.Errorf("%w: bad serial number", ErrMalformedRequest)
		}
		if len(id.IssuerNameHash) == 0 || len(id.IssuerNameHash) > 64 || len(id.IssuerKeyHash) == 0 || len(id.IssuerKeyHash) > 64 {
			return nil, fmt.Errorf("%w: bad issuer hash length", ErrMalformedRequest)
		}
		out.CertIDs = append(out.CertIDs, CertID{
			HashAlgorithm:  id.HashAlgorithm.Algorithm,
			Hash:           hashFromOID(id.HashAlgorithm.Algorithm),
			IssuerNameHash: id.IssuerNameHash,
			IssuerKeyHash:  id.IssuerKeyHash,
			SerialNumber:   id.SerialNumber,
		})
	}
	for _, ext := range tbs.Extensions {
		if !ext.Id.Equal(oidNonce) {
			continue
		}
		var nonce []byte
		rest, err := asn1.Unmarshal(ext.Value, &nonce)
		if err != nil || len(rest) != 0 || len(nonce) == 0 || len(nonce) > maxNonceLength {
			// RFC 8954 §2.1: a responder may ignore nonces outside
			// 1..32 octets; so do unparsable ones.
			continue
		}
		out.Nonce = nonce
	}
	return out, nil
}

// Marshal returns the DER encoding of r as an unsigned OCSPRequest.
func (r *Request) Marshal() ([]byte, error) {
	var tbs tbsRequest
	for _, id := range r.CertIDs {
		alg := id.HashAlgorithm
		if alg == nil {
			alg = hashOID(id.Hash)
		}
		if alg == nil || id.SerialNumber == nil {
			return nil, errors.New("ocsp: marshal request: no hash algorithm or serial")
		}
		tbs.RequestList = append(tbs.RequestList, singleRequest{CertID: certIDASN1{
			HashAlgorithm:  pkix.AlgorithmIdentifier{Algorithm: alg, Parameters: asn1.NullRawValue},
			IssuerNameHash: id.IssuerNameHash,
			IssuerKeyHash:  id.IssuerKeyHash,
			SerialNumber:   id.SerialNumber,
		}})
	}
	if r.Nonce != nil {
		v, err := asn1.Marshal(r.Nonce)
		if err != nil {
			return nil, fmt.Errorf("ocsp: marshal nonce: %w", err)
		}
		tbs.Extensions = []pkix.Extension{{Id: oidNonce, Value: v}}
	}
	der, err := asn1.Marshal(ocspRequest{TBSRequest: tbs})
	if err != nil {
		return nil, fmt.Errorf("ocsp: marshal request: %w", err)
	}
	return der, nil
}
