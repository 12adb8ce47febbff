package evidence

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/pdf"
)

// CertificateInput is what a certificate of completion states: the
// envelope's record, its audit events (each with the clear values the
// operator disclosed beside it), and the audit log the events are in.
type CertificateInput struct {
	Envelope evidence.Envelope
	// Events are the envelope's audit events, in any order.
	Events []evidence.Event
	// Generated is when the certificate is made.
	Generated time.Time
	// LogOrigin names the audit log (its checkpoints' origin line) and
	// CheckpointSize is the size of the checkpoint the bundle's inclusion
	// proofs lead to.
	LogOrigin      string
	CheckpointSize int64
}

// notDisclosed stands for a value the events hold only as a keyed hash.
const notDisclosed = "not disclosed"

// WriteCertificate writes the certificate of completion of an envelope as
// an unsealed PDF (A4): the envelope's facts; each document's original
// and final SHA-256; each recipient's authentication (methods, times,
// failed attempts), IP address and user agent, consent, signatures and
// the serials of their signing certificates (see [SummarizeRecipients]);
// the envelope's history, one line per audit event with its log index;
// and how to verify all of it. Times are UTC, RFC 3339. The caller seals
// the result (PAdES B-LTA, the tenant's seal key).
func WriteCertificate(w io.Writer, in CertificateInput) error {
	return pdf.WriteText(w, certificateDocument(in))
}

// certificateDocument is the certificate's content.
func certificateDocument(in CertificateInput) pdf.TextDocument {
	env := in.Envelope
	events := sortedEvents(in.Events)
	doc := pdf.TextDocument{Title: "Certificate of completion", Created: in.Generated}

	envRows := []pdf.TextRow{
		{Key: "Envelope", Value: env.ID, Mono: true},
		{Key: "Subject", Value: orNone(env.Subject)},
		{Key: "Sender", Value: orNone(env.Sender)},
		{Key: "Tenant", Value: orNone(env.Tenant)},
		{Key: "Status", Value: env.Status},
		{Key: "Created", Value: stamp(env.CreatedAt)},
		{Key: "Sent", Value: stampPtr(env.SentAt)},
		{Key: "Completed", Value: stampPtr(env.CompletedAt)},
		{Key: "Certificate generated", Value: stamp(in.Generated)},
	}
	doc.Sections = append(doc.Sections, pdf.TextSection{Heading: "Envelope", Blocks: []pdf.TextBlock{{Rows: envRows}}})

	docs := pdf.TextSection{Heading: "Documents"}
	for i, d := range env.Documents {
		docs.Blocks = append(docs.Blocks, pdf.TextBlock{
			Heading: fmt.Sprintf("%d. %s", i+1, orNone(d.Name)),
			Rows: []pdf.TextRow{
				{Key: "Document", Value: d.ID, Mono: true},
				{Key: "Original SHA-256", Value: orNone(d.OriginalSHA256), Mono: true},
				{Key: "Final SHA-256", Value: orNone(d.FinalSHA256), Mono: true},
			},
		})
	}
	if len(env.Documents) == 0 {
		docs.Blocks = append(docs.Blocks, pdf.TextBlock{Text: "The envelope has no documents."})
	}
	doc.Sections = append(doc.Sections, docs)

	recips := pdf.TextSection{Heading: "Recipients"}
	for i, r := range SummarizeRecipients(env, events) {
		recips.Blocks = append(recips.Blocks, pdf.TextBlock{
			Heading: fmt.Sprintf("%d. %s", i+1, orNone(r.Name)),
			Rows:    recipientRows(r, env),
		})
	}
	if len(env.Recipients) == 0 {
		recips.Blocks = append(recips.Blocks, pdf.TextBlock{Text: "The envelope has no recipients."})
	}
	doc.Sections = append(doc.Sections, recips)

	hist := pdf.TextSection{Heading: "History"}
	var rows []pdf.TextRow
	for _, e := range events {
		rows = append(rows, pdf.TextRow{Key: stamp(e.Time), Value: historyLine(e, env)})
	}
	if len(rows) == 0 {
		hist.Blocks = append(hist.Blocks, pdf.TextBlock{Text: "No audit events were given."})
	} else {
		hist.Blocks = append(hist.Blocks, pdf.TextBlock{
			Text: fmt.Sprintf("Every audit event of the envelope, in the order of the audit log (%d events). "+
				"Each line gives the event's time, its index in the audit log, what happened and who did it.", len(rows)),
			Rows: rows,
		})
	}
	doc.Sections = append(doc.Sections, hist)
	doc.Sections = append(doc.Sections, howToVerify(in))
	return doc
}

