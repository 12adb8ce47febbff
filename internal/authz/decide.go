package authz

import (
	"slices"
	"time"
)

// A Request is what a principal asks to do, with the facts the rules
// need. The caller takes these facts from the stored resource, never from
// the client's request.
type Request struct {
	// Action is the action asked for.
	Action Action
	// Tenant is the tenant that owns the resource.
	Tenant string
	// Envelope is the envelope acted on, if any (a recipient acts only on
	// its own).
	Envelope string
	// EnvelopeSender is the principal that sent the envelope; required
	// for envelope.approve.
	EnvelopeSender string
	// HighAssurance marks an envelope that demands step-up to approve or
	// sign.
	HighAssurance bool
	// Bulk marks an export of many envelopes' documents or evidence.
	Bulk bool
	// Subject is the principal whose account, roles, grants or keys the
	// action changes, if any.
	Subject string
	// Elevation marks role.admin used to approve Subject's elevation.
	Elevation bool
	// Preliminary marks a question asked before the resource is loaded
	// (the router's gate, for the route's action): the rules that need
	// the resource's facts (an envelope's sender) are left to the
	// question the handler asks with them, which must follow.
	Preliminary bool
}

// Risky reports whether r needs a recent strong authentication: key
// administration, audit export, user, role and API-key administration,
// approving or signing a high-assurance envelope, and bulk export.
func (r Request) Risky() bool {
	switch r.Action {
	case ActionKeyAdmin, ActionAuditExport, ActionUserAdmin, ActionRoleAdmin, ActionAPIKeyAdmin:
		return true
	case ActionEnvelopeApprove, ActionEnvelopeSign:
		return r.HighAssurance
	case ActionDocumentExport:
		return r.Bulk
	}
	return false
}

// An Effect is the outcome of a decision. The zero value denies.
type Effect int

// Effects.
const (
	// Deny refuses the action; [Decision.Reason] says why.
	Deny Effect = iota
	// Allow permits the action.
	Allow
	// StepUpRequired permits the action once the principal authenticates
	// strongly again ([Decision.StepUp]).
	StepUpRequired
)

// String returns "deny", "allow" or "step-up-required".
func (e Effect) String() string {
	switch e {
	case Allow:
		return "allow"
	case StepUpRequired:
		return "step-up-required"
	}
	return "deny"
}

// A StepUp says what authentication a risky action needs.
type StepUp struct {
	// Methods are the methods that satisfy it.
	Methods []Method
	// Window is how recent the authentication must be.
	Window time.Duration
}

// A Decision is the answer to one request.
type Decision struct {
	// Effect is allow, deny or step-up-required.
	Effect Effect
	// Reason explains a denial or a step-up (for the problem detail and
	// the audit event); it names no secret.
	Reason string
	// Role is the role whose grant allows the action ("" for recipients,
	// the platform administrator and break-glass).
	Role string
	// StepUp is set when Effect is StepUpRequired.
	StepUp StepUp
	// Alert is set on a break-glass self-approval: the caller MUST raise
	// an alert and audit it before acting.
	Alert bool
}

// Allowed reports whether d permits the action now.
func (d Decision) Allowed() bool { return d.Effect == Allow }

func deny(reason string) Decision { return Decision{Effect: Deny, Reason: reason} }

// Decide answers whether p may perform req at now under policy, the
// policy of p's tenant. It denies unless every rule of the package doc
// holds; an invalid policy denies everything. Decide reads nothing but
// its arguments.
func Decide(p Principal, req Request, policy TenantPolicy, now time.Time) Decision {
	if !req.Action.Valid() {
		return deny("unknown action")
	}
	if p.ID == "" {
		return deny("no principal")
	}
	if p.Platform {
		return decidePlatform(p, req)
	}
	if req.Action.platformOnly() {
		return deny(string(req.Action) + " is held only by the platform administrator")
	}
	switch {
	case p.Tenant == "":
		return deny("the principal has no tenant")
	case req.Tenant != p.Tenant:
		return deny("the resource belongs to another tenant")
	case policy.Tenant != p.Tenant:
		return deny("the policy is not the principal's tenant's")
	}
	if err := policy.Validate(); err != nil {
		return deny("the tenant's policy is invalid")
	}
	switch p.Kind {
	case KindRecipient:
		return decideRecipient(p, req, policy, now)
	case KindUser, KindServiceAccount:
	default:
		return deny("unknown principal kind")
	}
	if req.Action.recipientOnly() {
		return deny(string(req.Action) + " is held only by recipients")
	}
	if req.Action.selfService() {
		if p.Kind != KindUser {
			return deny(string(req.Action) + " is held only by users, on their own account")
		}
		if req.Subject != "" && req.Subject != p.ID {
			return deny(string(req.Action) + " acts only on the user's own account")
		}
		return Decision{Effect: Allow}
	}

	// Self-grants: never, except a break-glass self-approval.
	if req.Action == ActionRoleAdmin && req.Subject == p.ID {
		if req.Elevation && p.Kind == KindUser && slices.Contains(policy.BreakGlass, p.ID) {
			if d, ok := stepUp(p, policy, now); !ok {
				return d
			}
			return Decision{Effect: Allow, Reason: "break-glass self-approval", Alert: true}
		}
		if req.Elevation {
			return deny("separation of duties: nobody approves their own elevation")
		}
		return deny("separation of duties: nobody grants a role to themselves")
	}

	held := heldActions(p, policy, now)
	role, ok := held[req.Action]
	if !ok {
		return deny("no active grant holds " + string(req.Action))
	}

	switch req.Action {
	case ActionEnvelopeApprove:
		if req.EnvelopeSender == "" && !req.Preliminary {
			return deny("the envelope's sender is not known")
		}
		if req.EnvelopeSender == p.ID && !policy.Separation.SenderMayApprove {
			return deny("separation of duties: the sender of an envelope does not approve it")
		}
	case ActionAuditConfigure:
		if _, reads := held[ActionAuditRead]; reads && !policy.Separation.AuditReaderMayConfigure {
			return deny("separation of duties: whoever reads the audit log does not configure it")
		}
	case ActionRoleAdmin:
		if req.Elevation && req.Subject == "" {
			return deny("the elevation's requester is not known")
		}
	}

	if req.Risky() {
		if p.Kind == KindServiceAccount {
			return deny(string(req.Action) + " needs a person's strong authentication; service accounts cannot step up")
		}
		if d, ok := stepUp(p, policy, now); !ok {
			return d
		}
	}
	return Decision{Effect: Allow, Role: role}
}

