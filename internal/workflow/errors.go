package workflow

import "github.com/signet-pki/signet/internal/api"

// Errors that callers branch on. They are [api.Error] values, so
// [api.WriteProblem] answers them with their kind's status and stable
// problem type; match them with errors.Is, which compares kind and type.
var (
	// ErrNotFound means the document, envelope or recipient does not exist
	// for the acting tenant. Another tenant's objects are not found.
	ErrNotFound = &api.Error{Kind: api.KindNotFound}
	// ErrInvalidTransition means the action is not allowed in the
	// envelope's current state (see [Transitions]); it is a 409.
	ErrInvalidTransition = &api.Error{Kind: api.KindConflict, Type: "invalid-transition"}
	// ErrNotYourTurn means a recipient acted before their routing order
	// came up, or after they were done.
	ErrNotYourTurn = &api.Error{Kind: api.KindConflict, Type: "not-recipients-turn"}
	// ErrBusy means the envelope changed concurrently (another process
	// updated it first); the caller may retry.
	ErrBusy = &api.Error{Kind: api.KindConflict, Type: "concurrent-update"}
	// ErrAuditUnavailable means the audit log could not record an action,
	// which therefore did not happen (fail closed).
	ErrAuditUnavailable = &api.Error{Kind: api.KindUnavailable, Type: "audit-unavailable"}
	// ErrAuthUnavailable means a recipient names an authentication level
	// this server is not configured for (sms_code without an SMS gateway,
	// link_only with the service option off); the detail names the
	// missing setting (422).
	ErrAuthUnavailable = &api.Error{Kind: api.KindInvalid, Type: "recipient-auth-unavailable"}
	// ErrHighAssuranceAuth means a signer or approver of a high-assurance
	// envelope names an authentication level other than [AuthPasskey] or
	// [AuthTOTP], which alone give the fresh strong authentication such
	// an envelope demands; the detail names the recipient (422).
	ErrHighAssuranceAuth = &api.Error{Kind: api.KindInvalid, Type: "high-assurance-needs-passkey"}
	// ErrInvalid means a request field is missing or out of range.
	ErrInvalid = &api.Error{Kind: api.KindInvalid, Type: "invalid-request"}
	// ErrTooLarge means an uploaded document exceeds the size limit.
	ErrTooLarge = &api.Error{Kind: api.KindTooLarge}
	// ErrUnsupportedMedia means an upload is not declared application/pdf.
	ErrUnsupportedMedia = &api.Error{Kind: api.KindUnsupportedMedia}
	// ErrNotPDF means an upload does not start with a PDF header.
	ErrNotPDF = &api.Error{Kind: api.KindInvalid, Type: "not-a-pdf"}
	// ErrMalformedPDF means an upload has a PDF header but does not parse
	// completely.
	ErrMalformedPDF = &api.Error{Kind: api.KindInvalid, Type: "malformed-pdf"}
	// ErrEncryptedPDF means an upload is encrypted, which Signet refuses:
	// it could neither check nor sign what it cannot read.
	ErrEncryptedPDF = &api.Error{Kind: api.KindInvalid, Type: "encrypted-pdf"}
	// ErrActiveContent means an upload carries active content (JavaScript,
	// launch and other refused actions, XFA forms, embedded executables),
	// which the refuse policy rejects: a signature must cover what the
	// signer sees.
	ErrActiveContent = &api.Error{Kind: api.KindInvalid, Type: "pdf-active-content"}
	// ErrDecodeBudget means an upload needs more than the decoding budget
	// to read (a decompression bomb, or a document too complex to check).
	ErrDecodeBudget = &api.Error{Kind: api.KindInvalid, Type: "pdf-decode-budget"}
	// ErrCertifiedPDF means an upload carries a certification signature
	// whose DocMDP permissions (P=1) forbid any change: it could never be
	// signed.
	ErrCertifiedPDF = &api.Error{Kind: api.KindInvalid, Type: "pdf-certified-no-changes"}
)

func invalid(format string, args ...any) error {
	e := api.Errorf(api.KindInvalid, format, args...)
	e.Type = ErrInvalid.Type
	return e
}

func withDetail(sentinel *api.Error, detail string, cause error) error {
	e := *sentinel
	e.Detail = detail
	e.Err = cause
	return &e
}
