package cms

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// derReader walks the elements of a DER-encoded constructed value one by
// one. encoding/asn1 enforces definite, minimal lengths, so BER
// indefinite-length input is rejected with a "not DER" error.
type derReader struct {
	b []byte
}

// empty reports whether every element has been read.
func (r *derReader) empty() bool { return len(r.b) == 0 }

// next reads the next element.
func (r *derReader) next(what string) (asn1.RawValue, error) {
	if len(r.b) == 0 {
		return asn1.RawValue{}, fmt.Errorf("cms: %s: missing", what)
	}
	var rv asn1.RawValue
	rest, err := asn1.Unmarshal(r.b, &rv)
	if err != nil {
		return asn1.RawValue{}, fmt.Errorf("cms: %s: %w", what, err)
	}
	r.b = rest
	return rv, nil
}

// nextTagged reads the next element and checks its class, tag and form.
func (r *derReader) nextTagged(what string, class, tag int, compound bool) (asn1.RawValue, error) {
	rv, err := r.next(what)
	if err != nil {
		return rv, err
	}
	if rv.Class != class || rv.Tag != tag || rv.IsCompound != compound {
		return rv, fmt.Errorf("cms: %s: unexpected tag (class %d, tag %d)", what, rv.Class, rv.Tag)
	}
	return rv, nil
}

// peek reports whether the next element has the given class and tag.
func (r *derReader) peek(class, tag int) bool {
	if len(r.b) == 0 {
		return false
	}
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(r.b, &rv); err != nil {
		return false
	}
	return rv.Class == class && rv.Tag == tag
}

// unmarshalExact decodes der into v and requires that nothing follows.
func unmarshalExact(der []byte, v any, what string) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return fmt.Errorf("cms: %s: %w", what, err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("cms: %s: trailing data", what)
	}
	return nil
}

// tlv encodes content under the given class and tag.
func tlv(class, tag int, compound bool, content []byte) ([]byte, error) {
	return asn1.Marshal(asn1.RawValue{Class: class, Tag: tag, IsCompound: compound, Bytes: content})
}

// sequence encodes the concatenation of parts as a SEQUENCE.
func sequence(parts ...[]byte) ([]byte, error) {
	return tlv(asn1.ClassUniversal, asn1.TagSequence, true, concat(parts...))
}

func concat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// rawDER returns the DER of rv: its FullBytes, or an encoding of its class,
// tag and Bytes when FullBytes is empty.
func rawDER(rv asn1.RawValue) ([]byte, error) {
	if len(rv.FullBytes) != 0 {
		return rv.FullBytes, nil
	}
	if rv.Class == 0 && rv.Tag == 0 && len(rv.Bytes) == 0 {
		return nil, errors.New("cms: empty attribute value")
	}
	return asn1.Marshal(asn1.RawValue{Class: rv.Class, Tag: rv.Tag, IsCompound: rv.IsCompound, Bytes: rv.Bytes})
}
