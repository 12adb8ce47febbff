package signing

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/passkey"
	"github.com/signet-pki/signet/internal/workflow"
)

// Users finds the registered users of a tenant by e-mail address;
// identity.Store implements it. UserByEmail MUST return an error
// matching identity.ErrNotFound when the tenant has no user with the
// address (normalized by identity.NormalizeEmail).
type Users interface {
	UserByEmail(ctx context.Context, tenant, email string) (identity.User, error)
}

// passkeyMethod is the strong-authentication method of a passkey
// confirmation, as internal/authz names it.
const passkeyMethod = "passkey"

// passkeyEvidence is what an accepted passkey assertion proves, by its
// BE flag (WebAuthn §6.1.3), as RFC 8176 amr values and a NIST SP
// 800-63B-4 authenticator assurance level:
//
//   - device-bound (BE clear: the private key cannot leave the
//     authenticator): "hwk" (proof of possession of a hardware-secured
//     key) and "user" (user verification was required and given),
//     "aal3": a phishing-resistant authenticator with a non-exportable
//     key;
//   - synced (BE set: the key may be copied to the user's other devices
//     by a passkey provider): "swk" (a software-secured key, from the
//     relying party's view) and "user", "aal2": syncable authenticators
//     reach AAL2, not AAL3.
//
// Attestation is "none", so the flag is the authenticator's own claim;
// the evidence in the signer certificate keeps the authenticator data,
// in which a verifier reads it again.
func passkeyEvidence(a passkey.Assertion) (methods []string, assurance string) {
	if a.BackupEligible {
		return []string{"swk", "user"}, "aal2"
	}
	return []string{"hwk", "user"}, "aal3"
}

// PasskeyChallenge is what [Service.BeginPasskey] returns: the request
// options for the browser and what they approve.
type PasskeyChallenge struct {
	// Options are the options for navigator.credentials.get (the JSON
	// object with a "publicKey" member); their challenge is
	// passkey.SigningChallenge(Digest, envelope id, recipient id).
	Options json.RawMessage `json:"options"`
	// Documents are the versions the recipient approves, in signing
	// order, and Digest their [IntentDigest] (hex).
	Documents []DocumentVersion `json:"documents"`
	Digest    string            `json:"digest"`
	// ExpiresAt is when the confirmation must be finished.
	ExpiresAt time.Time `json:"expires_at"`
}

// passkeyUser returns the registered user behind passkey recipient v of
// link l: an active user of the envelope's tenant with the recipient's
// address. Anything else is [ErrPasskeyUnavailable], recorded in ev as
// a denial; never a fallback to a weaker method.
func (s *Service) passkeyUser(ctx context.Context, l Link, v *workflow.RecipientView, ev auditlog.Event) (identity.User, error) {
	if s.cfg.Passkeys == nil || s.cfg.Users == nil {
		return identity.User{}, s.deny(ctx, ev, "passkeys not configured",
			withDetail(ErrUnavailable, "this server has no passkey relying party configured; ask the operator", nil))
	}
	u, err := s.cfg.Users.UserByEmail(ctx, l.Tenant, v.Recipient.Email)
	switch {
	case errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrInvalid):
		return identity.User{}, s.deny(ctx, ev, "no registered user with the recipient's address",
			withDetail(ErrPasskeyUnavailable, "no registered user of this organization has the recipient's e-mail address; the recipient must register and add a passkey first, or the sender must choose another recipient", nil))
	case err != nil:
		return identity.User{}, fmt.Errorf("signing: load user: %w", err)
	case u.Status != identity.StatusActive:
		return identity.User{}, s.deny(ctx, ev, "the registered user is disabled",
			withDetail(ErrPasskeyUnavailable, "the registered user with the recipient's address is disabled", nil))
	case u.Tenant != l.Tenant:
		return identity.User{}, fmt.Errorf("signing: the user store returned a user of another tenant")
	}
	return u, nil
}

