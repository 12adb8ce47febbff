package tsa

import (
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Info is a TSTInfo (RFC 3161 §2.4.2): what a time-stamp authority asserts
// about a message imprint.
type Info struct {
	// Policy is the TSA policy under which the token was issued.
	Policy asn1.ObjectIdentifier
	// Hash and Digest are the message imprint.
	Hash   crypto.Hash
	Digest []byte
	// SerialNumber is unique for each token issued by the TSA.
	SerialNumber *big.Int
	// Time is genTime, in UTC.
	Time time.Time
	// Accuracy is the accuracy of Time, or zero when not stated.
	Accuracy time.Duration
	// Ordering reports that tokens of this TSA are ordered by Time alone.
	Ordering bool
	// Nonce is the nonce copied from the request, or nil.
	Nonce *big.Int
	// TSAName is the TSA's GeneralName rendered as text. It is optional and
	// informational only: verification relies on the signer certificate.
	TSAName string

	// tsaName is the DER GeneralName behind TSAName, kept for re-encoding.
	tsaName []byte
}

// genTimeLayout renders genTime as RFC 3161 §2.4.2 requires: UTC ("Z"),
// fractional seconds without trailing zeros and without a bare decimal point.
const genTimeLayout = "20060102150405.999999999Z"

// marshalInfo returns the DER TSTInfo for i.
func marshalInfo(i *Info) ([]byte, error) {
	alg, err := hashAlgorithm(i.Hash)
	if err != nil {
		return nil, err
	}
	if len(i.Digest) != i.Hash.Size() {
		return nil, fmt.Errorf("tsa: digest is %d bytes, %v needs %d", len(i.Digest), i.Hash, i.Hash.Size())
	}
	if len(i.Policy) == 0 {
		return nil, errors.New("tsa: TSTInfo needs a policy")
	}
	if i.SerialNumber == nil || i.SerialNumber.Sign() < 0 {
		return nil, errors.New("tsa: TSTInfo needs a non-negative serial number")
	}
	if i.Accuracy < 0 {
		return nil, errors.New("tsa: negative accuracy")
	}
	t := tstInfo{
		Version:        1,
		Policy:         i.Policy,
		MessageImprint: messageImprint{HashAlgorithm: alg, HashedMessage: i.Digest},
		SerialNumber:   i.SerialNumber,
		GenTime: asn1.RawValue{
			Class: asn1.ClassUniversal,
			Tag:   asn1.TagGeneralizedTime,
			Bytes: []byte(i.Time.UTC().Format(genTimeLayout)),
		},
		Accuracy: accuracyOf(i.Accuracy),
		Ordering: i.Ordering,
		Nonce:    i.Nonce,
	}
	if len(i.tsaName) > 0 {
		t.TSA = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: i.tsaName}
	}
	der, err := asn1.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("tsa: marshal TSTInfo: %w", err)
	}
	return der, nil
}

// accuracyOf splits d into the fields of Accuracy, truncating below a
// microsecond. A zero duration yields the empty (omitted) value.
func accuracyOf(d time.Duration) accuracy {
	if d > 0 && d < time.Microsecond {
		d = time.Microsecond
	}
	us := int(d / time.Microsecond)
	return accuracy{
		Seconds: us / 1e6,
		Millis:  us / 1e3 % 1e3,
		Micros:  us % 1e3,
	}
}

