package cms

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"slices"
)

// parseAttributes reads the content of a SET OF Attribute (RFC 5652 §5.3).
func parseAttributes(content []byte, what string) ([]Attribute, error) {
	var attrs []Attribute
	r := derReader{content}
	for !r.empty() {
		seq, err := r.nextTagged(what, asn1.ClassUniversal, asn1.TagSequence, true)
		if err != nil {
			return nil, err
		}
		ar := derReader{seq.Bytes}
		oidRV, err := ar.nextTagged(what+" type", asn1.ClassUniversal, asn1.TagOID, false)
		if err != nil {
			return nil, err
		}
		var a Attribute
		if err := unmarshalExact(oidRV.FullBytes, &a.Type, what+" type"); err != nil {
			return nil, err
		}
		set, err := ar.nextTagged(what+" values", asn1.ClassUniversal, asn1.TagSet, true)
		if err != nil {
			return nil, err
		}
		if !ar.empty() {
			return nil, fmt.Errorf("cms: %s %v: trailing data", what, a.Type)
		}
		vr := derReader{set.Bytes}
		for !vr.empty() {
			v, err := vr.next(what + " value")
			if err != nil {
				return nil, err
			}
			a.Values = append(a.Values, v)
		}
		if len(a.Values) == 0 {
			return nil, fmt.Errorf("cms: %s %v: no values", what, a.Type)
		}
		attrs = append(attrs, a)
	}
	return attrs, nil
}

// marshalAttribute encodes one Attribute SEQUENCE with its values in the
// given order.
func marshalAttribute(a Attribute) ([]byte, error) {
	oid, err := asn1.Marshal(a.Type)
	if err != nil {
		return nil, fmt.Errorf("cms: attribute type: %w", err)
	}
	var vals [][]byte
	for _, v := range a.Values {
		d, err := rawDER(v)
		if err != nil {
			return nil, err
		}
		vals = append(vals, d)
	}
	set, err := tlv(asn1.ClassUniversal, asn1.TagSet, true, concat(vals...))
	if err != nil {
		return nil, err
	}
	return sequence(oid, set)
}

// marshalAttributes encodes attrs as the content of a SET OF Attribute. When
// sorted is true the elements are put in DER order (X.690 §11.6), as signed
// attributes require (RFC 5652 §5.3); otherwise the given order is kept.
func marshalAttributes(attrs []Attribute, sorted bool) ([]byte, error) {
	enc := make([][]byte, 0, len(attrs))
	for _, a := range attrs {
		d, err := marshalAttribute(a)
		if err != nil {
			return nil, err
		}
		enc = append(enc, d)
	}
	if sorted {
		slices.SortFunc(enc, bytes.Compare)
	}
	return concat(enc...), nil
}
