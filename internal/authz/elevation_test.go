package authz

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func elevationRequest() ElevationRequest {
	return ElevationRequest{Tenant: "t1", Role: RoleKeyCustodian, RequestedBy: "u1",
		Reason: "rotate the seal key", Duration: 2 * time.Hour, RequestedAt: t0.Add(-time.Minute)}
}

func TestElevationRequestValidate(t *testing.T) {
	custom := TenantPolicy{Tenant: "t1", Roles: []Role{{Name: "webhooks", Actions: []Action{ActionWebhookAdmin}}}}
	for _, c := range []struct {
		name   string
		mod    func(*ElevationRequest)
		policy TenantPolicy
		ok     bool
	}{
		{name: "valid", mod: func(*ElevationRequest) {}, ok: true},
		{name: "custom role", mod: func(r *ElevationRequest) { r.Role = "webhooks" }, policy: custom, ok: true},
		{name: "at the cap", mod: func(r *ElevationRequest) { r.Duration = ElevationCap }, ok: true},
		{name: "over the cap", mod: func(r *ElevationRequest) { r.Duration = ElevationCap + 1 }},
		{name: "over the tenant's cap", mod: func(r *ElevationRequest) {}, policy: TenantPolicy{Tenant: "t1", MaxElevation: time.Hour}},
		{name: "zero duration", mod: func(r *ElevationRequest) { r.Duration = 0 }},
		{name: "negative duration", mod: func(r *ElevationRequest) { r.Duration = -time.Hour }},
		{name: "no reason", mod: func(r *ElevationRequest) { r.Reason = "" }},
		{name: "blank reason", mod: func(r *ElevationRequest) { r.Reason = " \t\n" }},
		{name: "long reason", mod: func(r *ElevationRequest) { r.Reason = strings.Repeat("x", MaxReason+1) }},
		{name: "reason at the limit", mod: func(r *ElevationRequest) { r.Reason = strings.Repeat("x", MaxReason) }, ok: true},
		{name: "reason not UTF-8", mod: func(r *ElevationRequest) { r.Reason = "\xff" }},
		{name: "unknown role", mod: func(r *ElevationRequest) { r.Role = "root" }},
		{name: "no requester", mod: func(r *ElevationRequest) { r.RequestedBy = "" }},
		{name: "other tenant", mod: func(r *ElevationRequest) { r.Tenant = "t2" }},
		{name: "no request time", mod: func(r *ElevationRequest) { r.RequestedAt = time.Time{} }},
		{name: "request in the future", mod: func(r *ElevationRequest) { r.RequestedAt = t0.Add(time.Second) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := elevationRequest()
			c.mod(&r)
			if c.policy.Tenant == "" {
				c.policy.Tenant = "t1"
			}
			err := r.Validate(c.policy, t0)
			if (err == nil) != c.ok {
				t.Fatalf("Validate: %v, want ok=%v", err, c.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidElevation) {
				t.Errorf("error %v does not match ErrInvalidElevation", err)
			}
		})
	}
	if err := elevationRequest().Validate(TenantPolicy{Tenant: "t1", StepUpWindow: -1}, t0); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("invalid policy: %v", err)
	}
}

func TestElevationRequestExpired(t *testing.T) {
	r := elevationRequest()
	end := r.RequestedAt.Add(PendingElevationTTL)
	if r.Expired(end.Add(-time.Nanosecond)) {
		t.Error("expired before its time")
	}
	if !r.Expired(end) {
		t.Error("not expired at its time")
	}
}

// TestElevationWorkflow follows one elevation from request to expiry: a
// second person approves, the grant works, and stops working at its end
// without anything else happening.
func TestElevationWorkflow(t *testing.T) {
	policy := TenantPolicy{Tenant: "t1"}
	approver := with(user("u2"), elevated(RoleTenantAdmin, "u2", "u3", t0.Add(-time.Hour), t0.Add(time.Hour)))
	r := elevationRequest()
	g, d, err := ApproveElevation(r, approver, policy, t0)
	if err != nil || !d.Allowed() || d.Alert {
		t.Fatalf("ApproveElevation: %v %+v", err, d)
	}
	want := Grant{Role: RoleKeyCustodian, Tenant: "t1", GrantedBy: "u2", NotBefore: t0, NotAfter: t0.Add(2 * time.Hour),
		Elevation: &Elevation{RequestedBy: "u1", ApprovedBy: "u2", Reason: "rotate the seal key"}}
	if g.Role != want.Role || g.Tenant != want.Tenant || g.GrantedBy != want.GrantedBy || !g.NotBefore.Equal(want.NotBefore) ||
		!g.NotAfter.Equal(want.NotAfter) || g.Elevation == nil || *g.Elevation != *want.Elevation {
		t.Fatalf("grant %+v %+v, want %+v %+v", g, g.Elevation, want, want.Elevation)
	}
	requester := with(user("u1"), g)
	keys := Request{Action: ActionKeyAdmin, Tenant: "t1"}
	for _, c := range []struct {
		at   time.Time
		want Effect
	}{
		{t0.Add(-time.Nanosecond), Deny}, // not yet approved
		{t0, Allow},
		{t0.Add(2*time.Hour - time.Nanosecond), Allow},
		{t0.Add(2 * time.Hour), Deny}, // expired by itself
	} {
		p := requester
		p.StrongAuth = Authentication{Method: MethodTOTP, At: c.at}
		if got := Decide(p, keys, policy, c.at).Effect; got != c.want {
			t.Errorf("key.admin at %v: %v, want %v", c.at.Sub(t0), got, c.want)
		}
	}
}

