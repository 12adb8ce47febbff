package signing

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/webhook"
	"github.com/signet-pki/signet/internal/workflow"
)

// codeDigits is the length of one-time codes.
const codeDigits = 6

// link authenticates a link token's hash: a known link of an envelope
// that is still open (see [Service.open]), neither revoked nor used nor
// expired. It returns the link and its recipient's view of the envelope.
func (s *Service) link(ctx context.Context, hash [32]byte) (Link, *workflow.RecipientView, error) {
	l, err := s.cfg.Store.LinkByHash(ctx, hash)
	if errors.Is(err, ErrNoRecord) {
		return Link{}, nil, withDetail(ErrInvalidLink, "the link is not valid", nil)
	}
	if err != nil {
		return Link{}, nil, fmt.Errorf("signing: load link: %w", err)
	}
	v, err := s.open(ctx, l.EnvelopeID, l.RecipientID)
	if err != nil {
		return Link{}, nil, err
	}
	switch {
	case !l.RevokedAt.IsZero():
		return Link{}, nil, revoked()
	case !l.UsedAt.IsZero():
		return Link{}, nil, withDetail(ErrInvalidLink, "the link was already used", nil)
	case !s.now().Before(l.ExpiresAt):
		return Link{}, nil, withDetail(ErrInvalidLink, "the link has expired", nil)
	}
	return l, v, nil
}

// revoked is the answer to a revoked link.
func revoked() error {
	return withDetail(ErrLinkRevoked, "this link was revoked (after repeated wrong codes, or replaced by a newer one); ask the sender to re-issue it", nil)
}

// Session authenticates a session token's hash: a known, unexpired
// session of an envelope that is still open (see [Service.open]). The
// session is read from the store on every call, as is the envelope's
// state: a re-issue deletes the recipient's sessions from the store, and
// they end at once on every node that shares it.
func (s *Service) Session(ctx context.Context, hash [32]byte) (Session, error) {
	return s.session(ctx, hash, false)
}

// CopySession authenticates a session token's hash as [Service.Session]
// does, and also once the envelope is completed if the session's
// recipient completed their part: for the rest of the session's lifetime
// they may download the completed documents, their copy of what they
// signed (the last signature completes the envelope, and the ceremony's
// last page offers the download). Declined, voided and expired envelopes
// stay closed, and nothing but the documents is served this way.
func (s *Service) CopySession(ctx context.Context, hash [32]byte) (Session, error) {
	return s.session(ctx, hash, true)
}

func (s *Service) session(ctx context.Context, hash [32]byte, copyAfterCompletion bool) (Session, error) {
	ss, err := s.cfg.Store.SessionByHash(ctx, hash)
	// A session stored in clear before the service had keys is refused
	// like a missing one: the recipient authenticates again.
	if errors.Is(err, ErrNoRecord) || errors.Is(err, ErrUnsealedSession) {
		return Session{}, withDetail(ErrInvalidSession, "the session is not valid", nil)
	}
	if err != nil {
		return Session{}, fmt.Errorf("signing: load session: %w", err)
	}
	if _, err := s.open(ctx, ss.EnvelopeID, ss.RecipientID); err != nil && !(copyAfterCompletion && s.completedBy(ctx, ss)) {
		if errors.Is(err, ErrInvalidLink) {
			return Session{}, withDetail(ErrInvalidSession, "the session is not valid", nil)
		}
		return Session{}, err
	}
	if !s.now().Before(ss.ExpiresAt) {
		return Session{}, withDetail(ErrInvalidSession, "the session has expired; verify a new code", nil)
	}
	return ss, nil
}

// completedBy reports whether the session's envelope is completed and its
// recipient completed their part.
func (s *Service) completedBy(ctx context.Context, ss Session) bool {
	v, err := s.view(ctx, ss.EnvelopeID, ss.RecipientID)
	return err == nil && v.Envelope.Status == workflow.StatusCompleted && v.Recipient.Status == workflow.RecipientCompleted
}

