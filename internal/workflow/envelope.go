package workflow

import (
	"slices"
	"time"
)

// A Document is an uploaded PDF. Its content lives in the blob store under
// SHA256; the row is tenant-scoped.
type Document struct {
	ID      string    `json:"id"`
	Tenant  string    `json:"-"`
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	Pages   int       `json:"pages"`
	Name    string    `json:"name"`
	Created time.Time `json:"created_at"`
}

// A Role is what a recipient does with an envelope.
type Role string

// Recipient roles.
const (
	// RoleSigner signs every document of the envelope.
	RoleSigner Role = "signer"
	// RoleApprover approves (with an approval signature) in routing order.
	RoleApprover Role = "approver"
	// RoleCC receives the completed envelope and does not act.
	RoleCC Role = "cc"
)

// Acts reports whether recipients of role r take part in routing.
func (r Role) Acts() bool { return r == RoleSigner || r == RoleApprover }

// Recipient authentication levels: what a recipient proves, besides
// holding the link e-mailed to them, before they see the envelope. See
// the package documentation ("Recipient authentication").
const (
	// AuthEmailCode: a one-time code e-mailed to the recipient's address
	// (the default).
	AuthEmailCode = "email_code"
	// AuthSMSCode: a one-time code sent by SMS to the recipient's phone
	// number (E.164); needs an SMS gateway ([Config.SMSGateway]).
	AuthSMSCode = "sms_code"
	// AuthAccessCode: a code the sender gives the recipient out of band,
	// set when the envelope is created and stored only as its argon2id
	// hash. It replaces the e-mailed code; the link still goes by e-mail.
	AuthAccessCode = "access_code"
	// AuthLinkOnly: no proof beyond the link. Refused unless both the
	// envelope (allow_link_only) and the service ([Config.AllowLinkOnly])
	// allow it.
	AuthLinkOnly = "link_only"
	// AuthPasskey: a registered user's passkey: the registered user of
	// the envelope's tenant with the recipient's address confirms what
	// they sign with one of their passkeys.
	AuthPasskey = "passkey"
	// AuthTOTP: a registered user's TOTP authenticator: the registered
	// user of the envelope's tenant with the recipient's address enters
	// a code of their confirmed TOTP enrolment.
	AuthTOTP = "totp"
	// AuthEmailOTP is the name the API used for [AuthEmailCode] before
	// the other levels existed. It is still accepted in requests and
	// stored as [AuthEmailCode].
	AuthEmailOTP = "email_otp"
)

// A RecipientStatus is where a recipient is in the routing.
type RecipientStatus string

// Recipient statuses.
const (
	// RecipientWaiting: the recipient's routing order has not come up.
	RecipientWaiting RecipientStatus = "waiting"
	// RecipientActive: it is the recipient's turn (they were notified).
	RecipientActive RecipientStatus = "active"
	// RecipientCompleted: the recipient signed or approved every document.
	RecipientCompleted RecipientStatus = "completed"
	// RecipientDeclined: the recipient declined, which ended the envelope.
	RecipientDeclined RecipientStatus = "declined"
)

// A Recipient is one party to an envelope.
type Recipient struct {
	ID    string `json:"id"`
	Role  Role   `json:"role"`
	Name  string `json:"name"`
	Email string `json:"email"`
	// Auth is the authentication level the recipient must pass before
	// seeing the envelope: [AuthEmailCode], [AuthSMSCode],
	// [AuthAccessCode], [AuthLinkOnly], [AuthPasskey] or [AuthTOTP].
	Auth string `json:"auth"`
	// Phone is the number SMS codes go to (E.164, e.g. "+41791234567"),
	// set only for [AuthSMSCode].
	Phone string `json:"phone,omitempty"`
	// AccessCodeHash is the argon2id hash (PHC string) of the access code
	// of an [AuthAccessCode] recipient; the code itself is never stored
	// or shown, and neither is the hash.
	AccessCodeHash string `json:"-"`
	// Order is the routing order: recipients act in increasing order, and
	// those with equal orders form a parallel group acting in any order.
	Order  int             `json:"routing_order"`
	Status RecipientStatus `json:"status"`
	// Signed lists the ids of the documents the recipient has signed.
	Signed        []string  `json:"signed_documents,omitempty"`
	NotifiedAt    time.Time `json:"notified_at,omitzero"`
	RemindedAt    time.Time `json:"reminded_at,omitzero"`
	ViewedAt      time.Time `json:"viewed_at,omitzero"`
	ConsentedAt   time.Time `json:"consented_at,omitzero"`
	CompletedAt   time.Time `json:"completed_at,omitzero"`
	DeclinedAt    time.Time `json:"declined_at,omitzero"`
	DeclineReason string    `json:"decline_reason,omitempty"`
}

