package evidence

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/signet-pki/signet/auditlog"
)

// An Event is an audit event as its leaf records it (see docs/AUDITLOG.md):
// what the bundle's events say. Sensitive values (e-mail addresses, names,
// IP addresses, free text) are in the leaf only as keyed hashes; the
// operator may disclose their clear values beside it (Disclosed), which
// the leaf cannot prove.
type Event struct {
	// Index is the event's position in the log.
	Index   int64     `json:"index"`
	ID      string    `json:"id"`
	Type    string    `json:"type"`
	Tenant  string    `json:"tenant,omitempty"`
	Time    time.Time `json:"time"`
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason,omitempty"`
	Actor   struct {
		Kind string `json:"kind"`
		ID   string `json:"id,omitempty"`
		Auth struct {
			Strength string   `json:"strength,omitempty"`
			Methods  []string `json:"methods,omitempty"`
		} `json:"auth"`
	} `json:"actor"`
	Subject struct {
		DocumentSHA256    string `json:"document_sha256,omitempty"`
		EnvelopeID        string `json:"envelope_id,omitempty"`
		KeyID             string `json:"key_id,omitempty"`
		KeyVersion        string `json:"key_version,omitempty"`
		CertificateSerial string `json:"certificate_serial,omitempty"`
	} `json:"subject"`
	Request struct {
		CorrelationID   string `json:"correlation_id,omitempty"`
		ClientRequestID string `json:"client_request_id,omitempty"`
		UserAgent       string `json:"user_agent,omitempty"`
	} `json:"request"`
	Details map[string]string `json:"details,omitempty"`
	// Disclosed are clear values of the event's sensitive fields, by
	// field ("actor.email", "request.ip", "sensitive.reason", ...), as
	// the operator unsealed them; never part of the leaf.
	Disclosed map[string]string `json:"-"`
}

// ParseEvent decodes a leaf.
func ParseEvent(leaf []byte) (Event, error) {
	h, err := auditlog.ParseLeafHeader(leaf)
	if err != nil {
		return Event{}, err
	}
	var e Event
	if err := json.Unmarshal(leaf, &e); err != nil {
		return Event{}, fmt.Errorf("evidence: event %d: %w", h.Index, err)
	}
	return e, nil
}