// passkeyEvent is the recipient.authenticated event of a passkey
// confirmation of link l's recipient.
func passkeyEvent(l Link, v *workflow.RecipientView, req auditlog.Request) auditlog.Event {
	return auditlog.Event{
		Type: auditlog.RecipientAuthenticated, Tenant: l.Tenant,
		Actor: auditlog.Actor{
			Kind: auditlog.ActorRecipient, ID: l.RecipientID, Email: v.Recipient.Email, Name: v.Recipient.Name,
		},
		Subject: auditlog.Subject{EnvelopeID: l.EnvelopeID, RecipientEmail: v.Recipient.Email},
		Request: req,
		Details: map[string]string{"recipient_id": l.RecipientID, "method": workflow.AuthPasskey},
	}
}

// passkeyRecipient checks that v's recipient confirms with a passkey and
// may sign now, and returns the documents they would sign.
func passkeyRecipient(v *workflow.RecipientView) ([]DocumentVersion, error) {
	if workflow.NormalizeAuth(v.Recipient.Auth) != workflow.AuthPasskey {
		hint := ": use POST /v1/recipient/code and /verify"
		if workflow.NormalizeAuth(v.Recipient.Auth) == workflow.AuthTOTP {
			hint = ": send a code of your authenticator app to POST /v1/recipient/verify"
		}
		return nil, withDetail(ErrNotPasskeyRecipient, "this recipient's authentication level is "+v.Recipient.Auth+hint, nil)
	}
	if !v.Recipient.Role.Acts() {
		return nil, withDetail(ErrNotSigner, "a "+string(v.Recipient.Role)+" recipient does not sign", nil)
	}
	if !v.CanAct {
		return nil, withDetail(workflow.ErrNotYourTurn, "it is not the recipient's turn", nil)
	}
	docs := toSign(v)
	if len(docs) == 0 {
		return nil, withDetail(workflow.ErrNotYourTurn, "the recipient has already signed every document", nil)
	}
	return docs, nil
}

// BeginPasskey starts the passkey confirmation of the passkey recipient
// of the link whose token hashes to linkHash: the registered user with
// the recipient's address ([Config.Users]) approves, with one of their
// passkeys, the current versions of the documents they have yet to sign
// (their [IntentDigest], bound to the envelope and the recipient by
// passkey.SigningChallenge). The ceremony is kept, sealed, in the
// recipient's state ([AuthState.Ceremony]), replacing any pending one,
// until [Service.FinishPasskey] uses it or it expires. A recipient whose
// level is not passkey is [ErrNotPasskeyRecipient]; no user, a disabled
// one or one without a passkey is [ErrPasskeyUnavailable] (recorded as a
// denied recipient.authenticated).
func (s *Service) BeginPasskey(ctx context.Context, linkHash [32]byte, req auditlog.Request) (PasskeyChallenge, error) {
	l, v, err := s.link(ctx, linkHash)
	if err != nil {
		return PasskeyChallenge{}, err
	}
	docs, err := passkeyRecipient(v)
	if err != nil {
		return PasskeyChallenge{}, err
	}
	ev := passkeyEvent(l, v, req)
	u, err := s.passkeyUser(ctx, l, v, ev)
	if err != nil {
		return PasskeyChallenge{}, err
	}
	digest, err := IntentDigest(docs)
	if err != nil {
		return PasskeyChallenge{}, err
	}
	opts, cer, err := s.cfg.Passkeys.BeginSigning(ctx, u, digest, l.EnvelopeID, l.RecipientID)
	switch {
	case errors.Is(err, passkey.ErrNoPasskey):
		return PasskeyChallenge{}, s.deny(ctx, ev, "the registered user has no passkey",
			withDetail(ErrPasskeyUnavailable, "the registered user with the recipient's address has no passkey; they must add one to their account first", nil))
	case errors.Is(err, passkey.ErrUser):
		return PasskeyChallenge{}, s.deny(ctx, ev, "the registered user is not active",
			withDetail(ErrPasskeyUnavailable, "the registered user with the recipient's address is not active", nil))
	case err != nil:
		return PasskeyChallenge{}, fmt.Errorf("signing: begin passkey confirmation: %w", err)
	}
	raw, err := cer.MarshalBinary()
	if err != nil {
		return PasskeyChallenge{}, fmt.Errorf("signing: passkey ceremony: %w", err)
	}
	sealed, err := s.sealCeremony(l.EnvelopeID, l.RecipientID, raw)
	if err != nil {
		return PasskeyChallenge{}, err
	}
	unlock, err := s.lockRecipient(ctx, l.EnvelopeID, l.RecipientID)
	if err != nil {
		return PasskeyChallenge{}, err
	}
	defer unlock()
	now := s.now()
	st, err := s.cfg.Store.AuthState(ctx, l.EnvelopeID, l.RecipientID)
	if err != nil {
		return PasskeyChallenge{}, fmt.Errorf("signing: load code state: %w", err)
	}
	if !st.RevokedAt.IsZero() {
		return PasskeyChallenge{}, revoked()
	}
	if now.Before(st.LockedUntil) {
		return PasskeyChallenge{}, retryAfter(ErrLockedOut, "too many failed attempts; try again later", seconds(st.LockedUntil.Sub(now)))
	}
	st.Ceremony = sealed
	if err := s.cfg.Store.PutAuthState(ctx, st); err != nil {
		return PasskeyChallenge{}, fmt.Errorf("signing: store passkey ceremony: %w", err)
	}
	return PasskeyChallenge{Options: opts, Documents: docs, Digest: hex.EncodeToString(digest[:]), ExpiresAt: cer.Expires()}, nil
}

