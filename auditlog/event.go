package auditlog

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ErrInvalidEvent reports an event that the log refuses: an unknown type,
// actor kind or outcome, or a malformed field.
var ErrInvalidEvent = errors.New("auditlog: invalid event")

// An EventType is a normalized event name, "<object>.<past-tense verb>".
type EventType string

// The event types Signet records. [Event.Validate] rejects any other.
const (
	DocumentUploaded       EventType = "document.uploaded"
	DocumentDownloaded     EventType = "document.downloaded"
	DocumentDeleted        EventType = "document.deleted"
	EnvelopeCreated        EventType = "envelope.created"
	EnvelopeSent           EventType = "envelope.sent"
	EnvelopeCompleted      EventType = "envelope.completed"
	EnvelopeVoided         EventType = "envelope.voided"
	EnvelopeStarted        EventType = "envelope.started"
	EnvelopeExpired        EventType = "envelope.expired"
	RecipientViewed        EventType = "recipient.viewed"
	RecipientAuthenticated EventType = "recipient.authenticated"
	RecipientDeclined      EventType = "recipient.declined"
	RecipientConsented     EventType = "recipient.consented"
	SignatureCreated       EventType = "signature.created"
	SignatureVerified      EventType = "signature.verified"
	KeyCreated             EventType = "key.created"
	KeyUsed                EventType = "key.used"
	KeyRotated             EventType = "key.rotated"
	KeyRevoked             EventType = "key.revoked"
	KeyDestroyed           EventType = "key.destroyed"
	CertificateIssued      EventType = "certificate.issued"
	CertificateRevoked     EventType = "certificate.revoked"
	UserLoggedIn           EventType = "user.logged_in"
	AdminElevated          EventType = "admin.elevated"
	AdminPolicyChanged     EventType = "admin.policy_changed"
	TenantCreated          EventType = "tenant.created"
	APIKeyCreated          EventType = "apikey.created"
	APIKeyRevoked          EventType = "apikey.revoked"
	TenantKeysShredded     EventType = "tenant.keys_shredded"
	AuditExported          EventType = "audit.exported"
	AuditVerified          EventType = "audit.verified"
)

// TenantDeleted: the platform administrator deleted a tenant: its
// credentials were revoked and its keys are being crypto-shredded (a
// retry records it again).
const TenantDeleted EventType = "tenant.deleted"

// Event types of encryption at rest (keys/atrest).
const (
	// DataShredded: an object's data key was destroyed (crypto-shredding
	// of one document, envelope, session ...): what was sealed under it
	// can no longer be read. The details name the object, never its
	// content.
	DataShredded EventType = "data.shredded"
)

// EnvelopePurged: retention deleted a finished envelope and shredded the
// keys of its data; the event names its documents' hashes, never their
// content.
const EnvelopePurged EventType = "envelope.purged"

// DocumentArchiveRenewed: archive renewal added validation data and a new
// document time-stamp to a completed envelope's document before the
// latest time-stamp's authority certificate expired (or its algorithms
// weakened); the envelope's document now names the renewed version. The
// subject names the envelope and the new version's SHA-256; the details
// name the document, the previous version, the authority whose
// time-stamp was due and when.
const DocumentArchiveRenewed EventType = "document.archive_renewed"

// Event types of recipient one-time-code lockouts and link re-issues.
const (
	// RecipientLockedOut: repeated wrong one-time codes locked a
	// recipient out for a while, or revoked their link.
	RecipientLockedOut EventType = "recipient.locked_out"
	// RecipientLinkReissued: the sender re-issued a recipient's link,
	// revoking the earlier ones and clearing the lockouts.
	RecipientLinkReissued EventType = "recipient.link_reissued"
)

