package keys_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/signet-pki/signet/keys"
)

// FuzzParseWrapped checks that ParseWrapped never panics and that what it
// accepts re-encodes to the same bytes.
func FuzzParseWrapped(f *testing.F) {
	f.Add([]byte("SKW1\x00\x00\x00\x01ciphertext"))
	f.Fuzz(func(t *testing.T, blob []byte) {
		n, ct, err := keys.ParseWrapped(blob)
		if err != nil {
			return
		}
		re := binary.BigEndian.AppendUint32([]byte("SKW1"), uint32(n))
		if !bytes.Equal(append(re, ct...), blob) {
			t.Fatalf("ParseWrapped(%x) = %d, %x: does not round-trip", blob, n, ct)
		}
	})
}

// FuzzParseRevocationReason checks that accepted names are exactly the
// String of the reason they parse to.
func FuzzParseRevocationReason(f *testing.F) {
	f.Add("keyCompromise")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := keys.ParseRevocationReason(s)
		if err != nil {
			return
		}
		if !r.Valid() || r.String() != s {
			t.Fatalf("ParseRevocationReason(%q) = %v", s, r)
		}
	})
}
