package evidence

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/tsa"
)

// auditState is what the audit checks establish for the story.
type auditState struct {
	verifier note.Verifier
	// cpNote and head are the bundle's checkpoint; cpOK when it is
	// signed by the log key.
	cpNote []byte
	head   auditlog.TreeHead
	cpOK   bool
	// events are the bundle's events that parsed, in index order.
	events []Event
	byID   map[string]*Event
}

// checkAudit checks the log key, the checkpoint, every event's receipt,
// the anchors and the consistency proof.
func (v *verifier) checkAudit() {
	a := &v.audit
	v.logKey()
	if cp, ok := v.read(PathCheckpoint, maxSmallFile); !ok {
		v.invalid("checkpoint-missing", PathCheckpoint, "the bundle has no checkpoint")
		v.check("checkpoint", pades.Failed, "missing")
	} else if a.verifier != nil {
		a.cpNote = cp
		th, err := auditlog.OpenCheckpoint(cp, a.verifier, "")
		if err != nil {
			v.invalid("checkpoint-signature", PathCheckpoint, "the checkpoint is not signed by the audit log's key %s: %s", a.verifier.Name(), oneLine(err))
			v.check("checkpoint", pades.Failed, "not signed by the log key")
		} else {
			a.head, a.cpOK = th, true
			v.check("checkpoint", pades.Passed, fmt.Sprintf("%s, size %d, signed by %s", th.Origin, th.Size, a.verifier.Name()))
		}
	}
	v.checkEvents()
	if a.cpOK {
		v.checkAnchors()
		v.checkConsistency()
	}
}

// logKey sets the checkpoint verifier: the caller's, else the bundle's.
func (v *verifier) logKey() {
	a := &v.audit
	key, from := strings.TrimSpace(v.opts.LogKey), "given"
	if key == "" {
		b, ok := v.read(PathLogKey, 4096)
		if !ok {
			v.invalid("log-key", PathLogKey, "the bundle has no audit log key and none was given: no checkpoint can be checked")
			v.check("log-key", pades.Failed, "missing")
			return
		}
		key, from = strings.TrimSpace(string(b)), "the bundle's, covered by the manifest"
	}
	ver, err := note.NewVerifier(key)
	if err != nil {
		path := PathLogKey
		if v.opts.LogKey != "" {
			path = ""
		}
		v.invalid("log-key", path, "the audit log key (%s) is not a note verifier key: %v", from, err)
		v.check("log-key", pades.Failed, "malformed")
		return
	}
	a.verifier = ver
	v.check("log-key", pades.Passed, fmt.Sprintf("%s (%s)", ver.Name(), from))
}

// checkEvents checks every event: its leaf, its place in the log, its
// tenant and envelope, and its receipt to the bundle's checkpoint.
func (v *verifier) checkEvents() {
	a := &v.audit
	a.byID = map[string]*Event{}
	indexes := map[int64]bool{}
	var idx []int64
	for _, name := range v.order {
		rest, ok := strings.CutPrefix(name, PathEvents)
		if !ok {
			continue
		}
		base, ext, _ := strings.Cut(rest, ".")
		n, err := strconv.ParseInt(base, 10, 64)
		switch {
		case err != nil || n < 0 || strconv.FormatInt(n, 10) != base || (ext != "json" && ext != "tlog-proof"):
			v.invalid("event-malformed", name, "%s is not an event (N.json) or its receipt (N.tlog-proof)", name)
			continue
		case ext == "tlog-proof":
			if v.files[fmt.Sprintf("%s%d.json", PathEvents, n)] == nil {
				v.invalid("event-malformed", name, "receipt %s has no event beside it", name)
			}
			continue
		}
		if !indexes[n] {
			indexes[n] = true
			idx = append(idx, n)
		}
	}
	sort.Slice(idx, func(i, j int) bool { return idx[i] < idx[j] })
	bad := 0
	for _, n := range idx {
		if !v.checkEvent(n) {
			bad++
		}
	}
	sort.Slice(a.events, func(i, j int) bool { return a.events[i].Index < a.events[j].Index })
	for i := range a.events {
		e := &a.events[i]
		if a.byID[e.ID] != nil {
			v.invalid("event-duplicate", eventPath(e.Index), "event id %s appears twice", e.ID)
			bad++
		}
		a.byID[e.ID] = e
		if i > 0 && e.Time.Before(a.events[i-1].Time) {
			v.invalid("event-time-order", eventPath(e.Index), "event %d (%s) is dated %s, before event %d (%s, %s); the log's clock never goes back",
				e.Index, e.Type, stamp(e.Time), a.events[i-1].Index, a.events[i-1].Type, stamp(a.events[i-1].Time))
			bad++
		}
	}
	switch {
	case len(idx) == 0:
		v.invalid("event-missing", PathEvents, "the bundle holds no audit event")
		v.check("events", pades.Failed, "none")
	case bad > 0:
		v.check("events", pades.Failed, fmt.Sprintf("%d of %d events fail; see the findings", bad, len(idx)))
	default:
		v.check("events", pades.Passed, fmt.Sprintf("%d events of envelope %s, each included in the checkpoint of size %d", len(idx), v.rep.EnvelopeID, a.head.Size))
	}
}

