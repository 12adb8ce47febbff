package signing

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/workflow"
)

// Authentication methods recorded for a verified recipient (RFC 8176 amr
// "otp", plus "email" for the channel) and the assurance reached: a
// one-time code to an email address is a single factor (NIST SP 800-63B
// AAL1).
var (
	recipientAMR       = []string{"otp", "email"}
	recipientAssurance = "aal1"
)

// codeDigits is the length of one-time codes.
const codeDigits = 6

// link resolves a link token's hash to a live link.
func (s *Service) link(ctx context.Context, hash [32]byte) (Link, error) {
	l, err := s.cfg.Store.LinkByHash(ctx, hash)
	if errors.Is(err, ErrNoRecord) {
		return Link{}, withDetail(ErrInvalidLink, "the link is not valid", nil)
	}
	if err != nil {
		return Link{}, fmt.Errorf("signing: load link: %w", err)
	}
	if !l.UsedAt.IsZero() {
		return Link{}, withDetail(ErrInvalidLink, "the link was already used", nil)
	}
	if !s.now().Before(l.ExpiresAt) {
		return Link{}, withDetail(ErrInvalidLink, "the link has expired", nil)
	}
	return l, nil
}

// Session resolves a session token's hash to a live session. Sessions
// never change once created, so found ones are cached in memory.
func (s *Service) Session(ctx context.Context, hash [32]byte) (Session, error) {
	ss, ok := s.sessions.get(hash)
	if !ok {
		var err error
		ss, err = s.cfg.Store.SessionByHash(ctx, hash)
		if errors.Is(err, ErrNoRecord) {
			return Session{}, withDetail(ErrInvalidSession, "the session is not valid", nil)
		}
		if err != nil {
			return Session{}, fmt.Errorf("signing: load session: %w", err)
		}
		s.sessions.put(ss)
	}
	if !s.now().Before(ss.ExpiresAt) {
		return Session{}, withDetail(ErrInvalidSession, "the session has expired; verify a new code", nil)
	}
	return ss, nil
}

// view returns the recipient's view of the link's envelope.
func (s *Service) view(ctx context.Context, envelopeID, recipientID string) (*workflow.RecipientView, error) {
	wf, err := s.workflow()
	if err != nil {
		return nil, err
	}
	v, err := wf.RecipientContext(ctx, envelopeID, recipientID)
	if errors.Is(err, workflow.ErrNotFound) {
		return nil, withDetail(ErrInvalidLink, "the link is not valid", nil)
	}
	return v, err
}

