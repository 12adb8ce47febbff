// Package authz is Signet's authorization model: every permission is an
// [Action], a [Role] is a named set of actions, a [Principal] holds
// time-bound [Grant]s of roles, and [Decide] answers whether a principal
// may perform one action on one tenant's resource now.
//
// The package is pure: it reads no store, no clock and no request. The
// caller loads the principal (with its grants and its last strong
// authentication), the tenant's [TenantPolicy] and the facts the rules
// need ([Request]), and passes the time. The same inputs give the same
// [Decision], so the router, the matrix tests and the access review can
// all ask it.
//
// # Rules
//
// [Decide] denies unless every rule holds, checked in this order:
//
//   - The action is one of [AllActions]; the principal is a user, a
//     service account or a recipient with an id.
//   - Tenant isolation: a tenant principal acts only on resources of its
//     own tenant, under its own tenant's policy. The platform
//     administrator ([Principal.Platform]) is separate and explicit: it
//     has no tenant, holds only the platform actions ([ActionTenantAdmin])
//     and no tenant principal ever holds those.
//   - Recipients hold no roles: they read and sign the one envelope their
//     link names ([RecipientActions]).
//   - Grants: only active grants count ([Grant.Active]): of the
//     principal's tenant, of a known role, inside their time bounds; an
//     elevation counts only for the user who asked, and is ignored if it
//     lacks a start, an end, a reason or an approver other than the
//     requester (break-glass aside), or runs longer than the tenant's cap. A standing grant of a
//     privileged role ([Role.Privileged]) counts only if the tenant allows
//     standing privileged grants; otherwise privileged roles come only by
//     just-in-time elevation. A service account is further narrowed to the
//     actions its API key is bound to.
//   - Separation of duties ([Separation]): the sender of an envelope does
//     not approve it, whoever reads the audit log does not configure it
//     (both relaxable per tenant); nobody grants a role to themselves, and
//     an elevation is approved by someone else unless the tenant enabled
//     break-glass for that user, in which case the decision carries
//     [Decision.Alert].
//   - Step-up: risky actions ([Request.Risky]: key administration, audit
//     export, user, role and API-key administration, approving or signing
//     a high-assurance envelope, bulk export) need a strong authentication
//     ([MethodTOTP], [MethodPasskey]) within the tenant's window, else the
//     decision is [StepUpRequired]. A service account cannot step up, so
//     it is denied risky actions.
//
// There is no superuser: no built-in role holds every action, tenant-admin
// holds no key or audit action, and the platform administrator holds no
// tenant action.
//
// # Elevation
//
// Just-in-time elevation is three pure steps: [ElevationRequest.Validate]
// (a reason, a duration within the cap), [ApproveElevation] (an authorized
// second person, or break-glass with an alert; returns the [Grant]) and
// expiry, which needs no step at all: [Grant.Active] is false from
// NotAfter on.
package authz
