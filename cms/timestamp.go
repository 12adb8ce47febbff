package cms

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// SetTimestampToken adds, or replaces, the unsigned attribute
// id-aa-signatureTimeStampToken (RFC 3161 Appendix A) with token, the DER of
// a timestamp token's ContentInfo. Unsigned attributes are not covered by the
// signature, so the SignedData still verifies afterwards.
func (sd *SignedData) SetTimestampToken(token []byte) error {
	var rv asn1.RawValue
	rest, err := asn1.Unmarshal(token, &rv)
	if err != nil {
		return fmt.Errorf("cms: timestamp token: %w", err)
	}
	if len(rest) != 0 {
		return errors.New("cms: timestamp token: trailing data")
	}
	if rv.Class != asn1.ClassUniversal || rv.Tag != asn1.TagSequence || !rv.IsCompound {
		return errors.New("cms: timestamp token: not a ContentInfo SEQUENCE")
	}
	attr := Attribute{Type: OIDTimestampToken, Values: []asn1.RawValue{rv}}
	for i, a := range sd.UnsignedAttributes {
		if a.Type.Equal(OIDTimestampToken) {
			sd.UnsignedAttributes[i] = attr
			return nil
		}
	}
	sd.UnsignedAttributes = append(sd.UnsignedAttributes, attr)
	return nil
}

// TimestampToken returns the DER of the first value of the
// id-aa-signatureTimeStampToken unsigned attribute (RFC 3161 Appendix A), or
// nil if there is none.
func (sd *SignedData) TimestampToken() []byte {
	v, ok := firstValue(sd.UnsignedAttributes, OIDTimestampToken)
	if !ok {
		return nil
	}
	return v.FullBytes
}
