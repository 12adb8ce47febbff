package signing

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/signet-pki/signet/internal/identity/password"
	"github.com/signet-pki/signet/internal/workflow"
)

// An SMSSender sends a text message to a phone number; package
// internal/mail/sms implements it on an HTTP SMS gateway.
//
// SendSMS MUST return nil only once the message was accepted for delivery,
// and MUST NOT log or echo the text, which carries a one-time code. to is
// an E.164 number ("+" and digits).
type SMSSender interface {
	SendSMS(ctx context.Context, to, text string) error
}

// evidence is what a successful verification at a level proves: RFC 8176
// "amr" values and the NIST SP 800-63B authenticator assurance level.
//
//   - email_code: "otp" and "email" (a one-time code to the address): AAL1.
//   - sms_code: "otp" and "sms" (RFC 8176 §2: confirmation by SMS): AAL1.
//   - access_code: "pwd" (a memorized secret shared out of band): AAL1.
//   - link_only: "email" (only possession of the e-mailed link) at
//     assurance "none": no authenticator of SP 800-63B was used.
//   - totp: "otp" and "user" (a code of the TOTP enrolment of the
//     registered user with the recipient's address, besides the link
//     e-mailed to them): AAL2.
//
// A passkey recipient verifies no code: what their confirmation proves
// depends on the passkey ([passkeyEvidence]). An unknown level has none,
// and verifies nothing.
func evidence(level string) (methods []string, assurance string, ok bool) {
	switch level {
	case workflow.AuthEmailCode:
		return []string{"otp", "email"}, "aal1", true
	case workflow.AuthSMSCode:
		return []string{"otp", "sms"}, "aal1", true
	case workflow.AuthAccessCode:
		return []string{"pwd"}, "aal1", true
	case workflow.AuthLinkOnly:
		return []string{"email"}, "none", true
	case workflow.AuthTOTP:
		return slices.Clone(totpMethods), "aal2", true
	}
	return nil, "", false
}

// maxAccessCodeInput bounds an access code as received, in bytes.
const maxAccessCodeInput = 256

// checkAccessCode reports whether code matches the recipient's stored
// argon2id hash. A missing or malformed hash is an error (nothing is
// verified against it), never a match.
func checkAccessCode(code, hash string) (bool, error) {
	if hash == "" {
		return false, fmt.Errorf("signing: the recipient has no access code hash")
	}
	if code == "" || len(code) > maxAccessCodeInput {
		return false, nil // a wrong code, counted like any other
	}
	ok, err := password.Verify(code, hash)
	if err != nil {
		return false, fmt.Errorf("signing: the recipient's access code hash: %w", err)
	}
	return ok, nil
}

// maskPhone shows the "+" and the last two digits of a number.
func maskPhone(p string) string {
	if len(p) < 4 || p[0] != '+' {
		return "***"
	}
	return "+" + strings.Repeat("*", len(p)-3) + p[len(p)-2:]
}

// proofHint is the line of the link e-mail that tells the recipient what
// they will be asked for, by level.
func proofHint(r workflow.Recipient) string {
	switch workflow.NormalizeAuth(r.Auth) {
	case workflow.AuthEmailCode:
		return "Before you see the documents we will email you a one-time code to confirm this address.\n"
	case workflow.AuthSMSCode:
		return "Before you see the documents we will send a one-time code by SMS to your phone number " + maskPhone(r.Phone) + ".\n"
	case workflow.AuthAccessCode:
		return "Before you see the documents you will be asked for the access code the sender gave you (it is not in this message).\n"
	case workflow.AuthPasskey:
		return "Before you see the documents you will be asked to confirm with your passkey.\n"
	case workflow.AuthTOTP:
		return "Before you see the documents you will be asked for a code from the authenticator app of your account.\n"
	}
	return ""
}
