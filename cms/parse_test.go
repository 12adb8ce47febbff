package cms

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"errors"
	"testing"
)

// rebuild re-encodes a SignedData DER with its signerInfos SET holding n
// copies of its SignerInfo, and the outer ContentInfo type set to ct.
func rebuild(t *testing.T, der []byte, n int, ct asn1.ObjectIdentifier) []byte {
	t.Helper()
	r := derReader{der}
	ci, err := r.next("ContentInfo")
	if err != nil {
		t.Fatal(err)
	}
	cr := derReader{ci.Bytes}
	cr.next("oid")
	wrapper, _ := cr.next("content")
	wr := derReader{wrapper.Bytes}
	sdRV, _ := wr.next("SignedData")
	sr := derReader{sdRV.Bytes}
	var elems [][]byte
	var last asn1.RawValue
	for !sr.empty() {
		e, err := sr.next("element")
		if err != nil {
			t.Fatal(err)
		}
		elems = append(elems, e.FullBytes)
		last = e
	}
	infos := derReader{last.Bytes}
	si, err := infos.next("SignerInfo")
	if err != nil {
		t.Fatal(err)
	}
	set, _ := tlv(asn1.ClassUniversal, asn1.TagSet, true, bytes.Repeat(si.FullBytes, n))
	elems[len(elems)-1] = set
	sdDER, _ := sequence(elems...)
	w, _ := tlv(asn1.ClassContextSpecific, 0, true, sdDER)
	oid, _ := asn1.Marshal(ct)
	out, _ := sequence(oid, w)
	return out
}

// indefinite re-encodes the outermost TLV of der with an indefinite length.
func indefinite(t *testing.T, der []byte) []byte {
	t.Helper()
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(der, &rv); err != nil {
		t.Fatal(err)
	}
	out := []byte{der[0], 0x80}
	out = append(out, rv.Bytes...)
	return append(out, 0, 0)
}

// toBER re-encodes der the way streaming BER encoders do: every
// constructed value with an indefinite length, and every OCTET STRING longer
// than 4 bytes as a constructed string of 4-byte segments.
func toBER(t *testing.T, der []byte) []byte {
	t.Helper()
	var out []byte
	r := derReader{der}
	for !r.empty() {
		rv, err := r.next("value")
		if err != nil {
			t.Fatal(err)
		}
		// The identifier is one byte: CMS uses no tag numbers above 30.
		tag := rv.FullBytes[0]
		switch {
		case rv.IsCompound:
			out = append(out, tag, 0x80)
			out = append(out, toBER(t, rv.Bytes)...)
			out = append(out, 0, 0)
		case tag == 0x04 && len(rv.Bytes) > 4:
			out = append(out, 0x24, 0x80)
			for b := rv.Bytes; len(b) > 0; {
				n := min(4, len(b))
				out = append(out, 0x04, byte(n))
				out = append(out, b[:n]...)
				b = b[n:]
			}
			out = append(out, 0, 0)
		default:
			out = append(out, rv.FullBytes...)
		}
	}
	return out
}

// deepNesting returns n nested indefinite-length SEQUENCEs.
func deepNesting(n int) []byte {
	var out []byte
	for range n {
		out = append(out, 0x30, 0x80)
	}
	for range n {
		out = append(out, 0, 0)
	}
	return out
}

// TestParse checks what Parse accepts and rejects.
func TestParse(t *testing.T) {
	f := newFixture(t, "p256", 1000)
	sd, err := Sign(f.key, f.digest, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	good, err := sd.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// A ContentInfo whose [0] wrapper has an indefinite length.
	var ci asn1.RawValue
	asn1.Unmarshal(good, &ci)
	cr := derReader{ci.Bytes}
	oidRV, _ := cr.next("oid")
	wrapRV, _ := cr.next("wrapper")
	nestedBER, _ := sequence(oidRV.FullBytes, indefinite(t, wrapRV.FullBytes))

	tests := []struct {
		name    string
		der     []byte
		wantErr error // nil with ok=true means success
		ok      bool
	}{
		{name: "valid", der: good, ok: true},
		{name: "PDF zero padding", der: append(bytes.Clone(good), make([]byte, 4096)...), ok: true},
		{name: "rebuilt with one signer", der: rebuild(t, good, 1, OIDSignedData), ok: true},
		{name: "trailing non-zero byte", der: append(append(bytes.Clone(good), 0, 0), 1)},
		{name: "two signers", der: rebuild(t, good, 2, OIDSignedData), wantErr: ErrSignerCount},
		{name: "no signers", der: rebuild(t, good, 0, OIDSignedData), wantErr: ErrSignerCount},
		{name: "not signedData", der: rebuild(t, good, 1, OIDData)},
		{name: "indefinite length outside", der: indefinite(t, good), ok: true},
		{name: "indefinite length inside", der: nestedBER, ok: true},
		{name: "BER throughout", der: toBER(t, good), ok: true},
		{name: "BER throughout, padded", der: append(toBER(t, good), 0, 0, 0), ok: true},
		{name: "BER missing end-of-contents", der: toBER(t, good)[:len(toBER(t, good))-2]},
		{name: "indefinite primitive", der: []byte{0x04, 0x80, 0x01, 0x00, 0x00}},
		{name: "deep nesting", der: deepNesting(200)},
		{name: "truncated", der: good[:len(good)-1]},
		{name: "empty", der: nil},
		{name: "zeros only", der: make([]byte, 64)},
		{name: "octet string", der: []byte{0x04, 0x00}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.der)
			if tc.ok {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				again, err := got.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, good) {
					t.Errorf("Marshal(Parse(x)) differs from the original DER")
				}
				if _, err := got.Verify(f.digest); err != nil {
					t.Errorf("Verify: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Parse accepted bad input")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestHashOIDs checks that HashFromOID and OIDFromHash are inverses and
// reject what Signet does not support.
func TestHashOIDs(t *testing.T) {
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		oid, ok := OIDFromHash(h)
		if !ok {
			t.Fatalf("OIDFromHash(%v) not supported", h)
		}
		back, ok := HashFromOID(oid)
		if !ok || back != h {
			t.Errorf("HashFromOID(OIDFromHash(%v)) = %v, %v", h, back, ok)
		}
	}
	if _, ok := OIDFromHash(crypto.MD5); ok {
		t.Error("OIDFromHash(MD5) supported")
	}
	if _, ok := HashFromOID(OIDData); ok {
		t.Error("HashFromOID(id-data) supported")
	}
}
