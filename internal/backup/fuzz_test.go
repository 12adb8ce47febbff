package backup

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseHeader checks that ParseHeader never panics, fails only with
// the package's errors, and that a header it accepts marshals back to the
// bytes it was parsed from.
func FuzzParseHeader(f *testing.F) {
	h := Header{Version: FormatVersion}
	copy(h.KeyID[:], "0123456789abcdef")
	copy(h.ID[:], "fedcba9876543210")
	f.Add(h.Marshal())
	f.Add(append(h.Marshal(), "stream"...))
	f.Add([]byte(Magic))
	f.Add([]byte{})
	f.Add([]byte("SIGNETBK\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			if !errors.Is(err, ErrNotBackup) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrFormatVersion) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if !bytes.Equal(h.Marshal(), b[:HeaderSize]) {
			t.Fatalf("round trip: %x != %x", h.Marshal(), b[:HeaderSize])
		}
		r, err := ReadHeader(bytes.NewReader(b))
		if err != nil || r != h {
			t.Fatalf("ReadHeader disagrees: %+v %v", r, err)
		}
	})
}
