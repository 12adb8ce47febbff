package workflow

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/signet-pki/signet/internal/identity/password"
)

// Bounds on access codes, in characters after Unicode NFKC normalization
// (the form that is hashed), and on their raw size.
const (
	MinAccessCodeLen   = 6
	MaxAccessCodeLen   = 64
	maxAccessCodeBytes = 256
)

// e164 is an E.164 number as "+" and 7 to 15 digits, the first not 0
// (ITU-T E.164 §6: at most 15 digits, country code first).
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// AuthLevels are the recipient authentication levels, in the order the
// documentation lists them.
var authLevels = []string{AuthEmailCode, AuthSMSCode, AuthAccessCode, AuthLinkOnly, AuthPasskey, AuthTOTP}

// AuthLevels returns the recipient authentication levels a request may
// name (besides the legacy [AuthEmailOTP]).
func AuthLevels() []string { return slices.Clone(authLevels) }

// NormalizeAuth returns the canonical name of an authentication level:
// "" (none given) and the legacy [AuthEmailOTP] are [AuthEmailCode]. It
// returns "" for an unknown level.
func NormalizeAuth(level string) string {
	switch level {
	case "", AuthEmailOTP:
		return AuthEmailCode
	}
	if slices.Contains(authLevels, level) {
		return level
	}
	return ""
}

// StrongAuth reports whether level gives the fresh strong authentication
// (a registered user's passkey or TOTP code) that a high-assurance
// envelope demands of its signers and approvers.
func StrongAuth(level string) bool { return level == AuthPasskey || level == AuthTOTP }

// recipientAuth checks recipient i's authentication level (its own, or
// the envelope's default def) with the fields it needs, against the
// envelope's and the service's switches, and fills r's Auth, Phone and
// AccessCodeHash. The access code is hashed here and not kept.
func (s *Service) recipientAuth(i int, in RecipientInput, def string, allowLinkOnly bool, r *Recipient) error {
	level := in.Auth
	if level == "" {
		level = def
	}
	auth := NormalizeAuth(level)
	if auth == "" {
		return invalid("recipients[%d]: auth must be one of %s", i, strings.Join(authLevels, ", "))
	}
	if in.Phone != "" && auth != AuthSMSCode {
		return invalid("recipients[%d]: phone is only for auth %q", i, AuthSMSCode)
	}
	if in.AccessCode != "" && auth != AuthAccessCode {
		return invalid("recipients[%d]: access_code is only for auth %q", i, AuthAccessCode)
	}
	switch auth {
	case AuthSMSCode:
		if !e164.MatchString(in.Phone) {
			return invalid("recipients[%d]: auth %q needs phone in E.164 form: + and 7 to 15 digits, e.g. +41791234567", i, AuthSMSCode)
		}
		if !s.cfg.SMSGateway {
			return withDetail(ErrAuthUnavailable, fmt.Sprintf(
				"recipients[%d]: auth %q needs an SMS gateway, and this server has none configured (the sms_gateway setting: its URL and token)", i, AuthSMSCode), nil)
		}
		r.Phone = in.Phone
	case AuthAccessCode:
		code, err := checkAccessCode(i, in.AccessCode)
		if err != nil {
			return err
		}
		h, err := password.Hash(code)
		if err != nil {
			return fmt.Errorf("workflow: hash access code: %w", err)
		}
		r.AccessCodeHash = h
	case AuthLinkOnly:
		if !allowLinkOnly {
			return invalid("recipients[%d]: auth %q needs allow_link_only: true on the envelope", i, AuthLinkOnly)
		}
		if !s.cfg.AllowLinkOnly {
			return withDetail(ErrAuthUnavailable, fmt.Sprintf(
				"recipients[%d]: auth %q is off on this server (the allow_link_only_recipients setting, off by default)", i, AuthLinkOnly), nil)
		}
	}
	r.Auth = auth
	return nil
}

// checkAccessCode checks an access code's form and returns it normalized
// (NFKC): 6 to 64 characters, one line, no control characters. The
// error never quotes the code.
func checkAccessCode(i int, code string) (string, error) {
	bad := invalid("recipients[%d]: auth %q needs access_code: %d to %d characters without control characters",
		i, AuthAccessCode, MinAccessCodeLen, MaxAccessCodeLen)
	if len(code) > maxAccessCodeBytes || !utf8.ValidString(code) {
		return "", bad
	}
	n, err := password.Normalize(code)
	if err != nil {
		return "", bad
	}
	if c := utf8.RuneCountInString(n); c < MinAccessCodeLen || c > MaxAccessCodeLen ||
		strings.ContainsFunc(n, unicode.IsControl) || strings.ContainsFunc(n, isBidiControl) ||
		strings.TrimSpace(n) != n {
		return "", bad
	}
	return n, nil
}
