package login

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/password"
	"github.com/signet-pki/signet/internal/identity/totp"
	"github.com/signet-pki/signet/keys/dataseal"
)

const methodTOTP = authz.MethodTOTP

// sealedKeyVersion tags the plaintext layout of a sealed TOTP key:
// version, algorithm, digits, secret.
const sealedKeyVersion = 1

// aad binds a sealed TOTP secret to its tenant and user.
func aad(u identity.User) []byte {
	return []byte("signet totp " + strconv.Itoa(len(u.Tenant)) + ":" + u.Tenant + "|" + u.ID)
}

func (s *Service) sealKey(ctx context.Context, u identity.User, k totp.Key) ([]byte, error) {
	return TOTPKeys{Sealer: s.cfg.Sealer, Keys: s.cfg.Keys}.SealTOTP(ctx, u, k)
}

// SealTOTPKey seals k as u's TOTP secret with sealer, under associated
// data naming u's tenant and id: the form in which the login service
// stores enrolments (identity.TOTPEnrolment.SealedSecret) and
// [OpenTOTPKey] opens them.
func SealTOTPKey(sealer Sealer, u identity.User, k totp.Key) ([]byte, error) {
	if sealer == nil {
		return nil, errors.New("login: no sealer for TOTP secrets")
	}
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("login: TOTP secret: %w", err)
	}
	plain := append([]byte{sealedKeyVersion, byte(k.Algorithm), byte(k.Digits)}, k.Secret...)
	defer clear(plain)
	sealed, err := sealer.Seal(plain, aad(u))
	if err != nil {
		return nil, fmt.Errorf("login: seal TOTP secret: %w", err)
	}
	return sealed, nil
}

func (s *Service) openKey(ctx context.Context, u identity.User, sealed []byte) (totp.Key, error) {
	return TOTPKeys{Sealer: s.cfg.Sealer, Keys: s.cfg.Keys}.OpenTOTP(ctx, u, sealed)
}

// OpenTOTPKey opens sealed, u's TOTP secret as this package seals it
// (with sealer, under associated data naming u's tenant and id), and
// checks the key's limits. A secret sealed for another user does not
// open. The caller clears the key's Secret after use and never logs it.
func OpenTOTPKey(sealer Sealer, u identity.User, sealed []byte) (totp.Key, error) {
	if sealer == nil {
		return totp.Key{}, errors.New("login: no sealer for TOTP secrets")
	}
	plain, err := sealer.Open(sealed, aad(u))
	if err != nil {
		return totp.Key{}, fmt.Errorf("login: open TOTP secret: %w", err)
	}
	return parseTOTPKey(plain)
}

// parseTOTPKey reads a TOTP key from the plaintext of a sealed secret
// (version, algorithm, digits, secret), clearing plain if it is refused.
func parseTOTPKey(plain []byte) (totp.Key, error) {
	if len(plain) < 3 || plain[0] != sealedKeyVersion {
		clear(plain)
		return totp.Key{}, errors.New("login: sealed TOTP secret of an unknown layout")
	}
	k := totp.Key{Algorithm: totp.Algorithm(plain[1]), Digits: int(plain[2]), Secret: plain[3:]}
	if err := k.Validate(); err != nil {
		clear(plain)
		return totp.Key{}, fmt.Errorf("login: sealed TOTP secret: %w", err)
	}
	return k, nil
}

// TOTPKeys seals and opens users' TOTP secrets as the login service does
// (with its Sealer and Keys), also for other services that check a
// registered user's TOTP code (the signing service's "totp" recipients).
//
// With Keys set, a secret is sealed with keys/dataseal under the user's
// object ([identity.UserObject]) of their tenant, field "totp_secret",
// and stored as "sealed:" followed by the value in base64url; shredding
// the user's object makes it unreadable. Without Keys, and for secrets
// stored before the service had keys, Sealer seals and opens them
// ([SealTOTPKey], [OpenTOTPKey]).
type TOTPKeys struct {
	Sealer Sealer
	Keys   identity.KeyRing
}

// totpAD binds a TOTP secret sealed under the key ring to its tenant,
// user and field.
func totpAD(u identity.User) dataseal.AD {
	return dataseal.AD{Tenant: u.Tenant, Object: identity.UserObject(u.ID), Field: "totp_secret"}
}

