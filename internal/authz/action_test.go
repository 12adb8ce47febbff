package authz

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/authz/authztest"
)

func TestParseAction(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"document.upload", true},
		{"envelope.approve", true},
		{"key.admin", true},
		{"tenant.admin", true},
		{"", false},
		{"Document.Upload", false},
		{" document.upload", false},
		{"document.upload ", false},
		{"document.*", false},
		{"*", false},
		{"admin", false},
		{"documents:read", false},
		{"key.rotate", false},
	} {
		a, err := ParseAction(c.in)
		if (err == nil) != c.ok || (c.ok && string(a) != c.in) {
			t.Errorf("ParseAction(%q) = %q, %v", c.in, a, err)
		}
	}
	if _, err := ParseAction(strings.Repeat("a", 10000)); err == nil || len(err.Error()) > 200 {
		t.Errorf("long input: %v", err)
	}
}

// TestAllActions checks the action list: every literal of the matrix's
// table and no other, each once, each "resource.verb".
func TestAllActions(t *testing.T) {
	all := AllActions()
	if len(all) != len(authztest.Roles) {
		t.Errorf("%d actions, the table has %d", len(all), len(authztest.Roles))
	}
	shape := regexp.MustCompile(`^[a-z]+\.[a-z]+$`)
	for i, a := range all {
		if _, ok := authztest.Roles[string(a)]; !ok {
			t.Errorf("%s is not in the matrix's table", a)
		}
		if slices.Contains(all[:i], a) || !shape.MatchString(string(a)) {
			t.Errorf("action %q repeated or malformed", a)
		}
	}
	all[0] = "mutated"
	if AllActions()[0] == "mutated" {
		t.Error("AllActions returns shared storage")
	}
}

// FuzzParseAction checks that ParseAction accepts exactly the listed
// actions and returns them unchanged.
func FuzzParseAction(f *testing.F) {
	for _, a := range AllActions() {
		f.Add(string(a))
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAction(s)
		listed := slices.Contains(AllActions(), Action(s))
		if err != nil {
			if listed {
				t.Fatalf("refused listed action %q", s)
			}
			if a != "" || len(err.Error()) > 200 {
				t.Fatalf("refusal %q, %q", a, err)
			}
			return
		}
		if !listed || string(a) != s || !a.Valid() {
			t.Fatalf("accepted %q as %q", s, a)
		}
	})
}

