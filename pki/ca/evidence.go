package ca

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
)

// OIDAuthEvidence identifies the Signet authentication-evidence extension.
//
// The arc 1.3.6.1.4.1.32473 is IANA's enterprise number reserved for
// documentation (RFC 5612); Signet uses 1.3.6.1.4.1.32473.1 until it has an
// enterprise number of its own, and this constant is the only place to
// change. (The registration-free UUID arc 2.25 of ITU-T X.667 needs 128-bit
// arcs, which encoding/asn1 cannot encode.)
var OIDAuthEvidence = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 1}

// ErrNoAuthEvidence means the certificate carries no Signet
// authentication-evidence extension.
var ErrNoAuthEvidence = errors.New("ca: no authentication evidence extension")

// ErrInvalidAuthEvidence means the extension is malformed.
var ErrInvalidAuthEvidence = errors.New("ca: invalid authentication evidence")

// Limits on the evidence, so that a certificate stays small.
const (
	maxMethods     = 16
	maxTokenLength = 64
)

// AuthEvidence records how the certificate's subject was authenticated
// before it was issued. It is DER-encoded into a non-critical extension
// identified by [OIDAuthEvidence]:
//
//	SignetAuthEvidence ::= SEQUENCE {
//	    version        INTEGER { v1(1) },
//	    methods        SEQUENCE SIZE (1..16) OF UTF8String,
//	    assuranceLevel UTF8String,
//	    authTime       GeneralizedTime }
type AuthEvidence struct {
	// Methods are the authentication methods used, as RFC 8176
	// "amr" values such as "pwd", "otp", "hwk" or "mfa".
	Methods []string
	// AssuranceLevel is the authenticator assurance level reached, e.g.
	// "aal2" (NIST SP 800-63B §4).
	AssuranceLevel string
	// Time is when the authentication happened (OIDC auth_time); it is
	// encoded to the second, in UTC.
	Time time.Time
}

type authEvidenceASN1 struct {
	Version        int
	Methods        []asn1.RawValue
	AssuranceLevel string    `asn1:"utf8"`
	Time           time.Time `asn1:"generalized"`
}

// Validate checks e: one to 16 methods, each a token of 1–64 printable
// ASCII characters without spaces, an assurance level of the same form, and
// a non-zero time.
func (e AuthEvidence) Validate() error {
	if len(e.Methods) == 0 || len(e.Methods) > maxMethods {
		return fmt.Errorf("%w: %d methods (want 1 to %d)", ErrInvalidAuthEvidence, len(e.Methods), maxMethods)
	}
	for _, m := range e.Methods {
		if !isToken(m) {
			return fmt.Errorf("%w: method %q is not a token", ErrInvalidAuthEvidence, m)
		}
	}
	if !isToken(e.AssuranceLevel) {
		return fmt.Errorf("%w: assurance level %q is not a token", ErrInvalidAuthEvidence, e.AssuranceLevel)
	}
	if e.Time.IsZero() || e.Time.Year() > 9999 || e.Time.Year() < 1 {
		return fmt.Errorf("%w: no authentication time", ErrInvalidAuthEvidence)
	}
	return nil
}

func isToken(s string) bool {
	if len(s) == 0 || len(s) > maxTokenLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// Marshal returns the DER encoding of e, after [AuthEvidence.Validate].
func (e AuthEvidence) Marshal() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	methods := make([]asn1.RawValue, len(e.Methods))
	for i, m := range e.Methods {
		methods[i] = asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(m)}
	}
	der, err := asn1.Marshal(authEvidenceASN1{
		Version:        1,
		Methods:        methods,
		AssuranceLevel: e.AssuranceLevel,
		Time:           e.Time.UTC().Truncate(time.Second),
	})
	if err != nil {
		return nil, fmt.Errorf("ca: encode authentication evidence: %w", err)
	}
	return der, nil
}

// UnmarshalAuthEvidence parses the DER value of the extension. It rejects
// trailing data, versions other than 1 and evidence that fails
// [AuthEvidence.Validate].
func UnmarshalAuthEvidence(der []byte) (AuthEvidence, error) {
	var v authEvidenceASN1
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil {
		return AuthEvidence{}, fmt.Errorf("%w: %v", ErrInvalidAuthEvidence, err)
	}
	if len(rest) != 0 {
		return AuthEvidence{}, fmt.Errorf("%w: trailing data", ErrInvalidAuthEvidence)
	}
	if v.Version != 1 {
		return AuthEvidence{}, fmt.Errorf("%w: version %d", ErrInvalidAuthEvidence, v.Version)
	}
	e := AuthEvidence{AssuranceLevel: v.AssuranceLevel, Time: v.Time.UTC()}
	for _, m := range v.Methods {
		if m.Class != asn1.ClassUniversal || m.Tag != asn1.TagUTF8String || m.IsCompound {
			return AuthEvidence{}, fmt.Errorf("%w: method is not a UTF8String", ErrInvalidAuthEvidence)
		}
		e.Methods = append(e.Methods, string(m.Bytes))
	}
	if err := e.Validate(); err != nil {
		return AuthEvidence{}, err
	}
	return e, nil
}

// ParseAuthEvidence returns the authentication evidence recorded in cert,
// or [ErrNoAuthEvidence]. It does not verify cert: callers verify the chain
// first and only then trust what the extension says.
func ParseAuthEvidence(cert *x509.Certificate) (AuthEvidence, error) {
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(OIDAuthEvidence) {
			if ext.Critical {
				return AuthEvidence{}, fmt.Errorf("%w: extension marked critical", ErrInvalidAuthEvidence)
			}
			return UnmarshalAuthEvidence(ext.Value)
		}
	}
	return AuthEvidence{}, ErrNoAuthEvidence
}