// open returns the recipient's view of the envelope if the envelope is
// still open: sent or in progress, and not past its expiry. At a final
// state (completed, declined, voided, expired) every link and session of
// the envelope stops working at once: this check runs on every
// recipient request, before anything else is done, so nothing (a code, an
// e-mail, a session, a view, a document) is given out after the
// transition.
func (s *Service) open(ctx context.Context, envelopeID, recipientID string) (*workflow.RecipientView, error) {
	v, err := s.view(ctx, envelopeID, recipientID)
	if err != nil {
		return nil, err
	}
	st := v.Envelope.Status
	switch {
	case st != workflow.StatusSent && st != workflow.StatusInProgress:
	case !s.now().Before(v.Envelope.ExpiresAt):
		// Past its expiry, before the scheduler has recorded it.
		st = workflow.StatusExpired
	default:
		return v, nil
	}
	return nil, withDetail(ErrEnvelopeEnded, fmt.Sprintf("the envelope is %s: its links and sessions no longer work", st), nil)
}

// view returns the recipient's view of the envelope, whatever its state.
func (s *Service) view(ctx context.Context, envelopeID, recipientID string) (*workflow.RecipientView, error) {
	wf := s.wf
	v, err := wf.RecipientContext(ctx, envelopeID, recipientID)
	if errors.Is(err, workflow.ErrNotFound) {
		return nil, withDetail(ErrInvalidLink, "the link is not valid", nil)
	}
	return v, err
}

// CodeSent is where [Service.SendCode] sent a code.
type CodeSent struct {
	// SentTo is the address or number, masked for display
	// ("a***@example.com", "+*********67").
	SentTo string
	// Channel is "email" or "sms".
	Channel string
}

// SendCode sends a fresh one-time code to the recipient of the link whose
// token hashes to linkHash, replacing any pending code: by e-mail to an
// email_code recipient (in the message's body only, never in its subject
// or another header), by SMS through [Config.SMS] to an sms_code one. A
// recipient of another level gets none: access_code, totp and link_only
// recipients [ErrNoCodeToSend], passkey ones [ErrPasskeyRequired]. With
// no SMS sender configured, an sms_code recipient's code is not made
// ([ErrUnavailable]).
func (s *Service) SendCode(ctx context.Context, linkHash [32]byte) (CodeSent, error) {
	l, v, err := s.link(ctx, linkHash)
	if err != nil {
		return CodeSent{}, err
	}
	r := v.Recipient
	level := workflow.NormalizeAuth(r.Auth)
	switch level {
	case workflow.AuthEmailCode:
	case workflow.AuthSMSCode:
		if s.cfg.SMS == nil {
			return CodeSent{}, withDetail(ErrUnavailable, "no SMS gateway is configured on this server: the code cannot be sent; ask the sender", nil)
		}
		if r.Phone == "" {
			return CodeSent{}, fmt.Errorf("signing: sms_code recipient %s has no phone number", r.ID)
		}
	case workflow.AuthAccessCode:
		return CodeSent{}, withDetail(ErrNoCodeToSend, "this link asks for the access code the sender gave you: send it to POST /v1/recipient/verify", nil)
	case workflow.AuthLinkOnly:
		return CodeSent{}, withDetail(ErrNoCodeToSend, "this link needs no code: POST /v1/recipient/verify", nil)
	case workflow.AuthTOTP:
		return CodeSent{}, withDetail(ErrNoCodeToSend, "this link asks for a code of the authenticator app of your account: send it to POST /v1/recipient/verify", nil)
	case workflow.AuthPasskey:
		return CodeSent{}, passkeyRequired()
	default:
		return CodeSent{}, fmt.Errorf("signing: recipient %s has the unknown authentication level %q", r.ID, r.Auth)
	}
	code, err := s.replaceCode(ctx, l)
	if err != nil {
		return CodeSent{}, err
	}
	mins := int(s.cfg.CodeTTL / time.Minute)
	if level == workflow.AuthSMSCode {
		text := fmt.Sprintf("Your Signet code is %s. It is valid for %d minutes. Do not share it.", code, mins)
		if err := s.cfg.SMS.SendSMS(ctx, r.Phone, text); err != nil {
			return CodeSent{}, withDetail(ErrUnavailable, "the code could not be sent; try again", err)
		}
		return CodeSent{SentTo: maskPhone(r.Phone), Channel: "sms"}, nil
	}
	body := fmt.Sprintf("Hello %s,\n\nyour Signet code is %s\n\nIt is valid for %d minutes. If you did not ask for it, ignore this message.\n\n— Signet\n",
		r.Name, code, mins)
	// The subject carries no code: subjects are shown in notifications,
	// lock screens and mail-server logs.
	if err := s.notifier.send(ctx, r.Email, "Your Signet code", body); err != nil {
		return CodeSent{}, withDetail(ErrUnavailable, "the code could not be sent; try again", err)
	}
	return CodeSent{SentTo: maskEmail(r.Email), Channel: "email"}, nil
}