func recipientRows(r RecipientSummary, env evidence.Envelope) []pdf.TextRow {
	rows := []pdf.TextRow{
		{Key: "Recipient", Value: r.ID, Mono: true},
		{Key: "Name", Value: orNone(r.Name)},
		{Key: "E-mail", Value: orNone(r.Email)},
		{Key: "Role", Value: orNone(r.Role)},
		{Key: "Routing order", Value: strconv.Itoa(r.Order)},
		{Key: "Status", Value: orNone(r.Status)},
		{Key: "Required authentication", Value: orNone(r.Auth)},
	}
	var auths []string
	for _, a := range r.Authentications {
		auths = append(auths, fmt.Sprintf("%s: %s (%s)", stamp(a.Time), orNone(a.Method), methodsText(a.Methods)))
	}
	if len(auths) == 0 {
		auths = []string{"none recorded"}
	}
	rows = append(rows,
		pdf.TextRow{Key: "Authenticated", Value: strings.Join(auths, "\n")},
		pdf.TextRow{Key: "Failed attempts", Value: strconv.Itoa(r.FailedAttempts)},
		pdf.TextRow{Key: "IP address", Value: r.IP},
		pdf.TextRow{Key: "User agent", Value: orNone(r.UserAgent)},
		pdf.TextRow{Key: "Consent to sign electronically", Value: stampPtr(r.ConsentedAt)},
	)
	var sigs []string
	for _, s := range r.Signatures {
		sigs = append(sigs, fmt.Sprintf("%s at %s\ncertificate serial %s\nsigned version SHA-256 %s",
			documentName(env, s.DocumentID), stamp(s.Time), orNone(s.CertificateSerial), orNone(s.DocumentSHA256)))
	}
	if len(sigs) > 0 {
		rows = append(rows, pdf.TextRow{Key: "Signed", Value: strings.Join(sigs, "\n"), Mono: true})
	} else {
		rows = append(rows, pdf.TextRow{Key: "Signed", Value: "no signature recorded"})
	}
	if r.CompletedAt != nil {
		rows = append(rows, pdf.TextRow{Key: "Completed", Value: stampPtr(r.CompletedAt)})
	}
	if r.DeclinedAt != nil {
		rows = append(rows, pdf.TextRow{Key: "Declined", Value: stampPtr(r.DeclinedAt)})
	}
	return rows
}

func howToVerify(in CertificateInput) pdf.TextSection {
	origin := orNone(in.LogOrigin)
	return pdf.TextSection{Heading: "How to verify", Blocks: []pdf.TextBlock{
		{Text: "This certificate and the final documents are sealed by the organization's seal key (PAdES B-LTA). " +
			"The evidence bundle of the envelope holds them with the originals, the audit events and their proofs. " +
			"Everything can be checked offline, without Signet's server."},
		{Heading: "The whole bundle", Text: "Check every part of the bundle against the organization's root certificate:"},
		{Text: "signet verify bundle.zip --trust root.pem", Mono: true},
		{Heading: "The PDF signatures", Text: "Check the signatures of this certificate and of each final document, " +
			"and compare each document's SHA-256 with the hashes above:"},
		{Text: "pdfsig " + evidence.PathCertificate + "\npdfsig " + evidence.PathDocuments + "DOCUMENT/final.pdf\n" +
			"sha256sum " + evidence.PathDocuments + "DOCUMENT/original.pdf " + evidence.PathDocuments + "DOCUMENT/final.pdf", Mono: true},
		{Heading: "The time-stamps", Text: "Check an RFC 3161 time-stamp token, for example an anchor of the audit " +
			"log's checkpoint over the checkpoint's body (its text up to the blank line):"},
		{Text: "openssl ts -verify -token_in -in " + evidence.PathAnchors + "N.tst -data checkpoint-body -CAfile root.pem", Mono: true},
		{Heading: "The audit log", Text: fmt.Sprintf("Each event of the history is a leaf of the audit log %q, at the "+
			"log index shown. The bundle's %sN.json holds the leaf and %sN.tlog-proof its inclusion proof in the signed "+
			"checkpoint %s of %d entries; %s proves that the latest checkpoint extends it.",
			origin, evidence.PathEvents, evidence.PathEvents, evidence.PathCheckpoint, in.CheckpointSize, evidence.PathConsistency)},
		{Text: "IP addresses, names and e-mail addresses stand in the audit log only as keyed hashes; the clear values " +
			"shown here were disclosed by the operator. A value shown as \"" + notDisclosed + "\" was not."},
	}}
}

// A RecipientSummary is what the events say about one recipient.
type RecipientSummary struct {
	ID, Name, Email, Role, Status string
	Order                         int
	// Auth is the authentication the envelope required of the recipient.
	Auth string
	// Authentications are the successful authentications, oldest first.
	Authentications []Authentication
	// FailedAttempts counts the authentications that failed or were
	// denied.
	FailedAttempts int
	// IP is the disclosed IP address of the latest successful
	// authentication (else of the latest event of the recipient that has
	// one), or "not disclosed"; UserAgent likewise, from the leaves.
	IP, UserAgent string
	// ConsentedAt, CompletedAt and DeclinedAt are the times of the
	// recipient's steps, from the events, else from the envelope's record.
	ConsentedAt, CompletedAt, DeclinedAt *time.Time
	// Signatures are the recipient's signatures, oldest first.
	Signatures []SignatureSummary
}