// SealTOTP seals k as u's TOTP secret.
func (t TOTPKeys) SealTOTP(ctx context.Context, u identity.User, k totp.Key) ([]byte, error) {
	if t.Keys == nil {
		return SealTOTPKey(t.Sealer, u, k)
	}
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("login: TOTP secret: %w", err)
	}
	ad := totpAD(u)
	kek, err := t.Keys.ObjectKEK(ctx, ad.Tenant, ad.Object, true)
	if err != nil {
		return nil, fmt.Errorf("login: key of %s: %w", ad.Object, err)
	}
	plain := append([]byte{sealedKeyVersion, byte(k.Algorithm), byte(k.Digits)}, k.Secret...)
	defer clear(plain)
	sealed, err := dataseal.SealText(ctx, kek, ad, plain, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("login: seal TOTP secret: %w", err)
	}
	return []byte(sealed), nil
}

// OpenTOTP opens u's sealed TOTP secret, sealed under Keys or by Sealer.
func (t TOTPKeys) OpenTOTP(ctx context.Context, u identity.User, sealed []byte) (totp.Key, error) {
	if !dataseal.IsText(string(sealed)) {
		return OpenTOTPKey(t.Sealer, u, sealed)
	}
	if t.Keys == nil {
		return totp.Key{}, errors.New("login: a TOTP secret sealed under the key ring, and no key ring")
	}
	ad := totpAD(u)
	kek, err := t.Keys.ObjectKEK(ctx, ad.Tenant, ad.Object, false)
	if err != nil {
		return totp.Key{}, fmt.Errorf("login: key of %s: %w", ad.Object, err)
	}
	plain, err := dataseal.OpenText(ctx, kek, ad, string(sealed))
	if err != nil {
		return totp.Key{}, fmt.Errorf("login: open TOTP secret: %w", err)
	}
	return parseTOTPKey(plain)
}

var errNoTOTP = &api.Error{Kind: api.KindConflict, Type: "no-totp", Detail: "no confirmed TOTP enrolment"}

// checkTOTP checks u's code against their enrolment (a pending one when
// confirm is set, else a confirmed one) and accepts its time step once,
// counting a wrong or replayed code as a failure.
func (s *Service) checkTOTP(r *http.Request, u identity.User, code string, confirm bool) error {
	ctx := r.Context()
	key := factorKey(u.Tenant, u.ID)
	if until, err := s.locked(ctx, key); err != nil || !until.IsZero() {
		return lockedOr(until, err)
	}
	e, err := s.cfg.Store.TOTP(ctx, u.Tenant, u.ID)
	switch {
	case errors.Is(err, identity.ErrNotFound):
		return errNoTOTP
	case err != nil:
		return fmt.Errorf("login: TOTP enrolment: %w", err)
	case confirm && !e.ConfirmedAt.IsZero():
		return &api.Error{Kind: api.KindConflict, Detail: "the TOTP enrolment is already confirmed"}
	case !confirm && e.ConfirmedAt.IsZero():
		return errNoTOTP
	}
	k, err := s.openKey(ctx, u, e.SealedSecret)
	if err != nil {
		return err
	}
	defer clear(k.Secret)
	now := s.cfg.Now()
	step, verr := totp.Verify(k, code, now, e.LastStep)
	if verr == nil {
		verr = s.cfg.Store.AcceptTOTPStep(ctx, u.Tenant, u.ID, step, now)
		if verr != nil && !errors.Is(verr, identity.ErrConflict) {
			return fmt.Errorf("login: accept TOTP step: %w", verr)
		}
	}
	if verr != nil { // wrong, or replayed (a step at or before the last)
		actor := auditlog.Actor{Kind: auditlog.ActorUser, ID: u.ID, Email: u.Email}
		if _, err := s.fail(ctx, r, failure{tenant: u.Tenant, actor: actor, method: string(methodTOTP), keys: []string{key}}); err != nil {
			return err
		}
		return errBadCode
	}
	if err := s.lockouts.ClearFailures(ctx, key); err != nil {
		return fmt.Errorf("login: lockout: %w", err)
	}
	return nil
}

// enrolment is the answer of POST /v1/me/mfa/totp: the secret, shown
// this once.
type enrolment struct {
	OTPAuthURI string `json:"otpauth_uri"`
	Secret     string `json:"secret"`
	Algorithm  string `json:"algorithm"`
	Digits     int    `json:"digits"`
	Period     int    `json:"period"`
}

