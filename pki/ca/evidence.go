package ca

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
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
	// MaxSigningAssertion bounds [SigningIntent.Assertion].
	MaxSigningAssertion = 4096
	// MaxSigningIntentID bounds [SigningIntent.EnvelopeID] and
	// [SigningIntent.SignerID], in bytes.
	MaxSigningIntentID = 128
)

// AuthEvidence records how the certificate's subject was authenticated
// before it was issued. It is DER-encoded into a non-critical extension
// identified by [OIDAuthEvidence]:
//
//	SignetAuthEvidence ::= SEQUENCE {
//	    version        INTEGER { v1(1) },
//	    methods        SEQUENCE SIZE (1..16) OF UTF8String,
//	    assuranceLevel UTF8String,
//	    authTime       GeneralizedTime,
//	    signingIntent  [0] EXPLICIT SigningIntent OPTIONAL }
//
//	SigningIntent ::= SEQUENCE {
//	    documentSHA256 OCTET STRING (SIZE (32)),
//	    envelopeID     UTF8String (SIZE (1..128)),
//	    signerID       UTF8String (SIZE (1..128)),
//	    challenge      OCTET STRING (SIZE (32)),
//	    assertion      OCTET STRING (SIZE (1..4096)) }
//
// The signingIntent field came later, still under version 1: evidence
// without it encodes as before, and evidence encoded before it parses
// with a nil [AuthEvidence.SigningIntent]. An element after the known
// ones, in either SEQUENCE, is refused.
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
	// SigningIntent, if not nil, is the subject's passkey assertion
	// approving the document the certificate signs.
	SigningIntent *SigningIntent
}

// A SigningIntent is a signer's passkey approval of one document version:
// a WebAuthn assertion over a challenge derived from the document's
// SHA-256, the envelope and the signer (internal/identity/passkey's
// SigningChallenge), kept as the assertion's evidence
// (internal/identity/passkey's Assertion.Evidence, which its
// VerifyEvidence re-checks with the signer's stored public key). The CA
// records it as given: a verifier recomputes the challenge from the
// other fields, compares it with Challenge and with the challenge inside
// the assertion, and verifies the assertion.
type SigningIntent struct {
	// DocumentSHA256 is the SHA-256 of the exact document version.
	DocumentSHA256 [32]byte
	// EnvelopeID and SignerID name the envelope and the signer (recipient
	// or user): UTF-8 of 1 to [MaxSigningIntentID] bytes.
	EnvelopeID, SignerID string
	// Challenge is the WebAuthn challenge the assertion signed.
	Challenge [32]byte
	// Assertion is the assertion's evidence, 1 to [MaxSigningAssertion]
	// bytes.
	Assertion []byte
}

type authEvidenceASN1 struct {
	Version        int
	Methods        []asn1.RawValue
	AssuranceLevel string        `asn1:"utf8"`
	Time           time.Time     `asn1:"generalized"`
	SigningIntent  asn1.RawValue `asn1:"optional,explicit,tag:0"`
	// Extra catches an element after the known ones, which
	// encoding/asn1 would otherwise ignore; evidence with one is refused.
	Extra asn1.RawValue `asn1:"optional"`
}

type signingIntentASN1 struct {
	DocumentSHA256 []byte
	EnvelopeID     asn1.RawValue
	SignerID       asn1.RawValue
	Challenge      []byte
	Assertion      []byte
	Extra          asn1.RawValue `asn1:"optional"`
}

func (si *SigningIntent) validate() error {
	for _, f := range []struct{ name, v string }{{"envelope id", si.EnvelopeID}, {"signer id", si.SignerID}} {
		if len(f.v) == 0 || len(f.v) > MaxSigningIntentID || !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: signing intent %s must be UTF-8 of 1 to %d bytes", ErrInvalidAuthEvidence, f.name, MaxSigningIntentID)
		}
	}
	if len(si.Assertion) == 0 || len(si.Assertion) > MaxSigningAssertion {
		return fmt.Errorf("%w: signing intent assertion of %d bytes (1 to %d)", ErrInvalidAuthEvidence, len(si.Assertion), MaxSigningAssertion)
	}
	return nil
}