// passkeyRequired is the answer to a passkey recipient's link.
func passkeyRequired() error {
	return withDetail(ErrPasskeyRequired, "this recipient confirms with the passkey of their registered account, not with a code: POST /v1/recipient/passkey/begin, then /finish", nil)
}

// replaceCode makes a fresh code the pending one of l's recipient, within
// the send limits, under the recipient's lock, and returns it. The e-mail
// goes out after the lock is released: a slow mail server holds up no
// other request for the recipient.
func (s *Service) replaceCode(ctx context.Context, l Link) (string, error) {
	unlock, err := s.lockRecipient(ctx, l.EnvelopeID, l.RecipientID)
	if err != nil {
		return "", err
	}
	defer unlock()
	now := s.now()
	st, err := s.cfg.Store.AuthState(ctx, l.EnvelopeID, l.RecipientID)
	if err != nil {
		return "", fmt.Errorf("signing: load code state: %w", err)
	}
	if !st.RevokedAt.IsZero() {
		return "", revoked()
	}
	if now.Before(st.LockedUntil) {
		return "", retryAfter(ErrLockedOut, "too many wrong codes; try again later", seconds(st.LockedUntil.Sub(now)))
	}
	if now.Sub(st.WindowStart) >= s.cfg.CodeWindow {
		st.WindowStart, st.WindowSends = now, 0
	}
	if st.WindowSends >= s.cfg.CodeSends {
		return "", retryAfter(ErrTooManyCodes, "too many codes requested; try again later", seconds(st.WindowStart.Add(s.cfg.CodeWindow).Sub(now)))
	}
	code, err := s.newCode()
	if err != nil {
		return "", err
	}
	st.CodeMAC = s.codeMAC(l.EnvelopeID, l.RecipientID, code)
	st.CodeExpiresAt = now.Add(s.cfg.CodeTTL)
	st.WindowSends++
	if err := s.cfg.Store.PutAuthState(ctx, st); err != nil {
		return "", fmt.Errorf("signing: store code: %w", err)
	}
	return code, nil
}

