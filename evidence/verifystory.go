package evidence

import (
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/pades"
)

// Event types the story reads (see internal/workflow and
// internal/signing). A type the audit log did not know when it was
// recorded is under a fallback type, with details.event naming it.
const (
	evSent          = "envelope.sent"
	evApproved      = "envelope.approved"
	evCompleted     = "envelope.completed"
	evAuthenticated = "recipient.authenticated"
	evKeyUsed       = "key.used"
	evSigned        = "signature.created"
)

// kind returns the event's intended type.
func kind(e *Event) string {
	if d := e.Details["event"]; d != "" {
		return d
	}
	return e.Type
}

// checkStory checks that the events tell a complete story, consistent
// with the envelope record and the documents' signatures: every
// transition's event is there; for each recipient who acted: sent →
// authenticated → key used → signed, for every document → completed; each
// signature in a PDF is a recipient's, with the certificate their key.used
// event names and a time-stamp between their authentication and the
// completion; the seal follows.
func (v *verifier) checkStory() {
	env := v.env
	if env == nil {
		return
	}
	before := len(v.rep.Findings)
	events := v.audit.events
	for _, t := range env.Transitions {
		if t.AuditEventID == "" || v.audit.byID[t.AuditEventID] == nil {
			v.invalid("event-missing", PathEnvelope, "the transition %s → %s (%s by %s at %s) names audit event %q, which the bundle does not hold: an event was dropped",
				t.From, t.To, t.Action, t.ActorKind, stamp(t.At), t.AuditEventID)
		}
	}
	var sent, completed *Event
	for i := range events {
		e := &events[i]
		if e.Outcome != "success" {
			continue
		}
		switch kind(e) {
		case evSent, evApproved:
			if sent == nil {
				sent = e
			}
		case evCompleted:
			if completed == nil {
				completed = e
			}
		}
	}
	recipients := map[string]bool{}
	var acting []Recipient
	for _, r := range env.Recipients {
		recipients[r.ID] = true
		if (r.Role == "signer" || r.Role == "approver") && (r.Status == "completed" || r.CompletedAt != nil) {
			acting = append(acting, r)
		}
	}
	if len(acting) > 0 && sent == nil {
		v.invalid("story-not-sent", PathEvents, "recipients signed, but no event records that the envelope was sent")
	}
	if env.Status == "completed" && completed == nil {
		v.invalid("story-not-completed", PathEvents, "the envelope is completed, but no envelope.completed event records it")
	}
	upper := v.now
	switch {
	case completed != nil:
		upper = completed.Time
	case !v.poe.IsZero():
		upper = v.poe
	}
	docs := map[string]*docState{}
	for _, d := range v.docs {
		docs[d.id] = d
	}
	matched := map[*docState]map[int]bool{}
	var lastSigned time.Time
	for _, r := range acting {
		auth := v.find(func(e *Event) bool {
			return kind(e) == evAuthenticated && e.Outcome == "success" && (e.Actor.ID == r.ID || e.Details["recipient_id"] == r.ID)
		})
		if auth == nil {
			v.invalid("story-not-authenticated", PathEvents, "recipient %s signed without a successful recipient.authenticated event", r.ID)
		}
		for _, d := range env.Documents {
			sc := v.find(func(e *Event) bool {
				return kind(e) == evSigned && e.Details["recipient_id"] == r.ID && e.Details["document_id"] == d.ID
			})
			if sc == nil {
				v.invalid("story-not-signed", PathEvents, "no signature.created event records recipient %s signing document %s", r.ID, d.ID)
				continue
			}
			prev := sc.Details["previous_sha256"]
			path := PathDocuments + d.ID + "/final.pdf"
			ds := docs[d.ID]
			var sig *pades.SignatureReport
			if ds != nil {
				if i := indexOf(ds.revision, sc.Subject.DocumentSHA256); i >= 0 {
					sig = ds.report.Signatures[i]
					if matched[ds] == nil {
						matched[ds] = map[int]bool{}
					}
					matched[ds][i] = true
				} else {
					v.invalid("signature-missing", path, "recipient %s's signature of document %s (version %s, event %d) is not in the final PDF", r.ID, d.ID, short(sc.Subject.DocumentSHA256), sc.Index)
				}
			}
			// The key.used event of this signature: the recipient's, for
			// the version signed. key.used names no document, so two
			// documents of equal content share candidates: the one whose
			// certificate signed the PDF is it, else the last before the
			// signature event.
			var ku, before, first *Event
			for i := range events {
				e := &events[i]
				if kind(e) != evKeyUsed || e.Actor.ID != r.ID || (prev != "" && !strings.EqualFold(e.Subject.DocumentSHA256, prev)) {
					continue
				}
				if ku == nil && sig != nil && sig.Signer != nil && sameSerial(sig.Signer.Serial, e.Subject.CertificateSerial) {
					ku = e
				}
				if e.Index < sc.Index {
					before = e
				}
				if first == nil {
					first = e
				}
			}
			if ku == nil {
				ku = before
			}
			if ku == nil {
				ku = first
			}
			if ku == nil {
				v.invalid("story-no-key-used", PathEvents, "no key.used event records the signing key of recipient %s for document %s", r.ID, d.ID)
			}
			v.order3(r.ID, d.ID, sent, auth, ku, sc, completed)
			if sig == nil {
				continue
			}
			s := sig
			if ku != nil && (s.Signer == nil || !sameSerial(s.Signer.Serial, ku.Subject.CertificateSerial)) {
				got := "none"
				if s.Signer != nil {
					got = s.Signer.Serial
				}
				v.invalid("signature-certificate", path, "signature %q of document %s is by certificate %s; recipient %s's key.used event (event %d) names certificate %s",
					s.Field, d.ID, got, r.ID, ku.Index, ku.Subject.CertificateSerial)
			}
			if s.TimestampTime == nil {
				v.unsure("signature-time", pades.OutOfBoundsNoPOE, path, "signature %q of document %s has no time-stamp", s.Field, d.ID)
				continue
			}
			ts := *s.TimestampTime
			if ts.After(lastSigned) {
				lastSigned = ts
			}
			if auth != nil && ts.Before(auth.Time.Add(-ClockTolerance)) {
				v.invalid("signature-time", path, "signature %q of document %s is time-stamped %s, before recipient %s authenticated (%s)", s.Field, d.ID, stamp(ts), r.ID, stamp(auth.Time))
			}
			if ts.After(upper.Add(ClockTolerance)) {
				v.invalid("signature-time", path, "signature %q of document %s is time-stamped %s, after the envelope's completion (%s)", s.Field, d.ID, stamp(ts), stamp(upper))
			}
		}
	}
	for i := range events {
		e := &events[i]
		if kind(e) == evSigned && !recipients[e.Details["recipient_id"]] {
			v.invalid("story-unknown-recipient", eventPath(e.Index), "event %d records a signature by %q, who is not a recipient of the envelope", e.Index, e.Details["recipient_id"])
		}
	}
	v.checkVersions()
	for _, ds := range v.docs {
		v.checkUnmatched(ds, matched[ds], env.Status == "completed", lastSigned, upper)
	}
	if n := len(v.rep.Findings) - before; n > 0 {
		v.check("story", pades.Failed, fmt.Sprintf("%d gap(s) or contradiction(s) between the events, the envelope record and the documents", n))
		return
	}
	v.check("story", pades.Passed, fmt.Sprintf("%d recipient(s) sent → authenticated → key used → signed each of %d document(s)%s; every PDF signature matches its signer's events",
		len(acting), len(env.Documents), map[bool]string{true: " → completed", false: ""}[completed != nil]))
}

