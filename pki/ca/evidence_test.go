package ca_test

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/signet-pki/signet/pki/ca"
)

func TestAuthEvidenceRoundTrip(t *testing.T) {
	for _, ev := range []ca.AuthEvidence{
		evidence,
		{Methods: []string{"hwk", "user", "mfa"}, AssuranceLevel: "aal3", Time: time.Date(2031, 12, 31, 23, 59, 59, 0, time.UTC)},
		{Methods: []string{"otp"}, AssuranceLevel: "aal1", Time: time.Date(1999, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600))},
	} {
		der, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ca.UnmarshalAuthEvidence(der)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Methods, ev.Methods) || got.AssuranceLevel != ev.AssuranceLevel || !got.Time.Equal(ev.Time) {
			t.Errorf("round trip: %+v, want %+v", got, ev)
		}
	}
}

func TestUnmarshalAuthEvidenceRejects(t *testing.T) {
	good, err := evidence.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	type raw struct {
		Version        int
		Methods        []asn1.RawValue
		AssuranceLevel string    `asn1:"utf8"`
		Time           time.Time `asn1:"generalized"`
	}
	enc := func(r raw) []byte {
		b, err := asn1.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	utf8 := func(s string) asn1.RawValue { return asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(s)} }
	for _, c := range []struct {
		name string
		der  []byte
	}{
		{"trailing data", append(append([]byte(nil), good...), 0)},
		{"truncated", good[:len(good)-1]},
		{"version 2", enc(raw{2, []asn1.RawValue{utf8("pwd")}, "aal1", t0})},
		{"no methods", enc(raw{1, nil, "aal1", t0})},
		{"printable method", enc(raw{1, []asn1.RawValue{{Tag: asn1.TagPrintableString, Bytes: []byte("pwd")}}, "aal1", t0})},
		{"empty level", enc(raw{1, []asn1.RawValue{utf8("pwd")}, "", t0})},
		{"control character", enc(raw{1, []asn1.RawValue{utf8("pw\x01")}, "aal1", t0})},
		{"empty", nil},
	} {
		if _, err := ca.UnmarshalAuthEvidence(c.der); !errors.Is(err, ca.ErrInvalidAuthEvidence) {
			t.Errorf("%s: err = %v, want ErrInvalidAuthEvidence", c.name, err)
		}
	}
	if _, err := ca.UnmarshalAuthEvidence(enc(raw{1, []asn1.RawValue{utf8("pwd")}, "aal1", t0})); err != nil {
		t.Errorf("control case: %v", err)
	}
}

func TestParseAuthEvidenceAbsent(t *testing.T) {
	f := newFixture(t)
	if _, err := ca.ParseAuthEvidence(f.acme.Certificate); !errors.Is(err, ca.ErrNoAuthEvidence) {
		t.Errorf("err = %v, want ErrNoAuthEvidence", err)
	}
}

// FuzzAuthEvidence checks that the parser never panics and that whatever
// it accepts re-encodes to DER that parses to the same evidence.
func FuzzAuthEvidence(f *testing.F) {
	if der, err := evidence.Marshal(); err == nil {
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		ev, err := ca.UnmarshalAuthEvidence(der)
		if err != nil {
			return
		}
		again, err := ev.Marshal()
		if err != nil {
			t.Fatalf("accepted evidence does not re-encode: %v", err)
		}
		ev2, err := ca.UnmarshalAuthEvidence(again)
		if err != nil {
			t.Fatalf("re-encoded evidence does not parse: %v", err)
		}
		if !slices.Equal(ev.Methods, ev2.Methods) || ev.AssuranceLevel != ev2.AssuranceLevel || !ev.Time.Equal(ev2.Time) {
			t.Fatalf("round trip changed %+v to %+v", ev, ev2)
		}
		if again2, _ := ev2.Marshal(); !bytes.Equal(again, again2) {
			t.Fatal("encoding is not stable")
		}
	})
}
