package workflow

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/signet-pki/signet/auditlog"
)

// Limits on envelope drafts.
const (
	maxDocuments   = 20
	maxRecipients  = 50
	maxMessageLen  = 4000
	maxReasonLen   = 500
	maxReminderHrs = 24 * 30
)

// A CreateRequest is a draft envelope as the sender describes it.
type CreateRequest struct {
	Subject string `json:"subject"`
	Message string `json:"message,omitempty"`
	// Documents are ids of the tenant's uploaded documents.
	Documents  []string         `json:"documents"`
	Recipients []RecipientInput `json:"recipients"`
	// ExpiresAt defaults to [DefaultExpiry] after creation.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// ReminderEveryHours is the reminder interval; 0 sends no reminders.
	ReminderEveryHours int `json:"reminder_every_hours,omitempty"`
	// Auth is the authentication level of recipients that name none
	// (default [AuthEmailCode]).
	Auth string `json:"auth,omitempty"`
	// AllowLinkOnly permits [AuthLinkOnly] recipients in this envelope,
	// if the service allows them too ([Config.AllowLinkOnly]).
	AllowLinkOnly bool `json:"allow_link_only,omitempty"`
	// ApprovalRequired: see [Envelope.ApprovalRequired].
	ApprovalRequired bool `json:"approval_required,omitempty"`
	// HighAssurance: see [Envelope.HighAssurance].
	HighAssurance bool `json:"high_assurance,omitempty"`
	// Fields are placed on the documents for the signers to fill (at
	// most [MaxFields]); [Service.PlaceFields] replaces them later.
	Fields []FieldInput `json:"fields,omitempty"`
}

// A RecipientInput is one recipient of a [CreateRequest].
type RecipientInput struct {
	Role  Role   `json:"role"`
	Name  string `json:"name"`
	Email string `json:"email"`
	// Auth is the recipient's authentication level (default: the
	// envelope's, else [AuthEmailCode]); see [Recipient.Auth].
	Auth string `json:"auth,omitempty"`
	// Phone is the E.164 number of an [AuthSMSCode] recipient.
	Phone string `json:"phone,omitempty"`
	// AccessCode is the code an [AuthAccessCode] recipient must enter,
	// which the sender shares out of band. Only its argon2id hash is
	// kept; it is never returned, recorded or logged.
	AccessCode string `json:"access_code,omitempty"`
	// Order is the routing order (at least 1); equal orders form a
	// parallel group.
	Order int `json:"routing_order"`
}

func checkText(field, v string, max int, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return invalid("%s is required", field)
	}
	if len(v) > max || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return invalid("%s must be valid UTF-8 of at most %d bytes", field, max)
	}
	if strings.ContainsFunc(v, isBidiControl) {
		return invalid("%s must not hold bidirectional formatting characters (they can disguise what is shown, e.g. a file name's extension)", field)
	}
	return nil
}

// checkLabel is [checkText] for a one-line label (a subject, a name): no
// control characters either, so that it cannot add lines to an e-mail or
// a log.
func checkLabel(field, v string, max int, required bool) error {
	if err := checkText(field, v, max, required); err != nil {
		return err
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		return invalid("%s must be one line without control characters", field)
	}
	return nil
}

