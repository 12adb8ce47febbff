package tsa

import (
	"crypto"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// Request is a TimeStampReq (RFC 3161 §2.4.1): a request for a time-stamp
// over Digest, computed with Hash.
type Request struct {
	// Hash is the hash algorithm of the message imprint.
	Hash crypto.Hash
	// Digest is the hashedMessage of the message imprint; its length must be
	// Hash.Size().
	Digest []byte
	// Policy is the reqPolicy, or nil to let the TSA choose.
	Policy asn1.ObjectIdentifier
	// Nonce is the nonce, or nil for none. RFC 3161 §2.4.1 recommends a
	// large random number.
	Nonce *big.Int
	// CertReq asks the TSA to include its certificate in the token.
	CertReq bool
}

// errExtension marks a request that carries extensions, which Signet's TSA
// does not support (RFC 3161 §2.4.1, unacceptedExtension).
var errExtension = errors.New("tsa: request extensions are not supported")

// Marshal returns the DER encoding of the TimeStampReq (RFC 3161 §2.4.1),
// version 1, without extensions.
func (r *Request) Marshal() ([]byte, error) {
	alg, err := hashAlgorithm(r.Hash)
	if err != nil {
		return nil, err
	}
	if len(r.Digest) != r.Hash.Size() {
		return nil, fmt.Errorf("tsa: digest is %d bytes, %v needs %d", len(r.Digest), r.Hash, r.Hash.Size())
	}
	if r.Nonce != nil && r.Nonce.Sign() < 0 {
		return nil, errors.New("tsa: negative nonce")
	}
	req := timeStampReq{
		Version:        1,
		MessageImprint: messageImprint{HashAlgorithm: alg, HashedMessage: r.Digest},
		Nonce:          r.Nonce,
		CertReq:        r.CertReq,
	}
	if len(r.Policy) > 0 {
		req.ReqPolicy = r.Policy
	}
	der, err := asn1.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("tsa: marshal request: %w", err)
	}
	return der, nil
}

// ParseRequest parses a DER TimeStampReq (RFC 3161 §2.4.1). It fails with an
// error wrapping [ErrMalformed] for invalid DER, a version other than 1, or a
// digest whose length does not fit its algorithm, and with an error wrapping
// [ErrUnsupportedHash] for an unknown hash algorithm. Extensions are
// rejected: Signet defines none.
func ParseRequest(der []byte) (*Request, error) {
	var req timeStampReq
	if err := unmarshalDER(der, &req, "TimeStampReq"); err != nil {
		return nil, err
	}
	if req.Version != 1 {
		return nil, fmt.Errorf("%w: TimeStampReq version %d", ErrMalformed, req.Version)
	}
	h, err := hashFromAlgorithm(req.MessageImprint.HashAlgorithm)
	if err != nil {
		return nil, err
	}
	if len(req.MessageImprint.HashedMessage) != h.Size() {
		return nil, fmt.Errorf("%w: %d-byte hashedMessage for %v", ErrMalformed, len(req.MessageImprint.HashedMessage), h)
	}
	if req.Nonce != nil && req.Nonce.Sign() < 0 {
		return nil, fmt.Errorf("%w: negative nonce", ErrMalformed)
	}
	if len(req.Extensions) > 0 {
		return nil, errExtension
	}
	r := &Request{
		Hash:    h,
		Digest:  req.MessageImprint.HashedMessage,
		Nonce:   req.Nonce,
		CertReq: req.CertReq,
	}
	if len(req.ReqPolicy) > 0 {
		r.Policy = req.ReqPolicy
	}
	return r, nil
}