// checkEvent checks event n and keeps it if it parses.
func (v *verifier) checkEvent(n int64) bool {
	a := &v.audit
	path := eventPath(n)
	leaf, ok := v.read(path, maxSmallFile)
	if !ok {
		v.invalid("event-malformed", path, "event %d cannot be read", n)
		return false
	}
	e, err := ParseEvent(leaf)
	if err != nil {
		v.invalid("event-malformed", path, "event %d is not a leaf of the audit log: %v", n, err)
		return false
	}
	good := true
	if e.Index != n {
		v.invalid("event-index", path, "the event in %s says it is at index %d", path, e.Index)
		good = false
	}
	tenant, envelope := v.rep.Tenant, v.rep.EnvelopeID
	if e.Tenant != tenant {
		v.invalid("event-foreign-tenant", path, "event %d (%s) belongs to tenant %q, not %q", n, e.Type, e.Tenant, tenant)
		good = false
	}
	if e.Subject.EnvelopeID != envelope {
		v.invalid("event-foreign-envelope", path, "event %d (%s) is about envelope %q, not %q", n, e.Type, e.Subject.EnvelopeID, envelope)
		good = false
	}
	e.Index = n
	a.events = append(a.events, e)
	if a.verifier == nil {
		return false
	}
	proofPath := fmt.Sprintf("%s%d.tlog-proof", PathEvents, n)
	proof, ok := v.read(proofPath, maxSmallFile)
	if !ok {
		v.invalid("event-receipt", proofPath, "event %d has no receipt", n)
		return false
	}
	th, r, err := auditlog.VerifyReceipt(proof, a.verifier, leaf)
	switch {
	case err != nil:
		v.invalid("event-receipt", path, "event %d is not proven to be in the log: %s (the event or its receipt was changed)", n, oneLine(err))
		return false
	case r.Index != n:
		v.invalid("event-receipt", proofPath, "the receipt of event %d proves index %d", n, r.Index)
		return false
	case a.cpOK && (th.Size != a.head.Size || th.Hash != a.head.Hash || th.Origin != a.head.Origin):
		v.invalid("receipt-checkpoint", proofPath, "the receipt of event %d leads to the checkpoint of size %d, not to the bundle's checkpoint (size %d)", n, th.Size, a.head.Size)
		return false
	}
	return good
}

func eventPath(n int64) string { return fmt.Sprintf("%s%d.json", PathEvents, n) }

