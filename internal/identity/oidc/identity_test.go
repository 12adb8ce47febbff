package oidc

import (
	"slices"
	"testing"
)

func TestAssurance(t *testing.T) {
	for _, tc := range []struct {
		amr     []string
		acr     string
		trusted bool
		strong  bool
	}{
		{amr: nil},
		{amr: []string{"pwd"}},
		{amr: []string{"otp"}},
		{amr: []string{"swk"}},
		{amr: []string{"sms"}},
		{amr: []string{"fpt"}},
		{amr: []string{"face", "fpt"}},
		{amr: []string{"pwd", "kba"}},
		{amr: []string{"pwd", "pin"}},
		{amr: []string{"user", "geo", "rba", "mca", "wia"}},
		{amr: []string{"pwd", "unknown"}},
		{amr: []string{"MFA"}},
		{amr: []string{"pwd"}, acr: "urn:example:mfa"},
		{amr: []string{"mfa"}, strong: true},
		{amr: []string{"hwk"}, strong: true},
		{amr: []string{"hwk", "user"}, strong: true},
		{amr: []string{"pwd", "otp"}, strong: true},
		{amr: []string{"pwd", "sms"}, strong: true},
		{amr: []string{"pwd", "tel"}, strong: true},
		{amr: []string{"swk", "pin"}, strong: true},
		{amr: []string{"swk", "fpt"}, strong: true},
		{amr: []string{"sc", "pin"}, strong: true},
		{amr: []string{"otp", "face"}, strong: true},
		{amr: []string{"kba", "otp"}, strong: true},
		{amr: nil, acr: "urn:example:mfa", trusted: true, strong: true},
		{amr: []string{"pwd"}, acr: "phr", trusted: true, strong: true},
	} {
		id := Identity{AMR: tc.amr, ACR: tc.acr, TrustedACR: tc.trusted}
		method, strong := Assurance(id)
		wantMethod := MethodOIDC
		if tc.strong {
			wantMethod = MethodOIDCMFA
		}
		if strong != tc.strong || method != wantMethod {
			t.Errorf("Assurance(amr %v, acr %q, trusted %v) = %q, %v; want %q, %v",
				tc.amr, tc.acr, tc.trusted, method, strong, wantMethod, tc.strong)
		}
	}
}

func TestRoles(t *testing.T) {
	c := &Client{p: Provider{Issuer: "https://idp.example.com", RoleMap: map[string][]string{
		"signers":  {"sender"},
		"auditors": {"auditor", "approver"},
		"leads":    {"approver", "sender"},
	}}}
	for _, tc := range []struct {
		name string
		id   Identity
		want []string
	}{
		{"no groups", Identity{Issuer: "https://idp.example.com"}, nil},
		{"unknown groups", Identity{Issuer: "https://idp.example.com", Groups: []string{"x", "Signers"}}, nil},
		{"one group", Identity{Issuer: "https://idp.example.com", Groups: []string{"signers"}}, []string{"sender"}},
		{
			"overlapping groups sorted and deduplicated",
			Identity{Issuer: "https://idp.example.com", Groups: []string{"leads", "x", "auditors", "signers", "leads"}},
			[]string{"approver", "auditor", "sender"},
		},
		{"another issuer", Identity{Issuer: "https://other.example.com", Groups: []string{"signers"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.Roles(tc.id); !slices.Equal(got, tc.want) {
				t.Errorf("Roles = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStringList(t *testing.T) {
	many := make([]any, maxGroups+1)
	for i := range many {
		many[i] = "g"
	}
	for _, tc := range []struct {
		name string
		v    any
		want []string
		ok   bool
	}{
		{"absent", nil, nil, true},
		{"empty", []any{}, []string{}, true},
		{"strings", []any{"a", "b"}, []string{"a", "b"}, true},
		{"a string, not an array", "a", nil, false},
		{"a number inside", []any{"a", 1.0}, nil, false},
		{"an empty string", []any{""}, nil, false},
		{"a long string", []any{string(make([]byte, maxGroupLen+1))}, nil, false},
		{"too many", many, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := stringList(tc.v, maxGroups, maxGroupLen)
			if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
				t.Errorf("stringList = %v, %v", got, err)
			}
		})
	}
}