// FinishPasskey verifies response, the browser's answer to the options of
// [Service.BeginPasskey], for the link whose token hashes to linkHash,
// and opens the recipient's session as a verified code does. The pending
// ceremony is taken out of the recipient's state first, so that it is
// used once whatever the outcome. The documents must still be the
// versions the ceremony approved ([ErrIntentOutdated] otherwise). The
// assertion is checked by passkey.FinishSigning (origin, relying party,
// challenge, user verification, a credential of the user, signature,
// counter) and must not be one the recipient already used. A refused
// assertion counts toward the recipient's lockout like a wrong code.
//
// The session carries the amr values and assurance of [passkeyEvidence]
// and the [Intent], with the assertion's evidence; AuthTime is the
// assertion's time. Every attempt is audited as recipient.authenticated
// (method passkey; a success also with the assurance, the intent digest
// and the SHA-256 of the evidence), and a success is not granted unless
// recorded.
func (s *Service) FinishPasskey(ctx context.Context, linkHash [32]byte, response []byte, req auditlog.Request) (string, Session, error) {
	l, v, err := s.link(ctx, linkHash)
	if err != nil {
		return "", Session{}, err
	}
	docs, err := passkeyRecipient(v)
	if err != nil {
		return "", Session{}, err
	}
	ev := passkeyEvent(l, v, req)
	u, err := s.passkeyUser(ctx, l, v, ev)
	if err != nil {
		return "", Session{}, err
	}
	unlock, err := s.lockRecipient(ctx, l.EnvelopeID, l.RecipientID)
	if err != nil {
		return "", Session{}, err
	}
	defer unlock()
	now := s.now()
	st, err := s.cfg.Store.AuthState(ctx, l.EnvelopeID, l.RecipientID)
	if err != nil {
		return "", Session{}, fmt.Errorf("signing: load code state: %w", err)
	}
	if !st.RevokedAt.IsZero() || now.Before(st.LockedUntil) {
		reason := "locked out after repeated failures"
		if !st.RevokedAt.IsZero() {
			reason = "link revoked after repeated lockouts"
		}
		if err := s.deny(ctx, ev, reason, nil); err != nil {
			return "", Session{}, err
		}
		if !st.RevokedAt.IsZero() {
			return "", Session{}, revoked()
		}
		return "", Session{}, retryAfter(ErrLockedOut, "too many failed attempts; try again later", seconds(st.LockedUntil.Sub(now)))
	}
	if len(st.Ceremony) == 0 {
		return "", Session{}, s.deny(ctx, ev, "no passkey confirmation pending",
			withDetail(ErrPasskeyRefused, "no passkey confirmation is pending (it was never begun, or already used); begin again (POST /v1/recipient/passkey/begin)", nil))
	}
	sealed := st.Ceremony
	st.Ceremony = nil
	if err := s.cfg.Store.PutAuthState(ctx, st); err != nil {
		return "", Session{}, fmt.Errorf("signing: use passkey ceremony: %w", err)
	}
	cer, err := s.openCeremony(l.EnvelopeID, l.RecipientID, sealed)
	if err != nil {
		return "", Session{}, s.deny(ctx, ev, "the pending passkey ceremony does not open",
			withDetail(ErrPasskeyRefused, "the pending passkey confirmation is not valid; begin again", err))
	}
	digest, err := IntentDigest(docs)
	if err != nil {
		return "", Session{}, err
	}
	if d, env, rcp, ok := cer.Signing(); !ok || env != l.EnvelopeID || rcp != l.RecipientID {
		return "", Session{}, s.deny(ctx, ev, "the pending passkey ceremony is of another recipient",
			withDetail(ErrPasskeyRefused, "the pending passkey confirmation is not this recipient's; begin again", nil))
	} else if d != digest {
		return "", Session{}, s.deny(ctx, ev, "the documents changed since the passkey confirmation began",
			withDetail(ErrIntentOutdated, "the documents changed since the passkey confirmation began (another signer signed first); confirm the current versions (POST /v1/recipient/passkey/begin)", nil))
	}
	if len(response) > passkey.MaxResponse {
		return "", Session{}, withDetail(ErrInvalid, "the response is too large", nil)
	}
	a, err := s.cfg.Passkeys.FinishSigning(ctx, u, cer, response)
	switch {
	case errors.Is(err, passkey.ErrExpired):
		return "", Session{}, s.deny(ctx, ev, "the passkey confirmation expired",
			withDetail(ErrPasskeyRefused, "the passkey confirmation expired; begin again", nil))
	case errors.Is(err, passkey.ErrCeremony):
		return "", Session{}, s.deny(ctx, ev, "the passkey ceremony is not the user's",
			withDetail(ErrPasskeyRefused, "the pending passkey confirmation is not valid for the registered user; begin again", nil))
	case errors.Is(err, passkey.ErrNoPasskey), errors.Is(err, passkey.ErrUser):
		return "", Session{}, s.deny(ctx, ev, "the registered user has no usable passkey",
			withDetail(ErrPasskeyUnavailable, "the registered user with the recipient's address has no usable passkey", nil))
	case errors.Is(err, passkey.ErrRefused), errors.Is(err, passkey.ErrCloned):
		reason := "passkey assertion refused"
		if errors.Is(err, passkey.ErrCloned) {
			reason = "passkey signature counter did not increase"
		}
		return "", Session{}, s.refusePasskey(ctx, &st, ev, now, reason)
	case err != nil:
		return "", Session{}, fmt.Errorf("signing: finish passkey confirmation: %w", err)
	}
	used := sha256.Sum256(a.Signature)
	if slices.Contains(st.UsedAssertions, used) {
		return "", Session{}, s.refusePasskey(ctx, &st, ev, now, "passkey assertion replayed")
	}
	evidence, err := a.Evidence()
	if err != nil {
		return "", Session{}, fmt.Errorf("signing: passkey evidence: %w", err)
	}
	intent := &Intent{UserID: u.ID, Documents: docs, Digest: digest, Evidence: evidence}
	copy(intent.Challenge[:], a.Challenge)
	if err := intent.Validate(); err != nil {
		return "", Session{}, err
	}
	methods, assurance := passkeyEvidence(a)
	evSum := sha256.Sum256(evidence)
	ev.Outcome = auditlog.OutcomeSuccess
	ev.Actor.AuthMethods, ev.Actor.AuthStrength = methods, assurance
	ev.Details["user_id"] = u.ID
	ev.Details["intent_digest"] = hex.EncodeToString(digest[:])
	ev.Details["evidence_sha256"] = hex.EncodeToString(evSum[:])
	ev.Details["auth_time"] = a.Time.UTC().Format(time.RFC3339)
	if err := s.cfg.Audit.Record(ctx, ev); err != nil {
		return "", Session{}, withDetail(ErrUnavailable, "the authentication could not be recorded", err)
	}
	st.UsedAssertions = append(st.UsedAssertions, used)
	if n := len(st.UsedAssertions); n > MaxUsedAssertions {
		st.UsedAssertions = st.UsedAssertions[n-MaxUsedAssertions:]
	}
	st.Failures = 0
	if err := s.cfg.Store.PutAuthState(ctx, st); err != nil {
		return "", Session{}, fmt.Errorf("signing: store code state: %w", err)
	}
	tok, hash, err := s.token()
	if err != nil {
		return "", Session{}, err
	}
	exp := now.Add(s.cfg.SessionTTL)
	if l.ExpiresAt.Before(exp) {
		exp = l.ExpiresAt
	}
	ss := Session{
		Hash: hash, Tenant: l.Tenant, EnvelopeID: l.EnvelopeID, RecipientID: l.RecipientID,
		Email: v.Recipient.Email, AuthTime: a.Time.UTC(), ExpiresAt: exp,
		Methods: methods, Assurance: assurance, Intent: intent,
	}
	if err := s.cfg.Store.CreateSession(ctx, ss); err != nil {
		return "", Session{}, fmt.Errorf("signing: store session: %w", err)
	}
	return tok, ss, nil
}