// isBidiControl reports whether r is a Unicode bidirectional formatting
// character (Unicode Standard Annex #9: ALM, LRM, RLM, the embeddings,
// overrides and isolates).
func isBidiControl(r rune) bool {
	switch {
	case r == 0x061C, r == 0x200E, r == 0x200F:
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// CreateEnvelope stores a draft envelope of the acting tenant and records
// envelope.created.
func (s *Service) CreateEnvelope(ctx context.Context, a Actor, req CreateRequest) (*Envelope, error) {
	if a.Tenant == "" {
		return nil, withDetail(ErrInvalid, "envelopes belong to a tenant", nil)
	}
	if err := checkLabel("subject", req.Subject, maxNameLen, true); err != nil {
		return nil, err
	}
	if err := checkText("message", req.Message, maxMessageLen, false); err != nil {
		return nil, err
	}
	if len(req.Documents) == 0 || len(req.Documents) > maxDocuments {
		return nil, invalid("an envelope holds 1 to %d documents", maxDocuments)
	}
	if len(req.Recipients) == 0 || len(req.Recipients) > maxRecipients {
		return nil, invalid("an envelope has 1 to %d recipients", maxRecipients)
	}
	if req.ReminderEveryHours < 0 || req.ReminderEveryHours > maxReminderHrs {
		return nil, invalid("reminder_every_hours must be between 0 and %d", maxReminderHrs)
	}
	if req.Auth != "" && NormalizeAuth(req.Auth) == "" {
		return nil, invalid("auth must be one of %s", strings.Join(authLevels, ", "))
	}
	now := s.now()
	expires := now.Add(DefaultExpiry)
	if req.ExpiresAt != nil {
		expires = req.ExpiresAt.UTC()
		if !expires.After(now) || expires.After(now.Add(MaxExpiry)) {
			return nil, invalid("expires_at must be in the future and within %d days", int(MaxExpiry.Hours()/24))
		}
	}
	id, err := s.newID("env_")
	if err != nil {
		return nil, err
	}
	e := &Envelope{
		ID: id, Tenant: a.Tenant, Status: StatusDraft,
		Subject: strings.TrimSpace(req.Subject), Message: req.Message,
		ExpiresAt: expires, ReminderEvery: time.Duration(req.ReminderEveryHours) * time.Hour,
		AllowLinkOnly: req.AllowLinkOnly,
		CreatedBy:     a.ID, CreatedAt: now, UpdatedAt: now, Version: 1,
		ApprovalRequired: req.ApprovalRequired, HighAssurance: req.HighAssurance,
	}
	// The documents' locks, taken in increasing id order, are held until
	// the envelope is stored, so that none is deleted meanwhile (see
	// [Service.DeleteDocument]).
	lockIDs := slices.Clone(req.Documents)
	slices.Sort(lockIDs)
	for _, did := range slices.Compact(lockIDs) {
		lctx, unlock, err := s.LockDocument(ctx, did)
		if err != nil {
			return nil, err
		}
		defer unlock()
		ctx = lctx
	}
	seen := map[string]bool{}
	for i, did := range req.Documents {
		if seen[did] {
			return nil, invalid("documents[%d]: document %s is listed twice", i, quoteID(did))
		}
		seen[did] = true
		d, err := s.cfg.Documents.Document(ctx, a.Tenant, did)
		if errors.Is(err, ErrNoRecord) {
			return nil, invalid("documents[%d]: no document %s", i, quoteID(did))
		}
		if err != nil {
			return nil, fmt.Errorf("workflow: document: %w", err)
		}
		e.Documents = append(e.Documents, EnvelopeDocument{
			DocumentID: d.ID, Name: d.Name, Pages: d.Pages, OriginalSHA256: d.SHA256, SHA256: d.SHA256,
		})
	}
	emails := map[string]bool{}
	acting := false
	for i, in := range req.Recipients {
		r, err := s.recipient(i, in, req.Auth, req.AllowLinkOnly)
		if err != nil {
			return nil, err
		}
		key := strings.ToLower(r.Email)
		if emails[key] {
			return nil, invalid("recipients[%d]: %s is listed twice", i, r.Email)
		}
		emails[key] = true
		if req.HighAssurance && r.Role.Acts() && !StrongAuth(r.Auth) {
			return nil, withDetail(ErrHighAssuranceAuth, fmt.Sprintf(
				"recipients[%d]: a high-assurance envelope demands a fresh strong authentication of every signer and approver: their auth must be %q (a registered user's passkey) or %q (a registered user's TOTP authenticator), not %q",
				i, AuthPasskey, AuthTOTP, r.Auth), nil)
		}
		acting = acting || r.Role.Acts()
		e.Recipients = append(e.Recipients, r)
	}
	if !acting {
		return nil, invalid("an envelope needs at least one signer or approver")
	}
	fs, err := s.fieldsFromCreate(ctx, e, req.Fields)
	if err != nil {
		return nil, err
	}
	e.Fields = fs
	details := map[string]string{
		"documents": strconv.Itoa(len(e.Documents)), "recipients": strconv.Itoa(len(e.Recipients)),
		"recipient_auth": authSummary(e.Recipients),
	}
	placementDetails(e.Fields, details)
	if e.AllowLinkOnly {
		details["allow_link_only"] = "true"
	}
	evID, err := s.record(ctx, a, audit{
		typ: auditlog.EnvelopeCreated, tenant: a.Tenant,
		subject: auditlog.Subject{EnvelopeID: e.ID},
		details: details,
	})
	if err != nil {
		return nil, err
	}
	t := Transition{
		EnvelopeID: e.ID, To: StatusDraft, Action: "create",
		ActorKind: string(a.Kind), ActorID: a.ID, At: now, CorrelationID: a.CorrelationID, AuditEventID: evID,
	}
	if err := s.cfg.Envelopes.InsertEnvelope(ctx, e, t); err != nil {
		return nil, fmt.Errorf("workflow: insert envelope: %w", err)
	}
	return e, nil
}

func (s *Service) recipient(i int, in RecipientInput, defAuth string, allowLinkOnly bool) (Recipient, error) {
	if !in.Role.Acts() && in.Role != RoleCC {
		return Recipient{}, invalid("recipients[%d]: role must be signer, approver or cc", i)
	}
	if err := checkLabel(fmt.Sprintf("recipients[%d].name", i), in.Name, maxNameLen, true); err != nil {
		return Recipient{}, err
	}
	addr, err := mail.ParseAddress(in.Email)
	if err != nil || addr.Address != in.Email || len(in.Email) > 254 {
		return Recipient{}, invalid("recipients[%d]: email must be a bare address such as name@example.com", i)
	}
	if in.Order < 1 || in.Order > 1000 {
		return Recipient{}, invalid("recipients[%d]: routing_order must be between 1 and 1000", i)
	}
	r := Recipient{Role: in.Role, Name: strings.TrimSpace(in.Name), Email: in.Email, Order: in.Order, Status: RecipientWaiting}
	if err := s.recipientAuth(i, in, defAuth, allowLinkOnly, &r); err != nil {
		return Recipient{}, err
	}
	id, err := s.newID("rcp_")
	if err != nil {
		return Recipient{}, err
	}
	r.ID = id
	return r, nil
}

// authSummary lists the distinct authentication levels of rs, sorted, for
// the envelope.created event.
func authSummary(rs []Recipient) string {
	var ls []string
	for _, r := range rs {
		if !slices.Contains(ls, r.Auth) {
			ls = append(ls, r.Auth)
		}
	}
	slices.Sort(ls)
	return strings.Join(ls, ",")
}

// Envelope returns the acting tenant's envelope id.
func (s *Service) Envelope(ctx context.Context, a Actor, id string) (*Envelope, error) {
	return s.load(ctx, a, id)
}

// Send sends a draft: the recipients of the first routing order become
// active and are notified. It records envelope.sent.
func (s *Service) Send(ctx context.Context, a Actor, id string) (*Envelope, error) {
	return s.mutate(ctx, a, id, func(e *Envelope) (*change, error) {
		if e.ApprovalRequired && e.Status == StatusDraft {
			return s.submit(e)
		}
		if err := transit(e, ActionSend); err != nil {
			return nil, err
		}
		return s.release(e, ActionSend, auditlog.EnvelopeSent, nil)
	})
}

// release sends e, which action moved to sent: its first recipients are
// activated and notified, and typ is recorded.
func (s *Service) release(e *Envelope, action Action, typ auditlog.EventType, details map[string]string) (*change, error) {
	if !e.ExpiresAt.After(s.now()) {
		return nil, invalid("the envelope's expiry has passed; create a new envelope")
	}
	e.SentAt = s.now()
	idx := e.activate()
	if details == nil {
		details = map[string]string{}
	}
	details["notified"] = strconv.Itoa(len(idx))
	placementDetails(e.Fields, details)
	return &change{
		action: action,
		audit:  audit{typ: typ, details: details},
		notify: turnNotifications(e, idx),
	}, nil
}

// Void ends a sent or in-progress envelope at the sender's request and
// records envelope.voided with the reason.
func (s *Service) Void(ctx context.Context, a Actor, id, reason string) (*Envelope, error) {
	if err := checkText("reason", reason, maxReasonLen, true); err != nil {
		return nil, err
	}
	return s.mutate(ctx, a, id, func(e *Envelope) (*change, error) {
		if err := transit(e, ActionVoid); err != nil {
			return nil, err
		}
		e.Reason = reason
		return &change{
			action: ActionVoid, reason: reason,
			audit:  audit{typ: auditlog.EnvelopeVoided, sensitive: freeText("reason", reason)},
			notify: endNotifications(e, ""),
		}, nil
	})
}

// History returns the transitions of the acting tenant's envelope id,
// oldest first: who moved it to each state, when and why, with the id of
// the audit event that proves it.
func (s *Service) History(ctx context.Context, a Actor, id string) ([]Transition, error) {
	if _, err := s.load(ctx, a, id); err != nil {
		return nil, err
	}
	ts, err := s.cfg.Envelopes.Transitions(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("workflow: transitions: %w", err)
	}
	return ts, nil
}

// Explain returns the transition that brought envelope id into its
// current state.
func (s *Service) Explain(ctx context.Context, a Actor, id string) (Transition, error) {
	ts, err := s.History(ctx, a, id)
	if err != nil {
		return Transition{}, err
	}
	if len(ts) == 0 {
		return Transition{}, fmt.Errorf("workflow: envelope %s has no recorded transitions", id)
	}
	return ts[len(ts)-1], nil
}

// DefaultPageSize and MaxPageSize bound [Service.ListEnvelopes] pages.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// ListEnvelopes returns a page of the acting tenant's envelopes, newest
// first, optionally only those in status, starting after cursor (an
// opaque value from a previous page; "" for the first page). It returns
// the cursor of the next page, or "" after the last.
func (s *Service) ListEnvelopes(ctx context.Context, a Actor, status Status, cursor string, limit int) ([]*Envelope, string, error) {
	if status != "" && !status.Valid() {
		return nil, "", invalid("unknown status %q", status)
	}
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return nil, "", invalid("limit must be between 1 and %d", MaxPageSize)
	}
	f := ListFilter{Status: status, Limit: limit + 1}
	if cursor != "" {
		t, id, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		f.AfterCreated, f.AfterID = t, id
	}
	es, err := s.cfg.Envelopes.ListEnvelopes(ctx, a.Tenant, f)
	if err != nil {
		return nil, "", fmt.Errorf("workflow: list envelopes: %w", err)
	}
	next := ""
	if len(es) > limit {
		es = es[:limit]
		last := es[len(es)-1]
		next = encodeCursor(last.CreatedAt, last.ID)
	}
	return es, next, nil
}

// Cursors are base64url("v1:" unix-nanoseconds ":" id). They are opaque to
// clients and carry nothing a client could not see in the page itself.
func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + strconv.FormatInt(t.UnixNano(), 10) + ":" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	bad := invalid("invalid cursor")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(c) > 200 {
		return time.Time{}, "", bad
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) != 3 || parts[0] != "v1" || parts[2] == "" {
		return time.Time{}, "", bad
	}
	ns, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return time.Time{}, "", bad
	}
	t := time.Unix(0, ns).UTC()
	if encodeCursor(t, parts[2]) != c {
		return time.Time{}, "", bad // only the canonical form is accepted
	}
	return t, parts[2], nil
}