// An EnvelopeDocument is a document as part of an envelope: its original
// upload and its current version (after the signatures so far).
type EnvelopeDocument struct {
	DocumentID     string `json:"document_id"`
	Name           string `json:"name"`
	Pages          int    `json:"pages"`
	OriginalSHA256 string `json:"original_sha256"`
	SHA256         string `json:"sha256"`
	// PageSizes are the sizes of the document's pages, set when the
	// envelope is shown ([Service.WithPageSizes]); the stores do not
	// keep them.
	PageSizes []PageSize `json:"page_sizes,omitempty"`
}

// An Envelope is documents, recipients, routing and expiry, with a state
// machine (see [Transitions]).
type Envelope struct {
	ID         string             `json:"id"`
	Tenant     string             `json:"-"`
	Status     Status             `json:"status"`
	Subject    string             `json:"subject"`
	Message    string             `json:"message,omitempty"`
	Documents  []EnvelopeDocument `json:"documents"`
	Recipients []Recipient        `json:"recipients"`
	// Fields are the boxes placed on the documents for the signers to
	// fill; they change only while the envelope is a draft.
	Fields []Field `json:"fields"`
	// ExpiresAt is when a sent envelope expires if not completed.
	ExpiresAt time.Time `json:"expires_at"`
	// ReminderEvery is the interval between reminders to recipients whose
	// turn it is; zero sends none.
	ReminderEvery time.Duration `json:"-"`
	// AllowLinkOnly is the sender's consent to [AuthLinkOnly] recipients
	// in this envelope; they also need [Config.AllowLinkOnly].
	AllowLinkOnly bool `json:"allow_link_only,omitempty"`
	// ApprovalRequired makes sending a request for approval: a holder of
	// envelope.approve other than the sender approves it before any
	// recipient is notified.
	ApprovalRequired bool `json:"approval_required"`
	// HighAssurance demands a fresh strong authentication (a passkey or
	// TOTP) of whoever approves or signs the envelope.
	HighAssurance bool      `json:"high_assurance"`
	CreatedBy     string    `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	SentAt        time.Time `json:"sent_at,omitzero"`
	CompletedAt   time.Time `json:"completed_at,omitzero"`
	// Reason is why the envelope was voided or declined.
	Reason string `json:"reason,omitempty"`
	// Version increases with every stored change (optimistic concurrency).
	Version int64 `json:"version"`
}

// Recipient returns the recipient with id, or nil.
func (e *Envelope) Recipient(id string) *Recipient {
	for i := range e.Recipients {
		if e.Recipients[i].ID == id {
			return &e.Recipients[i]
		}
	}
	return nil
}

// Document returns the envelope's document with id, or nil.
func (e *Envelope) Document(id string) *EnvelopeDocument {
	for i := range e.Documents {
		if e.Documents[i].DocumentID == id {
			return &e.Documents[i]
		}
	}
	return nil
}

// CurrentOrder returns the lowest routing order among acting recipients
// who have not completed, and false when every acting recipient has.
func (e *Envelope) CurrentOrder() (int, bool) {
	cur, ok := 0, false
	for _, r := range e.Recipients {
		if r.Role.Acts() && r.Status != RecipientCompleted && (!ok || r.Order < cur) {
			cur, ok = r.Order, true
		}
	}
	return cur, ok
}

// AllActed reports whether every acting recipient has completed: the
// envelope is ready for the completion seal.
func (e *Envelope) AllActed() bool {
	_, pending := e.CurrentOrder()
	return !pending
}

// activate marks waiting acting recipients of the current routing order
// active and returns their indexes.
func (e *Envelope) activate() []int {
	cur, ok := e.CurrentOrder()
	if !ok {
		return nil
	}
	var idx []int
	for i, r := range e.Recipients {
		if r.Role.Acts() && r.Order == cur && r.Status == RecipientWaiting {
			e.Recipients[i].Status = RecipientActive
			idx = append(idx, i)
		}
	}
	return idx
}

// NextDue returns when the scheduler must look at the envelope again
// (expiry, the next reminder, an unsent notification or a pending
// completion), or the zero time if never.
func (e *Envelope) NextDue() time.Time {
	if e.Status.Terminal() || e.Status == StatusDraft {
		return time.Time{}
	}
	due := e.ExpiresAt
	earlier := func(t time.Time) {
		if !t.IsZero() && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	if e.AllActed() {
		earlier(e.UpdatedAt)
	}
	for _, r := range e.Recipients {
		if r.Status != RecipientActive {
			continue
		}
		if r.NotifiedAt.IsZero() {
			earlier(e.UpdatedAt)
			continue
		}
		if e.ReminderEvery > 0 {
			earlier(lastContact(r).Add(e.ReminderEvery))
		}
	}
	return due
}

func lastContact(r Recipient) time.Time {
	if r.RemindedAt.After(r.NotifiedAt) {
		return r.RemindedAt
	}
	return r.NotifiedAt
}

// signedAll reports whether r has signed every document of e.
func (e *Envelope) signedAll(r *Recipient) bool {
	for _, d := range e.Documents {
		if !slices.Contains(r.Signed, d.DocumentID) {
			return false
		}
	}
	return true
}
