package passkey

import (
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/signet-pki/signet/internal/identity"
)

// ErrEvidence: evidence is malformed or does not verify.
var ErrEvidence = errors.New("passkey: invalid assertion evidence")

// Bounds of the evidence, in bytes. Their sum with the DER overhead stays
// under [MaxEvidence].
const (
	// MaxEvidence bounds [Assertion.Evidence]'s encoding.
	MaxEvidence          = 4096
	maxAuthenticatorData = 1024
	maxClientDataJSON    = 1024
	maxSignature         = 512 // RSA-4096
	maxUserHandle        = 64
	minAuthenticatorData = 37 // rpIdHash ‖ flags ‖ signCount
)

// An Assertion is an accepted WebAuthn assertion, kept as evidence: what
// the authenticator signed and when the relying party accepted it.
type Assertion struct {
	// CredentialID names the passkey that signed.
	CredentialID []byte
	// AuthenticatorData, ClientDataJSON and Signature are the
	// authenticator's response as it was received; Signature is over
	// AuthenticatorData ‖ SHA-256(ClientDataJSON).
	AuthenticatorData []byte
	ClientDataJSON    []byte
	Signature         []byte
	// UserHandle is the response's user handle ([UserHandle]), empty if
	// the authenticator sent none.
	UserHandle []byte
	// Challenge is the challenge of the ceremony, the one inside
	// ClientDataJSON; for a signature, [SigningChallenge].
	Challenge []byte
	// Time is when the assertion was accepted (the evidence keeps whole
	// seconds, UTC).
	Time time.Time
	// UserVerified, BackupEligible and BackupState are the UV, BE and BS
	// flags of AuthenticatorData.
	UserVerified, BackupEligible, BackupState bool
}

// assertionASN1 is the DER form of the evidence:
//
//	PasskeyAssertion ::= SEQUENCE {
//	    version           INTEGER { v1(1) },
//	    credentialID      OCTET STRING (SIZE (1..1023)),
//	    authenticatorData OCTET STRING (SIZE (37..1024)),
//	    clientDataJSON    OCTET STRING (SIZE (1..1024)),
//	    signature         OCTET STRING (SIZE (1..512)),
//	    userHandle        OCTET STRING (SIZE (0..64)),
//	    challenge         OCTET STRING (SIZE (16..64)),
//	    time              GeneralizedTime }  -- UTC, whole seconds
type assertionASN1 struct {
	Version           int
	CredentialID      []byte
	AuthenticatorData []byte
	ClientDataJSON    []byte
	Signature         []byte
	UserHandle        []byte
	Challenge         []byte
	Time              time.Time `asn1:"generalized"`
	// Extra catches an element after the known ones, which
	// encoding/asn1 would otherwise ignore; evidence with one is refused.
	Extra asn1.RawValue `asn1:"optional"`
}

func size(field string, b []byte, lo, hi int) error {
	if len(b) < lo || len(b) > hi {
		return fmt.Errorf("%w: %s of %d bytes (%d to %d)", ErrEvidence, field, len(b), lo, hi)
	}
	return nil
}

func (v assertionASN1) validate() error {
	var t error
	if v.Time.IsZero() || v.Time.Year() < 1 || v.Time.Year() > 9999 {
		t = fmt.Errorf("%w: no time", ErrEvidence)
	}
	return errors.Join(t,
		size("credential id", v.CredentialID, 1, identity.MaxCredentialID),
		size("authenticator data", v.AuthenticatorData, minAuthenticatorData, maxAuthenticatorData),
		size("client data", v.ClientDataJSON, 1, maxClientDataJSON),
		size("signature", v.Signature, 1, maxSignature),
		size("user handle", v.UserHandle, 0, maxUserHandle),
		size("challenge", v.Challenge, minChallenge, maxChallenge),
	)
}

// Evidence returns the DER encoding of a (PasskeyAssertion, documented on
// [ParseEvidence]), at most [MaxEvidence] bytes. The flags are not
// encoded: they are read back from the authenticator data.
func (a Assertion) Evidence() ([]byte, error) {
	t := a.Time.UTC().Truncate(time.Second)
	v := assertionASN1{Version: 1, CredentialID: a.CredentialID, AuthenticatorData: a.AuthenticatorData,
		ClientDataJSON: a.ClientDataJSON, Signature: a.Signature, UserHandle: a.UserHandle, Challenge: a.Challenge, Time: t}
	if err := v.validate(); err != nil {
		return nil, err
	}
	der, err := asn1.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEvidence, err)
	}
	if len(der) > MaxEvidence {
		return nil, fmt.Errorf("%w: %d bytes", ErrEvidence, len(der))
	}
	return der, nil
}

