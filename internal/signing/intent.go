package signing

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/identity/passkey"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pki/ca"
)

// Bounds of an [Intent].
const (
	// MaxIntentDocuments bounds [Intent.Documents].
	MaxIntentDocuments = 64
	// MaxIntent bounds the binary form of an Intent ([Intent.MarshalBinary]).
	MaxIntent = 16 << 10
	// MaxUsedAssertions bounds [AuthState.UsedAssertions].
	MaxUsedAssertions = 16
)

// documentsDomain separates [IntentDigest] of several documents from
// every other use of SHA-256 in the service.
const documentsDomain = "signet/signing/documents/v1"

// A DocumentVersion is one exact version of a document of an envelope.
type DocumentVersion struct {
	DocumentID string `json:"document_id"`
	// SHA256 is the version's SHA-256, lower-case hex.
	SHA256 string `json:"sha256"`
}

// IntentDigest returns the digest a passkey recipient approves, over the
// document versions they are about to sign, in the order [Service.Sign]
// signs them (ascending document id, bytewise):
//
//   - one document: its SHA-256, so that the signing intent in the signer
//     certificate names the very version the signature covers;
//   - several: SHA-256( "signet/signing/documents/v1" ‖ 0x00 ‖
//     uint32be(n) ‖ for each document: uint32be(len(id)) ‖ id ‖
//     SHA-256 of the version (32 bytes) ), the ids as their UTF-8 bytes.
//
// The WebAuthn challenge is then passkey.SigningChallenge(digest,
// envelope id, recipient id). A verifier of a multi-document envelope
// recomputes the digest from the versions each signature covers (the
// previous_sha256 of the recipient's signature.created events, or the
// revisions of the signed PDFs). docs must be non-empty, sorted, without
// duplicates, with valid ids and hashes.
func IntentDigest(docs []DocumentVersion) ([32]byte, error) {
	if len(docs) == 0 || len(docs) > MaxIntentDocuments {
		return [32]byte{}, fmt.Errorf("signing: %d documents in an intent (1 to %d)", len(docs), MaxIntentDocuments)
	}
	sums := make([][32]byte, len(docs))
	for i, d := range docs {
		if d.DocumentID == "" || len(d.DocumentID) > ca.MaxSigningIntentID || !utf8.ValidString(d.DocumentID) {
			return [32]byte{}, fmt.Errorf("signing: intent document id must be UTF-8 of 1 to %d bytes", ca.MaxSigningIntentID)
		}
		if i > 0 && docs[i-1].DocumentID >= d.DocumentID {
			return [32]byte{}, errors.New("signing: intent documents must be in ascending id order, each once")
		}
		b, err := hex.DecodeString(d.SHA256)
		if err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != d.SHA256 {
			return [32]byte{}, fmt.Errorf("signing: intent document %q: the SHA-256 must be 64 lower-case hex digits", d.DocumentID)
		}
		sums[i] = [32]byte(b)
	}
	if len(docs) == 1 {
		return sums[0], nil
	}
	h := sha256.New()
	h.Write([]byte(documentsDomain))
	h.Write([]byte{0})
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(docs))))
	for i, d := range docs {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(d.DocumentID))))
		h.Write([]byte(d.DocumentID))
		h.Write(sums[i][:])
	}
	return [32]byte(h.Sum(nil)), nil
}

// toSign returns the versions of the documents of v that its recipient
// has not signed yet, in the order [Service.Sign] signs them.
func toSign(v *workflow.RecipientView) []DocumentVersion {
	var out []DocumentVersion
	for _, d := range v.Envelope.Documents {
		if !slices.Contains(v.Recipient.Signed, d.DocumentID) {
			out = append(out, DocumentVersion{DocumentID: d.DocumentID, SHA256: d.SHA256})
		}
	}
	slices.SortFunc(out, func(a, b DocumentVersion) int { return strings.Compare(a.DocumentID, b.DocumentID) })
	return out
}

// An Intent is what a passkey recipient approved: the document versions,
// their [IntentDigest], the WebAuthn challenge derived from it
// (passkey.SigningChallenge(Digest, envelope id, recipient id)) and the
// accepted assertion as evidence. It is kept with the session that the
// confirmation opened, and goes into the signer certificate of each
// signature made in that session (pki/ca's SigningIntent).
type Intent struct {
	// UserID is the registered user whose passkey confirmed.
	UserID string
	// Documents are the versions approved, in signing order.
	Documents []DocumentVersion
	// Digest is IntentDigest(Documents).
	Digest [32]byte
	// Challenge is the WebAuthn challenge the assertion signed.
	Challenge [32]byte
	// Evidence is the assertion's evidence (passkey.Assertion.Evidence):
	// DER of at most passkey.MaxEvidence bytes, whose challenge is
	// Challenge.
	Evidence []byte
}