// Event types of authorization decisions (internal/access).
const (
	// AccessDenied: a principal was refused an action; the policy names
	// the reason.
	AccessDenied EventType = "access.denied"
	// AccessStepUpRequired: a risky action was refused until the
	// principal authenticates strongly again.
	AccessStepUpRequired EventType = "access.step_up_required"
	// AccessGranted: a risky or privileged action was allowed; the event
	// names the role and the strong authentication (method and time)
	// that allowed it.
	AccessGranted EventType = "access.granted"
	// AccessBreakGlass: a break-glass self-approval was allowed; it
	// always raises an alert.
	AccessBreakGlass EventType = "access.break_glass"
)

// Event types of envelope approval (separation of duties between the
// sender and the approver).
const (
	// EnvelopeSubmitted: the sender asked to send an envelope that needs
	// an approval.
	EnvelopeSubmitted EventType = "envelope.submitted"
	// EnvelopeApproved: an approver other than the sender approved the
	// envelope, which was then sent.
	EnvelopeApproved EventType = "envelope.approved"
	// EnvelopeRejected: an approver returned the envelope to draft, with
	// a reason.
	EnvelopeRejected EventType = "envelope.rejected"
)

// Event types of users' logins, sessions and second factors
// (internal/identity/login). They never carry a password, code, secret
// or token.
const (
	// UserLoginFailed: a wrong password, TOTP code or recovery code (the
	// method in the details), for a known user or not.
	UserLoginFailed EventType = "user.login_failed"
	// UserLockedOut: repeated failures locked an account, an address or
	// a client out for a while.
	UserLockedOut EventType = "user.locked_out"
	// UserLoggedOut: a user ended their session.
	UserLoggedOut EventType = "user.logged_out"
	// UserSteppedUp: a user authenticated strongly again (step-up).
	UserSteppedUp EventType = "user.stepped_up"
	// UserMFAEnrolled: a user confirmed a second factor.
	UserMFAEnrolled EventType = "user.mfa_enrolled"
	// UserMFARemoved: a user removed a second factor.
	UserMFARemoved EventType = "user.mfa_removed"
	// UserRecoveryCodesIssued: a user got new recovery codes, replacing
	// the old ones.
	UserRecoveryCodesIssued EventType = "user.recovery_codes_issued"
	// UserPasswordChanged: a user changed their password; their other
	// sessions ended.
	UserPasswordChanged EventType = "user.password_changed"
	// UserRolesSynced: a login at an identity provider changed the
	// user's grants made by that provider (the roles added and revoked
	// in the details).
	UserRolesSynced EventType = "user.roles_synced"
)

// Event types of service accounts' API keys and access tokens.
const (
	// APIKeyRotated: a key was replaced by a new one; the old secret
	// works until the overlap ends.
	APIKeyRotated EventType = "apikey.rotated"
	// APIKeyRefused: a known key or access token was refused (revoked,
	// expired, rotated out, or used from an address not allowed); the
	// reason is recorded, never the credential.
	APIKeyRefused EventType = "apikey.refused"
	// APIKeyTokenIssued: a key was exchanged for a short-lived access
	// token.
	APIKeyTokenIssued EventType = "apikey.token_issued"
)

// Event types of the administration of users and privileges
// (internal/identity/admin).
const (
	// UserCreated: a user was created and invited.
	UserCreated EventType = "user.created"
	// UserInvited: a new invitation was issued to a user without a
	// password.
	UserInvited EventType = "user.invited"
	// UserInvitationRedeemed: an invited user set their first password.
	UserInvitationRedeemed EventType = "user.invitation_redeemed"
	// UserDisabled: a user is being disabled (recorded before anything
	// is revoked).
	UserDisabled EventType = "user.disabled"
	// UserOffboarded: what disabling a user revoked (sessions,
	// invitations, elevations, grants, API keys and tokens).
	UserOffboarded EventType = "user.offboarded"
	// RoleGranted: a role was granted to a user.
	RoleGranted EventType = "role.granted"
	// RoleRevoked: a user's grant was revoked.
	RoleRevoked EventType = "role.revoked"
	// ElevationRequested: a user asked for a just-in-time elevation.
	ElevationRequested EventType = "elevation.requested"
	// ElevationDenied: an elevation request was refused.
	ElevationDenied EventType = "elevation.denied"
)

