package ca_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
	if der, err := withIntent(evidence, intent).Marshal(); err == nil {
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
		if !sameEvidence(ev, ev2) {
			t.Fatalf("round trip changed %+v to %+v", ev, ev2)
		}
		if again2, _ := ev2.Marshal(); !bytes.Equal(again, again2) {
			t.Fatal("encoding is not stable")
		}
	})
}

// intent is a signing intent as the signing code records it.
var intent = &ca.SigningIntent{
	DocumentSHA256: sha256.Sum256([]byte("%PDF-1.7 contract")),
	EnvelopeID:     "env-2030-0001",
	SignerID:       "rcp-Ünïcode",
	Challenge:      sha256.Sum256([]byte("challenge")),
	Assertion:      bytes.Repeat([]byte{0x30, 0x82}, 200),
}

func withIntent(e ca.AuthEvidence, si *ca.SigningIntent) ca.AuthEvidence {
	e.SigningIntent = si
	return e
}

func sameIntent(a, b *ca.SigningIntent) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.DocumentSHA256 == b.DocumentSHA256 && a.EnvelopeID == b.EnvelopeID && a.SignerID == b.SignerID &&
		a.Challenge == b.Challenge && bytes.Equal(a.Assertion, b.Assertion)
}

func sameEvidence(a, b ca.AuthEvidence) bool {
	return slices.Equal(a.Methods, b.Methods) && a.AssuranceLevel == b.AssuranceLevel && a.Time.Equal(b.Time) &&
		sameIntent(a.SigningIntent, b.SigningIntent)
}

// The layouts of the extension, written here from the ASN.1 module in the
// documentation of ca.AuthEvidence, independently of the package's own.
type oldLayout struct {
	Version        int
	Methods        []asn1.RawValue
	AssuranceLevel string    `asn1:"utf8"`
	Time           time.Time `asn1:"generalized"`
}

type intentLayout struct {
	DocumentSHA256       []byte
	EnvelopeID, SignerID string `asn1:"utf8"`
	Challenge, Assertion []byte
}

type newLayout struct {
	Version        int
	Methods        []asn1.RawValue
	AssuranceLevel string       `asn1:"utf8"`
	Time           time.Time    `asn1:"generalized"`
	Intent         intentLayout `asn1:"explicit,tag:0"`
}

func TestAuthEvidenceSigningIntentRoundTrip(t *testing.T) {
	big := *intent
	big.Assertion = bytes.Repeat([]byte{1}, ca.MaxSigningAssertion)
	big.EnvelopeID = strings.Repeat("é", ca.MaxSigningIntentID/2)
	small := *intent
	small.Assertion = []byte{0}
	for _, si := range []*ca.SigningIntent{intent, &big, &small} {
		ev := withIntent(evidence, si)
		der, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ca.UnmarshalAuthEvidence(der)
		if err != nil {
			t.Fatal(err)
		}
		if !sameEvidence(got, ev) {
			t.Errorf("round trip: %+v, want %+v", got, ev)
		}
	}
}

// TestAuthEvidenceLayout: the DER is the documented one, with and without
// the signing intent, and evidence without it encodes exactly as before
// the field existed.
func TestAuthEvidenceLayout(t *testing.T) {
	tm := evidence.Time.UTC().Truncate(time.Second)
	want, err := asn1.Marshal(oldLayout{1, methodsRaw(), evidence.AssuranceLevel, tm})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := evidence.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("evidence without an intent encodes as %x, want %x", got, want)
	}
	want, err = asn1.Marshal(newLayout{1, methodsRaw(), evidence.AssuranceLevel, tm, intentLayout{
		intent.DocumentSHA256[:], intent.EnvelopeID, intent.SignerID, intent.Challenge[:], intent.Assertion}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := withIntent(evidence, intent).Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("evidence with an intent encodes as %x, want %x", got, want)
	}
}

// TestAuthEvidenceBackwardsCompatible: the fuzz seeds written before the
// signing intent existed (seed0–seed4) still parse, without an intent.
func TestAuthEvidenceBackwardsCompatible(t *testing.T) {
	for i := range 5 {
		der := fuzzSeed(t, filepath.Join("testdata", "fuzz", "FuzzAuthEvidence", "seed"+strconv.Itoa(i)))
		ev, err := ca.UnmarshalAuthEvidence(der)
		if err != nil {
			continue // a seed may be malformed on purpose
		}
		if ev.SigningIntent != nil {
			t.Fatalf("seed%d: an intent appeared", i)
		}
		if again, _ := ev.Marshal(); !bytes.Equal(again, der) {
			t.Errorf("seed%d re-encodes differently", i)
		}
	}
	if _, err := ca.UnmarshalAuthEvidence(fuzzSeed(t, "testdata/fuzz/FuzzAuthEvidence/seed0")); err != nil {
		t.Fatalf("the first seed, evidence of the old encoder: %v", err)
	}
	// seed5 and seed6 carry a signing intent, so that the fuzzer starts
	// from both shapes.
	for _, n := range []string{"seed5", "seed6"} {
		ev, err := ca.UnmarshalAuthEvidence(fuzzSeed(t, filepath.Join("testdata", "fuzz", "FuzzAuthEvidence", n)))
		if err != nil || ev.SigningIntent == nil {
			t.Errorf("%s: %+v, %v; want evidence with an intent", n, ev, err)
		}
	}
}

// fuzzSeed reads a []byte fuzz seed file.
func fuzzSeed(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") {
		t.Fatalf("%s is not a fuzz seed", path)
	}
	v, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(v)
}

