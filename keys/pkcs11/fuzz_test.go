//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"

	"github.com/signet-pki/signet/keys"
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

// FuzzUnwrap feeds arbitrary blobs and additional data to Unwrap with a
// key of the SoftHSM token. It must not panic; it opens only the one blob
// wrapped under that key with its additional data, and refuses everything
// else with ErrUnwrap (the key exists, so no other error is right).
func FuzzUnwrap(f *testing.F) {
	b := openTest(f, 0)
	ctx := context.Background()
	h, _, err := b.Generate(ctx, keys.AES256, "fuzz-unwrap")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { b.Destroy(ctx, h) })
	dataKey := bytes.Repeat([]byte{0x5a}, 32)
	aad := []byte("signet wrap v1\x00kfuzz\x001\x00content:0")
	genuine, err := b.Wrap(ctx, h, dataKey, aad)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine, aad)
	f.Add(genuine, []byte("other"))
	f.Add(genuine[:len(genuine)-1], aad)
	f.Add(genuine[:gcmIVSize+gcmTagSize], aad)
	f.Add([]byte{}, []byte{})
	f.Add(append(bytes.Clone(genuine), 0), aad)
	f.Fuzz(func(t *testing.T, blob, ad []byte) {
		pt, err := b.Unwrap(ctx, h, blob, ad)
		if err != nil {
			if !errors.Is(err, ErrUnwrap) {
				t.Fatalf("Unwrap: %v, want ErrUnwrap", err)
			}
			return
		}
		if !bytes.Equal(blob, genuine) || !bytes.Equal(ad, aad) || !bytes.Equal(pt, dataKey) {
			t.Fatalf("Unwrap opened a blob it did not make: %x with aad %x gave %x", blob, ad, pt)
		}
	})
}
