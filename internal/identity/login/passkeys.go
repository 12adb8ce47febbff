package login

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/passkey"
)

const methodPasskey = string(authz.MethodPasskey)

// Purposes of a sealed passkey ceremony, bound into its associated data:
// a ceremony begun for one purpose does not finish another.
const (
	purposeRegister = "register"
	purposeMFA      = "mfa"
	purposeStepUp   = "step-up"
)

// maxPasskeyBody bounds the body of a passkey finish: the browser's
// response, the sealed ceremony and a name.
const maxPasskeyBody = passkey.MaxResponse + 8<<10

// maxSealedCeremony bounds the base64url text of a sealed ceremony.
const maxSealedCeremony = 4 * (passkey.MaxCeremony + 256) / 3

var (
	errNotConfigured = &api.Error{Kind: api.KindNotFound, Type: "not-configured", Title: "Not configured",
		Detail: "this sign-in method is not configured"}
	errCeremony = &api.Error{Kind: api.KindInvalid, Type: "invalid-ceremony", Title: "Invalid ceremony",
		Detail: "the ceremony is malformed, expired, another session's or for another purpose; begin again"}
	errBadPasskey = &api.Error{Kind: api.KindUnauthorized, Type: "invalid-passkey", Title: "Invalid passkey",
		Detail: "the passkey's response does not verify"}
	errNoPasskey = &api.Error{Kind: api.KindConflict, Type: "no-passkey", Detail: "no passkey is registered"}
)

// ceremonyAAD binds a sealed ceremony to the session it was begun in and
// to its purpose.
func ceremonyAAD(sess identity.Session, purpose string) []byte {
	return []byte("signet passkey ceremony v1|" + purpose + "|" + hex.EncodeToString(sess.Hash[:]))
}

