package oidc

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func testPending(t testing.TB) Pending {
	t.Helper()
	p := Pending{expires: time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC).Unix(), client: bindingOf(Provider{Name: "corp", Tenant: "t"})}
	for _, f := range []*string{&p.state, &p.nonce, &p.verifier} {
		var err error
		if *f, err = newRand(); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestPendingRoundTrip(t *testing.T) {
	p := testPending(t)
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != PendingSize {
		t.Fatalf("%d bytes, want %d", len(b), PendingSize)
	}
	var q Pending
	if err := q.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if q != p {
		t.Fatalf("round trip: %+v, want %+v", q, p)
	}
	if q.State() != p.state || !q.Expiry().Equal(time.Unix(p.expires, 0)) {
		t.Error("accessors")
	}
}

func TestPendingRefused(t *testing.T) {
	good, err := testPending(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 'A')},
		{"version 0", mod(func(b []byte) []byte { b[0] = 0; return b })},
		{"version 2", mod(func(b []byte) []byte { b[0] = 2; return b })},
		{"zero expiry", mod(func(b []byte) []byte { clear(b[1:9]); return b })},
		{"negative expiry", mod(func(b []byte) []byte { b[1] = 0x80; return b })},
		{"expiry after year 9999", mod(func(b []byte) []byte { b[1] = 0x01; return b })},
		{"padding in state", mod(func(b []byte) []byte { b[41] = '='; return b })},
		{"slash in nonce", mod(func(b []byte) []byte { b[41+randLen] = '/'; return b })},
		{"NUL in verifier", mod(func(b []byte) []byte { b[len(b)-1] = 0; return b })},
		{"oversized", []byte(strings.Repeat("A", 1<<20))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPending(t)
			before := p
			if err := p.UnmarshalBinary(tc.b); !errors.Is(err, ErrPending) {
				t.Fatalf("UnmarshalBinary: %v, want ErrPending", err)
			}
			if p != before {
				t.Error("a refused input changed the Pending")
			}
		})
	}
	if _, err := (Pending{}).MarshalBinary(); !errors.Is(err, ErrPending) {
		t.Errorf("MarshalBinary of the zero Pending: %v", err)
	}
}

// FuzzPendingUnmarshalBinary checks that UnmarshalBinary never panics,
// leaves the Pending alone on error, and accepts only canonical input:
// what it accepts, MarshalBinary writes back byte for byte. Seeds are in
// testdata/fuzz/FuzzPendingUnmarshalBinary.
func FuzzPendingUnmarshalBinary(f *testing.F) {
	good, err := testPending(f).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Pending
		if err := p.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrPending) {
				t.Fatalf("error %v does not match ErrPending", err)
			}
			if p != (Pending{}) {
				t.Fatal("a refused input changed the Pending")
			}
			return
		}
		out, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of an accepted Pending: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, out)
		}
	})
}