// An Authentication is one successful recipient.authenticated event.
type Authentication struct {
	Time time.Time
	// Method is the envelope's authentication level used ("email_code",
	// "totp", ...); Methods its RFC 8176 methods.
	Method  string
	Methods []string
	Index   int64
}

// A SignatureSummary is one signature.created event and the certificate
// of the key.used event that made it.
type SignatureSummary struct {
	DocumentID string
	Time       time.Time
	// DocumentSHA256 is the SHA-256 of the version the signature made.
	DocumentSHA256    string
	CertificateSerial string
	Index             int64
}

// SummarizeRecipients derives, for each recipient of env (in the
// envelope's order), what events (in any order) say: successful and
// failed authentications (recipient.authenticated), the IP address and
// user agent, consent (recipient.consented, or the recipient.viewed
// event whose details.event names it), signatures (signature.created,
// each matched to the recipient's key.used event for the version it
// signed, which names the certificate serial), completion and decline.
// A recipient is the event's details.recipient_id, else its actor's id
// when the actor is a recipient. Events of other envelopes are ignored.
func SummarizeRecipients(env evidence.Envelope, events []evidence.Event) []RecipientSummary {
	events = sortedEvents(events)
	out := make([]RecipientSummary, len(env.Recipients))
	at := make(map[string]int, len(env.Recipients))
	for i, r := range env.Recipients {
		out[i] = RecipientSummary{ID: r.ID, Name: r.Name, Email: r.Email, Role: r.Role, Status: r.Status,
			Order: r.Order, Auth: r.Auth, IP: notDisclosed}
		at[r.ID] = i
	}
	var keyUses []evidence.Event
	for _, e := range events {
		if e.Type == "key.used" && e.Outcome == "success" && e.Actor.Kind == "recipient" {
			keyUses = append(keyUses, e)
		}
	}
	ipRank, uaRank := make([]int, len(out)), make([]int, len(out))
	for _, e := range events {
		if e.Subject.EnvelopeID != "" && env.ID != "" && e.Subject.EnvelopeID != env.ID {
			continue
		}
		i, ok := at[recipientOf(e)]
		if !ok {
			continue
		}
		r := &out[i]
		t := e.Time
		authOK := false
		switch eventType(e) {
		case "recipient.authenticated":
			if e.Outcome == "success" {
				authOK = true
				r.Authentications = append(r.Authentications, Authentication{Time: t, Method: e.Details["method"],
					Methods: slices.Clone(e.Actor.Auth.Methods), Index: e.Index})
			} else {
				r.FailedAttempts++
			}
		case "recipient.consented":
			if e.Outcome == "success" && r.ConsentedAt == nil {
				r.ConsentedAt = &t
			}
		case "recipient.declined":
			if e.Outcome == "success" {
				r.DeclinedAt = &t
			}
		case "signature.created":
			if e.Outcome == "success" {
				r.Signatures = append(r.Signatures, SignatureSummary{DocumentID: e.Details["document_id"], Time: t,
					DocumentSHA256: e.Subject.DocumentSHA256, Index: e.Index,
					CertificateSerial: signingSerial(keyUses, r.ID, e)})
			}
		}
		// The latest successful authentication says where the recipient
		// was; any other event of theirs only when there is none.
		rank := 1
		if authOK {
			rank = 2
		}
		if ip := e.Disclosed["request.ip"]; ip != "" && rank >= ipRank[i] {
			r.IP, ipRank[i] = ip, rank
		}
		if ua := e.Request.UserAgent; ua != "" && rank >= uaRank[i] {
			r.UserAgent, uaRank[i] = ua, rank
		}
	}
	for i, rec := range env.Recipients {
		r := &out[i]
		if r.ConsentedAt == nil {
			r.ConsentedAt = rec.ConsentedAt
		}
		if r.DeclinedAt == nil {
			r.DeclinedAt = rec.DeclinedAt
		}
		r.CompletedAt = rec.CompletedAt
	}
	return out
}

// signingSerial is the certificate serial of the key.used event of
// recipient for the signature sig: the latest one at or before sig that
// used the key on the version sig replaced (or made).
func signingSerial(keyUses []evidence.Event, recipient string, sig evidence.Event) string {
	serial := ""
	prev := sig.Details["previous_sha256"]
	for _, k := range keyUses {
		if k.Actor.ID != recipient {
			continue
		}
		if k.Index != 0 && sig.Index != 0 {
			if k.Index > sig.Index {
				continue
			}
		} else if k.Time.After(sig.Time) {
			continue
		}
		if d := k.Subject.DocumentSHA256; d != "" && (d == prev || d == sig.Subject.DocumentSHA256) {
			serial = k.Subject.CertificateSerial
		}
	}
	return serial
}