// sealCeremony seals c for the client.
func (s *Service) sealCeremony(sess identity.Session, purpose string, c passkey.Ceremony) (string, error) {
	b, err := c.MarshalBinary()
	if err != nil {
		return "", fmt.Errorf("login: ceremony: %w", err)
	}
	sealed, err := s.cfg.Sealer.Seal(b, ceremonyAAD(sess, purpose))
	if err != nil {
		return "", fmt.Errorf("login: seal ceremony: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// openCeremony opens a ceremony sealed for this session and purpose;
// anything else is errCeremony.
func (s *Service) openCeremony(sess identity.Session, purpose, text string) (passkey.Ceremony, error) {
	if text == "" || len(text) > maxSealedCeremony {
		return passkey.Ceremony{}, errCeremony
	}
	sealed, err := base64.RawURLEncoding.Strict().DecodeString(text)
	if err != nil {
		return passkey.Ceremony{}, errCeremony
	}
	b, err := s.cfg.Sealer.Open(sealed, ceremonyAAD(sess, purpose))
	if err != nil {
		return passkey.Ceremony{}, errCeremony
	}
	var c passkey.Ceremony
	if err := c.UnmarshalBinary(b); err != nil {
		return passkey.Ceremony{}, errCeremony
	}
	return c, nil
}

// beginBody is the answer of a passkey begin: the options for
// navigator.credentials (create or get) and the sealed ceremony to send
// back with the response.
type beginBody struct {
	Options   json.RawMessage `json:"options"`
	Ceremony  string          `json:"ceremony"`
	ExpiresAt time.Time       `json:"expires_at"`
}

// finishRequest is the body of a passkey finish.
type finishRequest struct {
	Ceremony string          `json:"ceremony"`
	Name     string          `json:"name,omitempty"`
	Response json.RawMessage `json:"response"`
}

func decodeFinish(w http.ResponseWriter, r *http.Request) (finishRequest, error) {
	var req finishRequest
	if err := api.DecodeJSONLimit(w, r, &req, maxPasskeyBody); err != nil {
		return req, err
	}
	if req.Ceremony == "" || len(req.Response) == 0 || string(req.Response) == "null" {
		return req, &api.Error{Kind: api.KindInvalid, Detail: "ceremony and response are required"}
	}
	return req, nil
}

// writeBegin seals c for purpose and answers with opts.
func (s *Service) writeBegin(w http.ResponseWriter, r *http.Request, sess identity.Session, purpose string, opts []byte, c passkey.Ceremony) {
	sealed, err := s.sealCeremony(sess, purpose, c)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, beginBody{Options: opts, Ceremony: sealed, ExpiresAt: c.Expires().UTC()})
}

// passkeyError maps an error of the passkey service that is not a wrong
// response.
func passkeyError(err error) error {
	switch {
	case errors.Is(err, passkey.ErrCeremony), errors.Is(err, passkey.ErrExpired):
		return errCeremony
	case errors.Is(err, passkey.ErrNoPasskey):
		return errNoPasskey
	case errors.Is(err, passkey.ErrUser):
		return errNoSession
	case errors.Is(err, identity.ErrLimit):
		return &api.Error{Kind: api.KindConflict, Type: "too-many-passkeys", Detail: fmt.Sprintf("at most %d passkeys", identity.MaxPasskeys)}
	case errors.Is(err, identity.ErrExists):
		return &api.Error{Kind: api.KindConflict, Type: "passkey-exists", Detail: "this passkey is already registered"}
	}
	return err
}

// mayAddPasskey refuses a registration that [Service.mayEnrol] refuses,
// and one beside an existing factor without a recent strong
// authentication.
func (s *Service) mayAddPasskey(r *http.Request, p api.Principal, u identity.User) error {
	if err := s.mayEnrol(r, p, u); err != nil {
		return err
	}
	f, err := s.factors(r.Context(), u)
	if err != nil {
		return err
	}
	if f.totp || f.passkeys > 0 {
		return s.recentStrong(r, p)
	}
	return nil
}

// beginPasskey starts registering a passkey.
func (s *Service) beginPasskey(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Passkeys == nil {
		api.WriteProblem(w, r, errNotConfigured)
		return
	}
	p, sess, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.mayAddPasskey(r, p, u); err != nil {
		s.problem(w, r, err)
		return
	}
	opts, c, err := s.cfg.Passkeys.BeginRegistration(r.Context(), u)
	if err != nil {
		s.problem(w, r, passkeyError(err))
		return
	}
	s.writeBegin(w, r, sess, purposeRegister, opts, c)
}

// finishPasskey verifies the new passkey and stores it. Its user
// verification is a strong authentication, so the session rotates with
// it (and a pending login completes), as a TOTP confirmation does.
func (s *Service) finishPasskey(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Passkeys == nil {
		api.WriteProblem(w, r, errNotConfigured)
		return
	}
	ctx := r.Context()
	p, sess, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	req, err := decodeFinish(w, r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if len(req.Name) > identity.MaxName {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindInvalid, Detail: fmt.Sprintf("name longer than %d bytes", identity.MaxName)})
		return
	}
	if err := s.mayAddPasskey(r, p, u); err != nil {
		s.problem(w, r, err)
		return
	}
	c, err := s.openCeremony(sess, purposeRegister, req.Ceremony)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	pk, err := s.cfg.Passkeys.FinishRegistration(ctx, u, c, req.Name, req.Response)
	if errors.Is(err, passkey.ErrRefused) {
		api.WriteProblem(w, r, errBadPasskey)
		return
	}
	if err != nil {
		s.problem(w, r, passkeyError(err))
		return
	}
	if err := s.record(ctx, r, auditlog.UserMFAEnrolled, u, sess, map[string]string{"method": methodPasskey, "passkey": credID(pk.CredentialID)}); err != nil {
		// A registration that cannot be audited does not stand.
		_ = s.cfg.Store.DeletePasskey(ctx, u.Tenant, u.ID, pk.CredentialID)
		s.problem(w, r, err)
		return
	}
	s.finishStrong(w, r, p, u, sess, methodPasskey)
}

// credID is a credential id as the API names it.
func credID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// passkeyBody is one passkey in GET /v1/me/passkeys.
type passkeyBody struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at,omitempty"`
	BackupEligible bool       `json:"backup_eligible"`
	BackupState    bool       `json:"backup_state"`
	Transports     []string   `json:"transports"`
}

// listPasskeys answers the user's passkeys.
func (s *Service) listPasskeys(w http.ResponseWriter, r *http.Request) {
	_, _, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	ps, err := s.cfg.Store.PasskeysOf(r.Context(), u.Tenant, u.ID)
	if err != nil {
		s.problem(w, r, fmt.Errorf("login: passkeys: %w", err))
		return
	}
	out := make([]passkeyBody, 0, len(ps))
	for _, pk := range ps {
		b := passkeyBody{ID: credID(pk.CredentialID), Name: pk.Name, CreatedAt: pk.CreatedAt.UTC(),
			BackupEligible: pk.BackupEligible, BackupState: pk.BackupState, Transports: pk.Transports}
		if b.Transports == nil {
			b.Transports = []string{}
		}
		if !pk.LastUsedAt.IsZero() {
			t := pk.LastUsedAt.UTC()
			b.LastUsedAt = &t
		}
		out = append(out, b)
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, struct {
		Passkeys []passkeyBody `json:"passkeys"`
	}{out})
}

