// Package admin is a tenant's administration of people and privileges:
// users and their invitations, role grants, custom roles and the tenant
// policy, just-in-time elevation, offboarding and the access review. It
// is a [Service] over the identity store ([identity.Store]) with HTTP
// handlers ([Service.Register]) and an OpenAPI fragment ([OpenAPI]) in
// which every operation declares its action.
//
// # Authorization
//
// The router's gate checks each route's declared action with the
// principal's own tenant. The handlers then ask again with the facts of
// the stored resource ([api.Authorize]): a grant or a revocation names
// the user as Subject (so that nobody grants a role to themselves), an
// approval names the requester with Elevation set (so that nobody
// approves their own elevation outside break-glass). The approval itself
// is [authz.ApproveElevation]'s decision, made with the approver's
// stored grants.
//
// # Audit
//
// Every change is recorded in the audit log before it takes effect, and
// not made if it cannot be recorded (user.created, user.invited,
// user.invitation_redeemed, user.disabled, role.granted, role.revoked,
// admin.policy_changed, elevation.requested, elevation.denied and
// admin.elevated for approvals, with break_glass set on a break-glass
// self-approval, which also calls [Config.Alert]). A change that then
// fails in the store is recorded again with the outcome failure. No event
// holds an invitation token or a password; e-mail addresses are
// sensitive fields.
//
// # Elevation
//
// A user requests a role for a reason and a duration within the tenant's
// cap; another user holding role.admin approves or denies. The grant ends
// by itself at its NotAfter ([authz.Grant.Active]): no job runs. A
// request older than [authz.PendingElevationTTL] is listed as expired and
// refused at approval (and then marked expired in the store). A user on
// the tenant policy's break-glass list may approve their own request
// through POST /v1/elevations/{id}/break-glass, which needs only
// elevation.request at the gate (break-glass is for a user who holds no
// role.admin) and always alerts.
//
// # Offboarding
//
// Disabling a user deletes their sessions and unused invitations,
// revokes their pending elevation requests and their elevation grants
// that have not ended (one store transaction), and then revokes their
// API keys and tokens through [Config.Offboard]; one user.disabled event
// lists what was revoked.
package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/identity"
)

// OpenAPI is this package's OpenAPI 3.1 fragment ([api.MergeOpenAPI]).
//
//go:embed openapi/admin.json
var OpenAPI []byte

// Bounds of the service.
const (
	// DefaultInvitationTTL is how long an invitation works when
	// [Config.InvitationTTL] is zero.
	DefaultInvitationTTL = 72 * time.Hour
	// MaxInvitationTTL bounds [Config.InvitationTTL].
	MaxInvitationTTL = 30 * 24 * time.Hour
	// MaxReviewUsers bounds the users an access review lists; a larger
	// tenant's review fails rather than return a part.
	MaxReviewUsers = 10 * identity.MaxList
	// MaxReviewKeys bounds the service accounts an access review lists.
	MaxReviewKeys = identity.MaxList
	// MaxInviteRoles bounds the roles given with a new user.
	MaxInviteRoles = 16
)

// Config configures a [Service].
type Config struct {
	// Store keeps users, grants, elevations, policies and invitations.
	Store identity.Store
	// Recorder records every change before it takes effect.
	Recorder auditlog.Recorder
	// Offboard revokes a disabled user's API keys and tokens and returns
	// the ids of what it revoked (internal/accounts provides it); nil
	// means the user holds none.
	Offboard func(ctx context.Context, tenant, userID string, at time.Time) ([]string, error)
	// Alert is called after a break-glass self-approval is recorded; nil
	// logs it at error level.
	Alert func(ctx context.Context, ev auditlog.Event)
	// Keys returns the tenant's service accounts for the access review
	// route (internal/accounts provides it); nil means none.
	Keys func(ctx context.Context, tenant string) ([]ReviewKey, error)
	// Passkeys counts a user's registered passkeys for the access review;
	// nil means unknown.
	Passkeys func(ctx context.Context, tenant, userID string) (int, error)
	// TenantExists reports whether a tenant exists (an error matching
	// identity.ErrNotFound if not), for the platform administrator's
	// route that creates a tenant's first administrator; nil leaves that
	// route unconfigured.
	TenantExists func(ctx context.Context, tenant string) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids and invitation tokens; nil means
	// crypto/rand.
	Rand io.Reader
	// InvitationTTL is how long an invitation works; 0 means
	// [DefaultInvitationTTL], at most [MaxInvitationTTL].
	InvitationTTL time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Validate checks the required fields and bounds.
func (c Config) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("admin: no store")
	case c.Recorder == nil:
		return errors.New("admin: no audit recorder")
	case c.InvitationTTL < 0 || c.InvitationTTL > MaxInvitationTTL:
		return fmt.Errorf("admin: invitation lifetime %v outside 0..%v", c.InvitationTTL, MaxInvitationTTL)
	}
	return nil
}

