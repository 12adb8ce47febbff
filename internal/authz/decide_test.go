package authz

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)

// user returns a user of tenant t1 holding standing grants of roles, with
// a passkey authentication a minute ago.
func user(id string, roles ...string) Principal {
	p := Principal{Kind: KindUser, ID: id, Tenant: "t1",
		StrongAuth: Authentication{Method: MethodPasskey, At: t0.Add(-time.Minute)}}
	for _, r := range roles {
		p.Grants = append(p.Grants, Grant{Role: r, Tenant: "t1", GrantedBy: "admin"})
	}
	return p
}

// elevated returns g as an elevation of id approved by approver, from
// from until until.
func elevated(role, id, approver string, from, until time.Time) Grant {
	return Grant{Role: role, Tenant: "t1", GrantedBy: approver, NotBefore: from, NotAfter: until,
		Elevation: &Elevation{RequestedBy: id, ApprovedBy: approver, Reason: "rotation due"}}
}

func with(p Principal, gs ...Grant) Principal {
	p.Grants = append(p.Grants, gs...)
	return p
}

type decideCase struct {
	name   string
	p      Principal
	req    Request
	policy TenantPolicy
	now    time.Time // zero means t0
	want   Effect
	reason string // a substring of the reason, if set
	alert  bool
}

func runDecide(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.policy.Tenant == "" {
				c.policy.Tenant = "t1"
			}
			if c.req.Tenant == "" {
				c.req.Tenant = "t1"
			}
			now := c.now
			if now.IsZero() {
				now = t0
			}
			d := Decide(c.p, c.req, c.policy, now)
			if d.Effect != c.want || !strings.Contains(d.Reason, c.reason) || d.Alert != c.alert {
				t.Errorf("got %v %q alert=%v, want %v %q alert=%v", d.Effect, d.Reason, d.Alert, c.want, c.reason, c.alert)
			}
		})
	}
}

func TestSeparationOfDuties(t *testing.T) {
	auditConfig := Role{Name: "audit-config", Actions: []Action{ActionAuditConfigure}}
	auditBoth := Role{Name: "audit-all", Actions: []Action{ActionAuditRead, ActionAuditConfigure}}
	custom := TenantPolicy{Roles: []Role{auditConfig, auditBoth}, StandingPrivileged: true}
	relaxed := custom
	relaxed.Separation = Separation{SenderMayApprove: true, AuditReaderMayConfigure: true}
	approve := func(sender string) Request {
		return Request{Action: ActionEnvelopeApprove, Envelope: "e1", EnvelopeSender: sender}
	}
	grant := func(subject string, elevation bool) Request {
		return Request{Action: ActionRoleAdmin, Subject: subject, Elevation: elevation}
	}
	admin := with(user("u1"), elevated(RoleTenantAdmin, "u1", "u2", t0.Add(-time.Hour), t0.Add(time.Hour)))
	runDecide(t, []decideCase{
		{name: "approver approves another's envelope", p: user("u1", RoleApprover), req: approve("u2"), want: Allow},
		{name: "sender approves own envelope", p: user("u1", RoleSender, RoleApprover), req: approve("u1"), want: Deny, reason: "separation of duties"},
		{name: "sender approves own envelope, relaxed", p: user("u1", RoleSender, RoleApprover), req: approve("u1"), policy: relaxed, want: Allow},
		{name: "approval without a known sender", p: user("u1", RoleApprover), req: approve(""), want: Deny, reason: "sender is not known"},
		{name: "preliminary approval: the role is enough", p: user("u1", RoleApprover), req: Request{Action: ActionEnvelopeApprove, Preliminary: true}, want: Allow},
		{name: "preliminary approval without the role", p: user("u1", RoleSender), req: Request{Action: ActionEnvelopeApprove, Preliminary: true}, want: Deny},

		{name: "admin grants a role to another", p: admin, req: grant("u3", false), want: Allow},
		{name: "admin grants a role to themselves", p: admin, req: grant("u1", false), want: Deny, reason: "grants a role to themselves"},
		{name: "admin approves own elevation", p: admin, req: grant("u1", true), want: Deny, reason: "own elevation"},
		{name: "self-grant even with standing privileges", p: user("u1", RoleTenantAdmin), req: grant("u1", false),
			policy: TenantPolicy{StandingPrivileged: true, BreakGlass: []string{"u1"}}, want: Deny, reason: "themselves"},
		{name: "admin approves another's elevation", p: admin, req: grant("u3", true), want: Allow},
		{name: "elevation approval without a requester", p: admin, req: grant("", true), want: Deny, reason: "requester"},

		{name: "configurer without audit.read", p: user("u1", "audit-config"), req: Request{Action: ActionAuditConfigure}, policy: custom, want: Allow},
		{name: "auditor configures", p: user("u1", "audit-config", RoleAuditor), req: Request{Action: ActionAuditConfigure}, policy: custom, want: Deny, reason: "reads the audit log"},
		{name: "one role with both", p: user("u1", "audit-all"), req: Request{Action: ActionAuditConfigure}, policy: custom, want: Deny, reason: "reads the audit log"},
		{name: "auditor configures, relaxed", p: user("u1", "audit-config", RoleAuditor), req: Request{Action: ActionAuditConfigure}, policy: relaxed, want: Allow},
		{name: "an expired auditor grant does not block", p: with(user("u1", "audit-config"),
			Grant{Role: RoleAuditor, Tenant: "t1", NotAfter: t0}), req: Request{Action: ActionAuditConfigure}, policy: custom, want: Allow},
	})
}