// fallbackTypes are the types under which an event the audit log did
// not know yet was recorded, with details.event naming the intended one.
var fallbackTypes = map[string]bool{"recipient.viewed": true, "envelope.voided": true}

// eventType is the type an event stands for.
func eventType(e evidence.Event) string {
	if fallbackTypes[e.Type] && e.Details["event"] != "" {
		return e.Details["event"]
	}
	return e.Type
}

// recipientOf is the recipient an event concerns, or "".
func recipientOf(e evidence.Event) string {
	if id := e.Details["recipient_id"]; id != "" {
		return id
	}
	if e.Actor.Kind == "recipient" {
		return e.Actor.ID
	}
	return ""
}

// sortedEvents is a copy of events in log order.
func sortedEvents(events []evidence.Event) []evidence.Event {
	out := slices.Clone(events)
	slices.SortStableFunc(out, func(a, b evidence.Event) int {
		if c := cmp.Compare(a.Index, b.Index); c != 0 {
			return c
		}
		return a.Time.Compare(b.Time)
	})
	return out
}

// eventWords describe event types in the history.
var eventWords = map[string]string{
	"envelope.created":        "Envelope created",
	"envelope.submitted":      "Envelope submitted for approval",
	"envelope.approved":       "Envelope approved",
	"envelope.rejected":       "Envelope rejected",
	"envelope.sent":           "Envelope sent",
	"envelope.fields_placed":  "Fields placed",
	"envelope.reminded":       "Recipients reminded",
	"envelope.started":        "Signing started",
	"envelope.completed":      "Envelope completed",
	"envelope.voided":         "Envelope voided",
	"envelope.expired":        "Envelope expired",
	"document.uploaded":       "Document uploaded",
	"document.downloaded":     "Document downloaded",
	"recipient.viewed":        "Envelope viewed",
	"recipient.authenticated": "Recipient authenticated",
	"recipient.consented":     "Consent to sign electronically",
	"recipient.declined":      "Recipient declined",
	"recipient.locked_out":    "Recipient locked out",
	"recipient.link_reissued": "Signing link re-issued",
	"signature.created":       "Document signed",
	"key.used":                "Signing key used",
	"certificate.issued":      "Certificate issued",
}

// historyLine says what event e records and who did it.
func historyLine(e evidence.Event, env evidence.Envelope) string {
	typ := eventType(e)
	what, ok := eventWords[typ]
	if !ok {
		what = typ
	}
	if typ == "recipient.authenticated" && e.Outcome != "success" {
		what = "Authentication attempt"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s by %s", e.Index, what, actorText(e, env))
	var facts []string
	if m := e.Details["method"]; m != "" && typ == "recipient.authenticated" {
		facts = append(facts, m)
	}
	if d := e.Details["document_id"]; d != "" {
		facts = append(facts, "document "+documentName(env, d))
	}
	if s := e.Subject.CertificateSerial; s != "" {
		facts = append(facts, "certificate "+s)
	}
	if e.Outcome != "" && e.Outcome != "success" {
		o := e.Outcome
		if e.Reason != "" {
			o += ": " + e.Reason
		}
		facts = append(facts, o)
	}
	if len(facts) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(facts, "; "))
	}
	return b.String()
}

// actorText names an event's actor: a recipient by the envelope's record,
// anyone else by the disclosed name or e-mail, else by kind and id.
func actorText(e evidence.Event, env evidence.Envelope) string {
	if e.Actor.Kind == "recipient" {
		for _, r := range env.Recipients {
			if r.ID == e.Actor.ID {
				return fmt.Sprintf("%s <%s>", orNone(r.Name), orNone(r.Email))
			}
		}
	}
	name, email := e.Disclosed["actor.name"], e.Disclosed["actor.email"]
	switch {
	case name != "" && email != "":
		return fmt.Sprintf("%s <%s>", name, email)
	case email != "":
		return email
	case name != "":
		return name
	case e.Actor.Kind == "system":
		return "Signet"
	case e.Actor.ID != "":
		return e.Actor.Kind + " " + e.Actor.ID
	}
	return orNone(e.Actor.Kind)
}

func documentName(env evidence.Envelope, id string) string {
	for _, d := range env.Documents {
		if d.ID == id && d.Name != "" {
			return d.Name
		}
	}
	return orNone(id)
}

func methodsText(m []string) string {
	if len(m) == 0 {
		return "no methods recorded"
	}
	return strings.Join(m, ", ")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func stampPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(*t)
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
