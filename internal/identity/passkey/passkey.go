// Package passkey is the relying party of WebAuthn passkeys (WebAuthn
// Level 3, through github.com/go-webauthn/webauthn): registration, login
// or step-up, and signing intent bound to a document. It is a library:
// the login and signing code call it and keep the state between the two
// halves of a ceremony; it has no HTTP handlers.
//
// Each ceremony has two halves. Begin* returns the options JSON for the
// browser (navigator.credentials.create or .get, the object with a
// "publicKey" member) and a [Ceremony], which the caller keeps where the
// client cannot change it (server-side, or sealed in the session) and
// passes, with the browser's response JSON, to the matching Finish*. A
// Ceremony expires [Config.Timeout] after its Begin. The caller uses it
// once: it holds the challenge, so a caller that let it be reused would
// let an assertion be replayed against an authenticator without a
// counter.
//
// The policy is fixed and strict: user verification is required in every
// ceremony, attestation is "none" (the relying party trusts the user
// verification of the credential, not the make of the authenticator),
// the credential must be discoverable (a passkey), and ES256, EdDSA and
// RS256 are the accepted algorithms. A login or signing assertion
// updates the credential's signature counter through the store
// ([identity.Passkeys.UpdatePasskeyUse]); a counter that does not
// increase over a non-zero stored one is a cloned authenticator
// (WebAuthn §6.1.1) and the assertion is refused with [ErrCloned].
//
// Signing intent: [SigningChallenge] derives the WebAuthn challenge of a
// signature from the SHA-256 of the exact document version, the envelope
// and the signer, so that the assertion proves what was approved, not
// only who was present. [Assertion.Evidence] encodes the assertion as
// DER that [VerifyEvidence] re-checks offline with the credential's
// stored public key.
//
// Every method takes the user as the caller just read it from the store;
// a user who is not active is refused ([ErrUser]), and a ceremony is
// bound to its user's tenant and id.
//
// The WebAuthn user handle of a user is [UserHandle]: a hash of the
// tenant and the user id, so that it holds no personal data and is at
// most 64 bytes whatever the id.
package passkey

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/signet-pki/signet/internal/identity"
)

// Errors of the ceremonies; a Finish* error matches one of these with
// [errors.Is], or an error of the store.
var (
	// ErrCeremony: the ceremony state is malformed, of another kind, or
	// for another user.
	ErrCeremony = errors.New("passkey: invalid ceremony state")
	// ErrExpired: the ceremony's time is up.
	ErrExpired = errors.New("passkey: ceremony expired")
	// ErrRefused: the authenticator's response does not verify (origin,
	// RP ID, challenge, user verification, signature, credential not the
	// user's, malformed).
	ErrRefused = errors.New("passkey: response refused")
	// ErrCloned: the signature counter did not increase over the stored
	// one, so the authenticator may be cloned, or the assertion replayed.
	ErrCloned = errors.New("passkey: signature counter did not increase")
	// ErrNoPasskey: the user has no passkey to log in or sign with.
	ErrNoPasskey = errors.New("passkey: user has no passkey")
	// ErrUser: the user is not active.
	ErrUser = errors.New("passkey: user not active")
)

// Bounds.
const (
	// MaxResponse bounds the browser's response JSON.
	MaxResponse = 64 << 10
	// MaxTimeout bounds [Config.Timeout].
	MaxTimeout = 30 * time.Minute
	// DefaultTimeout is the ceremony timeout of a zero [Config.Timeout].
	DefaultTimeout = 5 * time.Minute
	maxRPName      = 200
	maxOrigins     = 16
)

// Config configures the relying party.
type Config struct {
	// RPID is the relying party id: the registrable domain (or a
	// subdomain) of the service, e.g. "signet.example"; passkeys are
	// scoped to it.
	RPID string
	// RPName is the service's name as authenticators display it.
	RPName string
	// Origins are the origins the browser may report, e.g.
	// "https://signet.example"; each is https (http only for localhost)
	// with a host equal to RPID or under it, and no path.
	Origins []string
	// Timeout is how long a ceremony stays valid; zero means
	// [DefaultTimeout], at most [MaxTimeout].
	Timeout time.Duration
}

// credentialParameters are the accepted credential algorithms, most
// preferred first; a registration and its finish use the same list.
var credentialParameters = []protocol.CredentialParameter{
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
}

// Service runs the ceremonies of one relying party over a store.
type Service struct {
	cfg   Config
	wa    *webauthn.WebAuthn
	store identity.Passkeys
	now   func() time.Time
}

