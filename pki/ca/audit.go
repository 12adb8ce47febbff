package ca

import (
	"context"
	"fmt"

	"github.com/signet-pki/signet/auditlog"
)

// A Recorder records audit events; [auditlog.Log] is one. Record MUST
// return nil only once the event is durable; on an error the CA does not
// carry out the action (fail closed).
type Recorder interface {
	Record(ctx context.Context, e auditlog.Event) error
}

var _ Recorder = (*auditlog.Log)(nil)

// record writes an event about r and wraps a failure in ErrAudit. The
// subject of a certificate that names a person ([Kind.NamesPerson]) is a
// sensitive attribute (sealed beside the leaf, an HMAC in it); the
// subjects of the CA's and its services' certificates are details.
func (a *Authority) record(ctx context.Context, typ auditlog.EventType, tenant string, r *Record, details map[string]string) error {
	d := map[string]string{
		"issuer": r.Issuer,
		"kind":   string(r.Kind),
	}
	var sensitive map[string]string
	if r.Kind.NamesPerson() {
		sensitive = map[string]string{"subject": r.Subject}
	} else {
		d["subject"] = r.Subject
	}
	for k, v := range details {
		d[k] = v
	}
	e := auditlog.Event{
		Type:   typ,
		Tenant: tenant,
		Actor:  a.cfg.Actor,
		Subject: auditlog.Subject{
			KeyID:             r.Key.ID,
			KeyVersion:        r.Key.Version,
			CertificateSerial: serialKey(r.Serial),
		},
		Outcome:   auditlog.OutcomeSuccess,
		Details:   d,
		Sensitive: sensitive,
	}
	if err := a.cfg.Recorder.Record(ctx, e); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrAudit, typ, err)
	}
	return nil
}
