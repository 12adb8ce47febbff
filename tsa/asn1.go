package tsa

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
)

// messageImprint is MessageImprint of RFC 3161 §2.4.1.
type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

// timeStampReq is TimeStampReq of RFC 3161 §2.4.1.
type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	ReqPolicy      asn1.ObjectIdentifier `asn1:"optional"`
	Nonce          *big.Int              `asn1:"optional"`
	CertReq        bool                  `asn1:"optional"`
	Extensions     []pkix.Extension      `asn1:"optional,tag:0"`
}

// pkiStatusInfo is PKIStatusInfo of RFC 3161 §2.4.2. StatusString holds
// UTF8String values (PKIFreeText, RFC 4210 §5.1.1).
type pkiStatusInfo struct {
	Status       int
	StatusString []asn1.RawValue `asn1:"optional"`
	FailInfo     asn1.BitString  `asn1:"optional"`
}

// timeStampResp is TimeStampResp of RFC 3161 §2.4.2. TimeStampToken is the
// DER ContentInfo of the token.
type timeStampResp struct {
	Status         pkiStatusInfo
	TimeStampToken asn1.RawValue `asn1:"optional"`
}

// accuracy is Accuracy of RFC 3161 §2.4.2.
type accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

// tstInfo is TSTInfo of RFC 3161 §2.4.2. GenTime is kept raw so that
// fractional seconds can be written; TSA is the [0] element whose content
// is a GeneralName.
type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint messageImprint
	SerialNumber   *big.Int
	GenTime        asn1.RawValue
	Accuracy       accuracy         `asn1:"optional"`
	Ordering       bool             `asn1:"optional"`
	Nonce          *big.Int         `asn1:"optional"`
	TSA            asn1.RawValue    `asn1:"optional,tag:0"`
	Extensions     []pkix.Extension `asn1:"optional,tag:1"`
}

// unmarshalDER parses der into v and rejects trailing data.
func unmarshalDER(der []byte, v any, what string) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %s: %d trailing bytes", ErrMalformed, what, len(rest))
	}
	return nil
}

// bitString returns the DER BIT STRING for a mask whose bit n is 1<<n, with
// trailing zero bits removed as X.690 §11.2.2 requires for named bit lists.
func bitString(mask int) asn1.BitString {
	if mask <= 0 {
		return asn1.BitString{}
	}
	n := 0
	for i := 0; i < 63; i++ {
		if mask&(1<<i) != 0 {
			n = i + 1
		}
	}
	b := make([]byte, (n+7)/8)
	for i := 0; i < n; i++ {
		if mask&(1<<i) != 0 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	return asn1.BitString{Bytes: b, BitLength: n}
}

// bitMask is the inverse of bitString; bits beyond 62 are ignored.
func bitMask(bs asn1.BitString) int {
	mask := 0
	for i := 0; i < bs.BitLength && i < 63; i++ {
		if bs.At(i) != 0 {
			mask |= 1 << i
		}
	}
	return mask
}