// New validates cfg and returns a service that keeps passkeys in store
// and reads the time from now (time.Now if nil). Its errors name the bad
// field.
func New(cfg Config, store identity.Passkeys, now func() time.Time) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("passkey: no store")
	}
	if now == nil {
		now = time.Now
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	cfg.Origins = append([]string(nil), cfg.Origins...)
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPName,
		RPOrigins:             cfg.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: configuration: %w", err)
	}
	return &Service{cfg: cfg, wa: wa, store: store, now: now}, nil
}

func (c Config) validate() error {
	if c.RPID == "" || len(c.RPID) > 253 || c.RPID != strings.ToLower(c.RPID) || strings.ContainsAny(c.RPID, ":/ ") {
		return fmt.Errorf("passkey: RPID %q: want a lower-case domain name", c.RPID)
	}
	if err := protocol.ValidateRPID(c.RPID); err != nil {
		return fmt.Errorf("passkey: RPID %q: %v", c.RPID, err)
	}
	if c.RPName == "" || len(c.RPName) > maxRPName {
		return fmt.Errorf("passkey: RPName: want 1 to %d bytes", maxRPName)
	}
	if len(c.Origins) == 0 || len(c.Origins) > maxOrigins {
		return fmt.Errorf("passkey: Origins: want 1 to %d origins", maxOrigins)
	}
	for _, o := range c.Origins {
		u, err := url.Parse(o)
		switch {
		case err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
			return fmt.Errorf("passkey: Origins: %q is not an origin (scheme://host[:port])", o)
		case u.Scheme != "https" && !(u.Scheme == "http" && u.Hostname() == "localhost"):
			return fmt.Errorf("passkey: Origins: %q is not https", o)
		case u.Hostname() != c.RPID && !strings.HasSuffix(u.Hostname(), "."+c.RPID):
			return fmt.Errorf("passkey: Origins: %q is not within the RPID %q", o, c.RPID)
		}
	}
	if c.Timeout < 0 || c.Timeout > MaxTimeout {
		return fmt.Errorf("passkey: Timeout %v: want 0 (default) up to %v", c.Timeout, MaxTimeout)
	}
	return nil
}

// UserHandle returns the WebAuthn user handle of the tenant's user id:
//
//	SHA-256("signet/passkey/user-handle/v1" ‖ 0x00 ‖ uint32be(len(tenant)) ‖ tenant ‖ userID)
func UserHandle(tenant, userID string) []byte {
	h := sha256.New()
	h.Write([]byte("signet/passkey/user-handle/v1\x00"))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(tenant))))
	h.Write([]byte(tenant))
	h.Write([]byte(userID))
	return h.Sum(nil)
}

// waUser is a user as go-webauthn sees it.
type waUser struct {
	u     identity.User
	creds []webauthn.Credential
}

func (w waUser) WebAuthnID() []byte                         { return UserHandle(w.u.Tenant, w.u.ID) }
func (w waUser) WebAuthnName() string                       { return w.u.Email }
func (w waUser) WebAuthnDisplayName() string                { return w.u.Name }
func (w waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func credentialOf(p identity.Passkey) webauthn.Credential {
	f := protocol.FlagUserPresent | protocol.FlagUserVerified
	if p.BackupEligible {
		f |= protocol.FlagBackupEligible
	}
	if p.BackupState {
		f |= protocol.FlagBackupState
	}
	ts := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		ts[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID: p.CredentialID, PublicKey: p.PublicKey, AttestationType: "none", AttestationFormat: "none", Transport: ts,
		Flags:         webauthn.NewCredentialFlags(f),
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID[:], SignCount: p.SignCount},
	}
}

// userOf loads the user's passkeys.
func (s *Service) userOf(ctx context.Context, u identity.User) (waUser, []identity.Passkey, error) {
	if u.Status != identity.StatusActive || u.Tenant == "" || u.ID == "" {
		return waUser{}, nil, fmt.Errorf("%w: %s", ErrUser, u.ID)
	}
	ps, err := s.store.PasskeysOf(ctx, u.Tenant, u.ID)
	if err != nil {
		return waUser{}, nil, fmt.Errorf("passkey: %w", err)
	}
	w := waUser{u: u}
	for _, p := range ps {
		w.creds = append(w.creds, credentialOf(p))
	}
	return w, ps, nil
}

func options(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("passkey: options: %w", err)
	}
	return b, nil
}

func challengeOf(s string) ([]byte, error) {
	c, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("passkey: challenge: %w", err)
	}
	return c, nil
}

// refused wraps a verification failure of go-webauthn, with its details.
func refused(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %s: %s", ErrRefused, pe.Details, pe.DevInfo)
	}
	return fmt.Errorf("%w: %v", ErrRefused, err)
}