// checkAnchors verifies the checkpoint's anchors; their time-stamp
// authorities are validated at the manifest time-stamp's time.
func (v *verifier) checkAnchors() {
	a := &v.audit
	raw, ok := v.read(PathAnchorIndex, maxSmallFile)
	var entries []AnchorEntry
	if ok {
		if err := json.Unmarshal(raw, &entries); err != nil {
			v.invalid("anchor-invalid", PathAnchorIndex, "the anchor index is not valid: %v", err)
			v.check("anchors", pades.Failed, "malformed index")
			return
		}
	}
	if len(entries) == 0 {
		v.unsure("anchor-missing", "", PathAnchorIndex, "the checkpoint of size %d has no anchor: nothing outside Signet attests it", a.head.Size)
		v.check("anchors", pades.CheckIndeterminate, "none")
		return
	}
	witnesses := map[string]anchor.CosignerKey{}
	badKeys := 0
	for _, w := range v.opts.Witnesses {
		k, err := anchor.ParseCosignerKey(strings.TrimSpace(w))
		if err != nil {
			badKeys++
			continue
		}
		witnesses[k.Name] = k
	}
	at, what := v.poe, "the manifest's time-stamp"
	if at.IsZero() {
		at, what = v.now, "the validation time"
	}
	cp := auditlog.Checkpoint{Size: a.head.Size, Note: a.cpNote}
	var stamps, cosigned, unchecked, sinks, bad int
	for _, en := range entries {
		path := PathAnchors + en.File
		data, ok := v.read(path, maxSmallFile)
		if en.File == "" || strings.Contains(en.File, "/") || !ok {
			v.invalid("anchor-file-missing", path, "anchor %q of the index is not in the bundle", en.File)
			bad++
			continue
		}
		an := auditlog.Anchor{Size: a.head.Size, Kind: en.Kind, Name: en.Name, Data: data, Time: en.Time}
		switch en.Kind {
		case anchor.KindRFC3161:
			if err := anchor.VerifyTimestampAnchor(an, cp, nil); err != nil {
				v.invalid("anchor-invalid", path, "the time-stamp of %s does not cover the checkpoint: %s", en.Name, oneLine(err))
				bad++
				continue
			}
			tok, err := tsa.ParseToken(data)
			if err != nil {
				v.invalid("anchor-invalid", path, "%v", err)
				bad++
				continue
			}
			if v.opts.Roots == nil {
				v.unsure("anchor-untrusted", pades.NoCertificateChainFound, path, "no trust anchors given: the checkpoint's time-stamp authority cannot be trusted")
				bad++
				continue
			}
			if _, _, err := tok.Verify(tsa.VerifyOptions{Roots: v.opts.Roots, CurrentTime: at}); err != nil {
				v.unsure("anchor-untrusted", pades.NoCertificateChainFound, path, "the checkpoint's time-stamp authority is not trusted at %s (%s): %s", stamp(at), what, oneLine(err))
				bad++
				continue
			}
			if !v.poe.IsZero() && tok.Info.Time.After(v.poe.Add(ClockTolerance)) {
				v.invalid("anchor-invalid", path, "the checkpoint's time-stamp (%s) is later than the manifest's (%s)", stamp(tok.Info.Time), stamp(v.poe))
				bad++
				continue
			}
			stamps++
		case anchor.KindWitness:
			k, known := witnesses[en.Name]
			if !known {
				unchecked++
				continue
			}
			an.Data = bytes.TrimRight(data, "\n")
			if err := anchor.VerifyCosignatureAnchor(an, cp, k); err != nil {
				v.invalid("anchor-invalid", path, "the cosignature of witness %s does not verify: %s", en.Name, oneLine(err))
				bad++
				continue
			}
			cosigned++
		case anchor.KindSink:
			sinks++
		default:
			v.invalid("anchor-invalid", path, "anchor kind %q is unknown", en.Kind)
			bad++
		}
	}
	detail := fmt.Sprintf("%d time-stamp(s) trusted at %s, %d witness cosignature(s) checked, %d unchecked (witness key not given), %d write-once cop(ies) (informational)",
		stamps, what, cosigned, unchecked, sinks)
	if badKeys > 0 {
		detail += fmt.Sprintf("; %d witness key(s) given are not cosigner keys and were ignored", badKeys)
	}
	if bad > 0 {
		v.check("anchors", pades.Failed, detail)
		return
	}
	v.check("anchors", pades.Passed, detail)
}

// checkConsistency checks that the latest checkpoint extends the bundle's.
func (v *verifier) checkConsistency() {
	a := &v.audit
	latest, ok := v.read(PathLatestCheckpoint, maxSmallFile)
	if !ok {
		v.unsure("consistency-missing", "", PathLatestCheckpoint, "the bundle has no latest checkpoint: that the log went on from its checkpoint is not shown")
		v.check("consistency", pades.CheckIndeterminate, "no latest checkpoint")
		return
	}
	th, err := auditlog.OpenCheckpoint(latest, a.verifier, a.head.Origin)
	if err != nil {
		v.invalid("checkpoint-signature", PathLatestCheckpoint, "the latest checkpoint is not signed by the audit log's key: %s", oneLine(err))
		v.check("consistency", pades.Failed, "latest checkpoint not signed by the log key")
		return
	}
	raw, _ := v.read(PathConsistency, maxSmallFile)
	var proof tlog.TreeProof
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if l == "" {
			continue
		}
		b, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(b) != 32 || len(proof) >= 64 {
			v.invalid("consistency", PathConsistency, "the consistency proof is malformed")
			v.check("consistency", pades.Failed, "malformed proof")
			return
		}
		var h tlog.Hash
		copy(h[:], b)
		proof = append(proof, h)
	}
	if err := auditlog.CheckConsistency(a.head, th, proof); err != nil || (th.Size == a.head.Size && th.Hash != a.head.Hash) {
		v.invalid("consistency", PathConsistency, "the latest checkpoint (size %d) does not extend the bundle's (size %d): the log was rewritten", th.Size, a.head.Size)
		v.check("consistency", pades.Failed, "")
		return
	}
	v.check("consistency", pades.Passed, fmt.Sprintf("the checkpoint of size %d is extended by the latest, of size %d", a.head.Size, th.Size))
}
