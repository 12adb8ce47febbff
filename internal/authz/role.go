package authz

import (
	"errors"
	"fmt"
	"slices"
)

// A Role is a named set of actions. The built-in roles are
// [BuiltinRoles]; a tenant may define custom roles ([ValidateRole]).
type Role struct {
	// Name is the role's name: lowercase letters, digits and hyphens.
	Name string
	// Actions are the actions the role holds, each at most once.
	Actions []Action
}

// Names of the built-in roles.
const (
	RoleSender       = "sender"
	RoleApprover     = "approver"
	RoleAuditor      = "auditor"
	RoleKeyCustodian = "key-custodian"
	RoleTenantAdmin  = "tenant-admin"
)

// BuiltinRoles returns the built-in roles. None is a superuser:
// tenant-admin holds no key or audit action, and no built-in role holds
// audit.configure (a tenant that wants it defines a role for it).
func BuiltinRoles() []Role {
	return []Role{
		{RoleSender, []Action{
			ActionDocumentUpload, ActionDocumentRead, ActionDocumentExport,
			ActionEnvelopePrepare, ActionEnvelopeRead, ActionEnvelopeSend, ActionEnvelopeVoid,
		}},
		{RoleApprover, []Action{ActionDocumentRead, ActionEnvelopeRead, ActionEnvelopeApprove}},
		{RoleAuditor, []Action{
			ActionDocumentRead, ActionDocumentExport, ActionEnvelopeRead,
			ActionAuditRead, ActionAuditExport, ActionAccessReview,
		}},
		{RoleKeyCustodian, []Action{ActionKeyAdmin}},
		{RoleTenantAdmin, []Action{
			ActionUserAdmin, ActionRoleAdmin, ActionPolicyAdmin, ActionWebhookAdmin,
			ActionAPIKeyRead, ActionAPIKeyAdmin, ActionAccessReview,
		}},
	}
}

// Has reports whether r holds a.
func (r Role) Has(a Action) bool { return slices.Contains(r.Actions, a) }

// Privileged reports whether r holds a privileged action
// ([Action.Privileged]).
func (r Role) Privileged() bool { return slices.ContainsFunc(r.Actions, Action.Privileged) }

// Limits of a custom role.
const (
	MaxRoleName = 40
)

// ErrInvalidRole is matched by every error of [ValidateRole].
var ErrInvalidRole = errors.New("authz: invalid role")

func roleErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRole}, a...)...)
}

// ValidateRole checks a custom role: a name of 2 to [MaxRoleName]
// characters from a-z, 0-9 and '-', starting with a letter, not ending
// with '-', and not the name of a built-in role; at least one action, each
// known, none twice, none held only by recipients (envelope.sign) or by
// the platform administrator (tenant.admin).
func ValidateRole(r Role) error {
	if err := validRoleName(r.Name); err != nil {
		return err
	}
	if _, ok := builtin(r.Name); ok {
		return roleErr("%q is a built-in role", r.Name)
	}
	if len(r.Actions) == 0 {
		return roleErr("role %q holds no action", r.Name)
	}
	if len(r.Actions) > len(allActions) {
		return roleErr("role %q lists %d actions", r.Name, len(r.Actions))
	}
	for i, a := range r.Actions {
		switch {
		case !a.Valid():
			_, err := ParseAction(string(a))
			return roleErr("role %q: %v", r.Name, err)
		case slices.Contains(r.Actions[:i], a):
			return roleErr("role %q lists %s twice", r.Name, a)
		case a.recipientOnly():
			return roleErr("role %q: %s is held only by recipients", r.Name, a)
		case a.platformOnly():
			return roleErr("role %q: %s is held only by the platform administrator", r.Name, a)
		case a.selfService():
			return roleErr("role %q: %s is held by every user without a role", r.Name, a)
		}
	}
	return nil
}

func validRoleName(n string) error {
	if len(n) < 2 || len(n) > MaxRoleName {
		return roleErr("a role name has 2 to %d characters, not %d", MaxRoleName, len(n))
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case 'a' <= c && c <= 'z':
		case ('0' <= c && c <= '9' || c == '-') && i > 0:
		default:
			return roleErr("role name %q: a-z, 0-9 and '-' only, starting with a letter", n)
		}
	}
	if n[len(n)-1] == '-' {
		return roleErr("role name %q ends with '-'", n)
	}
	return nil
}

func builtin(name string) (Role, bool) {
	for _, r := range BuiltinRoles() {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}
