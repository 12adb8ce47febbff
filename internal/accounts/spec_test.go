package accounts_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/api"
)

// TestCheckKeySpec: what a new key may be bound to, and how it is
// normalized.
func TestCheckKeySpec(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	soon, past, far := now.Add(time.Hour), now.Add(-time.Second), now.Add(accounts.MaxKeyLifetime+time.Second)
	year := now.Add(accounts.MaxKeyLifetime)
	many := func(n int, f func(int) string) []string {
		var out []string
		for i := range n {
			out = append(out, f(i))
		}
		return out
	}
	ok := []struct {
		name string
		in   accounts.KeySpec
		want accounts.KeySpec
	}{
		{"default actions of built-in roles", accounts.KeySpec{Name: " ci ", Roles: []string{"sender", "approver", "sender"}},
			accounts.KeySpec{Name: "ci", Roles: []string{"approver", "sender"}, Actions: []string{
				"document.upload", "document.read", "document.export", "envelope.prepare", "envelope.read",
				"envelope.send", "envelope.approve", "envelope.void"}}},
		{"custom role with actions, in authz order", accounts.KeySpec{Name: "x", Roles: []string{"ops-bot"}, Actions: []string{"envelope.read", "document.read", "envelope.read"}},
			accounts.KeySpec{Name: "x", Roles: []string{"ops-bot"}, Actions: []string{"document.read", "envelope.read"}}},
		{"actions without roles", accounts.KeySpec{Name: "x", Actions: []string{"audit.read"}},
			accounts.KeySpec{Name: "x", Actions: []string{"audit.read"}}},
		{"addresses normalized", accounts.KeySpec{Name: "x", Roles: []string{"sender"}, Actions: []string{"document.read"},
			AllowedIPs: []string{"192.0.2.7/24", "2001:db8::1", "::ffff:198.51.100.0/120", "192.0.2.0/24", "10.0.0.1"}},
			accounts.KeySpec{Name: "x", Roles: []string{"sender"}, Actions: []string{"document.read"},
				AllowedIPs: []string{"192.0.2.0/24", "2001:db8::1/128", "198.51.100.0/24", "10.0.0.1/32"}}},
		{"expiry a year away", accounts.KeySpec{Name: "x", Actions: []string{"document.read"}, ExpiresAt: &year},
			accounts.KeySpec{Name: "x", Actions: []string{"document.read"}, ExpiresAt: &year}},
		{"sixteen roles, thirty-two addresses", accounts.KeySpec{Name: "x", Actions: []string{"document.read"},
			Roles: many(16, func(i int) string { return fmt.Sprintf("role-%c", 'a'+i) }), AllowedIPs: many(32, func(i int) string { return fmt.Sprintf("10.0.%d.0/24", i) })},
			accounts.KeySpec{Name: "x", Actions: []string{"document.read"},
				Roles: many(16, func(i int) string { return fmt.Sprintf("role-%c", 'a'+i) }), AllowedIPs: many(32, func(i int) string { return fmt.Sprintf("10.0.%d.0/24", i) })}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Tenant, tc.want.Tenant = "t-1", "t-1"
			got, err := accounts.CheckKeySpec(tc.in, now)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tc.want.Name || !slices.Equal(got.Roles, tc.want.Roles) || !slices.Equal(got.Actions, tc.want.Actions) ||
				!slices.Equal(got.AllowedIPs, tc.want.AllowedIPs) || (got.ExpiresAt == nil) != (tc.want.ExpiresAt == nil) {
				t.Fatalf("spec %+v, want %+v", got, tc.want)
			}
		})
	}
	refused := []struct {
		name string
		in   accounts.KeySpec
		typ  string
	}{
		{"no name", accounts.KeySpec{Name: "  ", Roles: []string{"sender"}}, "invalid-field"},
		{"long name", accounts.KeySpec{Name: string(make([]byte, 201)), Roles: []string{"sender"}}, "invalid-field"},
		{"no action", accounts.KeySpec{Name: "x"}, "invalid-action"},
		{"custom role alone", accounts.KeySpec{Name: "x", Roles: []string{"ops-bot"}}, "invalid-action"},
		{"bad role name", accounts.KeySpec{Name: "x", Roles: []string{"Sender"}}, "invalid-role"},
		{"role name ending in a hyphen", accounts.KeySpec{Name: "x", Roles: []string{"ops-"}}, "invalid-role"},
		{"seventeen roles", accounts.KeySpec{Name: "x", Actions: []string{"document.read"}, Roles: many(17, func(i int) string { return fmt.Sprintf("role-%c", 'a'+i) })}, "invalid-role"},
		{"unknown action", accounts.KeySpec{Name: "x", Actions: []string{"document.delete"}}, "invalid-action"},
		{"recipient action", accounts.KeySpec{Name: "x", Actions: []string{"envelope.sign"}}, "invalid-action"},
		{"platform action", accounts.KeySpec{Name: "x", Actions: []string{"tenant.admin"}}, "invalid-action"},
		{"self-service action", accounts.KeySpec{Name: "x", Actions: []string{"account.self"}}, "invalid-action"},
		{"elevation request", accounts.KeySpec{Name: "x", Actions: []string{"elevation.request"}}, "invalid-action"},
		{"not a prefix", accounts.KeySpec{Name: "x", Roles: []string{"sender"}, AllowedIPs: []string{"192.0.2.0/33"}}, "invalid-field"},
		{"a host name", accounts.KeySpec{Name: "x", Roles: []string{"sender"}, AllowedIPs: []string{"example.com"}}, "invalid-field"},
		{"a zone", accounts.KeySpec{Name: "x", Roles: []string{"sender"}, AllowedIPs: []string{"fe80::1%eth0"}}, "invalid-field"},
		{"thirty-three addresses", accounts.KeySpec{Name: "x", Roles: []string{"sender"}, AllowedIPs: many(33, func(i int) string { return fmt.Sprintf("10.0.%d.0/24", i) })}, "invalid-field"},
		{"expiry past", accounts.KeySpec{Name: "x", Roles: []string{"sender"}, ExpiresAt: &past}, "invalid-field"},
		{"expiry beyond a year", accounts.KeySpec{Name: "x", Roles: []string{"sender"}, ExpiresAt: &far}, "invalid-field"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Tenant = "t-1"
			_, err := accounts.CheckKeySpec(tc.in, now)
			if !errors.Is(err, &api.Error{Kind: api.KindInvalid, Type: tc.typ}) {
				t.Fatalf("error %v, want %s", err, tc.typ)
			}
		})
	}
	if _, err := accounts.CheckKeySpec(accounts.KeySpec{Name: "x", Roles: []string{"sender"}, ExpiresAt: &soon}, now); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("a key without a tenant: %v", err)
	}
}