func TestBreakGlass(t *testing.T) {
	bg := TenantPolicy{BreakGlass: []string{"u1"}}
	self := Request{Action: ActionRoleAdmin, Subject: "u1", Elevation: true}
	weak := user("u1")
	weak.StrongAuth = Authentication{Method: MethodPassword, At: t0}
	svc := Principal{Kind: KindServiceAccount, ID: "u1", Tenant: "t1", KeyActions: AllActions()}
	runDecide(t, []decideCase{
		{name: "disabled", p: user("u1"), req: self, want: Deny, reason: "own elevation"},
		{name: "enabled for another user", p: user("u1"), req: self, policy: TenantPolicy{BreakGlass: []string{"u2"}}, want: Deny},
		{name: "enabled: allowed with an alert", p: user("u1"), req: self, policy: bg, want: Allow, alert: true, reason: "break-glass"},
		{name: "enabled, without step-up", p: weak, req: self, policy: bg, want: StepUpRequired},
		{name: "not a direct grant", p: user("u1"), req: Request{Action: ActionRoleAdmin, Subject: "u1"}, policy: bg, want: Deny, reason: "themselves"},
		{name: "service account", p: svc, req: self, policy: bg, want: Deny},
		{name: "other tenant", p: user("u1"), req: Request{Action: ActionRoleAdmin, Subject: "u1", Elevation: true, Tenant: "t2"}, policy: bg, want: Deny, reason: "another tenant"},
	})
}