// A Service administers users and privileges; see the package doc.
type Service struct {
	cfg Config
}

// New returns a service; Store and Recorder are required.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.InvitationTTL == 0 {
		cfg.InvitationTTL = DefaultInvitationTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg}, nil
}

// Register mounts the endpoints on mux:
//
//	POST   /v1/users                          create and invite a user (user.admin)
//	GET    /v1/users                          list users (user.admin)
//	GET    /v1/users/{id}                     a user with grants (user.admin)
//	POST   /v1/users/{id}/disable             offboard a user (user.admin)
//	POST   /v1/users/{id}/invitation          a new invitation (user.admin)
//	POST   /v1/invitations/redeem             set the first password (public)
//	POST   /v1/users/{id}/grants              grant a role (role.admin)
//	DELETE /v1/users/{id}/grants/{grant}      revoke a grant (role.admin)
//	GET    /v1/policy                         the tenant policy (policy.admin)
//	PUT    /v1/policy                         replace it, If-Match (policy.admin)
//	POST   /v1/elevations                     request an elevation (elevation.request)
//	GET    /v1/elevations                     pending requests (role.admin)
//	POST   /v1/elevations/{id}/approve        approve (role.admin)
//	POST   /v1/elevations/{id}/deny           deny (role.admin)
//	POST   /v1/elevations/{id}/break-glass    self-approve in an emergency (elevation.request)
//	GET    /v1/access-review                  CSV or JSON review (access.review)
//	POST   /v1/tenants/{id}/first-admin       a new tenant's first administrator (tenant.admin)
func (s *Service) Register(mux api.Mux) {
	mux.HandleFunc("POST /v1/users", s.handleCreateUser)
	mux.HandleFunc("GET /v1/users", s.handleListUsers)
	mux.HandleFunc("GET /v1/users/{id}", s.handleGetUser)
	mux.HandleFunc("POST /v1/users/{id}/disable", s.handleDisableUser)
	mux.HandleFunc("POST /v1/users/{id}/invitation", s.handleReinvite)
	mux.Handle("POST /v1/invitations/redeem", api.Sensitive(http.HandlerFunc(s.handleRedeem)))
	mux.HandleFunc("POST /v1/users/{id}/grants", s.handleGrant)
	mux.HandleFunc("DELETE /v1/users/{id}/grants/{grant}", s.handleRevoke)
	mux.HandleFunc("GET /v1/policy", s.handleGetPolicy)
	mux.HandleFunc("PUT /v1/policy", s.handlePutPolicy)
	mux.HandleFunc("POST /v1/elevations", s.handleRequestElevation)
	mux.HandleFunc("GET /v1/elevations", s.handleListElevations)
	mux.HandleFunc("POST /v1/elevations/{id}/approve", s.handleApprove)
	mux.HandleFunc("POST /v1/elevations/{id}/deny", s.handleDeny)
	mux.HandleFunc("POST /v1/elevations/{id}/break-glass", s.handleBreakGlass)
	mux.HandleFunc("GET /v1/access-review", s.handleReview)
	mux.HandleFunc("POST /v1/tenants/{id}/first-admin", s.handleFirstAdmin)
}