// deletePasskey removes one of the user's passkeys, after a recent
// step-up. It refuses to remove the last strong factor (TOTP or passkey)
// of a user to whom MFA applies: they would be left to enrol a new
// factor with the password alone.
func (s *Service) deletePasskey(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, sess, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	id, err := base64.RawURLEncoding.Strict().DecodeString(r.PathValue("id"))
	if err != nil || len(id) == 0 || len(id) > identity.MaxCredentialID {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindNotFound, Detail: "no such passkey"})
		return
	}
	if err := s.recentStrong(r, p); err != nil {
		s.problem(w, r, err)
		return
	}
	pk, err := s.cfg.Store.PasskeyByCredentialID(ctx, id)
	if errors.Is(err, identity.ErrNotFound) || (err == nil && (pk.Tenant != u.Tenant || pk.UserID != u.ID)) {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindNotFound, Detail: "no such passkey"})
		return
	} else if err != nil {
		s.problem(w, r, fmt.Errorf("login: passkey: %w", err))
		return
	}
	f, err := s.factors(ctx, u)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if !f.totp && f.passkeys <= 1 {
		applies, err := s.mfaApplies(ctx, u)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if applies {
			api.WriteProblem(w, r, &api.Error{Kind: api.KindConflict, Type: "last-factor",
				Detail: "this is your last second factor and your account requires one; enrol another first"})
			return
		}
	}
	// Audited before it happens: a removal that cannot be audited does
	// not happen.
	if err := s.record(ctx, r, auditlog.UserMFARemoved, u, sess, map[string]string{"method": methodPasskey, "passkey": credID(id)}); err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.cfg.Store.DeletePasskey(ctx, u.Tenant, u.ID, id); err != nil && !errors.Is(err, identity.ErrNotFound) {
		s.problem(w, r, fmt.Errorf("login: delete passkey: %w", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Second factor and step-up by passkey.
func (s *Service) mfaPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	s.assertBegin(w, r, purposeMFA)
}
func (s *Service) mfaPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	s.assertFinish(w, r, purposeMFA)
}
func (s *Service) stepUpPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	s.assertBegin(w, r, purposeStepUp)
}
func (s *Service) stepUpPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	s.assertFinish(w, r, purposeStepUp)
}

// assertStart checks what both halves of an assertion check: the
// service, the session, that a step-up comes from a full session, and
// the second-factor lock.
func (s *Service) assertStart(w http.ResponseWriter, r *http.Request, purpose string) (api.Principal, identity.Session, identity.User, bool) {
	if s.cfg.Passkeys == nil {
		api.WriteProblem(w, r, errNotConfigured)
		return api.Principal{}, identity.Session{}, identity.User{}, false
	}
	p, sess, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return api.Principal{}, identity.Session{}, identity.User{}, false
	}
	if purpose == purposeStepUp && p.Pending {
		api.WriteProblem(w, r, errMFARequired)
		return api.Principal{}, identity.Session{}, identity.User{}, false
	}
	if until, err := s.locked(r.Context(), factorKey(u.Tenant, u.ID)); err != nil || !until.IsZero() {
		s.problem(w, r, lockedOr(until, err))
		return api.Principal{}, identity.Session{}, identity.User{}, false
	}
	return p, sess, u, true
}

func (s *Service) assertBegin(w http.ResponseWriter, r *http.Request, purpose string) {
	_, sess, u, ok := s.assertStart(w, r, purpose)
	if !ok {
		return
	}
	opts, c, err := s.cfg.Passkeys.BeginLogin(r.Context(), u)
	if err != nil {
		s.problem(w, r, passkeyError(err))
		return
	}
	s.writeBegin(w, r, sess, purpose, opts, c)
}

// assertFinish verifies the assertion; a wrong one (refused, or a
// cloned authenticator's) counts toward the second-factor lockout like a
// wrong TOTP code. A passed one rotates the session (so the ceremony,
// bound to the old session, cannot be used again) with "passkey" as its
// strong authentication.
func (s *Service) assertFinish(w http.ResponseWriter, r *http.Request, purpose string) {
	ctx := r.Context()
	p, sess, u, ok := s.assertStart(w, r, purpose)
	if !ok {
		return
	}
	req, err := decodeFinish(w, r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	c, err := s.openCeremony(sess, purpose, req.Ceremony)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	_, err = s.cfg.Passkeys.FinishLogin(ctx, u, c, req.Response)
	if errors.Is(err, passkey.ErrRefused) || errors.Is(err, passkey.ErrCloned) {
		actor := auditlog.Actor{Kind: auditlog.ActorUser, ID: u.ID, Email: u.Email}
		if _, err := s.fail(ctx, r, failure{tenant: u.Tenant, actor: actor, method: methodPasskey, keys: []string{factorKey(u.Tenant, u.ID)}}); err != nil {
			s.problem(w, r, err)
			return
		}
		api.WriteProblem(w, r, errBadPasskey)
		return
	}
	if err != nil {
		s.problem(w, r, passkeyError(err))
		return
	}
	if err := s.lockouts.ClearFailures(ctx, factorKey(u.Tenant, u.ID)); err != nil {
		s.problem(w, r, fmt.Errorf("login: lockout: %w", err))
		return
	}
	s.finishStrong(w, r, p, u, sess, methodPasskey)
}

// providerName reports whether name may name an OIDC provider in a path.
func providerName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