func TestGrantBounds(t *testing.T) {
	from, until := t0.Add(-time.Hour), t0.Add(time.Hour)
	// An approver elevation and a read, so that step-up plays no part at
	// the time bounds.
	read := Request{Action: ActionEnvelopeRead}
	keys := Request{Action: ActionKeyAdmin}
	custodian := func(g Grant) Principal { return with(user("u1"), g) }
	ok := elevated(RoleApprover, "u1", "u2", from, until)
	mod := func(f func(*Grant)) Grant {
		g := ok
		e := *g.Elevation
		g.Elevation = &e
		f(&g)
		return g
	}
	runDecide(t, []decideCase{
		{name: "elevation in force", p: custodian(ok), req: read, want: Allow},
		{name: "at NotBefore", p: custodian(ok), req: read, now: from, want: Allow},
		{name: "just before NotBefore", p: custodian(ok), req: read, now: from.Add(-time.Nanosecond), want: Deny},
		{name: "just before NotAfter", p: custodian(ok), req: read, now: until.Add(-time.Nanosecond), want: Allow},
		{name: "at NotAfter", p: custodian(ok), req: read, now: until, want: Deny, reason: "no active grant"},
		{name: "after NotAfter", p: custodian(ok), req: read, now: until.Add(time.Hour), want: Deny},
		{name: "at the cap", p: custodian(mod(func(g *Grant) { g.NotAfter = from.Add(4 * time.Hour) })), req: read, want: Allow},
		{name: "over the cap", p: custodian(mod(func(g *Grant) { g.NotAfter = from.Add(4*time.Hour + 1) })), req: read, want: Deny},
		{name: "over the tenant's cap", p: custodian(ok), req: read, policy: TenantPolicy{MaxElevation: time.Hour}, want: Deny},
		{name: "elevation without end", p: custodian(mod(func(g *Grant) { g.NotAfter = time.Time{} })), req: read, want: Deny},
		{name: "elevation without start", p: custodian(mod(func(g *Grant) { g.NotBefore = time.Time{} })), req: read, want: Deny},
		{name: "elevation without reason", p: custodian(mod(func(g *Grant) { g.Elevation.Reason = "" })), req: read, want: Deny},
		{name: "elevation without approver", p: custodian(mod(func(g *Grant) { g.Elevation.ApprovedBy = "" })), req: read, want: Deny},
		{name: "self-approved elevation", p: custodian(mod(func(g *Grant) { g.Elevation.ApprovedBy = "u1" })), req: read, want: Deny},
		{name: "break-glass elevation, enabled", p: custodian(mod(func(g *Grant) { g.Elevation.ApprovedBy = "u1"; g.Elevation.BreakGlass = true })),
			req: read, policy: TenantPolicy{BreakGlass: []string{"u1"}}, want: Allow},
		{name: "break-glass elevation, since disabled", p: custodian(mod(func(g *Grant) { g.Elevation.ApprovedBy = "u1"; g.Elevation.BreakGlass = true })),
			req: read, want: Deny},
		{name: "another's elevation", p: custodian(mod(func(g *Grant) { g.Elevation.RequestedBy = "u3" })), req: read, want: Deny},
		{name: "another tenant's grant", p: custodian(mod(func(g *Grant) { g.Tenant = "t2" })), req: read, want: Deny},
		{name: "unknown role", p: custodian(mod(func(g *Grant) { g.Role = "ghost" })), req: read, want: Deny},
		{name: "elevated custodian", p: custodian(mod(func(g *Grant) { g.Role = RoleKeyCustodian })), req: keys, want: Allow},
		{name: "standing privileged grant", p: user("u1", RoleKeyCustodian), req: keys, want: Deny},
		{name: "standing privileged grant, allowed", p: user("u1", RoleKeyCustodian), req: keys, policy: TenantPolicy{StandingPrivileged: true}, want: Allow},
		{name: "standing grant with an end", p: with(user("u1"), Grant{Role: RoleSender, Tenant: "t1", NotAfter: t0}),
			req: Request{Action: ActionEnvelopeSend}, want: Deny},
		{name: "standing grant before its end", p: with(user("u1"), Grant{Role: RoleSender, Tenant: "t1", NotAfter: t0.Add(1)}),
			req: Request{Action: ActionEnvelopeSend}, want: Allow},
	})
}

func TestStepUp(t *testing.T) {
	auth := func(m Method, at time.Time) Principal {
		p := user("u1", RoleAuditor)
		p.StrongAuth = Authentication{Method: m, At: at}
		return p
	}
	export := Request{Action: ActionAuditExport}
	w := DefaultStepUpWindow
	runDecide(t, []decideCase{
		{name: "passkey now", p: auth(MethodPasskey, t0), req: export, want: Allow},
		{name: "totp at the window's edge", p: auth(MethodTOTP, t0.Add(-w)), req: export, want: Allow},
		{name: "totp just outside the window", p: auth(MethodTOTP, t0.Add(-w-1)), req: export, want: StepUpRequired, reason: "strong authentication"},
		{name: "in the future", p: auth(MethodPasskey, t0.Add(time.Second)), req: export, want: StepUpRequired},
		{name: "none", p: auth("", time.Time{}), req: export, want: StepUpRequired},
		{name: "password", p: auth(MethodPassword, t0), req: export, want: StepUpRequired},
		{name: "email code", p: auth(MethodEmailCode, t0), req: export, want: StepUpRequired},
		{name: "tenant window", p: auth(MethodTOTP, t0.Add(-2*time.Minute)), req: export, policy: TenantPolicy{StepUpWindow: time.Minute}, want: StepUpRequired},
		{name: "not risky", p: auth(MethodPassword, t0), req: Request{Action: ActionAuditRead}, want: Allow},
		{name: "bulk export", p: auth(MethodPassword, t0), req: Request{Action: ActionDocumentExport, Bulk: true}, want: StepUpRequired},
		{name: "single export", p: auth(MethodPassword, t0), req: Request{Action: ActionDocumentExport}, want: Allow},
	})
	p := user("u1", RoleAuditor)
	p.StrongAuth = Authentication{}
	d := Decide(p, Request{Action: ActionAuditExport, Tenant: "t1"}, TenantPolicy{Tenant: "t1", StepUpWindow: 5 * time.Minute}, t0)
	if d.Effect != StepUpRequired || d.StepUp.Window != 5*time.Minute || len(d.StepUp.Methods) != 2 {
		t.Errorf("step-up decision %+v", d)
	}
	for _, m := range d.StepUp.Methods {
		if !m.Strong() {
			t.Errorf("step-up names weak method %s", m)
		}
	}
}

