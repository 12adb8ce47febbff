//go:build cgo

package pkcs11

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"testing"
)

// FuzzParseECPublic feeds arbitrary CKA_EC_PARAMS and CKA_EC_POINT values
// to the decoder of token public keys. It must not panic, and a key it
// accepts must survive a round trip through the DER OCTET STRING form.
func FuzzParseECPublic(f *testing.F) {
	f.Fuzz(func(t *testing.T, params, point []byte) {
		pub, err := parseECPublic(params, point)
		if err != nil {
			return
		}
		raw, err := pub.Bytes()
		if err != nil {
			t.Fatalf("accepted key does not encode: %v", err)
		}
		wrapped, err := asn1.Marshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseECPublic(params, wrapped)
		if err != nil {
			t.Fatalf("re-encoded key rejected: %v", err)
		}
		if !again.Equal(pub) {
			t.Fatal("round trip changed the key")
		}
	})
}

// FuzzECDSADER checks that converting a token's r‖s signature never
// panics and yields DER whose integers give back r‖s.
func FuzzECDSADER(f *testing.F) {
	f.Fuzz(func(t *testing.T, sig []byte, size uint8) {
		der, err := ecdsaDER(sig, int(size))
		if err != nil {
			return
		}
		var v struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &v); err != nil || len(rest) != 0 {
			t.Fatalf("ecdsaDER output does not parse: %v", err)
		}
		got := make([]byte, 2*int(size))
		v.R.FillBytes(got[:size])
		v.S.FillBytes(got[size:])
		if !bytes.Equal(got, sig) {
			t.Fatalf("round trip: got %x, want %x", got, sig)
		}
	})
}