// BeginRegistration starts registering a new passkey for u: it returns the
// options for navigator.credentials.create (the user's existing passkeys
// excluded) and the ceremony to pass to [Service.FinishRegistration].
func (s *Service) BeginRegistration(ctx context.Context, u identity.User) ([]byte, Ceremony, error) {
	w, _, err := s.userOf(ctx, u)
	if err != nil {
		return nil, Ceremony{}, err
	}
	if len(w.creds) >= identity.MaxPasskeys {
		return nil, Ceremony{}, fmt.Errorf("passkey: %w: %d passkeys", identity.ErrLimit, len(w.creds))
	}
	exclude := make([]protocol.CredentialDescriptor, len(w.creds))
	for i, c := range w.creds {
		exclude[i] = c.Descriptor()
	}
	creation, session, err := s.wa.BeginRegistration(w,
		webauthn.WithExclusions(exclude),
		webauthn.WithCredentialParameters(credentialParameters),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return nil, Ceremony{}, fmt.Errorf("passkey: begin registration: %w", err)
	}
	ch, err := challengeOf(session.Challenge)
	if err != nil {
		return nil, Ceremony{}, err
	}
	opts, err := options(creation)
	if err != nil {
		return nil, Ceremony{}, err
	}
	return opts, s.ceremony(KindRegistration, u, ch), nil
}

func (s *Service) ceremony(k Kind, u identity.User, challenge []byte) Ceremony {
	return Ceremony{kind: k, tenant: u.Tenant, userID: u.ID, challenge: challenge, expires: s.now().Add(s.cfg.Timeout).UTC()}
}

// check checks that state is a ceremony of kind k for u, still valid.
func (s *Service) check(state Ceremony, k Kind, u identity.User) error {
	now := s.now()
	switch {
	case state.kind != k:
		return fmt.Errorf("%w: a %v ceremony, want %v", ErrCeremony, state.kind, k)
	case state.tenant != u.Tenant || state.userID != u.ID:
		return fmt.Errorf("%w: the ceremony is another user's", ErrCeremony)
	case !now.Before(state.expires):
		return ErrExpired
	case state.expires.Sub(now) > s.cfg.Timeout:
		return fmt.Errorf("%w: the ceremony expires after the configured timeout", ErrCeremony)
	}
	return state.validate()
}

// FinishRegistration verifies the browser's response to the options of
// [Service.BeginRegistration] (origin, RP ID, challenge, user
// verification, attestation "none", algorithm) and stores the new
// passkey, labelled name, for u. It returns the stored passkey.
func (s *Service) FinishRegistration(ctx context.Context, u identity.User, state Ceremony, name string, response []byte) (identity.Passkey, error) {
	if err := s.check(state, KindRegistration, u); err != nil {
		return identity.Passkey{}, err
	}
	if len(response) > MaxResponse {
		return identity.Passkey{}, fmt.Errorf("%w: response of %d bytes", ErrRefused, len(response))
	}
	w, _, err := s.userOf(ctx, u)
	if err != nil {
		return identity.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return identity.Passkey{}, refused(err)
	}
	cred, err := s.wa.CreateCredential(w, webauthn.SessionData{
		Challenge:        base64.RawURLEncoding.EncodeToString(state.challenge),
		RelyingPartyID:   s.cfg.RPID,
		UserID:           w.WebAuthnID(),
		UserVerification: protocol.VerificationRequired,
		CredParams:       credentialParameters,
	}, parsed)
	if err != nil {
		return identity.Passkey{}, refused(err)
	}
	if !cred.Flags.UserVerified || !cred.Flags.UserPresent {
		return identity.Passkey{}, fmt.Errorf("%w: user not verified", ErrRefused)
	}
	p := identity.Passkey{
		CredentialID: cred.ID, Tenant: u.Tenant, UserID: u.ID, PublicKey: cred.PublicKey,
		SignCount: cred.Authenticator.SignCount, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		Name: name, CreatedAt: s.now(),
	}
	if len(cred.Authenticator.AAGUID) == len(p.AAGUID) {
		copy(p.AAGUID[:], cred.Authenticator.AAGUID)
	}
	for _, t := range cred.Transport {
		// Transports are hints; those the store cannot keep are dropped.
		if len(p.Transports) < identity.MaxTransports && transportOK(string(t)) {
			p.Transports = append(p.Transports, string(t))
		}
	}
	if err := s.store.AddPasskey(ctx, p); err != nil {
		return identity.Passkey{}, fmt.Errorf("passkey: %w", err)
	}
	return p, nil
}

// BeginLogin starts a login or step-up of u with one of their passkeys: it
// returns the options for navigator.credentials.get and the ceremony to
// pass to [Service.FinishLogin].
func (s *Service) BeginLogin(ctx context.Context, u identity.User) ([]byte, Ceremony, error) {
	return s.beginAssertion(ctx, u, nil, func(ch []byte) Ceremony { return s.ceremony(KindLogin, u, ch) })
}