// Envelope events of the web console's workflow.
const (
	// EnvelopeFieldsPlaced: the sender placed (or replaced) the fields of
	// a draft envelope; the details give their count and the SHA-256 of
	// the placement, never their labels.
	EnvelopeFieldsPlaced EventType = "envelope.fields_placed"
	// EnvelopeReminded: the sender re-notified the recipients whose turn
	// it is; the details name the recipients by id.
	EnvelopeReminded EventType = "envelope.reminded"
)

// AlertRaised: the service's alert engine raised an alert (package
// internal/alert). The details name the rule, the severity and the ids of
// what it concerns; the tenant is set when the alert concerns one.
const AlertRaised EventType = "alert.raised"

var knownTypes = sync.OnceValue(func() map[EventType]bool {
	return map[EventType]bool{
		DocumentUploaded: true, DocumentDownloaded: true, DocumentDeleted: true,
		EnvelopeCreated: true, EnvelopeSent: true, EnvelopeCompleted: true, EnvelopeVoided: true,
		EnvelopeStarted: true, EnvelopeExpired: true, EnvelopePurged: true, DocumentArchiveRenewed: true,
		RecipientViewed: true, RecipientAuthenticated: true, RecipientDeclined: true, RecipientConsented: true,
		RecipientLockedOut: true, RecipientLinkReissued: true,
		SignatureCreated: true, SignatureVerified: true,
		KeyCreated: true, KeyUsed: true, KeyRotated: true, KeyRevoked: true, KeyDestroyed: true,
		CertificateIssued: true, CertificateRevoked: true,
		UserLoggedIn: true, AdminElevated: true, AdminPolicyChanged: true,
		TenantCreated: true, TenantDeleted: true, TenantKeysShredded: true, DataShredded: true, APIKeyCreated: true, APIKeyRevoked: true,
		AuditExported: true, AuditVerified: true,
		EnvelopeSubmitted: true, EnvelopeApproved: true, EnvelopeRejected: true,
		AccessDenied: true, AccessStepUpRequired: true, AccessGranted: true, AccessBreakGlass: true,
		UserLoginFailed: true, UserLockedOut: true, UserLoggedOut: true, UserSteppedUp: true,
		UserMFAEnrolled: true, UserMFARemoved: true, UserRecoveryCodesIssued: true, UserPasswordChanged: true,
		APIKeyRotated: true, APIKeyRefused: true, APIKeyTokenIssued: true,
		UserCreated: true, UserInvited: true, UserInvitationRedeemed: true, UserDisabled: true, UserOffboarded: true,
		RoleGranted: true, RoleRevoked: true, ElevationRequested: true, ElevationDenied: true,
		UserRolesSynced: true, AlertRaised: true, EnvelopeFieldsPlaced: true, EnvelopeReminded: true,
	}
})

// Known reports whether t is one of the event types above.
func (t EventType) Known() bool { return knownTypes()[t] }

// An ActorKind says who acted.
type ActorKind string

// Actor kinds.
const (
	ActorUser      ActorKind = "user"
	ActorService   ActorKind = "service"
	ActorRecipient ActorKind = "recipient"
	ActorSystem    ActorKind = "system"
)

// An Outcome is how the recorded action ended.
type Outcome string

// Outcomes.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomeDenied  Outcome = "denied"
)

// An Event is one fact in the audit log. The [Log] assigns Time (from a
// clock that never goes backwards) and, if empty, ID; the other fields
// are the caller's. Fields marked sensitive appear in the leaf only as
// per-tenant keyed HMACs; their clear values are sealed beside it.
type Event struct {
	// ID is the immutable event identifier (a UUIDv7 unless set).
	ID string
	// Type is the normalized event name.
	Type EventType
	// Time is assigned by the log.
	Time time.Time
	// Tenant owns the event; "" for platform events.
	Tenant string
	// Actor is who acted.
	Actor Actor
	// Subject is what was acted upon.
	Subject Subject
	// Request is the request the action came in.
	Request Request
	// Outcome is how it ended; Reason says why it failed or was denied.
	Outcome Outcome
	Reason  string
	// Policy is the decision that allowed (or denied) the action.
	Policy Policy
	// Details are further non-sensitive attributes.
	Details map[string]string
	// Sensitive are further sensitive attributes (sealed, HMAC in leaf).
	Sensitive map[string]string
}