// order3 checks that a recipient's events come in order.
func (v *verifier) order3(recipient, doc string, steps ...*Event) {
	names := []string{"sent", "authenticated", "key used", "signed", "completed"}
	var prev *Event
	prevName := ""
	for i, e := range steps {
		if e == nil {
			continue
		}
		if prev != nil && e.Index < prev.Index {
			v.invalid("story-order", eventPath(e.Index), "for recipient %s and document %s, %q (event %d) comes before %q (event %d)", recipient, doc, names[i], e.Index, prevName, prev.Index)
		}
		prev, prevName = e, names[i]
	}
}

// checkVersions checks that each signature.created event signs the
// original or a version another one made.
func (v *verifier) checkVersions() {
	for _, d := range v.env.Documents {
		versions := map[string]bool{strings.ToLower(d.OriginalSHA256): true}
		for i := range v.audit.events {
			e := &v.audit.events[i]
			if kind(e) == evSigned && e.Details["document_id"] == d.ID {
				versions[strings.ToLower(e.Subject.DocumentSHA256)] = true
			}
		}
		for i := range v.audit.events {
			e := &v.audit.events[i]
			if kind(e) != evSigned || e.Details["document_id"] != d.ID {
				continue
			}
			if p := strings.ToLower(e.Details["previous_sha256"]); p != "" && !versions[p] {
				v.invalid("story-version-chain", eventPath(e.Index), "event %d signs version %s of document %s, which is neither its original nor a version another signature made", e.Index, short(p), d.ID)
			}
		}
	}
}