func utf8Raw(s string) asn1.RawValue { return asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(s)} }

func isUTF8Raw(v asn1.RawValue) bool {
	return v.Class == asn1.ClassUniversal && v.Tag == asn1.TagUTF8String && !v.IsCompound
}

// marshal returns the DER of the SigningIntent SEQUENCE.
func (si *SigningIntent) marshal() ([]byte, error) {
	return asn1.Marshal(signingIntentASN1{
		DocumentSHA256: si.DocumentSHA256[:], EnvelopeID: utf8Raw(si.EnvelopeID), SignerID: utf8Raw(si.SignerID),
		Challenge: si.Challenge[:], Assertion: si.Assertion,
	})
}

// unmarshalSigningIntent parses the DER of the SigningIntent SEQUENCE.
func unmarshalSigningIntent(der []byte) (*SigningIntent, error) {
	var v signingIntentASN1
	rest, err := asn1.Unmarshal(der, &v)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: signing intent: %v", ErrInvalidAuthEvidence, err)
	case len(rest) != 0 || len(v.Extra.FullBytes) != 0:
		return nil, fmt.Errorf("%w: signing intent: trailing data", ErrInvalidAuthEvidence)
	case len(v.DocumentSHA256) != 32 || len(v.Challenge) != 32:
		return nil, fmt.Errorf("%w: signing intent hashes must be 32 bytes", ErrInvalidAuthEvidence)
	case !isUTF8Raw(v.EnvelopeID) || !isUTF8Raw(v.SignerID):
		return nil, fmt.Errorf("%w: signing intent ids must be UTF8Strings", ErrInvalidAuthEvidence)
	}
	si := &SigningIntent{EnvelopeID: string(v.EnvelopeID.Bytes), SignerID: string(v.SignerID.Bytes), Assertion: v.Assertion}
	copy(si.DocumentSHA256[:], v.DocumentSHA256)
	copy(si.Challenge[:], v.Challenge)
	return si, si.validate()
}

// Validate checks e: one to 16 methods, each a token of 1–64 printable
// ASCII characters without spaces, an assurance level of the same form, a
// non-zero time, and a signing intent, if any, with ids of 1 to
// [MaxSigningIntentID] bytes of UTF-8 and an assertion of 1 to
// [MaxSigningAssertion] bytes.
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
	if e.SigningIntent != nil {
		return e.SigningIntent.validate()
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
	v := authEvidenceASN1{
		Version:        1,
		Methods:        methods,
		AssuranceLevel: e.AssuranceLevel,
		Time:           e.Time.UTC().Truncate(time.Second),
	}
	if e.SigningIntent != nil {
		si, err := e.SigningIntent.marshal()
		if err != nil {
			return nil, fmt.Errorf("ca: encode signing intent: %w", err)
		}
		v.SigningIntent = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: si}
	}
	der, err := asn1.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("ca: encode authentication evidence: %w", err)
	}
	return der, nil
}

// UnmarshalAuthEvidence parses the DER value of the extension, with or
// without a signing intent. It rejects trailing data, versions other than
// 1 and evidence that fails [AuthEvidence.Validate].
func UnmarshalAuthEvidence(der []byte) (AuthEvidence, error) {
	var v authEvidenceASN1
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil {
		return AuthEvidence{}, fmt.Errorf("%w: %v", ErrInvalidAuthEvidence, err)
	}
	if len(rest) != 0 || len(v.Extra.FullBytes) != 0 {
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
	if si := v.SigningIntent; len(si.FullBytes) != 0 {
		if si.Class != asn1.ClassContextSpecific || si.Tag != 0 || !si.IsCompound {
			return AuthEvidence{}, fmt.Errorf("%w: signing intent is not [0]", ErrInvalidAuthEvidence)
		}
		intent, err := unmarshalSigningIntent(si.Bytes)
		if err != nil {
			return AuthEvidence{}, err
		}
		e.SigningIntent = intent
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