// Verify checks code for the link whose token hashes to linkHash, by the
// recipient's authentication level: the pending one-time code of an
// email_code or sms_code recipient, the access code of an access_code
// one, nothing for a link_only one (allowed only while both the envelope
// and [Config.AllowLinkOnly] allow it, else [ErrLinkOnlyDisabled]), a
// code of the TOTP authenticator of the registered user behind a totp
// one (an active user of the envelope's tenant with the recipient's
// address and a confirmed enrolment, else [ErrTOTPUnavailable]; each
// time step is accepted once, across this service and the login); a
// passkey recipient is refused ([ErrPasskeyRequired]: they confirm with
// [Service.BeginPasskey] and [Service.FinishPasskey]). A correct code is
// consumed and yields a session token that carries the methods used; a
// wrong code of any kind counts toward one lockout per recipient.
// Lockouts escalate along [Config.Lockouts], and the run of wrong codes
// after the last one revokes the recipient's links until the sender
// re-issues one ([Service.Reissue]). Every attempt is audited as
// recipient.authenticated (success, failure or denial) with the level
// and its RFC 8176 methods, every lockout as recipient.locked_out, and a
// success is not granted unless recorded.
func (s *Service) Verify(ctx context.Context, linkHash [32]byte, code string, req auditlog.Request) (string, Session, error) {
	l, v, err := s.link(ctx, linkHash)
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
	level := workflow.NormalizeAuth(v.Recipient.Auth)
	methods, assurance, _ := evidence(level)
	ev := auditlog.Event{
		Type: auditlog.RecipientAuthenticated, Tenant: l.Tenant,
		Actor: auditlog.Actor{
			Kind: auditlog.ActorRecipient, ID: l.RecipientID, Email: v.Recipient.Email, Name: v.Recipient.Name,
			AuthMethods: methods,
		},
		Subject: auditlog.Subject{EnvelopeID: l.EnvelopeID, RecipientEmail: v.Recipient.Email},
		Request: req,
		Details: map[string]string{"recipient_id": l.RecipientID, "method": level},
	}
	if level == "" {
		ev.Details["method"] = v.Recipient.Auth
	}
	if !st.RevokedAt.IsZero() || now.Before(st.LockedUntil) {
		ev.Outcome, ev.Reason = auditlog.OutcomeDenied, "locked out after repeated wrong codes"
		if !st.RevokedAt.IsZero() {
			ev.Reason = "link revoked after repeated lockouts"
		}
		if err := s.cfg.Audit.Record(ctx, ev); err != nil {
			return "", Session{}, withDetail(ErrUnavailable, "the attempt could not be recorded", err)
		}
		if !st.RevokedAt.IsZero() {
			return "", Session{}, revoked()
		}
		return "", Session{}, retryAfter(ErrLockedOut, "too many wrong codes; try again later", seconds(st.LockedUntil.Sub(now)))
	}
	var ok bool
	reason := ""
	switch level {
	case workflow.AuthEmailCode, workflow.AuthSMSCode:
		ok = len(st.CodeMAC) > 0 && now.Before(st.CodeExpiresAt) && validCode(code) &&
			hmac.Equal(s.codeMAC(l.EnvelopeID, l.RecipientID, code), st.CodeMAC)
	case workflow.AuthAccessCode:
		if ok, err = checkAccessCode(code, v.Recipient.AccessCodeHash); err != nil {
			return "", Session{}, err
		}
		reason = "wrong access code"
	case workflow.AuthLinkOnly:
		if !s.cfg.AllowLinkOnly || !v.Envelope.AllowLinkOnly {
			return "", Session{}, s.deny(ctx, ev, "link-only access is not allowed",
				withDetail(ErrLinkOnlyDisabled, "link-only access is not allowed (by this server, or by the envelope); ask the sender for an envelope with another authentication", nil))
		}
		if code != "" {
			return "", Session{}, withDetail(ErrInvalid, "a link-only recipient sends no code", nil)
		}
		ok = true
	case workflow.AuthTOTP:
		u, en, err := s.totpUser(ctx, l, v, ev)
		if err != nil {
			return "", Session{}, err
		}
		if ok, reason, err = s.checkTOTP(ctx, u, en, code, now); err != nil {
			return "", Session{}, err
		}
		ev.Details["user_id"] = u.ID
	case workflow.AuthPasskey:
		return "", Session{}, s.deny(ctx, ev, "passkey required", passkeyRequired())
	default:
		return "", Session{}, fmt.Errorf("signing: recipient %s has the unknown authentication level %q", l.RecipientID, v.Recipient.Auth)
	}
	if !ok {
		return "", Session{}, s.wrongCode(ctx, &st, ev, now, reason)
	}
	ev.Outcome = auditlog.OutcomeSuccess
	ev.Actor.AuthStrength = assurance
	if err := s.cfg.Audit.Record(ctx, ev); err != nil {
		return "", Session{}, withDetail(ErrUnavailable, "the authentication could not be recorded", err)
	}
	// A success clears the failures of the current run, not the
	// lockouts: guesses stay bounded over the link's whole life.
	st.CodeMAC, st.CodeExpiresAt, st.Failures = nil, time.Time{}, 0
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
		Email: v.Recipient.Email, AuthTime: now, ExpiresAt: exp,
		Methods: methods, Assurance: assurance,
	}
	if err := s.cfg.Store.CreateSession(ctx, ss); err != nil {
		return "", Session{}, fmt.Errorf("signing: store session: %w", err)
	}
	return tok, ss, nil
}

