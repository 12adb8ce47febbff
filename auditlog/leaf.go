package auditlog

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/signet-pki/signet/auditlog/internal/jcs"
)

// LeafVersion is the "v" member of every leaf.
const LeafVersion = 1

// A prepared event has everything of its leaf but the index and time,
// which the sequencer assigns.
type prepared struct {
	obj      map[string]any
	id       string
	tenant   string
	typ      string
	envelope string
	sealed   []byte
}

// prepare validates e, computes the HMACs of its sensitive values and
// seals their clear values.
func prepare(ctx context.Context, e Event, keys TenantKeys, r io.Reader) (*prepared, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	var mac, data []byte
	clear := map[string]string{}
	hide := func(field, v string) any {
		clear[field] = v
		return hidden(field) // replaced below once the keys are known
	}
	obj := map[string]any{
		"v":       LeafVersion,
		"id":      e.ID,
		"type":    string(e.Type),
		"outcome": string(e.Outcome),
	}
	if e.Tenant != "" {
		obj["tenant"] = e.Tenant
	}
	if e.Reason != "" {
		obj["reason"] = e.Reason
	}
	actor := map[string]any{"kind": string(e.Actor.Kind)}
	putStr(actor, "id", e.Actor.ID)
	if e.Actor.Email != "" {
		actor["email"] = hide("actor.email", e.Actor.Email)
	}
	if e.Actor.Name != "" {
		actor["name"] = hide("actor.name", e.Actor.Name)
	}
	if e.Actor.AuthStrength != "" || len(e.Actor.AuthMethods) > 0 {
		auth := map[string]any{}
		putStr(auth, "strength", e.Actor.AuthStrength)
		if len(e.Actor.AuthMethods) > 0 {
			auth["methods"] = append([]string(nil), e.Actor.AuthMethods...)
		}
		actor["auth"] = auth
	}
	obj["actor"] = actor
	subj := map[string]any{}
	putStr(subj, "document_sha256", e.Subject.DocumentSHA256)
	putStr(subj, "envelope_id", e.Subject.EnvelopeID)
	if e.Subject.RecipientEmail != "" {
		subj["recipient_email"] = hide("subject.recipient_email", e.Subject.RecipientEmail)
	}
	putStr(subj, "key_id", e.Subject.KeyID)
	putStr(subj, "key_version", e.Subject.KeyVersion)
	putStr(subj, "certificate_serial", e.Subject.CertificateSerial)
	if len(subj) > 0 {
		obj["subject"] = subj
	}
	req := map[string]any{}
	putStr(req, "correlation_id", e.Request.CorrelationID)
	putStr(req, "client_request_id", e.Request.ClientRequestID)
	if e.Request.IP != "" {
		req["ip"] = hide("request.ip", e.Request.IP)
	}
	putStr(req, "user_agent", e.Request.UserAgent)
	if len(req) > 0 {
		obj["request"] = req
	}
	pol := map[string]any{}
	putStr(pol, "decision", e.Policy.Decision)
	putStr(pol, "policy", e.Policy.Policy)
	putStr(pol, "rule", e.Policy.Rule)
	if len(pol) > 0 {
		obj["policy"] = pol
	}
	if len(e.Details) > 0 {
		d := map[string]any{}
		for k, v := range e.Details {
			d[k] = v
		}
		obj["details"] = d
	}
	if len(e.Sensitive) > 0 {
		s := map[string]any{}
		for k, v := range e.Sensitive {
			s[k] = hide("sensitive."+k, v)
		}
		obj["sensitive"] = s
	}
	if len(clear) > 0 {
		var err error
		if mac, data, err = keys.Keys(ctx, e.Tenant); err != nil {
			return nil, fmt.Errorf("auditlog: tenant keys: %w", err)
		}
		replaceHidden(obj, clear, mac)
	}
	p := &prepared{obj: obj, id: e.ID, tenant: e.Tenant, typ: string(e.Type), envelope: e.Subject.EnvelopeID}
	if len(clear) > 0 {
		var err error
		if p.sealed, err = seal(data, e.ID, clear, r); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// hidden is the placeholder of a sensitive value, naming its field.
type hidden string

// replaceHidden swaps the field-name placeholders of sensitive values for
// their keyed HMACs.
func replaceHidden(m map[string]any, clear map[string]string, mac []byte) {
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any:
			replaceHidden(x, clear, mac)
		case hidden:
			m[k] = MatchValue(mac, clear[string(x)])
		}
	}
}

func putStr(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// leaf encodes the prepared event at index and time t in RFC 8785
// canonical JSON.
func (p *prepared) leaf(index int64, t time.Time) ([]byte, error) {
	p.obj["index"] = index
	p.obj["time"] = t.UTC().Format(time.RFC3339Nano)
	return jcs.Marshal(p.obj)
}

// A LeafHeader is the part of a leaf that verification and export read:
// the members a [Record] repeats as stored, indexed fields.
type LeafHeader struct {
	V      int       `json:"v"`
	Index  int64     `json:"index"`
	ID     string    `json:"id"`
	Type   string    `json:"type"`
	Tenant string    `json:"tenant"`
	Time   time.Time `json:"time"`
	// Envelope is the leaf's subject.envelope_id, "" for none.
	Envelope string `json:"-"`
}

// ParseLeafHeader decodes the header members of a leaf.
func ParseLeafHeader(leaf []byte) (LeafHeader, error) {
	var l struct {
		LeafHeader
		Subject struct {
			EnvelopeID string `json:"envelope_id"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(leaf, &l); err != nil {
		return l.LeafHeader, fmt.Errorf("%w leaf: %v", ErrMalformed, err)
	}
	h := l.LeafHeader
	h.Envelope = l.Subject.EnvelopeID
	if h.V != LeafVersion {
		return h, fmt.Errorf("%w leaf: version %d", ErrMalformed, h.V)
	}
	return h, nil
}

// LeafEnvelope returns the envelope a leaf's event is about (its
// subject.envelope_id), or "".
func LeafEnvelope(leaf []byte) (string, error) {
	var l struct {
		Subject struct {
			EnvelopeID string `json:"envelope_id"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(leaf, &l); err != nil {
		return "", fmt.Errorf("%w leaf: %v", ErrMalformed, err)
	}
	return l.Subject.EnvelopeID, nil
}
