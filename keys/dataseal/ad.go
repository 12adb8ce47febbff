package dataseal

import (
	"encoding/binary"
	"fmt"
)

// adLabel is the domain-separation label of the AD encoding.
const adLabel = "signet/dataseal/ad"

// adVersion is the format version of the AD encoding.
const adVersion = 1

// MaxADFieldLen bounds each field of an [AD], in bytes.
const MaxADFieldLen = 1024

// AD is what a ciphertext is bound to: the tenant that owns it, the id of
// the object it belongs to and the field of that object it holds. Every
// field is required.
type AD struct {
	Tenant, Object, Field string
}

// Validate reports an empty or oversized field.
func (a AD) Validate() error {
	for _, f := range []struct{ name, v string }{{"tenant", a.Tenant}, {"object", a.Object}, {"field", a.Field}} {
		if f.v == "" {
			return fmt.Errorf("dataseal: associated data: empty %s", f.name)
		}
		if len(f.v) > MaxADFieldLen {
			return fmt.Errorf("dataseal: associated data: %s longer than %d bytes", f.name, MaxADFieldLen)
		}
	}
	return nil
}

// Encode returns the canonical encoding of a: the label, one version
// byte, then tenant, object and field, each preceded by its length as a
// 4-byte big-endian integer. It fails as [AD.Validate] does.
func (a AD) Encode() ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(adLabel)+1+12+len(a.Tenant)+len(a.Object)+len(a.Field))
	b = append(b, adLabel...)
	b = append(b, adVersion)
	for _, f := range []string{a.Tenant, a.Object, a.Field} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b, nil
}

// payloadAD is the payload's associated data: the kind byte, then the
// encoded AD.
func payloadAD(kind byte, enc []byte) []byte {
	b := make([]byte, 0, 1+len(enc))
	b = append(b, kind)
	return append(b, enc...)
}
