package pkcs11

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzSplitWrapped checks that splitting a wrapped blob never panics, that
// it accepts exactly the lengths Wrap can make, and that the parts it
// returns are the blob's, in order, without room to grow into each other.
func FuzzSplitWrapped(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, gcmIVSize+gcmTagSize-1))
	f.Add(make([]byte, gcmIVSize+gcmTagSize))
	f.Add(make([]byte, gcmIVSize+32+gcmTagSize))
	f.Add(make([]byte, gcmIVSize+MaxWrapSize+gcmTagSize+1))
	f.Fuzz(func(t *testing.T, blob []byte) {
		iv, sealed, err := splitWrapped(blob)
		ok := len(blob) >= gcmIVSize+gcmTagSize && len(blob) <= gcmIVSize+MaxWrapSize+gcmTagSize
		if err != nil {
			if ok {
				t.Fatalf("refused a blob of %d bytes: %v", len(blob), err)
			}
			if !errors.Is(err, ErrUnwrap) || iv != nil || sealed != nil {
				t.Fatalf("refusal %v with parts %x %x", err, iv, sealed)
			}
			return
		}
		if !ok {
			t.Fatalf("accepted a blob of %d bytes", len(blob))
		}
		if len(iv) != gcmIVSize || cap(iv) != gcmIVSize || len(sealed) < gcmTagSize {
			t.Fatalf("parts of %d (cap %d) and %d bytes", len(iv), cap(iv), len(sealed))
		}
		if !bytes.Equal(append(bytes.Clone(iv), sealed...), blob) {
			t.Fatal("the parts do not make up the blob")
		}
	})
}