// tenantPrincipal returns the request's principal, which must belong to
// a tenant.
func tenantPrincipal(r *http.Request) (api.Principal, error) {
	p, ok := api.PrincipalFrom(r.Context())
	if !ok {
		return p, &api.Error{Kind: api.KindUnauthorized, Detail: "authentication is required"}
	}
	if p.Tenant == "" || p.Platform {
		return p, &api.Error{Kind: api.KindForbidden, Detail: "tenant administration needs a principal of the tenant"}
	}
	return p, nil
}

// newID returns prefix and 16 random bytes in hex.
func (s *Service) newID(prefix string) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("admin: random: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

// invitationPrefix starts every invitation token.
const invitationPrefix = "sgi_"

// newToken returns a new invitation token and its hash.
func (s *Service) newToken() (string, [32]byte, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", [32]byte{}, fmt.Errorf("admin: random: %w", err)
	}
	tok := invitationPrefix + base64.RawURLEncoding.EncodeToString(b)
	return tok, tokenHash(tok), nil
}

func tokenHash(tok string) [32]byte { return sha256.Sum256([]byte(tok)) }

// storeErr maps a store error to a problem.
func storeErr(what string, err error) error {
	var pe *api.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return err
	case errors.Is(err, identity.ErrNotFound):
		return &api.Error{Kind: api.KindNotFound, Detail: what + " not found", Err: err}
	case errors.Is(err, identity.ErrExists):
		return &api.Error{Kind: api.KindConflict, Detail: what + " already exists", Err: err}
	case errors.Is(err, identity.ErrDisabled):
		return &api.Error{Kind: api.KindConflict, Type: "user-disabled", Detail: "the user is disabled", Err: err}
	case errors.Is(err, identity.ErrConflict):
		return &api.Error{Kind: api.KindConflict, Detail: what + " changed meanwhile", Err: err}
	case errors.Is(err, identity.ErrInvalid):
		return &api.Error{Kind: api.KindInvalid, Detail: "invalid " + what, Err: err}
	case errors.Is(err, identity.ErrLimit):
		return &api.Error{Kind: api.KindConflict, Type: "too-many", Detail: "too many records to list", Err: err}
	}
	return &api.Error{Kind: api.KindInternal, Err: err}
}

// invalid returns a 422 problem.
func invalid(format string, a ...any) error {
	return &api.Error{Kind: api.KindInvalid, Detail: fmt.Sprintf(format, a...)}
}

// event starts the event of a change made by p in r.
func event(r *http.Request, p api.Principal, t auditlog.EventType) auditlog.Event {
	return auditlog.Event{
		Type: t, Tenant: p.Tenant, Actor: api.AuditActor(p), Request: api.AuditRequest(r),
		Outcome: auditlog.OutcomeSuccess, Details: map[string]string{},
	}
}

// apply records ev and then runs fn; without the record, fn does not
// run (fail closed). If fn fails, a failure event follows (best effort).
func (s *Service) apply(ctx context.Context, ev auditlog.Event, fn func() error) error {
	if err := s.cfg.Recorder.Record(ctx, ev); err != nil {
		return &api.Error{Kind: api.KindUnavailable, Detail: "the audit log is unavailable; nothing was changed", Err: err}
	}
	if err := fn(); err != nil {
		fail := ev
		fail.ID, fail.Outcome, fail.Reason = "", auditlog.OutcomeFailure, failReason(err)
		if rerr := s.cfg.Recorder.Record(ctx, fail); rerr != nil {
			s.cfg.Logger.ErrorContext(ctx, "admin: cannot record a failed change", "type", string(ev.Type), "error", rerr.Error())
		}
		return err
	}
	return nil
}

// failReason names the kind of a failure without its text.
func failReason(err error) string {
	for _, e := range []error{identity.ErrNotFound, identity.ErrExists, identity.ErrConflict, identity.ErrDisabled, identity.ErrInvalid} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "internal error"
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