var roleName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,38}[a-z0-9]$`)

func TestValidateRole(t *testing.T) {
	for _, c := range []struct {
		name string
		role Role
		ok   bool
	}{
		{"valid", Role{"billing-ops", []Action{ActionDocumentRead, ActionEnvelopeRead}}, true},
		{"digits", Role{"team2", []Action{ActionWebhookAdmin}}, true},
		{"longest name", Role{strings.Repeat("a", MaxRoleName), []Action{ActionDocumentRead}}, true},
		{"every role action", Role{"everything", slices.DeleteFunc(AllActions(), func(a Action) bool {
			return a == ActionEnvelopeSign || a == ActionTenantAdmin || slices.Contains(SelfService(), a)
		})}, true},
		{"name too long", Role{strings.Repeat("a", MaxRoleName+1), []Action{ActionDocumentRead}}, false},
		{"name too short", Role{"a", []Action{ActionDocumentRead}}, false},
		{"empty name", Role{"", []Action{ActionDocumentRead}}, false},
		{"upper case", Role{"Billing", []Action{ActionDocumentRead}}, false},
		{"leading digit", Role{"2team", []Action{ActionDocumentRead}}, false},
		{"leading hyphen", Role{"-team", []Action{ActionDocumentRead}}, false},
		{"trailing hyphen", Role{"team-", []Action{ActionDocumentRead}}, false},
		{"space", Role{"my role", []Action{ActionDocumentRead}}, false},
		{"unicode", Role{"rôle", []Action{ActionDocumentRead}}, false},
		{"built-in name", Role{"sender", []Action{ActionDocumentRead}}, false},
		{"built-in tenant-admin", Role{"tenant-admin", []Action{ActionKeyAdmin}}, false},
		{"no action", Role{"empty", nil}, false},
		{"unknown action", Role{"odd", []Action{"document.delete"}}, false},
		{"wildcard", Role{"odd", []Action{"*"}}, false},
		{"duplicate", Role{"dup", []Action{ActionDocumentRead, ActionDocumentRead}}, false},
		{"recipient action", Role{"signer", []Action{ActionEnvelopeSign}}, false},
		{"platform action", Role{"ops", []Action{ActionTenantAdmin}}, false},
		{"self-service action", Role{"self", []Action{ActionAccountSelf}}, false},
	} {
		err := ValidateRole(c.role)
		if (err == nil) != c.ok {
			t.Errorf("%s: ValidateRole = %v", c.name, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidRole) {
			t.Errorf("%s: %v does not match ErrInvalidRole", c.name, err)
		}
	}
}

// TestBuiltinRoles checks the built-in roles' invariants: valid but for
// their reserved names, and no superuser.
func TestBuiltinRoles(t *testing.T) {
	for _, r := range BuiltinRoles() {
		renamed := r
		renamed.Name = "x-" + r.Name
		if err := ValidateRole(renamed); err != nil {
			t.Errorf("built-in %s: %v", r.Name, err)
		}
		if len(r.Actions) >= len(AllActions())-2 {
			t.Errorf("%s holds nearly every action", r.Name)
		}
		if r.Has(ActionAuditConfigure) {
			t.Errorf("%s holds audit.configure", r.Name)
		}
	}
	admin, _ := TenantPolicy{}.Role(RoleTenantAdmin)
	for _, a := range admin.Actions {
		if strings.HasPrefix(string(a), "key.") || strings.HasPrefix(string(a), "audit.") {
			t.Errorf("tenant-admin holds %s", a)
		}
	}
	r := BuiltinRoles()
	r[0].Actions[0] = ActionKeyAdmin
	if BuiltinRoles()[0].Actions[0] == ActionKeyAdmin {
		t.Error("BuiltinRoles returns shared storage")
	}
}

func TestPolicyValidate(t *testing.T) {
	role := Role{"webhooks", []Action{ActionWebhookAdmin}}
	for _, c := range []struct {
		name string
		p    TenantPolicy
		ok   bool
	}{
		{"zero with tenant", TenantPolicy{Tenant: "t1"}, true},
		{"full", TenantPolicy{Tenant: "t1", Roles: []Role{role}, StepUpWindow: MaxStepUpWindow, MaxElevation: ElevationCap,
			BreakGlass: []string{"u1"}}, true},
		{"no tenant", TenantPolicy{}, false},
		{"negative window", TenantPolicy{Tenant: "t1", StepUpWindow: -1}, false},
		{"long window", TenantPolicy{Tenant: "t1", StepUpWindow: MaxStepUpWindow + 1}, false},
		{"cap above the limit", TenantPolicy{Tenant: "t1", MaxElevation: ElevationCap + 1}, false},
		{"negative cap", TenantPolicy{Tenant: "t1", MaxElevation: -1}, false},
		{"invalid role", TenantPolicy{Tenant: "t1", Roles: []Role{{"x", nil}}}, false},
		{"role twice", TenantPolicy{Tenant: "t1", Roles: []Role{role, role}}, false},
		{"empty break-glass id", TenantPolicy{Tenant: "t1", BreakGlass: []string{""}}, false},
		{"too many break-glass users", TenantPolicy{Tenant: "t1", BreakGlass: slices.Repeat([]string{"u"}, MaxBreakGlassUsers+1)}, false},
		{"too many roles", TenantPolicy{Tenant: "t1", Roles: slices.Repeat([]Role{role}, MaxCustomRoles+1)}, false},
	} {
		err := c.p.Validate()
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalidPolicy)) {
			t.Errorf("%s: Validate = %v", c.name, err)
		}
	}
}

// FuzzValidateRole checks that a role ValidateRole accepts obeys the
// rules stated in its doc, and that such a role, granted, never yields a
// platform or recipient action.
func FuzzValidateRole(f *testing.F) {
	f.Add("billing-ops", "document.read,envelope.read")
	f.Add("sender", "document.read")
	f.Add("ops", "tenant.admin")
	f.Fuzz(func(t *testing.T, name, actions string) {
		var as []Action
		if actions != "" {
			for _, a := range strings.Split(actions, ",") {
				as = append(as, Action(a))
			}
		}
		r := Role{Name: name, Actions: as}
		err := ValidateRole(r)
		if err != nil {
			if !errors.Is(err, ErrInvalidRole) {
				t.Fatalf("error %v does not match ErrInvalidRole", err)
			}
			return
		}
		if !roleName.MatchString(name) {
			t.Fatalf("accepted name %q", name)
		}
		if _, ok := builtin(name); ok {
			t.Fatalf("accepted built-in name %q", name)
		}
		if len(as) == 0 {
			t.Fatal("accepted a role without actions")
		}
		for i, a := range as {
			if _, err := ParseAction(string(a)); err != nil || slices.Contains(as[:i], a) ||
				a == ActionTenantAdmin || a == ActionEnvelopeSign {
				t.Fatalf("accepted action %q in %q", a, actions)
			}
		}
		policy := TenantPolicy{Tenant: "t1", Roles: []Role{r}, StandingPrivileged: true}
		if err := policy.Validate(); err != nil {
			t.Fatalf("policy with a valid role: %v", err)
		}
		p := Principal{Kind: KindUser, ID: "u1", Tenant: "t1", Grants: []Grant{{Role: name, Tenant: "t1"}},
			StrongAuth: Authentication{Method: MethodPasskey, At: t0}}
		for _, a := range AllActions() {
			d := Decide(p, Request{Action: a, Tenant: "t1", Envelope: "e1", EnvelopeSender: "u2", Subject: "u2"}, policy, t0)
			if d.Allowed() != slices.Contains(as, a) && !(a == ActionAuditConfigure && slices.Contains(as, ActionAuditRead)) {
				t.Fatalf("role %v: %s decided %v (%s)", as, a, d.Effect, d.Reason)
			}
		}
	})
}
