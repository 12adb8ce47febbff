package passkey

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/signet-pki/signet/internal/identity"
)

// signingDomain separates signing challenges from every other use of
// SHA-256 in the service.
const signingDomain = "signet/passkey/signing-intent/v1"

// SigningChallenge returns the WebAuthn challenge by which a signer
// approves one document version in one envelope:
//
//	SHA-256( "signet/passkey/signing-intent/v1" ‖ 0x00 ‖
//	         documentSHA256 (32 bytes) ‖
//	         uint32be(len(envelopeID)) ‖ envelopeID ‖
//	         uint32be(len(recipientOrUserID)) ‖ recipientOrUserID )
//
// where the ids are their UTF-8 bytes and uint32be is a 4-byte big-endian
// length, so that no two distinct triples hash the same input. The
// vectors in testdata/signing-challenge.json were computed independently
// of this function.
func SigningChallenge(documentSHA256 [32]byte, envelopeID, recipientOrUserID string) [32]byte {
	h := sha256.New()
	h.Write([]byte(signingDomain))
	h.Write([]byte{0})
	h.Write(documentSHA256[:])
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(envelopeID))))
	h.Write([]byte(envelopeID))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(recipientOrUserID))))
	h.Write([]byte(recipientOrUserID))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// BeginSigning starts u's approval of a document: the WebAuthn challenge
// is [SigningChallenge](documentSHA256, envelopeID, signerID). It returns
// the options for navigator.credentials.get and the ceremony to pass to
// [Service.FinishSigning].
func (s *Service) BeginSigning(ctx context.Context, u identity.User, documentSHA256 [32]byte, envelopeID, signerID string) ([]byte, Ceremony, error) {
	if err := id("envelope id", envelopeID); err != nil {
		return nil, Ceremony{}, err
	}
	if err := id("signer id", signerID); err != nil {
		return nil, Ceremony{}, err
	}
	ch := SigningChallenge(documentSHA256, envelopeID, signerID)
	return s.beginAssertion(ctx, u, ch[:], func(c []byte) Ceremony {
		cer := s.ceremony(KindSigning, u, c)
		cer.document, cer.envelopeID, cer.signerID = documentSHA256, envelopeID, signerID
		return cer
	})
}

// FinishSigning verifies the browser's response to the options of
// [Service.BeginSigning] as [Service.FinishLogin] does, and that the
// signed challenge is the one derived from the ceremony's document,
// envelope and signer: an assertion made for another document is
// refused. The returned assertion is the evidence of what u approved.
func (s *Service) FinishSigning(ctx context.Context, u identity.User, state Ceremony, response []byte) (Assertion, error) {
	if err := s.check(state, KindSigning, u); err != nil {
		return Assertion{}, err
	}
	want := SigningChallenge(state.document, state.envelopeID, state.signerID)
	if string(state.challenge) != string(want[:]) {
		return Assertion{}, fmt.Errorf("%w: the challenge is not the document's", ErrCeremony)
	}
	a, err := s.finishAssertion(ctx, u, state, response)
	if err != nil {
		return Assertion{}, err
	}
	// go-webauthn compared the challenge in clientDataJSON with the
	// ceremony's; check it again on the evidence itself.
	if err := checkClientData(a.ClientDataJSON, want[:]); err != nil {
		return Assertion{}, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	return a, nil
}

// VerifySigningEvidence re-checks offline that evidence ([Assertion.Evidence]
// of [Service.FinishSigning]) approves the document: [VerifyEvidence] with
// the credential's stored public key, and an assertion challenge equal to
// [SigningChallenge](documentSHA256, envelopeID, signerID).
func VerifySigningEvidence(evidence, publicKeyCOSE []byte, documentSHA256 [32]byte, envelopeID, signerID string) error {
	if err := VerifyEvidence(evidence, publicKeyCOSE); err != nil {
		return err
	}
	a, err := ParseEvidence(evidence)
	if err != nil {
		return err
	}
	if want := SigningChallenge(documentSHA256, envelopeID, signerID); string(a.Challenge) != string(want[:]) {
		return fmt.Errorf("%w: the assertion approves another document, envelope or signer", ErrEvidence)
	}
	return nil
}