// Validate checks that i is well formed: a user id, documents whose
// digest is Digest, and evidence that parses, of the challenge Challenge.
// It does not verify the assertion's signature (passkey.VerifyEvidence
// does, with the credential's public key).
func (i *Intent) Validate() error {
	if i.UserID == "" || len(i.UserID) > ca.MaxSigningIntentID || !utf8.ValidString(i.UserID) {
		return fmt.Errorf("signing: intent user id must be UTF-8 of 1 to %d bytes", ca.MaxSigningIntentID)
	}
	d, err := IntentDigest(i.Documents)
	if err != nil {
		return err
	}
	if d != i.Digest {
		return errors.New("signing: the intent's digest is not its documents'")
	}
	if len(i.Evidence) == 0 || len(i.Evidence) > passkey.MaxEvidence {
		return fmt.Errorf("signing: intent evidence of %d bytes (1 to %d)", len(i.Evidence), passkey.MaxEvidence)
	}
	a, err := passkey.ParseEvidence(i.Evidence)
	if err != nil {
		return fmt.Errorf("signing: intent evidence: %w", err)
	}
	if string(a.Challenge) != string(i.Challenge[:]) {
		return errors.New("signing: the intent's evidence is of another challenge")
	}
	return nil
}

// Binds reports whether i is the intent of recipient recipientID of
// envelope envelopeID: its challenge is passkey.SigningChallenge(Digest,
// envelopeID, recipientID).
func (i *Intent) Binds(envelopeID, recipientID string) bool {
	return passkey.SigningChallenge(i.Digest, envelopeID, recipientID) == i.Challenge
}

// version returns the version of document id that i approved.
func (i *Intent) version(id string) (string, bool) {
	for _, d := range i.Documents {
		if d.DocumentID == id {
			return d.SHA256, true
		}
	}
	return "", false
}

// intentJSON is the stored form of an Intent.
type intentJSON struct {
	Version   int               `json:"v"`
	UserID    string            `json:"user_id"`
	Documents []DocumentVersion `json:"documents"`
	Digest    string            `json:"digest"`
	Challenge string            `json:"challenge"`
	Evidence  []byte            `json:"evidence"`
}

// MarshalBinary returns the stored form of i, after [Intent.Validate]:
// the JSON object
//
//	{"v": 1, "user_id": …, "documents": [{"document_id": …, "sha256": …}, …],
//	 "digest": hex, "challenge": hex, "evidence": base64}
//
// of at most [MaxIntent] bytes. Nothing in it is secret: the evidence is
// a signature over public data, also put into the signer certificate.
func (i Intent) MarshalBinary() ([]byte, error) {
	if err := i.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(intentJSON{Version: 1, UserID: i.UserID, Documents: i.Documents,
		Digest: hex.EncodeToString(i.Digest[:]), Challenge: hex.EncodeToString(i.Challenge[:]), Evidence: i.Evidence})
	if err != nil {
		return nil, fmt.Errorf("signing: encode intent: %w", err)
	}
	if len(b) > MaxIntent {
		return nil, fmt.Errorf("signing: intent of %d bytes", len(b))
	}
	return b, nil
}

// UnmarshalBinary decodes the stored form of an intent
// ([Intent.MarshalBinary]): strict JSON (no unknown, duplicate or
// case-folded keys, no trailing data), version 1, at most [MaxIntent]
// bytes, and an intent that passes [Intent.Validate].
func (i *Intent) UnmarshalBinary(b []byte) error {
	if len(b) > MaxIntent {
		return fmt.Errorf("signing: intent of %d bytes", len(b))
	}
	var v intentJSON
	if err := api.UnmarshalStrict(b, &v); err != nil {
		return fmt.Errorf("signing: decode intent: %w", err)
	}
	if v.Version != 1 {
		return fmt.Errorf("signing: intent version %d", v.Version)
	}
	out := Intent{UserID: v.UserID, Documents: v.Documents, Evidence: v.Evidence}
	for _, f := range []struct {
		dst *[32]byte
		s   string
	}{{&out.Digest, v.Digest}, {&out.Challenge, v.Challenge}} {
		h, err := hex.DecodeString(f.s)
		if err != nil || len(h) != 32 || hex.EncodeToString(h) != f.s {
			return errors.New("signing: intent digest and challenge must be 64 lower-case hex digits")
		}
		*f.dst = [32]byte(h)
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*i = out
	return nil
}

// EncodeUsedAssertions returns the stored form of
// [AuthState.UsedAssertions]: the hashes one after another (nil for
// none).
func EncodeUsedAssertions(hs [][32]byte) []byte {
	var b []byte
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// DecodeUsedAssertions decodes [EncodeUsedAssertions]: a multiple of 32
// bytes, at most [MaxUsedAssertions] hashes.
func DecodeUsedAssertions(b []byte) ([][32]byte, error) {
	if len(b)%32 != 0 || len(b) > 32*MaxUsedAssertions {
		return nil, fmt.Errorf("signing: used assertions of %d bytes", len(b))
	}
	var hs [][32]byte
	for ; len(b) > 0; b = b[32:] {
		hs = append(hs, [32]byte(b[:32]))
	}
	return hs, nil
}
