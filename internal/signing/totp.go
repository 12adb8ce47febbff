package signing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/totp"
	"github.com/signet-pki/signet/internal/workflow"
)

// A TOTPOpener opens a registered user's sealed TOTP secret (the
// identity.TOTPEnrolment's SealedSecret) by the login service's sealing
// rule; login.TOTPKeys implements it. A secret sealed for another user
// MUST NOT open. The caller clears the key's Secret after use.
type TOTPOpener interface {
	OpenTOTP(ctx context.Context, u identity.User, sealed []byte) (totp.Key, error)
}

// TOTPEnrolments are the registered users' TOTP enrolments;
// identity.Store implements it. TOTP MUST return an error matching
// identity.ErrNotFound when the user has none; AcceptTOTPStep records
// step as the user's last accepted step only if it is after the stored
// one, else returns an error matching identity.ErrConflict (the
// compare-and-set that makes a code usable once, across the login and
// the signing service).
type TOTPEnrolments interface {
	TOTP(ctx context.Context, tenant, userID string) (identity.TOTPEnrolment, error)
	AcceptTOTPStep(ctx context.Context, tenant, userID string, step uint64, at time.Time) error
}

// totpMethod is the strong-authentication method of a TOTP verification,
// as internal/authz names it.
const totpMethod = "totp"

// totpMethods are the RFC 8176 amr values of a TOTP verification: "otp"
// (a one-time password of the user's authenticator) and "user" (the code
// of a registered user's enrolment, on top of the link e-mailed to the
// recipient); its assurance is "aal2".
var totpMethods = []string{"otp", "user"}

// totpSession reports whether ss was opened by a TOTP code
// ([Service.Verify] for a [workflow.AuthTOTP] recipient): it has no
// passkey intent and exactly the amr values of a TOTP verification,
// which no other level gives.
func totpSession(ss Session) bool {
	return ss.Intent == nil && slices.Equal(ss.Methods, totpMethods)
}

// totpUser returns the registered user behind TOTP recipient v of link l
// and their confirmed enrolment: an active user of the envelope's tenant
// with the recipient's address. Anything else is [ErrTOTPUnavailable]
// (or [ErrUnavailable] on a server without TOTP checking), recorded in
// ev as a denial; never a fallback to a weaker method, and never counted
// toward the lockout: nothing was guessed.
func (s *Service) totpUser(ctx context.Context, l Link, v *workflow.RecipientView, ev auditlog.Event) (identity.User, identity.TOTPEnrolment, error) {
	var none identity.TOTPEnrolment
	if s.cfg.TOTPSecrets == nil || s.cfg.TOTPEnrolments == nil || s.cfg.Users == nil {
		return identity.User{}, none, s.deny(ctx, ev, "TOTP not configured",
			withDetail(ErrUnavailable, "this server cannot check TOTP codes of registered users; ask the operator", nil))
	}
	u, err := s.cfg.Users.UserByEmail(ctx, l.Tenant, v.Recipient.Email)
	switch {
	case errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrInvalid):
		return identity.User{}, none, s.deny(ctx, ev, "no registered user with the recipient's address",
			withDetail(ErrTOTPUnavailable, "no registered user of this organization has the recipient's e-mail address; the recipient must register and enrol a TOTP authenticator first, or the sender must choose another recipient", nil))
	case err != nil:
		return identity.User{}, none, fmt.Errorf("signing: load user: %w", err)
	case u.Status != identity.StatusActive:
		return identity.User{}, none, s.deny(ctx, ev, "the registered user is disabled",
			withDetail(ErrTOTPUnavailable, "the registered user with the recipient's address is disabled", nil))
	case u.Tenant != l.Tenant:
		return identity.User{}, none, fmt.Errorf("signing: the user store returned a user of another tenant")
	}
	e, err := s.cfg.TOTPEnrolments.TOTP(ctx, u.Tenant, u.ID)
	switch {
	case errors.Is(err, identity.ErrNotFound):
		return identity.User{}, none, s.deny(ctx, ev, "the registered user has no TOTP authenticator",
			withDetail(ErrTOTPUnavailable, "the registered user with the recipient's address has no TOTP authenticator; they must enrol one in their account first", nil))
	case err != nil:
		return identity.User{}, none, fmt.Errorf("signing: load TOTP enrolment: %w", err)
	case e.ConfirmedAt.IsZero():
		return identity.User{}, none, s.deny(ctx, ev, "the registered user's TOTP enrolment is not confirmed",
			withDetail(ErrTOTPUnavailable, "the registered user with the recipient's address has not confirmed their TOTP authenticator; they must finish its enrolment first", nil))
	}
	return u, e, nil
}

// checkTOTP checks code against u's confirmed enrolment e at now, and
// accepts its time step once (identity's compare-and-set): a code of a
// step at or before the last accepted one, by this service or at login,
// is refused. It reports whether the code is accepted and, if not, why.
func (s *Service) checkTOTP(ctx context.Context, u identity.User, e identity.TOTPEnrolment, code string, now time.Time) (bool, string, error) {
	k, err := s.cfg.TOTPSecrets.OpenTOTP(ctx, u, e.SealedSecret)
	if err != nil {
		return false, "", fmt.Errorf("signing: open the user's TOTP secret: %w", err)
	}
	defer clear(k.Secret)
	step, err := totp.Verify(k, code, now, e.LastStep)
	switch {
	case errors.Is(err, totp.ErrInvalidCode):
		return false, "wrong or replayed TOTP code", nil
	case err != nil:
		return false, "", fmt.Errorf("signing: the user's TOTP key: %w", err)
	}
	err = s.cfg.TOTPEnrolments.AcceptTOTPStep(ctx, u.Tenant, u.ID, step, now)
	switch {
	case errors.Is(err, identity.ErrConflict):
		return false, "TOTP code replayed", nil
	case err != nil:
		return false, "", fmt.Errorf("signing: accept TOTP step: %w", err)
	}
	return true, "", nil
}