func TestTenantIsolationAndPrincipals(t *testing.T) {
	platform := Principal{Kind: KindUser, ID: "op", Platform: true}
	recipient := Principal{Kind: KindRecipient, ID: "r1", Tenant: "t1", Envelope: "e1"}
	strongRecipient := recipient
	strongRecipient.StrongAuth = Authentication{Method: MethodPasskey, At: t0}
	svc := Principal{Kind: KindServiceAccount, ID: "k1", Tenant: "t1",
		Grants: []Grant{{Role: RoleSender, Tenant: "t1"}}, KeyActions: []Action{ActionDocumentRead, ActionEnvelopeSend}}
	runDecide(t, []decideCase{
		{name: "platform creates tenants", p: platform, req: Request{Action: ActionTenantAdmin, Tenant: "any"}, want: Allow},
		{name: "platform reads a document", p: platform, req: Request{Action: ActionDocumentRead}, want: Deny, reason: "inside tenants"},
		{name: "platform grants roles", p: platform, req: Request{Action: ActionRoleAdmin, Subject: "u1"}, want: Deny},
		{name: "platform with a tenant", p: Principal{Kind: KindUser, ID: "op", Platform: true, Tenant: "t1"}, req: Request{Action: ActionTenantAdmin}, want: Deny},
		{name: "platform recipient", p: Principal{Kind: KindRecipient, ID: "op", Platform: true}, req: Request{Action: ActionTenantAdmin}, want: Deny},
		{name: "tenant user asks for tenant.admin", p: user("u1", RoleTenantAdmin), req: Request{Action: ActionTenantAdmin}, policy: TenantPolicy{StandingPrivileged: true}, want: Deny, reason: "platform"},
		{name: "user without tenant", p: Principal{Kind: KindUser, ID: "u1", Grants: []Grant{{Role: RoleSender}}}, req: Request{Action: ActionDocumentRead, Tenant: ""}, want: Deny},
		{name: "other tenant's resource", p: user("u1", RoleSender), req: Request{Action: ActionDocumentRead, Tenant: "t2"}, want: Deny, reason: "another tenant"},
		{name: "other tenant's policy", p: user("u1", RoleSender), req: Request{Action: ActionDocumentRead}, policy: TenantPolicy{Tenant: "t2"}, want: Deny, reason: "policy"},
		{name: "invalid policy", p: user("u1", RoleSender), req: Request{Action: ActionDocumentRead}, policy: TenantPolicy{StepUpWindow: -1}, want: Deny, reason: "invalid"},
		{name: "no id", p: Principal{Kind: KindUser, Tenant: "t1", Grants: []Grant{{Role: RoleSender, Tenant: "t1"}}}, req: Request{Action: ActionDocumentRead}, want: Deny},
		{name: "unknown kind", p: Principal{Kind: "robot", ID: "x", Tenant: "t1", Grants: []Grant{{Role: RoleSender, Tenant: "t1"}}}, req: Request{Action: ActionDocumentRead}, want: Deny, reason: "kind"},
		{name: "unknown action", p: user("u1", RoleSender), req: Request{Action: "document.delete"}, want: Deny, reason: "unknown action"},

		{name: "recipient reads its envelope", p: recipient, req: Request{Action: ActionEnvelopeRead, Envelope: "e1"}, want: Allow},
		{name: "recipient signs", p: recipient, req: Request{Action: ActionEnvelopeSign, Envelope: "e1"}, want: Allow},
		{name: "recipient signs high assurance", p: recipient, req: Request{Action: ActionEnvelopeSign, Envelope: "e1", HighAssurance: true}, want: StepUpRequired},
		{name: "recipient signs high assurance after passkey", p: strongRecipient, req: Request{Action: ActionEnvelopeSign, Envelope: "e1", HighAssurance: true}, want: Allow},
		{name: "recipient reads another envelope", p: recipient, req: Request{Action: ActionEnvelopeRead, Envelope: "e2"}, want: Deny, reason: "own envelope"},
		{name: "recipient without envelope", p: Principal{Kind: KindRecipient, ID: "r1", Tenant: "t1"}, req: Request{Action: ActionEnvelopeRead}, want: Deny},
		{name: "recipient sends", p: recipient, req: Request{Action: ActionEnvelopeSend, Envelope: "e1"}, want: Deny},
		{name: "recipient other tenant", p: recipient, req: Request{Action: ActionEnvelopeRead, Envelope: "e1", Tenant: "t2"}, want: Deny},
		{name: "user signs as recipient", p: user("u1", RoleSender), req: Request{Action: ActionEnvelopeSign, Envelope: "e1"}, want: Deny, reason: "recipients"},

		{name: "service account within its key", p: svc, req: Request{Action: ActionEnvelopeSend}, want: Allow},
		{name: "service account outside its key", p: svc, req: Request{Action: ActionDocumentUpload}, want: Deny},
		{name: "service account key beyond its grants", p: svc, req: Request{Action: ActionKeyAdmin}, want: Deny, reason: "no active grant"},
		{name: "service account cannot step up", p: Principal{Kind: KindServiceAccount, ID: "k1", Tenant: "t1",
			Grants: []Grant{{Role: RoleAuditor, Tenant: "t1"}}, KeyActions: AllActions(),
			StrongAuth: Authentication{Method: MethodPasskey, At: t0}}, req: Request{Action: ActionAuditExport}, want: Deny, reason: "service accounts"},
		{name: "service account elevation ignored", p: Principal{Kind: KindServiceAccount, ID: "k1", Tenant: "t1",
			Grants: []Grant{elevated(RoleSender, "k1", "u2", t0.Add(-time.Minute), t0.Add(time.Minute))}, KeyActions: AllActions()},
			req: Request{Action: ActionDocumentRead}, want: Deny},
	})
}