// decidePlatform decides for the platform administrator: platform actions
// only, never inside a tenant.
func decidePlatform(p Principal, req Request) Decision {
	if p.Tenant != "" {
		return deny("a platform administrator has no tenant")
	}
	if p.Kind != KindUser && p.Kind != KindServiceAccount {
		return deny("unknown principal kind")
	}
	if !req.Action.platformOnly() {
		return deny("the platform administrator does not act inside tenants")
	}
	return Decision{Effect: Allow}
}

// decideRecipient decides for a recipient: its envelope's read and sign
// actions only.
func decideRecipient(p Principal, req Request, policy TenantPolicy, now time.Time) Decision {
	if !slices.Contains(RecipientActions(), req.Action) {
		return deny("a recipient may not " + string(req.Action))
	}
	if p.Envelope == "" || req.Envelope != p.Envelope {
		return deny("a recipient acts only on its own envelope")
	}
	if req.Risky() {
		if d, ok := stepUp(p, policy, now); !ok {
			return d
		}
	}
	return Decision{Effect: Allow}
}

// stepUp reports whether p authenticated strongly within the policy's
// window before now; if not, it returns the step-up decision. A time
// after now does not count.
func stepUp(p Principal, policy TenantPolicy, now time.Time) (Decision, bool) {
	w := policy.stepUpWindow()
	a := p.StrongAuth
	if a.Method.Strong() && !a.At.IsZero() && !a.At.After(now) && now.Sub(a.At) <= w {
		return Decision{}, true
	}
	return Decision{
		Effect: StepUpRequired,
		Reason: "a strong authentication (passkey or TOTP) within " + w.String() + " is required",
		StepUp: StepUp{Methods: StrongMethods(), Window: w},
	}, false
}

// heldActions returns the actions p holds at now through its counting
// grants, each with the first role that holds it.
func heldActions(p Principal, policy TenantPolicy, now time.Time) map[Action]string {
	held := map[Action]string{}
	for _, g := range p.Grants {
		r, ok := counts(p, g, policy, now)
		if !ok {
			continue
		}
		for _, a := range r.Actions {
			if a.recipientOnly() || a.platformOnly() || a.selfService() {
				continue
			}
			if p.Kind == KindServiceAccount && !slices.Contains(p.KeyActions, a) {
				continue
			}
			if _, seen := held[a]; !seen {
				held[a] = r.Name
			}
		}
	}
	return held
}

// counts returns the role of g if g counts for p at now.
func counts(p Principal, g Grant, policy TenantPolicy, now time.Time) (Role, bool) {
	if g.Tenant != p.Tenant || !g.Active(now) {
		return Role{}, false
	}
	r, ok := policy.Role(g.Role)
	if !ok {
		return Role{}, false
	}
	if e := g.Elevation; e != nil {
		switch {
		case p.Kind != KindUser, e.RequestedBy != p.ID, e.Reason == "", e.ApprovedBy == "",
			e.ApprovedBy == e.RequestedBy && !e.BreakGlass,
			e.BreakGlass && (e.ApprovedBy != e.RequestedBy || !slices.Contains(policy.BreakGlass, p.ID)),
			g.NotBefore.IsZero(), g.NotAfter.Sub(g.NotBefore) > policy.elevationCap():
			return Role{}, false
		}
		return r, true
	}
	if r.Privileged() && !policy.StandingPrivileged {
		return Role{}, false
	}
	return r, true
}