func (s *Service) beginAssertion(ctx context.Context, u identity.User, challenge []byte, mk func([]byte) Ceremony) ([]byte, Ceremony, error) {
	w, _, err := s.userOf(ctx, u)
	if err != nil {
		return nil, Ceremony{}, err
	}
	if len(w.creds) == 0 {
		return nil, Ceremony{}, ErrNoPasskey
	}
	opts := []webauthn.LoginOption{webauthn.WithUserVerification(protocol.VerificationRequired)}
	if challenge != nil {
		opts = append(opts, webauthn.WithChallenge(challenge))
	}
	assertion, session, err := s.wa.BeginLogin(w, opts...)
	if err != nil {
		return nil, Ceremony{}, fmt.Errorf("passkey: begin login: %w", err)
	}
	ch, err := challengeOf(session.Challenge)
	if err != nil {
		return nil, Ceremony{}, err
	}
	if challenge != nil && !bytes.Equal(ch, challenge) {
		return nil, Ceremony{}, errors.New("passkey: the library changed the challenge")
	}
	b, err := options(assertion)
	if err != nil {
		return nil, Ceremony{}, err
	}
	return b, mk(ch), nil
}

// FinishLogin verifies the browser's response to the options of
// [Service.BeginLogin]: origin, RP ID, challenge, a credential of u,
// user verification, signature, and a signature counter above the
// stored one, which it records. It returns the assertion as evidence.
func (s *Service) FinishLogin(ctx context.Context, u identity.User, state Ceremony, response []byte) (Assertion, error) {
	if err := s.check(state, KindLogin, u); err != nil {
		return Assertion{}, err
	}
	return s.finishAssertion(ctx, u, state, response)
}

func (s *Service) finishAssertion(ctx context.Context, u identity.User, state Ceremony, response []byte) (Assertion, error) {
	if len(response) > MaxResponse {
		return Assertion{}, fmt.Errorf("%w: response of %d bytes", ErrRefused, len(response))
	}
	w, ps, err := s.userOf(ctx, u)
	if err != nil {
		return Assertion{}, err
	}
	if len(ps) == 0 {
		return Assertion{}, ErrNoPasskey
	}
	allowed := make([][]byte, len(ps))
	for i, p := range ps {
		allowed[i] = p.CredentialID
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Assertion{}, refused(err)
	}
	cred, err := s.wa.ValidateLogin(w, webauthn.SessionData{
		Challenge:            base64.RawURLEncoding.EncodeToString(state.challenge),
		RelyingPartyID:       s.cfg.RPID,
		UserID:               w.WebAuthnID(),
		AllowedCredentialIDs: allowed,
		UserVerification:     protocol.VerificationRequired,
	}, parsed)
	if err != nil {
		return Assertion{}, refused(err)
	}
	flags := parsed.Response.AuthenticatorData.Flags
	if !flags.HasUserPresent() || !flags.HasUserVerified() {
		return Assertion{}, fmt.Errorf("%w: user not verified", ErrRefused)
	}
	count := parsed.Response.AuthenticatorData.Counter
	if cred.Authenticator.CloneWarning {
		return Assertion{}, fmt.Errorf("%w: %d after %d", ErrCloned, count, cred.Authenticator.SignCount)
	}
	now := s.now()
	if err := s.store.UpdatePasskeyUse(ctx, cred.ID, count, now); err != nil {
		if errors.Is(err, identity.ErrConflict) {
			return Assertion{}, fmt.Errorf("%w: %v", ErrCloned, err)
		}
		return Assertion{}, fmt.Errorf("passkey: %w", err)
	}
	raw := parsed.Raw.AssertionResponse
	return Assertion{
		CredentialID:      bytes.Clone(parsed.RawID),
		AuthenticatorData: bytes.Clone(raw.AuthenticatorData),
		ClientDataJSON:    bytes.Clone(raw.ClientDataJSON),
		Signature:         bytes.Clone(raw.Signature),
		UserHandle:        bytes.Clone(raw.UserHandle),
		Challenge:         bytes.Clone(state.challenge),
		Time:              now.UTC(),
		UserVerified:      true,
		BackupEligible:    flags.HasBackupEligible(),
		BackupState:       flags.HasBackupState(),
	}, nil
}

// transportOK reports whether t is a transport hint the store keeps: 1 to
// [identity.MaxMethod] lower-case letters, digits, "-" or "_".
func transportOK(t string) bool {
	if t == "" || len(t) > identity.MaxMethod {
		return false
	}
	for _, c := range []byte(t) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