// parseInfo parses a DER TSTInfo (RFC 3161 §2.4.2).
func parseInfo(der []byte) (*Info, error) {
	var t tstInfo
	if err := unmarshalDER(der, &t, "TSTInfo"); err != nil {
		return nil, err
	}
	if t.Version != 1 {
		return nil, fmt.Errorf("%w: TSTInfo version %d", ErrMalformed, t.Version)
	}
	h, err := hashFromAlgorithm(t.MessageImprint.HashAlgorithm)
	if err != nil {
		return nil, err
	}
	if len(t.MessageImprint.HashedMessage) != h.Size() {
		return nil, fmt.Errorf("%w: %d-byte hashedMessage for %v", ErrMalformed, len(t.MessageImprint.HashedMessage), h)
	}
	if t.SerialNumber.Sign() < 0 {
		return nil, fmt.Errorf("%w: negative serial number", ErrMalformed)
	}
	if t.Nonce != nil && t.Nonce.Sign() < 0 {
		return nil, fmt.Errorf("%w: negative nonce", ErrMalformed)
	}
	gen, err := parseGenTime(t.GenTime)
	if err != nil {
		return nil, err
	}
	acc, err := parseAccuracy(t.Accuracy)
	if err != nil {
		return nil, err
	}
	info := &Info{
		Policy:       t.Policy,
		Hash:         h,
		Digest:       t.MessageImprint.HashedMessage,
		SerialNumber: t.SerialNumber,
		Time:         gen,
		Accuracy:     acc,
		Ordering:     t.Ordering,
		Nonce:        t.Nonce,
	}
	if len(t.TSA.FullBytes) > 0 {
		if !t.TSA.IsCompound {
			return nil, fmt.Errorf("%w: TSTInfo tsa is not constructed", ErrMalformed)
		}
		name, err := generalNameString(t.TSA.Bytes)
		if err != nil {
			return nil, err
		}
		info.TSAName = name
		info.tsaName = t.TSA.Bytes
	}
	return info, nil
}

func parseGenTime(raw asn1.RawValue) (time.Time, error) {
	if raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagGeneralizedTime || raw.IsCompound {
		return time.Time{}, fmt.Errorf("%w: genTime is not a GeneralizedTime", ErrMalformed)
	}
	s := string(raw.Bytes)
	t, err := time.Parse(genTimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: genTime %q: %w", ErrMalformed, s, err)
	}
	// The DER form is unique: reject trailing zeros, "." without digits and
	// anything else that does not re-encode to the same text.
	if t.Format(genTimeLayout) != s {
		return time.Time{}, fmt.Errorf("%w: genTime %q is not in DER form", ErrMalformed, s)
	}
	return t, nil
}

func parseAccuracy(a accuracy) (time.Duration, error) {
	if a.Seconds < 0 || a.Millis < 0 || a.Millis > 999 || a.Micros < 0 || a.Micros > 999 {
		return 0, fmt.Errorf("%w: accuracy out of range", ErrMalformed)
	}
	const maxSeconds = int(time.Duration(1<<62) / time.Second)
	if a.Seconds > maxSeconds {
		return 0, fmt.Errorf("%w: accuracy too large", ErrMalformed)
	}
	return time.Duration(a.Seconds)*time.Second +
		time.Duration(a.Millis)*time.Millisecond +
		time.Duration(a.Micros)*time.Microsecond, nil
}

// GeneralName tags of RFC 5280 §4.2.1.6.
const (
	gnRFC822Name    = 1
	gnDNSName       = 2
	gnDirectoryName = 4
	gnURI           = 6
)

// generalNameString renders the DER GeneralName der as text: a directory
// name in RFC 2253 form, an e-mail address, DNS name or URI as is. Other
// forms render as an empty string.
func generalNameString(der []byte) (string, error) {
	var gn asn1.RawValue
	if err := unmarshalDER(der, &gn, "GeneralName"); err != nil {
		return "", err
	}
	if gn.Class != asn1.ClassContextSpecific {
		return "", fmt.Errorf("%w: GeneralName has class %d", ErrMalformed, gn.Class)
	}
	switch gn.Tag {
	case gnDirectoryName:
		var rdns pkix.RDNSequence
		if err := unmarshalDER(gn.Bytes, &rdns, "directoryName"); err != nil {
			return "", err
		}
		var name pkix.Name
		name.FillFromRDNSequence(&rdns)
		return name.String(), nil
	case gnRFC822Name, gnDNSName, gnURI:
		return string(gn.Bytes), nil
	}
	return "", nil
}

// directoryName returns the DER GeneralName directoryName [4] wrapping the
// DER Name rawSubject (RFC 5280 §4.2.1.6; the tag is explicit because Name
// is a CHOICE).
func directoryName(rawSubject []byte) ([]byte, error) {
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: gnDirectoryName, IsCompound: true, Bytes: rawSubject})
}