func TestUnmarshalSigningIntentRejects(t *testing.T) {
	tm := evidence.Time.UTC().Truncate(time.Second)
	enc := func(v any) []byte {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := intentLayout{intent.DocumentSHA256[:], intent.EnvelopeID, intent.SignerID, intent.Challenge[:], intent.Assertion}
	with := func(mut func(*intentLayout)) []byte {
		l := good
		mut(&l)
		return enc(newLayout{1, methodsRaw(), evidence.AssuranceLevel, tm, l})
	}
	if _, err := ca.UnmarshalAuthEvidence(with(func(*intentLayout) {})); err != nil {
		t.Fatalf("control case: %v", err)
	}
	type printableIDs struct {
		DocumentSHA256       []byte
		EnvelopeID, SignerID string `asn1:"printable"`
		Challenge, Assertion []byte
	}
	type otherTag struct {
		Version        int
		Methods        []asn1.RawValue
		AssuranceLevel string       `asn1:"utf8"`
		Time           time.Time    `asn1:"generalized"`
		Intent         intentLayout `asn1:"explicit,tag:1"`
	}
	type implicitTag struct {
		Version        int
		Methods        []asn1.RawValue
		AssuranceLevel string       `asn1:"utf8"`
		Time           time.Time    `asn1:"generalized"`
		Intent         intentLayout `asn1:"tag:0"`
	}
	type trailing struct {
		Version        int
		Methods        []asn1.RawValue
		AssuranceLevel string    `asn1:"utf8"`
		Time           time.Time `asn1:"generalized"`
		Intent         struct {
			DocumentSHA256       []byte
			EnvelopeID, SignerID string `asn1:"utf8"`
			Challenge, Assertion []byte
			Extra                int
		} `asn1:"explicit,tag:0"`
	}
	tr := trailing{Version: 1, Methods: methodsRaw(), AssuranceLevel: evidence.AssuranceLevel, Time: tm}
	tr.Intent.DocumentSHA256, tr.Intent.EnvelopeID, tr.Intent.SignerID = good.DocumentSHA256, good.EnvelopeID, good.SignerID
	tr.Intent.Challenge, tr.Intent.Assertion, tr.Intent.Extra = good.Challenge, good.Assertion, 7
	for name, der := range map[string][]byte{
		"short document hash": with(func(l *intentLayout) { l.DocumentSHA256 = l.DocumentSHA256[:31] }),
		"long challenge":      with(func(l *intentLayout) { l.Challenge = append(l.Challenge, 0) }),
		"no assertion":        with(func(l *intentLayout) { l.Assertion = nil }),
		"oversized assertion": with(func(l *intentLayout) { l.Assertion = make([]byte, ca.MaxSigningAssertion+1) }),
		"no envelope":         with(func(l *intentLayout) { l.EnvelopeID = "" }),
		"long signer":         with(func(l *intentLayout) { l.SignerID = strings.Repeat("s", ca.MaxSigningIntentID+1) }),
		"signer not UTF-8":    with(func(l *intentLayout) { l.SignerID = "\xff" }),
		"printable ids":       enc(newLayoutOf(tm, printableIDs{good.DocumentSHA256, "env", "rcp", good.Challenge, good.Assertion})),
		"tag [1]":             enc(otherTag{1, methodsRaw(), evidence.AssuranceLevel, tm, good}),
		"implicit tag":        enc(implicitTag{1, methodsRaw(), evidence.AssuranceLevel, tm, good}),
		"trailing in intent":  enc(tr),
		"trailing after":      append(with(func(*intentLayout) {}), 0),
	} {
		if _, err := ca.UnmarshalAuthEvidence(der); !errors.Is(err, ca.ErrInvalidAuthEvidence) {
			t.Errorf("%s: err = %v, want ErrInvalidAuthEvidence", name, err)
		}
	}
	for name, si := range map[string]ca.SigningIntent{
		"no assertion":        {EnvelopeID: "e", SignerID: "s"},
		"oversized assertion": {EnvelopeID: "e", SignerID: "s", Assertion: make([]byte, ca.MaxSigningAssertion+1)},
		"no signer":           {EnvelopeID: "e", Assertion: []byte{1}},
	} {
		if _, err := withIntent(evidence, &si).Marshal(); !errors.Is(err, ca.ErrInvalidAuthEvidence) {
			t.Errorf("marshal %s: %v", name, err)
		}
	}
}

func newLayoutOf(tm time.Time, intent any) any {
	return struct {
		Version        int
		Methods        []asn1.RawValue
		AssuranceLevel string    `asn1:"utf8"`
		Time           time.Time `asn1:"generalized"`
		Intent         any       `asn1:"explicit,tag:0"`
	}{1, methodsRaw(), evidence.AssuranceLevel, tm, intent}
}

// TestSignerCertificateCarriesIntent: a signer certificate issued with a
// signing intent carries it in its extension.
func TestSignerCertificateCarriesIntent(t *testing.T) {
	f := newFixture(t)
	cert, err := f.a.IssueSigner(t.Context(), alice, withIntent(evidence, intent), newKey(t).Public(), ca.KeyRef{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ca.ParseAuthEvidence(cert)
	if err != nil {
		t.Fatal(err)
	}
	if !sameIntent(ev.SigningIntent, intent) {
		t.Fatalf("intent %+v, want %+v", ev.SigningIntent, intent)
	}
}

// methodsRaw is evidence.Methods as UTF8Strings.
func methodsRaw() []asn1.RawValue {
	var out []asn1.RawValue
	for _, m := range evidence.Methods {
		out = append(out, asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(m)})
	}
	return out
}
