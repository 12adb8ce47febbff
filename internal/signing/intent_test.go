package signing_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/signing/storetest"
)

// TestIntentDigest checks IntentDigest against the definition, computed
// here by hand: one document is its own SHA-256; several are the
// domain-separated hash of the length-prefixed ids and hashes; a list out
// of order, with a duplicate, or with a malformed hash is refused.
func TestIntentDigest(t *testing.T) {
	a, b := strings.Repeat("0a", 32), strings.Repeat("b0", 32)
	one, err := signing.IntentDigest([]signing.DocumentVersion{{DocumentID: "doc_a", SHA256: a}})
	if err != nil || one != [32]byte(bytes.Repeat([]byte{0x0a}, 32)) {
		t.Fatalf("one document: %x, %v", one, err)
	}
	var in []byte
	in = append(in, "signet/signing/documents/v1\x00"...)
	in = binary.BigEndian.AppendUint32(in, 2)
	in = binary.BigEndian.AppendUint32(in, 5)
	in = append(in, "doc_a"...)
	in = append(in, bytes.Repeat([]byte{0x0a}, 32)...)
	in = binary.BigEndian.AppendUint32(in, 5)
	in = append(in, "doc_b"...)
	in = append(in, bytes.Repeat([]byte{0xb0}, 32)...)
	two, err := signing.IntentDigest([]signing.DocumentVersion{{DocumentID: "doc_a", SHA256: a}, {DocumentID: "doc_b", SHA256: b}})
	if err != nil || two != sha256.Sum256(in) {
		t.Fatalf("two documents: %x, %v; want %x", two, err, sha256.Sum256(in))
	}
	for name, docs := range map[string][]signing.DocumentVersion{
		"none":            nil,
		"out of order":    {{DocumentID: "doc_b", SHA256: b}, {DocumentID: "doc_a", SHA256: a}},
		"duplicate":       {{DocumentID: "doc_a", SHA256: a}, {DocumentID: "doc_a", SHA256: b}},
		"upper-case hash": {{DocumentID: "doc_a", SHA256: strings.ToUpper(b)}},
		"short hash":      {{DocumentID: "doc_a", SHA256: a[:62]}},
		"empty id":        {{DocumentID: "", SHA256: a}},
	} {
		if _, err := signing.IntentDigest(docs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzIntent: the stored form of an intent decodes only into an intent
// that passes Validate, and encodes back to a form that decodes to the
// same intent.
func FuzzIntent(f *testing.F) {
	for _, docs := range [][]signing.DocumentVersion{
		{{DocumentID: "doc_1", SHA256: strings.Repeat("ab", 32)}},
		{{DocumentID: "doc_1", SHA256: strings.Repeat("01", 32)}, {DocumentID: "doc_2", SHA256: strings.Repeat("fe", 32)}},
	} {
		b, err := storetest.Intent(f, "env_1", "rcp_1", "u_1", docs).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var in signing.Intent
		if err := in.UnmarshalBinary(b); err != nil {
			return
		}
		if err := in.Validate(); err != nil {
			t.Fatalf("decoded an invalid intent: %v", err)
		}
		again, err := in.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back signing.Intent
		if err := back.UnmarshalBinary(again); err != nil || !reflect.DeepEqual(back, in) {
			t.Fatalf("round trip: %+v, %v", back, err)
		}
	})
}

// FuzzUsedAssertions: the stored list of used assertions decodes only
// from whole, bounded hashes, and encodes back to the same bytes.
func FuzzUsedAssertions(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{7}, 64))
	f.Add(bytes.Repeat([]byte{7}, 33))
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := signing.DecodeUsedAssertions(b)
		if err != nil {
			return
		}
		if len(hs) > signing.MaxUsedAssertions || !bytes.Equal(signing.EncodeUsedAssertions(hs), b) {
			t.Fatalf("%d hashes from %d bytes do not round-trip", len(hs), len(b))
		}
	})
}