// wrongCode counts a wrong code in st (the caller holds the recipient's
// lock), locks the recipient out after [Config.MaxFailures] of them, for
// longer at each lockout, and revokes their links after the last lockout
// of the schedule. The state is stored before anything is recorded, so
// that a lockout holds even if the audit log is down; the failed attempt
// is recorded as recipient.authenticated and a lockout as
// recipient.locked_out (with the recipient, the lockout's number and its
// end, never the code). Wrong codes of every kind (e-mailed, SMS, access
// codes) count alike. reason, if set, is the failure's reason (else it
// is told from the pending one-time code). It returns the error to
// answer.
func (s *Service) wrongCode(ctx context.Context, st *AuthState, ev auditlog.Event, now time.Time, reason string) error {
	switch {
	case reason != "":
	case len(st.CodeMAC) == 0:
		reason = "no code pending"
	case !now.Before(st.CodeExpiresAt):
		reason = "code expired"
	default:
		reason = "wrong code"
	}
	st.Failures++
	locked := st.Failures >= s.cfg.MaxFailures
	if locked {
		st.Failures, st.CodeMAC, st.CodeExpiresAt = 0, nil, time.Time{}
		st.Lockouts++
		if st.Lockouts > len(s.cfg.Lockouts) {
			st.RevokedAt, st.LockedUntil = now, time.Time{}
			reason += "; link revoked"
		} else {
			st.LockedUntil = now.Add(s.cfg.Lockouts[st.Lockouts-1])
			reason += "; locked out"
		}
	}
	var err error
	if st.RevokedAt.IsZero() {
		err = s.cfg.Store.PutAuthState(ctx, *st)
	} else {
		err = s.cfg.Store.RevokeRecipient(ctx, *st)
	}
	if err != nil {
		return fmt.Errorf("signing: store code state: %w", err)
	}
	ev.Outcome, ev.Reason = auditlog.OutcomeFailure, reason
	if err := s.cfg.Audit.Record(ctx, ev); err != nil {
		return withDetail(ErrUnavailable, "the attempt could not be recorded", err)
	}
	if s.cfg.Webhooks != nil {
		// After the record: an event never announces an unrecorded failure.
		data := map[string]any{"envelope_id": st.EnvelopeID, "recipient_id": st.RecipientID, "reason": reason, "locked_out": locked}
		if err := s.cfg.Webhooks.Notify(ctx, ev.Tenant, webhook.EventRecipientAuthenticationFailed, data); err != nil {
			s.log.WarnContext(ctx, "signing: webhook event not enqueued", "envelope", st.EnvelopeID, "error", err)
		}
	}
	if !locked {
		return withDetail(ErrWrongCode, "the code is wrong or expired", nil)
	}
	lo := ev
	lo.Type, lo.Outcome, lo.Reason = auditlog.RecipientLockedOut, auditlog.OutcomeDenied, "too many wrong codes"
	lo.Details = map[string]string{"recipient_id": st.RecipientID, "lockout": strconv.Itoa(st.Lockouts)}
	if st.RevokedAt.IsZero() {
		lo.Details["locked_until"] = st.LockedUntil.Format(time.RFC3339)
	} else {
		lo.Details["revoked"] = "true"
	}
	if err := s.cfg.Audit.Record(ctx, lo); err != nil {
		s.log.WarnContext(ctx, "signing: a lockout could not be recorded", "envelope", st.EnvelopeID, "recipient", st.RecipientID, "error", err)
		return withDetail(ErrUnavailable, "the lockout could not be recorded", err)
	}
	if !st.RevokedAt.IsZero() {
		return revoked()
	}
	return retryAfter(ErrLockedOut, "too many wrong codes; try again later", seconds(st.LockedUntil.Sub(now)))
}

// newCode returns a uniformly random code of codeDigits decimal digits.
func (s *Service) newCode() (string, error) {
	const n = 1_000_000
	limit := uint64(math.MaxUint64 - math.MaxUint64%n)
	var b [8]byte
	for {
		if err := s.random(b[:]); err != nil {
			return "", err
		}
		if v := binary.BigEndian.Uint64(b[:]); v < limit {
			return fmt.Sprintf("%06d", v%n), nil
		}
	}
}

// codeMAC is HMAC-SHA256 under [Config.CodeKey] of the code bound to the
// recipient of the envelope.
func (s *Service) codeMAC(envelopeID, recipientID, code string) []byte {
	m := hmac.New(sha256.New, s.cfg.CodeKey)
	fmt.Fprintf(m, "signet recipient code\x00%s\x00%s\x00%s", envelopeID, recipientID, code)
	return m.Sum(nil)
}

func validCode(c string) bool {
	if len(c) != codeDigits {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}

func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// maskEmail shows the first character of the local part and the domain.
func maskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at < 1 {
		return "***"
	}
	return e[:1] + "***" + e[at:]
}

// deny records ev as a denied attempt for reason and returns answer, or
// [ErrUnavailable] if the attempt could not be recorded. A denial does
// not count toward a lockout: nothing was guessed.
func (s *Service) deny(ctx context.Context, ev auditlog.Event, reason string, answer error) error {
	ev.Outcome, ev.Reason = auditlog.OutcomeDenied, reason
	if err := s.cfg.Audit.Record(ctx, ev); err != nil {
		return withDetail(ErrUnavailable, "the attempt could not be recorded", err)
	}
	return answer
}