// beginTOTP starts a TOTP enrolment, replacing an unconfirmed one.
func (s *Service) beginTOTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, _, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.mayEnrol(r, p, u); err != nil {
		s.problem(w, r, err)
		return
	}
	if e, err := s.cfg.Store.TOTP(ctx, u.Tenant, u.ID); err == nil && !e.ConfirmedAt.IsZero() {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindConflict, Detail: "a TOTP authenticator is enrolled; remove it first"})
		return
	} else if err != nil && !errors.Is(err, identity.ErrNotFound) {
		s.problem(w, r, fmt.Errorf("login: TOTP enrolment: %w", err))
		return
	}
	k := totp.Key{Algorithm: totp.SHA1, Digits: 6, Secret: make([]byte, 20)}
	if _, err := io.ReadFull(s.cfg.Rand, k.Secret); err != nil {
		s.problem(w, r, fmt.Errorf("login: random: %w", err))
		return
	}
	defer clear(k.Secret)
	uri, err := k.URI(s.cfg.Issuer, u.Email)
	if err != nil {
		s.problem(w, r, fmt.Errorf("login: provisioning URI: %w", err))
		return
	}
	sealed, err := s.sealKey(ctx, u, k)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.cfg.Store.SetTOTP(ctx, u.Tenant, identity.TOTPEnrolment{UserID: u.ID, SealedSecret: sealed}); err != nil {
		s.problem(w, r, fmt.Errorf("login: store TOTP enrolment: %w", err))
		return
	}
	api.WriteSecretJSON(w, r, http.StatusCreated, enrolment{
		OTPAuthURI: uri, Secret: base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(k.Secret),
		Algorithm: k.Algorithm.String(), Digits: k.Digits, Period: int(totp.Step / time.Second),
	})
}

var errMFARequired = &api.Error{Kind: api.KindUnauthorized, Type: "mfa-required", Title: "Second factor required",
	Detail: "complete the login's second factor first"}

// mayEnrol refuses a pending principal's enrolment unless the user has no
// second factor at all: a password alone may enrol a first factor, never
// one beside the factor the login waits for.
func (s *Service) mayEnrol(r *http.Request, p api.Principal, u identity.User) error {
	if !p.Pending {
		return nil
	}
	state, err := s.mfaState(r.Context(), u)
	if err != nil {
		return err
	}
	if state != mfaEnrol {
		return errMFARequired
	}
	return nil
}

// confirmTOTP confirms the pending enrolment with a first code; the code
// is a strong authentication, so the session rotates with it (and a
// pending login completes).
func (s *Service) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	p, sess, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	code, err := decodeCode(w, r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if err := s.mayEnrol(r, p, u); err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.checkTOTP(r, u, code, true); err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.record(r.Context(), r, auditlog.UserMFAEnrolled, u, sess, map[string]string{"method": string(methodTOTP)}); err != nil {
		// An enrolment that cannot be audited does not stand.
		_ = s.cfg.Store.DeleteTOTP(r.Context(), u.Tenant, u.ID)
		s.problem(w, r, err)
		return
	}
	s.finishStrong(w, r, p, u, sess, string(methodTOTP))
}

// recentStrong returns nil if p authenticated strongly within the
// tenant's step-up window, else the step-up problem.
func (s *Service) recentStrong(r *http.Request, p api.Principal) error {
	pol, err := s.cfg.Policy(r.Context(), p.Tenant)
	if err != nil {
		return fmt.Errorf("login: policy: %w", err)
	}
	win, now := stepUpWindow(pol), s.cfg.Now()
	at := p.StrongAuth.At
	if authz.Method(p.StrongAuth.Method).Strong() && !at.IsZero() && !at.After(now) && now.Sub(at) <= win {
		return nil
	}
	methods := make([]string, 0, 2)
	for _, m := range authz.StrongMethods() {
		methods = append(methods, string(m))
	}
	return &api.Error{Kind: api.KindUnauthorized, Type: api.StepUpRequired.Type, Title: "Step-up required",
		Detail: "authenticate strongly again (POST /v1/auth/step-up/totp or /v1/auth/step-up/passkey/begin)", StepUp: &api.StepUp{Methods: methods, MaxAge: int(win / time.Second)}}
}