// refusePasskey counts a refused assertion toward the recipient's lockout
// (see [Service.wrongCode]) and returns the error to answer.
func (s *Service) refusePasskey(ctx context.Context, st *AuthState, ev auditlog.Event, now time.Time, reason string) error {
	err := s.wrongCode(ctx, st, ev, now, reason)
	if errors.Is(err, ErrWrongCode) {
		return withDetail(ErrPasskeyRefused, "the passkey confirmation was refused ("+reason+"); begin again", nil)
	}
	return err
}

// ceremonyAEAD returns the AEAD that seals pending passkey ceremonies:
// AES-256-GCM under HMAC-SHA256(CodeKey, "signet/signing/passkey-ceremony/v1").
func ceremonyAEAD(codeKey []byte) (cipher.AEAD, error) {
	m := hmac.New(sha256.New, codeKey)
	m.Write([]byte("signet/signing/passkey-ceremony/v1"))
	b, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("signing: ceremony key: %w", err)
	}
	return cipher.NewGCM(b)
}

// ceremonyAAD binds a sealed ceremony to its recipient.
func ceremonyAAD(envelopeID, recipientID string) []byte {
	return []byte("signet/signing/passkey-ceremony/v1\x00" + envelopeID + "\x00" + recipientID)
}

// sealCeremony returns nonce ‖ AES-GCM(ceremony), bound to the recipient.
func (s *Service) sealCeremony(envelopeID, recipientID string, ceremony []byte) ([]byte, error) {
	nonce := make([]byte, s.ceremonies.NonceSize())
	if err := s.random(nonce); err != nil {
		return nil, err
	}
	return s.ceremonies.Seal(nonce, nonce, ceremony, ceremonyAAD(envelopeID, recipientID)), nil
}

// openCeremony opens a sealed ceremony of the recipient.
func (s *Service) openCeremony(envelopeID, recipientID string, sealed []byte) (passkey.Ceremony, error) {
	n := s.ceremonies.NonceSize()
	if len(sealed) < n || len(sealed) > n+passkey.MaxCeremony+s.ceremonies.Overhead() {
		return passkey.Ceremony{}, errors.New("signing: sealed ceremony of a wrong size")
	}
	raw, err := s.ceremonies.Open(nil, sealed[:n], sealed[n:], ceremonyAAD(envelopeID, recipientID))
	if err != nil {
		return passkey.Ceremony{}, errors.New("signing: the sealed ceremony does not open")
	}
	var c passkey.Ceremony
	if err := c.UnmarshalBinary(raw); err != nil {
		return passkey.Ceremony{}, err
	}
	return c, nil
}
