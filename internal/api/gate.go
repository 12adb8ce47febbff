package api

import (
	"context"
	"net/http"

	"github.com/signet-pki/signet/auditlog"
)

// An AccessCheck is one question to the [Authorizer]: may the principal perform
// Action on a resource with these facts? The facts come from the stored
// resource, never from the client's request.
type AccessCheck struct {
	// Action is the action asked for ("envelope.send").
	Action string
	// Tenant is the tenant that owns the resource; "" means the
	// principal's own (a route that names no stored resource yet).
	Tenant string
	// Envelope is the envelope acted on, if any.
	Envelope string
	// EnvelopeSender is the principal that sent the envelope, for
	// envelope.approve.
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
	// Preliminary marks the gate's question, asked before the handler
	// loads the resource: rules that need its facts are checked when the
	// handler asks again with them ([Authorize]).
	Preliminary bool
}

// An Authorizer decides whether a principal may perform a checked action.
// internal/access implements it over the identity store and the tenant's
// policy.
type Authorizer interface {
	// Authorize returns nil if p may perform c now. A refusal is an
	// *Error: KindForbidden (403) with the reason, or KindUnauthorized
	// with Type "step-up-required" and StepUp set (401). Any other error
	// means the decision cannot be made now (the action is refused).
	Authorize(ctx context.Context, p Principal, c AccessCheck) error
}

// StepUpRequired is the problem type of a risky action attempted without
// a recent strong authentication; match it with errors.Is.
var StepUpRequired = &Error{Kind: KindUnauthorized, Type: "step-up-required"}

type authorizerKey struct{}

type auditRequestKey struct{}

// AuditRequestFrom returns the audit request context [Gate] put in ctx
// (the zero value outside a gated request).
func AuditRequestFrom(ctx context.Context) auditlog.Request {
	r, _ := ctx.Value(auditRequestKey{}).(auditlog.Request)
	return r
}

// Authorize asks the request's authorizer (installed by [Gate]) whether
// the request's principal may perform c. Handlers call it once they have
// loaded the resource, with its facts; the gate has already checked the
// route's action with the principal's own tenant. With no principal it
// returns a 401 error; with no authorizer, a 500 (fail closed).
func Authorize(ctx context.Context, c AccessCheck) error {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return &Error{Kind: KindUnauthorized, Detail: "authentication is required"}
	}
	az, ok := ctx.Value(authorizerKey{}).(Authorizer)
	if !ok {
		return &Error{Kind: KindInternal, Detail: "no authorizer"}
	}
	return az.Authorize(ctx, p, c)
}

// WithAuthorizer returns a copy of ctx carrying az for [Authorize].
func WithAuthorizer(ctx context.Context, az Authorizer) context.Context {
	return context.WithValue(ctx, authorizerKey{}, az)
}

// A Gate enforces each route's declared action: for every request it
// finds the route the router would serve, and
//
//   - a public route (security: []) passes;
//   - a route whose principal is established by the handler itself
//     (recipient links, login: [Gate.SelfAuthenticated]) passes, with the
//     authorizer in its context for [Authorize];
//   - otherwise a request without a principal is answered 401, one whose
//     principal is pending a second factor 401 "mfa-required" unless
//     [Gate.PendingAllowed] opens the route, and one
//     whose principal the authorizer refuses for the route's action (with
//     the principal's own tenant) is answered 403 or 401 step-up;
//   - a route that declares nothing is refused (500): it is a programming
//     error that the tests catch.
type Gate struct {
	// Router finds the route of a request.
	Router *Router
	// Access maps each route pattern to its declaration
	// ([OpenAPIAccess]).
	Access map[string]Access
	// Authorizer decides.
	Authorizer Authorizer
	// SelfAuthenticated reports whether the handler of a route
	// authenticates its own principal (nil: none does).
	SelfAuthenticated func(r *http.Request) bool
	// PendingAllowed reports whether a route is open to a pending
	// principal ([Principal.Pending]: password only while a second
	// factor is required), e.g. internal/identity/login.PendingAllowed;
	// nil opens none. Other routes answer such a principal 401
	// "mfa-required".
	PendingAllowed func(r *http.Request) bool
}

// errPending answers a pending principal outside the routes open to it.
var errPending = &Error{Kind: KindUnauthorized, Type: "mfa-required", Title: "Second factor required",
	Detail: "complete the second factor (or enrol one) before anything else"}

// Middleware returns next wrapped with the gate.
func (g *Gate) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := g.Router.Handler(r)
		if pattern == "" {
			// No route: the router answers 404 or 405.
			next.ServeHTTP(w, r)
			return
		}
		a := g.Access[pattern]
		ctx := WithAuthorizer(r.Context(), g.Authorizer)
		ctx = context.WithValue(ctx, auditRequestKey{}, AuditRequest(r))
		r = r.WithContext(ctx)
		switch {
		case a.Public:
			next.ServeHTTP(w, r)
			return
		case a.Action == "":
			WriteProblem(w, r, &Error{Kind: KindInternal, Detail: "the route declares no action"})
			return
		}
		p, ok := PrincipalFrom(ctx)
		if !ok {
			if g.SelfAuthenticated != nil && g.SelfAuthenticated(r) {
				next.ServeHTTP(w, r)
				return
			}
			WriteProblem(w, r, &Error{Kind: KindUnauthorized, Detail: "authentication is required"})
			return
		}
		if p.Pending && (g.PendingAllowed == nil || !g.PendingAllowed(r)) {
			WriteProblem(w, r, errPending)
			return
		}
		if err := g.Authorizer.Authorize(ctx, p, AccessCheck{Action: a.Action, Preliminary: true}); err != nil {
			WriteProblem(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