// deleteTOTP removes the user's TOTP enrolment, after a recent step-up.
func (s *Service) deleteTOTP(w http.ResponseWriter, r *http.Request) {
	p, sess, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.recentStrong(r, p); err != nil {
		s.problem(w, r, err)
		return
	}
	if _, err := s.cfg.Store.TOTP(r.Context(), u.Tenant, u.ID); errors.Is(err, identity.ErrNotFound) {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindNotFound, Detail: "no TOTP enrolment"})
		return
	} else if err != nil {
		s.problem(w, r, fmt.Errorf("login: TOTP enrolment: %w", err))
		return
	}
	// Audited before it happens: a removal that cannot be audited does
	// not happen.
	if err := s.record(r.Context(), r, auditlog.UserMFARemoved, u, sess, map[string]string{"method": string(methodTOTP)}); err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.cfg.Store.DeleteTOTP(r.Context(), u.Tenant, u.ID); err != nil && !errors.Is(err, identity.ErrNotFound) {
		s.problem(w, r, fmt.Errorf("login: delete TOTP enrolment: %w", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// recoveryCodes replaces the user's recovery codes by new ones, shown
// this once, after a recent step-up.
func (s *Service) recoveryCodes(w http.ResponseWriter, r *http.Request) {
	p, sess, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.recentStrong(r, p); err != nil {
		s.problem(w, r, err)
		return
	}
	codes, stored, err := s.codes.Generate(subject(u))
	if err != nil {
		s.problem(w, r, fmt.Errorf("login: recovery codes: %w", err))
		return
	}
	hashes := make([][32]byte, len(stored))
	for i, c := range stored {
		hashes[i] = c.Hash
	}
	if err := s.record(r.Context(), r, auditlog.UserRecoveryCodesIssued, u, sess, map[string]string{"count": strconv.Itoa(len(codes))}); err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.cfg.Store.SetRecoveryCodes(r.Context(), u.Tenant, u.ID, hashes); err != nil {
		s.problem(w, r, fmt.Errorf("login: store recovery codes: %w", err))
		return
	}
	api.WriteSecretJSON(w, r, http.StatusCreated, struct {
		Codes []string `json:"codes"`
	}{codes})
}

// passwordRequest is the body of PUT /v1/me/password.
type passwordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// changePassword checks the current password (counted like a login),
// vets the new one (NIST SP 800-63B), stores its hash, ends the user's
// other sessions and rotates this one.
func (s *Service) changePassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, sess, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if p.Pending {
		api.WriteProblem(w, r, errMFARequired)
		return
	}
	var req passwordRequest
	if err := api.DecodeJSONLimit(w, r, &req, maxBody); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if req.Current == "" || req.New == "" {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindInvalid, Detail: "current and new are required"})
		return
	}
	keys := []string{accountKey(u.Tenant, u.Email), ipKey(api.ClientIP(r))}
	if until, err := s.locked(ctx, keys...); err != nil || !until.IsZero() {
		s.problem(w, r, lockedOr(until, err))
		return
	}
	if _, ok, err := s.checkPassword(ctx, u.Tenant, u.Email, req.Current); err != nil {
		s.problem(w, r, err)
		return
	} else if !ok {
		actor := auditlog.Actor{Kind: auditlog.ActorUser, ID: u.ID, Email: u.Email}
		if _, err := s.fail(ctx, r, failure{tenant: u.Tenant, actor: actor, method: "password", keys: keys}); err != nil {
			s.problem(w, r, err)
			return
		}
		api.WriteProblem(w, r, &api.Error{Kind: api.KindForbidden, Type: "invalid-credentials", Detail: "the current password is wrong"})
		return
	}
	state, err := s.mfaState(ctx, u)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	pol := password.Policy{SingleFactor: state == mfaNone, Context: []string{u.Email, u.Name}}
	if err := pol.Check(req.New); err != nil {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindInvalid, Type: "weak-password", Detail: policyDetail(err)})
		return
	}
	h, err := password.Hash(req.New)
	if err != nil {
		s.problem(w, r, fmt.Errorf("login: hash password: %w", err))
		return
	}
	if err := s.record(ctx, r, auditlog.UserPasswordChanged, u, sess, nil); err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.cfg.Store.SetPasswordHash(ctx, u.Tenant, u.ID, h); err != nil {
		s.problem(w, r, fmt.Errorf("login: store password: %w", err))
		return
	}
	if err := s.lockouts.ClearFailures(ctx, keys[0]); err != nil {
		s.problem(w, r, fmt.Errorf("login: lockout: %w", err))
		return
	}
	// Every session of the user ends, this one included; this one goes
	// on under a new token.
	is, err := s.newSession(u, &sess, "")
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if _, err := s.cfg.Store.DeleteSessions(ctx, u.Tenant, u.ID); err != nil {
		s.problem(w, r, fmt.Errorf("login: end sessions: %w", err))
		return
	}
	if err := s.cfg.Store.CreateSession(ctx, is.sess); err != nil {
		s.problem(w, r, fmt.Errorf("login: create session: %w", err))
		return
	}
	s.writeSession(w, r, http.StatusOK, is, u, mfaNone)
}

// policyDetail explains a refused new password without echoing it.
func policyDetail(err error) string {
	switch {
	case errors.Is(err, password.ErrTooShort):
		return fmt.Sprintf("the new password is too short (at least %d characters, %d without a second factor)", password.MinLength, password.MinLengthSingleFactor)
	case errors.Is(err, password.ErrTooLong), errors.Is(err, password.ErrInputTooLong):
		return fmt.Sprintf("the new password is too long (at most %d characters)", password.MaxLength)
	case errors.Is(err, password.ErrCommon):
		return "the new password is too common"
	case errors.Is(err, password.ErrContext):
		return "the new password is built on your name, your address or the service's name"
	}
	return "the new password holds invalid characters"
}