// checkUnmatched names the approval signatures of a final PDF that no
// recipient's events explain. The seal is the last one, after every
// recipient's, once the envelope is completed.
func (v *verifier) checkUnmatched(ds *docState, matched map[int]bool, completed bool, lastSigned, upper time.Time) {
	path := PathDocuments + ds.id + "/final.pdf"
	var unmatched []int
	lastMatched := -1
	for i, s := range ds.report.Signatures {
		if matched[i] {
			lastMatched = i
			continue
		}
		if s.Kind == "document-timestamp" || (len(s.ByteRange) == 4 && s.ByteRange[2]+s.ByteRange[3] <= ds.originalSize) {
			continue
		}
		unmatched = append(unmatched, i)
	}
	if completed && len(unmatched) > 0 && unmatched[len(unmatched)-1] > lastMatched {
		seal := ds.report.Signatures[unmatched[len(unmatched)-1]]
		unmatched = unmatched[:len(unmatched)-1]
		if t := seal.TimestampTime; t != nil && (t.Before(lastSigned.Add(-ClockTolerance)) || t.After(upper.Add(ClockTolerance))) {
			v.invalid("signature-time", path, "the seal %q of document %s is time-stamped %s, not between the last signature (%s) and the completion (%s)", seal.Field, ds.id, stamp(*t), stamp(lastSigned), stamp(upper))
		}
	} else if completed {
		v.invalid("seal-missing", path, "document %s of the completed envelope has no seal after its signers' signatures", ds.id)
	}
	for _, i := range unmatched {
		s := ds.report.Signatures[i]
		who, serial := "unknown", ""
		if s.Signer != nil {
			who, serial = s.Signer.Subject, s.Signer.Serial
		}
		v.invalid("signature-unmatched", path, "signature %q of document %s (by %s, certificate %s) matches no recipient's signing events", s.Field, ds.id, who, serial)
	}
}

// find returns the first event (in index order) for which ok holds.
func (v *verifier) find(ok func(*Event) bool) *Event {
	for i := range v.audit.events {
		if ok(&v.audit.events[i]) {
			return &v.audit.events[i]
		}
	}
	return nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x != "" && strings.EqualFold(x, s) {
			return i
		}
	}
	return -1
}

// sameSerial compares hex serial numbers, ignoring case and leading zeros.
func sameSerial(a, b string) bool {
	norm := func(s string) string { return strings.TrimLeft(strings.ToLower(s), "0") }
	return a != "" && norm(a) == norm(b)
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}
