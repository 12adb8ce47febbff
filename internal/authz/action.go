package authz

import (
	"fmt"
	"slices"
)

// An Action is one permission: what a principal does to a kind of
// resource, written "resource.verb".
type Action string

// The actions. A route, an API key and a role name these; no action
// implies another.
const (
	// ActionDocumentUpload uploads a document.
	ActionDocumentUpload Action = "document.upload"
	// ActionDocumentRead reads a document's metadata and content.
	ActionDocumentRead Action = "document.read"
	// ActionDocumentExport downloads signed results and evidence bundles.
	ActionDocumentExport Action = "document.export"
	// ActionEnvelopePrepare creates and edits draft envelopes.
	ActionEnvelopePrepare Action = "envelope.prepare"
	// ActionEnvelopeRead lists and reads envelopes and their history.
	ActionEnvelopeRead Action = "envelope.read"
	// ActionEnvelopeSend sends an envelope, reminds and re-issues links.
	ActionEnvelopeSend Action = "envelope.send"
	// ActionEnvelopeApprove approves or rejects an envelope.
	ActionEnvelopeApprove Action = "envelope.approve"
	// ActionEnvelopeVoid voids a sent envelope.
	ActionEnvelopeVoid Action = "envelope.void"
	// ActionEnvelopeSign signs or declines as a recipient; only recipients
	// hold it, never a role.
	ActionEnvelopeSign Action = "envelope.sign"
	// ActionAuditRead reads the audit log and verifies receipts.
	ActionAuditRead Action = "audit.read"
	// ActionAuditExport exports the audit log and evidence in bulk.
	ActionAuditExport Action = "audit.export"
	// ActionAuditConfigure changes audit configuration (anchors,
	// retention, alert routes).
	ActionAuditConfigure Action = "audit.configure"
	// ActionAccessReview exports every principal with its roles and grants.
	ActionAccessReview Action = "access.review"
	// ActionKeyAdmin creates, rotates and revokes keys and certificates.
	ActionKeyAdmin Action = "key.admin"
	// ActionUserAdmin creates, disables and offboards users.
	ActionUserAdmin Action = "user.admin"
	// ActionRoleAdmin defines roles, grants them and approves elevations.
	ActionRoleAdmin Action = "role.admin"
	// ActionPolicyAdmin changes the tenant's policy (MFA, step-up window,
	// separation of duties, break-glass).
	ActionPolicyAdmin Action = "policy.admin"
	// ActionWebhookAdmin configures webhook endpoints.
	ActionWebhookAdmin Action = "webhook.admin"
	// ActionAPIKeyRead lists API keys (never their secrets).
	ActionAPIKeyRead Action = "apikey.read"
	// ActionAPIKeyAdmin creates, rotates and revokes API keys.
	ActionAPIKeyAdmin Action = "apikey.admin"
	// ActionTenantAdmin creates, lists and configures tenants: a platform
	// action, held only by the platform administrator.
	ActionTenantAdmin Action = "tenant.admin"
	// ActionAccountSelf manages one's own account: password, second
	// factors, recovery codes, sessions. Every user holds it, without a
	// grant; no role does.
	ActionAccountSelf Action = "account.self"
	// ActionElevationRequest asks for a just-in-time elevation to a role.
	// Every user holds it, without a grant; no role does.
	ActionElevationRequest Action = "elevation.request"
)

var allActions = []Action{
	ActionDocumentUpload, ActionDocumentRead, ActionDocumentExport,
	ActionEnvelopePrepare, ActionEnvelopeRead, ActionEnvelopeSend,
	ActionEnvelopeApprove, ActionEnvelopeVoid, ActionEnvelopeSign,
	ActionAuditRead, ActionAuditExport, ActionAuditConfigure, ActionAccessReview,
	ActionKeyAdmin, ActionUserAdmin, ActionRoleAdmin, ActionPolicyAdmin,
	ActionWebhookAdmin, ActionAPIKeyRead, ActionAPIKeyAdmin, ActionTenantAdmin,
	ActionAccountSelf, ActionElevationRequest,
}

// AllActions returns every action, in a fixed order.
func AllActions() []Action { return slices.Clone(allActions) }

// RecipientActions returns the actions a recipient may perform on the
// envelope its link names.
func RecipientActions() []Action {
	return []Action{ActionEnvelopeRead, ActionDocumentRead, ActionEnvelopeSign}
}

// ParseAction returns the action named s. It refuses any name that is not
// exactly one of [AllActions].
func ParseAction(s string) (Action, error) {
	if a := Action(s); slices.Contains(allActions, a) {
		return a, nil
	}
	// Quote at most 32 bytes: an error message stays short (under 200
	// bytes) whatever the input's escapes.
	more := ""
	if len(s) > 32 {
		s, more = s[:32], "…"
	}
	return "", fmt.Errorf("authz: unknown action %q%s", s, more)
}

// Valid reports whether a is one of [AllActions].
func (a Action) Valid() bool { return slices.Contains(allActions, a) }

// Privileged reports whether a changes who may do what or how the tenant
// is protected: such actions come only by elevation unless the tenant
// allows standing privileged grants.
func (a Action) Privileged() bool {
	switch a {
	case ActionKeyAdmin, ActionUserAdmin, ActionRoleAdmin, ActionPolicyAdmin,
		ActionAPIKeyAdmin, ActionAuditConfigure, ActionTenantAdmin:
		return true
	}
	return false
}

// platformOnly reports whether only the platform administrator holds a.
func (a Action) platformOnly() bool { return a == ActionTenantAdmin }

// selfService reports whether every user holds a, on their own account,
// without a grant.
func (a Action) selfService() bool { return a == ActionAccountSelf || a == ActionElevationRequest }

// SelfService returns the actions every user holds on their own account
// without a grant.
func SelfService() []Action { return []Action{ActionAccountSelf, ActionElevationRequest} }

// recipientOnly reports whether only recipients hold a.
func (a Action) recipientOnly() bool { return a == ActionEnvelopeSign }
