package signing

import (
	"errors"
	"net/http"

	"github.com/signet-pki/signet/internal/api"
)

// Errors that callers branch on. They are [api.Error] values (match with
// errors.Is), so [api.WriteProblem] answers them with a stable problem
// type.
var (
	// ErrInvalidLink means the link token is missing, unknown, expired or
	// already used (401).
	ErrInvalidLink = &api.Error{Kind: api.KindUnauthorized, Type: "invalid-link", Title: "Invalid or expired link"}
	// ErrInvalidSession means the session token is missing, unknown or
	// expired (401).
	ErrInvalidSession = &api.Error{Kind: api.KindUnauthorized, Type: "invalid-session", Title: "Invalid or expired recipient session"}
	// ErrEnvelopeEnded means the link's or session's envelope reached a
	// final state (completed, declined, voided or expired): every link
	// and session of it stops working at once (410).
	ErrEnvelopeEnded = &api.Error{Kind: api.KindUnauthorized, Status: http.StatusGone, Type: "envelope-ended", Title: "The envelope has ended"}
	// ErrLinkRevoked means the recipient's link was revoked, after
	// repeated lockouts or because the sender re-issued it; only a link
	// the sender re-issues opens the envelope again (410).
	ErrLinkRevoked = &api.Error{Kind: api.KindUnauthorized, Status: http.StatusGone, Type: "link-revoked", Title: "Link revoked"}
	// ErrWrongCode means the one-time code is wrong, expired or was never
	// sent, the access code is wrong, or the TOTP code is wrong or
	// already used (401).
	ErrWrongCode = &api.Error{Kind: api.KindUnauthorized, Type: "invalid-code", Title: "Invalid one-time code"}
	// ErrPasskeyRequired means the recipient must confirm with a
	// registered user's passkey (POST /v1/recipient/passkey/begin and
	// /finish), not with a code; or that a high-assurance envelope is
	// signed only in a session opened by a passkey confirmation (or, for
	// a totp recipient, by their TOTP code) (401).
	ErrPasskeyRequired = &api.Error{Kind: api.KindUnauthorized, Type: "passkey-required", Title: "Passkey required"}
	// ErrPasskeyUnavailable means a passkey recipient cannot confirm: no
	// registered user of the envelope's tenant has the recipient's
	// address, the user is disabled, or has no passkey; the detail says
	// which. Nothing weaker is offered instead (403).
	ErrPasskeyUnavailable = &api.Error{Kind: api.KindForbidden, Type: "passkey-unavailable", Title: "No passkey to confirm with"}
	// ErrTOTPUnavailable means a totp recipient cannot verify: no
	// registered user of the envelope's tenant has the recipient's
	// address, the user is disabled, or has no confirmed TOTP enrolment;
	// the detail says which. Nothing weaker is offered instead (403).
	ErrTOTPUnavailable = &api.Error{Kind: api.KindForbidden, Type: "totp-unavailable", Title: "No TOTP authenticator to confirm with"}
	// ErrPasskeyRefused means the passkey confirmation failed: the
	// assertion does not verify (origin, relying party, challenge, user
	// verification, signature, a credential that is not the user's, a
	// counter that did not increase, an assertion already used), or no
	// confirmation is pending (never begun, expired, or already used)
	// (401).
	ErrPasskeyRefused = &api.Error{Kind: api.KindUnauthorized, Type: "passkey-refused", Title: "Passkey confirmation refused"}
	// ErrNotPasskeyRecipient means the passkey routes were used for a
	// recipient whose level is not passkey (409).
	ErrNotPasskeyRecipient = &api.Error{Kind: api.KindConflict, Type: "not-a-passkey-recipient", Title: "Recipient does not confirm with a passkey"}
	// ErrIntentOutdated means the documents changed since the passkey
	// confirmation (another signer of a parallel group signed first):
	// what the passkey approved is not what would be signed, so nothing
	// is signed until the recipient confirms the current versions again
	// (409).
	ErrIntentOutdated = &api.Error{Kind: api.KindConflict, Type: "passkey-confirmation-outdated", Title: "Documents changed since the passkey confirmation"}
	// ErrLinkOnlyDisabled means a link_only recipient's link was used
	// while link-only access is not allowed, by the envelope or by the
	// service (403).
	ErrLinkOnlyDisabled = &api.Error{Kind: api.KindForbidden, Type: "link-only-disabled", Title: "Link-only access is disabled"}
	// ErrNoCodeToSend means the recipient's level sends no one-time code
	// (access_code: they enter the sender's code; totp: a code of their
	// own authenticator; link_only: none) (409).
	ErrNoCodeToSend = &api.Error{Kind: api.KindConflict, Type: "no-code-to-send", Title: "No code to send"}
	// ErrLockedOut means too many wrong codes: the recipient must wait
	// (429).
	ErrLockedOut = &api.Error{Kind: api.KindRateLimited, Type: "recipient-locked", Title: "Too many wrong codes"}
	// ErrTooManyCodes means codes were requested too often (429).
	ErrTooManyCodes = &api.Error{Kind: api.KindRateLimited, Type: "too-many-codes", Title: "Too many codes requested"}
	// ErrNotFound means an object outside the recipient's envelope (404).
	ErrNotFound = &api.Error{Kind: api.KindNotFound}
	// ErrConsentRequired means the recipient has not consented to sign
	// electronically (409).
	ErrConsentRequired = &api.Error{Kind: api.KindConflict, Type: "consent-required", Title: "Consent required"}
	// ErrNotSigner means the recipient's role does not sign (409).
	ErrNotSigner = &api.Error{Kind: api.KindConflict, Type: "not-a-signer", Title: "Recipient does not sign"}
	// ErrInvalid means a malformed request field (422).
	ErrInvalid = &api.Error{Kind: api.KindInvalid, Type: "invalid-request"}
	// ErrUnavailable means a dependency (time-stamp authority, key
	// backend, mail server, audit log) failed, so nothing was done (503).
	ErrUnavailable = &api.Error{Kind: api.KindUnavailable}

	// errNoRecord is what a [Store] returns for a missing row.
	errNoRecord = errors.New("signing: no such record")
)

// ErrNoRecord is returned by [Store] lookups that find nothing.
var ErrNoRecord = errNoRecord

func withDetail(sentinel *api.Error, detail string, cause error) error {
	e := *sentinel
	e.Detail = detail
	e.Err = cause
	return &e
}

func retryAfter(sentinel *api.Error, detail string, seconds int) error {
	e := *sentinel
	e.Detail = detail
	if seconds < 1 {
		seconds = 1
	}
	return &api.RetryAfterError{Err: &e, Seconds: seconds}
}