func TestApproveElevationRefusals(t *testing.T) {
	policy := TenantPolicy{Tenant: "t1"}
	admin := func(id string) Principal {
		return with(user(id), elevated(RoleTenantAdmin, id, "u9", t0.Add(-time.Hour), t0.Add(time.Hour)))
	}
	weakAdmin := admin("u2")
	weakAdmin.StrongAuth = Authentication{Method: MethodPassword, At: t0}
	otherTenant := admin("u2")
	otherTenant.Tenant = "t2"
	custodian := with(user("u2"), elevated(RoleKeyCustodian, "u2", "u9", t0.Add(-time.Hour), t0.Add(time.Hour)))
	for _, c := range []struct {
		name     string
		approver Principal
		mod      func(*ElevationRequest)
		want     error
		effect   Effect
	}{
		{name: "self-approval", approver: admin("u1"), want: ErrApprovalDenied},
		{name: "key custodian self-approval", approver: with(admin("u1"), elevated(RoleKeyCustodian, "u1", "u9", t0.Add(-time.Hour), t0.Add(time.Hour))), want: ErrApprovalDenied},
		{name: "approver without role.admin", approver: custodian, want: ErrApprovalDenied},
		{name: "approver without step-up", approver: weakAdmin, want: ErrApprovalDenied, effect: StepUpRequired},
		{name: "approver of another tenant", approver: otherTenant, want: ErrApprovalDenied},
		{name: "over the cap", approver: admin("u2"), mod: func(r *ElevationRequest) { r.Duration = 5 * time.Hour }, want: ErrInvalidElevation},
		{name: "no reason", approver: admin("u2"), mod: func(r *ElevationRequest) { r.Reason = "" }, want: ErrInvalidElevation},
		{name: "stale request", approver: admin("u2"), mod: func(r *ElevationRequest) { r.RequestedAt = t0.Add(-PendingElevationTTL) }, want: ErrElevationExpired},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := elevationRequest()
			if c.mod != nil {
				c.mod(&r)
			}
			g, d, err := ApproveElevation(r, c.approver, policy, t0)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if d.Effect != c.effect || g.Role != "" {
				t.Errorf("decision %v, grant %+v", d.Effect, g)
			}
		})
	}
}

func TestApproveElevationBreakGlass(t *testing.T) {
	policy := TenantPolicy{Tenant: "t1", BreakGlass: []string{"u1"}}
	g, d, err := ApproveElevation(elevationRequest(), user("u1"), policy, t0)
	if err != nil || !d.Allowed() || !d.Alert {
		t.Fatalf("break-glass: %v %+v", err, d)
	}
	if g.Elevation == nil || !g.Elevation.BreakGlass || g.Elevation.ApprovedBy != "u1" {
		t.Fatalf("grant %+v", g.Elevation)
	}
	p := with(user("u1"), g)
	if d := Decide(p, Request{Action: ActionKeyAdmin, Tenant: "t1"}, policy, t0); !d.Allowed() {
		t.Errorf("break-glass grant: %v %s", d.Effect, d.Reason)
	}
	// Once the tenant removes the user from break-glass, the grant stops.
	if d := Decide(p, Request{Action: ActionKeyAdmin, Tenant: "t1"}, TenantPolicy{Tenant: "t1"}, t0); d.Allowed() {
		t.Error("break-glass grant counts after break-glass was disabled")
	}
	// Without a fresh strong authentication, step-up.
	weak := user("u1")
	weak.StrongAuth = Authentication{}
	if _, d, err := ApproveElevation(elevationRequest(), weak, policy, t0); d.Effect != StepUpRequired || !errors.Is(err, ErrApprovalDenied) {
		t.Errorf("weak break-glass: %v %v", d.Effect, err)
	}
}