// An Actor is who performed an action.
type Actor struct {
	Kind ActorKind
	// ID is the stable account, service or recipient identifier.
	ID string
	// Email and Name are sensitive.
	Email string
	Name  string
	// AuthStrength is the authentication assurance, e.g. "aal2".
	AuthStrength string
	// AuthMethods are the authentication methods used, e.g. "pwd", "otp",
	// "webauthn" (RFC 8176 amr values).
	AuthMethods []string
}

// A Subject references what an action was about.
type Subject struct {
	// DocumentSHA256 is the hex SHA-256 of the document.
	DocumentSHA256 string
	EnvelopeID     string
	// RecipientEmail is sensitive.
	RecipientEmail    string
	KeyID             string
	KeyVersion        string
	CertificateSerial string
}

// A Request is the context an action arrived in.
type Request struct {
	// CorrelationID is the server's unique id of the request.
	CorrelationID string
	// ClientRequestID is the id the client gave the request (its
	// X-Request-Id); clients may repeat it.
	ClientRequestID string
	// IP is sensitive.
	IP        string
	UserAgent string
}

// A Policy is the authorization decision behind an action.
type Policy struct {
	// Decision is "allow" or "deny".
	Decision string
	// Policy and Rule name what decided.
	Policy string
	Rule   string
}

// Validate checks e's type, actor kind, outcome and field formats. It does
// not require ID or Time, which the log assigns.
func (e *Event) Validate() error {
	if !e.Type.Known() {
		return fmt.Errorf("%w: unknown type %q", ErrInvalidEvent, e.Type)
	}
	switch e.Actor.Kind {
	case ActorUser, ActorService, ActorRecipient, ActorSystem:
	default:
		return fmt.Errorf("%w: unknown actor kind %q", ErrInvalidEvent, e.Actor.Kind)
	}
	if e.Actor.Kind != ActorSystem && e.Actor.ID == "" {
		return fmt.Errorf("%w: %s actor without id", ErrInvalidEvent, e.Actor.Kind)
	}
	switch e.Outcome {
	case OutcomeSuccess, OutcomeFailure, OutcomeDenied:
	default:
		return fmt.Errorf("%w: unknown outcome %q", ErrInvalidEvent, e.Outcome)
	}
	switch e.Policy.Decision {
	case "", "allow", "deny":
	default:
		return fmt.Errorf("%w: unknown policy decision %q", ErrInvalidEvent, e.Policy.Decision)
	}
	if d := e.Subject.DocumentSHA256; d != "" {
		if b, err := hex.DecodeString(d); err != nil || len(b) != 32 {
			return fmt.Errorf("%w: document sha256 %q is not 64 hex digits", ErrInvalidEvent, d)
		}
	}
	if len(e.ID) > 128 {
		return fmt.Errorf("%w: id longer than 128 bytes", ErrInvalidEvent)
	}
	if err := CheckEnvelopeID(e.Subject.EnvelopeID); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	return nil
}

// MaxEnvelopeID bounds the length in bytes of Subject.EnvelopeID, which
// the stores index ([Record].Envelope).
const MaxEnvelopeID = 128

// CheckEnvelopeID reports whether id can be an indexed envelope ID: at
// most [MaxEnvelopeID] bytes of valid UTF-8 without NUL ("" is none).
func CheckEnvelopeID(id string) error {
	if len(id) > MaxEnvelopeID {
		return fmt.Errorf("envelope id longer than %d bytes", MaxEnvelopeID)
	}
	if !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0 {
		return fmt.Errorf("envelope id %q is not UTF-8 text without NUL", id)
	}
	return nil
}
