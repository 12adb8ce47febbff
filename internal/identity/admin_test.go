package identity

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzUnmarshalPolicy: a stored policy is read strictly; one that reads
// is valid and writes back to bytes that read to the same policy, and
// writing is canonical (the same policy, the same bytes).
func FuzzUnmarshalPolicy(f *testing.F) {
	for _, s := range []string{
		`{"tenant":"t-1","roles":[],"step_up_window_ns":0,"max_elevation_ns":0,"standing_privileged":false,` +
			`"separation":{"sender_may_approve":false,"audit_reader_may_configure":false},"mfa_optional":false,"break_glass":[]}`,
		`{"tenant":"t-1","roles":[{"name":"clerk","actions":["envelope.send"]}],"step_up_window_ns":300000000000,` +
			`"max_elevation_ns":3600000000000,"standing_privileged":true,"separation":{"sender_may_approve":true,` +
			`"audit_reader_may_configure":true},"mfa_optional":true,"break_glass":["u-1"]}`,
		`{"tenant":"t-1","roles":[{"name":"sender","actions":["audit.read"]}]}`,
		`{"tenant":"","superuser":true}`,
		`{"tenant":"t-1"} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := UnmarshalPolicy(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("read an invalid policy: %v", err)
		}
		doc, err := MarshalPolicy(p)
		if err != nil {
			t.Fatalf("a policy read does not write: %v", err)
		}
		q, err := UnmarshalPolicy(doc)
		if err != nil || !reflect.DeepEqual(q, p) {
			t.Fatalf("read back %+v, %v; want %+v", q, err, p)
		}
		if again, _ := MarshalPolicy(q); string(again) != string(doc) {
			t.Fatalf("two encodings of one policy:\n%s\n%s", doc, again)
		}
	})
}