func TestSelfService(t *testing.T) {
	bare := Principal{Kind: KindUser, ID: "u1", Tenant: "t1"}
	svc := Principal{Kind: KindServiceAccount, ID: "k1", Tenant: "t1", Grants: []Grant{{Role: RoleSender, Tenant: "t1"}}, KeyActions: AllActions()}
	var cases []decideCase
	for _, a := range SelfService() {
		cases = append(cases,
			decideCase{name: string(a) + " without a role", p: bare, req: Request{Action: a}, want: Allow},
			decideCase{name: string(a) + " on own account", p: user("u1", RoleSender), req: Request{Action: a, Subject: "u1"}, want: Allow},
			decideCase{name: string(a) + " on another's account", p: user("u1", RoleTenantAdmin), req: Request{Action: a, Subject: "u2"}, policy: TenantPolicy{StandingPrivileged: true}, want: Deny, reason: "own account"},
			decideCase{name: string(a) + " by a service account", p: svc, req: Request{Action: a}, want: Deny, reason: "only by users"},
			decideCase{name: string(a) + " by a recipient", p: Principal{Kind: KindRecipient, ID: "r1", Tenant: "t1", Envelope: "e1"}, req: Request{Action: a, Envelope: "e1"}, want: Deny},
			decideCase{name: string(a) + " in another tenant", p: bare, req: Request{Action: a, Tenant: "t2"}, want: Deny, reason: "another tenant"},
		)
	}
	runDecide(t, cases)
	for _, a := range SelfService() {
		if err := ValidateRole(Role{Name: "selfish", Actions: []Action{a}}); err == nil {
			t.Errorf("a role holding %s validated", a)
		}
	}
}

func TestDecisionZeroValueDenies(t *testing.T) {
	var d Decision
	if d.Allowed() || d.Effect.String() != "deny" {
		t.Errorf("zero decision: %v", d.Effect)
	}
	if Allow.String() != "allow" || StepUpRequired.String() != "step-up-required" {
		t.Error("effect names")
	}
}