// ParseEvidence decodes evidence made by [Assertion.Evidence]: the DER of
//
//	PasskeyAssertion ::= SEQUENCE {
//	    version           INTEGER { v1(1) },
//	    credentialID      OCTET STRING (SIZE (1..1023)),
//	    authenticatorData OCTET STRING (SIZE (37..1024)),
//	    clientDataJSON    OCTET STRING (SIZE (1..1024)),
//	    signature         OCTET STRING (SIZE (1..512)),
//	    userHandle        OCTET STRING (SIZE (0..64)),
//	    challenge         OCTET STRING (SIZE (16..64)),
//	    time              GeneralizedTime }  -- UTC, whole seconds
//
// of at most [MaxEvidence] bytes, without trailing data or elements. The flags are
// those of byte 32 of the authenticator data. It does not verify the
// signature ([VerifyEvidence] does).
func ParseEvidence(der []byte) (Assertion, error) {
	if len(der) > MaxEvidence {
		return Assertion{}, fmt.Errorf("%w: %d bytes", ErrEvidence, len(der))
	}
	var v assertionASN1
	rest, err := asn1.Unmarshal(der, &v)
	switch {
	case err != nil:
		return Assertion{}, fmt.Errorf("%w: %v", ErrEvidence, err)
	case len(rest) != 0 || len(v.Extra.FullBytes) != 0:
		return Assertion{}, fmt.Errorf("%w: trailing data", ErrEvidence)
	case v.Version != 1:
		return Assertion{}, fmt.Errorf("%w: version %d", ErrEvidence, v.Version)
	}
	if err := v.validate(); err != nil {
		return Assertion{}, err
	}
	flags := v.AuthenticatorData[32]
	return Assertion{
		CredentialID: v.CredentialID, AuthenticatorData: v.AuthenticatorData, ClientDataJSON: v.ClientDataJSON,
		Signature: v.Signature, UserHandle: v.UserHandle, Challenge: v.Challenge, Time: v.Time.UTC(),
		UserVerified: flags&0x04 != 0, BackupEligible: flags&0x08 != 0, BackupState: flags&0x10 != 0,
	}, nil
}

// checkClientData checks that clientDataJSON is the client data of an
// assertion ("webauthn.get") whose challenge is challenge.
func checkClientData(clientDataJSON, challenge []byte) error {
	var cd struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(clientDataJSON, &cd); err != nil {
		return fmt.Errorf("client data: %v", err)
	}
	if cd.Type != "webauthn.get" {
		return fmt.Errorf("client data of type %q, want webauthn.get", cd.Type)
	}
	got, err := base64.RawURLEncoding.DecodeString(cd.Challenge)
	if err != nil || string(got) != string(challenge) {
		return errors.New("the challenge in the client data is not the evidence's")
	}
	return nil
}

// VerifyEvidence re-checks evidence offline with the credential's stored
// COSE public key: it parses the evidence ([ParseEvidence]), checks that
// the authenticator data has the user present and verified (UP, UV), that
// clientDataJSON is of an assertion ("webauthn.get") whose challenge is
// the evidence's, and that the signature verifies over
// authenticatorData ‖ SHA-256(clientDataJSON). It does not judge the
// origin or the RP ID, which the relying party checked when it accepted
// the assertion (both are in the evidence for a reader), nor, for a
// signature, whether the challenge is [SigningChallenge] of the document:
// the caller recomputes that and compares it with the parsed Challenge.
func VerifyEvidence(evidence []byte, publicKeyCOSE []byte) error {
	a, err := ParseEvidence(evidence)
	if err != nil {
		return err
	}
	if flags := a.AuthenticatorData[32]; flags&0x01 == 0 || flags&0x04 == 0 {
		return fmt.Errorf("%w: user not present and verified", ErrEvidence)
	}
	if err := checkClientData(a.ClientDataJSON, a.Challenge); err != nil {
		return fmt.Errorf("%w: %v", ErrEvidence, err)
	}
	if len(publicKeyCOSE) == 0 || len(publicKeyCOSE) > identity.MaxPublicKey {
		return fmt.Errorf("%w: public key of %d bytes", ErrEvidence, len(publicKeyCOSE))
	}
	key, err := webauthncose.ParsePublicKey(publicKeyCOSE)
	if err != nil {
		return fmt.Errorf("%w: public key: %v", ErrEvidence, err)
	}
	h := sha256.Sum256(a.ClientDataJSON)
	signed := append(append([]byte(nil), a.AuthenticatorData...), h[:]...)
	ok, err := webauthncose.VerifySignature(key, signed, a.Signature)
	if err != nil || !ok {
		return fmt.Errorf("%w: signature does not verify", ErrEvidence)
	}
	return nil
}