// SendCode emails a fresh one-time code to the recipient of the link
// whose token hashes to linkHash, replacing any pending code. It returns
// the address masked for display ("a***@example.com").
func (s *Service) SendCode(ctx context.Context, linkHash [32]byte) (string, error) {
	l, err := s.link(ctx, linkHash)
	if err != nil {
		return "", err
	}
	v, err := s.view(ctx, l.EnvelopeID, l.RecipientID)
	if err != nil {
		return "", err
	}
	s.authMu.Lock()
	defer s.authMu.Unlock()
	now := s.now()
	st, err := s.cfg.Store.AuthState(ctx, l.EnvelopeID, l.RecipientID)
	if err != nil {
		return "", fmt.Errorf("signing: load code state: %w", err)
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
	body := fmt.Sprintf("Hello %s,\n\nyour Signet code is %s\n\nIt is valid for %d minutes. If you did not ask for it, ignore this message.\n\n— Signet\n",
		v.Recipient.Name, code, int(s.cfg.CodeTTL/time.Minute))
	if err := s.send(ctx, v.Recipient.Email, "Your Signet code: "+code, body); err != nil {
		return "", withDetail(ErrUnavailable, "the code could not be sent; try again", err)
	}
	return maskEmail(v.Recipient.Email), nil
}

// Verify checks code for the link whose token hashes to linkHash. A
// correct code is consumed and yields a session token; a wrong one counts
// toward the lockout. Every attempt is audited as
// recipient.authenticated, and a success is not granted unless recorded.
func (s *Service) Verify(ctx context.Context, linkHash [32]byte, code string, req auditlog.Request) (string, Session, error) {
	l, err := s.link(ctx, linkHash)
	if err != nil {
		return "", Session{}, err
	}
	v, err := s.view(ctx, l.EnvelopeID, l.RecipientID)
	if err != nil {
		return "", Session{}, err
	}
	s.authMu.Lock()
	defer s.authMu.Unlock()
	now := s.now()
	st, err := s.cfg.Store.AuthState(ctx, l.EnvelopeID, l.RecipientID)
	if err != nil {
		return "", Session{}, fmt.Errorf("signing: load code state: %w", err)
	}
	ev := auditlog.Event{
		Type: auditlog.RecipientAuthenticated, Tenant: l.Tenant,
		Actor: auditlog.Actor{
			Kind: auditlog.ActorRecipient, ID: l.RecipientID, Email: v.Recipient.Email, Name: v.Recipient.Name,
			AuthMethods: recipientAMR,
		},
		Subject: auditlog.Subject{EnvelopeID: l.EnvelopeID, RecipientEmail: v.Recipient.Email},
		Request: req,
		Details: map[string]string{"recipient_id": l.RecipientID, "method": workflow.AuthEmailOTP},
	}
	if now.Before(st.LockedUntil) {
		ev.Outcome, ev.Reason = auditlog.OutcomeDenied, "locked out after repeated wrong codes"
		if err := s.cfg.Audit.Record(ctx, ev); err != nil {
			return "", Session{}, withDetail(ErrUnavailable, "the attempt could not be recorded", err)
		}
		return "", Session{}, retryAfter(ErrLockedOut, "too many wrong codes; try again later", seconds(st.LockedUntil.Sub(now)))
	}
	ok := len(st.CodeMAC) > 0 && now.Before(st.CodeExpiresAt) && validCode(code) &&
		hmac.Equal(s.codeMAC(l.EnvelopeID, l.RecipientID, code), st.CodeMAC)
	if !ok {
		reason := "wrong code"
		switch {
		case len(st.CodeMAC) == 0:
			reason = "no code pending"
		case !now.Before(st.CodeExpiresAt):
			reason = "code expired"
		}
		st.Failures++
		locked := st.Failures >= s.cfg.MaxFailures
		if locked {
			st.LockedUntil = now.Add(s.cfg.Lockout)
			st.Failures, st.CodeMAC, st.CodeExpiresAt = 0, nil, time.Time{}
			reason += "; locked out"
		}
		if err := s.cfg.Store.PutAuthState(ctx, st); err != nil {
			return "", Session{}, fmt.Errorf("signing: store code state: %w", err)
		}
		ev.Outcome, ev.Reason = auditlog.OutcomeFailure, reason
		if err := s.cfg.Audit.Record(ctx, ev); err != nil {
			return "", Session{}, withDetail(ErrUnavailable, "the attempt could not be recorded", err)
		}
		if locked {
			return "", Session{}, retryAfter(ErrLockedOut, "too many wrong codes; try again later", seconds(s.cfg.Lockout))
		}
		return "", Session{}, withDetail(ErrWrongCode, "the code is wrong or expired", nil)
	}
	ev.Outcome = auditlog.OutcomeSuccess
	ev.Actor.AuthStrength = recipientAssurance
	if err := s.cfg.Audit.Record(ctx, ev); err != nil {
		return "", Session{}, withDetail(ErrUnavailable, "the authentication could not be recorded", err)
	}
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
	}
	if err := s.cfg.Store.CreateSession(ctx, ss); err != nil {
		return "", Session{}, fmt.Errorf("signing: store session: %w", err)
	}
	s.sessions.put(ss)
	return tok, ss, nil
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
