package workflow

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/signet-pki/signet/internal/webhook"
	"github.com/signet-pki/signet/keys/dataseal"
)

// SealedPrefix starts every sealed text column: "sealed:" followed by the
// [dataseal] value in base64url without padding, so that the schemas keep
// their column types.
const SealedPrefix = dataseal.TextPrefix

// ErrUnsealedField means a stored free-text field that must be sealed
// was read in clear: the stores hold a row written without keys that
// [Service.SealStored] has not converted yet. Reads fail closed.
var ErrUnsealedField = errors.New("workflow: a stored field is in clear where it must be sealed (run SealStored)")

// Field names (the AD's Field) of the sealed columns. Those of a
// recipient or an envelope's document end with its id, so that a value
// cannot be moved from one recipient or document to another of the same
// envelope; a transition's reason ends with its audit event id.
const (
	fieldDocumentName  = "name"
	fieldSubject       = "subject"
	fieldMessage       = "message"
	fieldReason        = "reason"
	fieldEnvDocName    = "document_name/"
	fieldRecipName     = "name/"
	fieldRecipEmail    = "email/"
	fieldRecipPhone    = "phone/"
	fieldDeclineReason = "decline_reason/"
	fieldTransReason   = "transition_reason/"
	fieldPlacedLabel   = "field_label/"
)

// objectSeal seals and opens the fields of one object of a tenant, asking
// the key ring for the object's KEK once, when a value needs it.
type objectSeal struct {
	keys           KeyRing
	rand           io.Reader
	tenant, object string
	create         bool
	kek            dataseal.KEK
}

func (o *objectSeal) key(ctx context.Context) (dataseal.KEK, error) {
	if o.kek == nil {
		k, err := o.keys.ObjectKEK(ctx, o.tenant, o.object, o.create)
		if err != nil {
			return nil, fmt.Errorf("workflow: key of %s: %w", o.object, err)
		}
		o.kek = k
	}
	return o.kek, nil
}

// seal replaces *v by its sealed form. The empty string stays empty.
func (o *objectSeal) seal(ctx context.Context, field string, v *string) error {
	if *v == "" {
		return nil
	}
	kek, err := o.key(ctx)
	if err != nil {
		return err
	}
	sealed, err := dataseal.SealText(ctx, kek, dataseal.AD{Tenant: o.tenant, Object: o.object, Field: field}, []byte(*v), o.rand)
	if err != nil {
		return fmt.Errorf("workflow: sealing %s of %s: %w", field, o.object, err)
	}
	*v = sealed
	return nil
}

// sealClear seals *v only if it is not sealed yet (for [SealStoredFields]).
func (o *objectSeal) sealClear(ctx context.Context, field string, v *string, changed *bool) error {
	if *v == "" || dataseal.IsText(*v) {
		return nil
	}
	*changed = true
	return o.seal(ctx, field, v)
}

// open replaces the sealed *v by its plaintext. The empty string stays
// empty; any other value without [SealedPrefix] is [ErrUnsealedField].
func (o *objectSeal) open(ctx context.Context, field string, v *string) error {
	if *v == "" {
		return nil
	}
	if !dataseal.IsText(*v) {
		return fmt.Errorf("%w: %s of %s", ErrUnsealedField, field, o.object)
	}
	kek, err := o.key(ctx)
	if err != nil {
		return err
	}
	pt, err := dataseal.OpenText(ctx, kek, dataseal.AD{Tenant: o.tenant, Object: o.object, Field: field}, *v)
	if err != nil {
		return fmt.Errorf("workflow: opening %s of %s: %w", field, o.object, err)
	}
	*v = string(pt)
	return nil
}

// envelopeFields calls f with the name and address of every sealed field
// of e (its transitions' reasons apart).
func envelopeFields(e *Envelope, f func(field string, v *string) error) error {
	if err := f(fieldSubject, &e.Subject); err != nil {
		return err
	}
	if err := f(fieldMessage, &e.Message); err != nil {
		return err
	}
	if err := f(fieldReason, &e.Reason); err != nil {
		return err
	}
	for i := range e.Documents {
		d := &e.Documents[i]
		if err := f(fieldEnvDocName+d.DocumentID, &d.Name); err != nil {
			return err
		}
	}
	for i := range e.Recipients {
		r := &e.Recipients[i]
		for _, p := range []struct {
			field string
			v     *string
		}{
			{fieldRecipName, &r.Name}, {fieldRecipEmail, &r.Email}, {fieldRecipPhone, &r.Phone},
			{fieldDeclineReason, &r.DeclineReason},
		} {
			if err := f(p.field+r.ID, p.v); err != nil {
				return err
			}
		}
	}
	for i := range e.Fields {
		pf := &e.Fields[i]
		if err := f(fieldPlacedLabel+pf.ID, &pf.Label); err != nil {
			return err
		}
	}
	return nil
}

func transitionField(t *Transition) string { return fieldTransReason + t.AuditEventID }

// copyEnvelope returns a copy of e whose documents and recipients may be
// changed without changing e's.
func copyEnvelope(e *Envelope) *Envelope {
	c := *e
	c.Documents = slices.Clone(e.Documents)
	c.Recipients = slices.Clone(e.Recipients)
	c.Fields = slices.Clone(e.Fields)
	return &c
}

// SealDocuments returns a [DocumentStore] over s that seals each
// document's name under the object "document:<id>" of its tenant before
// storing it, and opens it after loading it. [New] wraps
// [Config.Documents] with it when [Config.Keys] is set.
func SealDocuments(s DocumentStore, keys KeyRing, rand io.Reader) DocumentStore {
	return &sealedDocuments{DocumentStore: s, keys: keys, rand: rand}
}

type sealedDocuments struct {
	DocumentStore
	keys KeyRing
	rand io.Reader
}

func (s *sealedDocuments) seal(tenant, id string, create bool) *objectSeal {
	return &objectSeal{keys: s.keys, rand: s.rand, tenant: tenant, object: DocumentObject(id), create: create}
}

func (s *sealedDocuments) InsertDocument(ctx context.Context, d *Document) error {
	c, err := s.sealed(ctx, d)
	if err != nil {
		return err
	}
	return s.DocumentStore.InsertDocument(ctx, c)
}

// sealed returns a copy of d as the store keeps it: its name sealed.
func (s *sealedDocuments) sealed(ctx context.Context, d *Document) (*Document, error) {
	c := *d
	if err := s.seal(d.Tenant, d.ID, true).seal(ctx, fieldDocumentName, &c.Name); err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *sealedDocuments) Document(ctx context.Context, tenant, id string) (*Document, error) {
	d, err := s.DocumentStore.Document(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if err := s.seal(d.Tenant, d.ID, false).open(ctx, fieldDocumentName, &d.Name); err != nil {
		return nil, err
	}
	return d, nil
}

// SealEnvelopes returns an [EnvelopeStore] over s that seals, under the
// object "envelope:<id>" of the envelope's tenant, its subject, message
// and reason, its documents' names, its recipients' names, e-mail
// addresses, phone numbers and decline reasons, and its transitions'
// reasons and its placed fields' labels before storing them, and opens
// them after loading them. [New]
// wraps [Config.Envelopes] with it when [Config.Keys] is set.
func SealEnvelopes(s EnvelopeStore, keys KeyRing, rand io.Reader) EnvelopeStore {
	return &sealedEnvelopes{EnvelopeStore: s, keys: keys, rand: rand}
}

type sealedEnvelopes struct {
	EnvelopeStore
	keys KeyRing
	rand io.Reader
}

func (s *sealedEnvelopes) seal(tenant, id string, create bool) *objectSeal {
	return &objectSeal{keys: s.keys, rand: s.rand, tenant: tenant, object: EnvelopeObject(id), create: create}
}

// sealed returns a sealed copy of e and of t (if not nil).
func (s *sealedEnvelopes) sealed(ctx context.Context, e *Envelope, t *Transition, create bool) (*Envelope, *Transition, error) {
	o := s.seal(e.Tenant, e.ID, create)
	c := copyEnvelope(e)
	if err := envelopeFields(c, func(field string, v *string) error { return o.seal(ctx, field, v) }); err != nil {
		return nil, nil, err
	}
	if t == nil {
		return c, nil, nil
	}
	tc := *t
	if err := o.seal(ctx, transitionField(&tc), &tc.Reason); err != nil {
		return nil, nil, err
	}
	return c, &tc, nil
}

func (s *sealedEnvelopes) open(ctx context.Context, e *Envelope) error {
	o := s.seal(e.Tenant, e.ID, false)
	return envelopeFields(e, func(field string, v *string) error { return o.open(ctx, field, v) })
}

func (s *sealedEnvelopes) InsertEnvelope(ctx context.Context, e *Envelope, t Transition) error {
	c, tc, err := s.sealed(ctx, e, &t, true)
	if err != nil {
		return err
	}
	return s.EnvelopeStore.InsertEnvelope(ctx, c, *tc)
}

func (s *sealedEnvelopes) UpdateEnvelope(ctx context.Context, e *Envelope, prev int64, t *Transition, out ...webhook.Message) error {
	c, tc, err := s.sealed(ctx, e, t, false)
	if err != nil {
		return err
	}
	return s.EnvelopeStore.UpdateEnvelope(ctx, c, prev, tc, out...)
}

func (s *sealedEnvelopes) Envelope(ctx context.Context, id string) (*Envelope, error) {
	e, err := s.EnvelopeStore.Envelope(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.open(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

func (s *sealedEnvelopes) ListEnvelopes(ctx context.Context, tenant string, f ListFilter) ([]*Envelope, error) {
	es, err := s.EnvelopeStore.ListEnvelopes(ctx, tenant, f)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if err := s.open(ctx, e); err != nil {
			return nil, err
		}
	}
	return es, nil
}

func (s *sealedEnvelopes) Transitions(ctx context.Context, id string) ([]Transition, error) {
	ts, err := s.EnvelopeStore.Transitions(ctx, id)
	if err != nil {
		return nil, err
	}
	var o *objectSeal
	for i := range ts {
		if ts[i].Reason == "" {
			continue
		}
		if o == nil {
			// The envelope's tenant names the key.
			e, err := s.EnvelopeStore.Envelope(ctx, id)
			if err != nil {
				return nil, err
			}
			o = s.seal(e.Tenant, id, false)
		}
		if err := o.open(ctx, transitionField(&ts[i]), &ts[i].Reason); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// A FieldStore is what [SealStoredFields] needs of the stores besides
// [DocumentStore] and [EnvelopeStore]: every row of every tenant, in id
// order, and the rewriting of free-text fields in place. Both drivers
// implement it.
type FieldStore interface {
	// DocumentsAfter returns at most limit documents of any tenant whose
	// ids sort after after, in id order.
	DocumentsAfter(ctx context.Context, after string, limit int) ([]*Document, error)
	// EnvelopeIDsAfter returns at most limit ids of envelopes of any
	// tenant that sort after after, in id order.
	EnvelopeIDsAfter(ctx context.Context, after string, limit int) ([]string, error)
	// SetDocumentName replaces the name of document id by name if it is
	// still old, else returns [ErrStale].
	SetDocumentName(ctx context.Context, id, old, name string) error
	// SetEnvelopeFields stores, if the stored version of envelope e.ID is
	// still e.Version (else [ErrStale]), the free-text fields of e (its
	// subject, message and reason, its documents' names, its recipients'
	// names, e-mail addresses, phone numbers and decline reasons, its
	// placed fields' labels) and the
	// reasons of ts (by Seq), in one transaction, changing nothing else.
	SetEnvelopeFields(ctx context.Context, e *Envelope, ts []Transition) error
	// ScrubFreed erases, as far as the database allows, the former
	// values that the Set methods replaced (SQLite: zeroed as they are
	// freed, and the write-ahead log truncated).
	ScrubFreed(ctx context.Context) error
}

// sealStoredBatch is how many rows [SealStoredFields] reads at a time.
const sealStoredBatch = 100

// sealStoredRetries bounds the attempts at one envelope that other
// writers keep changing.
const sealStoredRetries = 5

// SealStoredFields seals the fields that [SealDocuments] and
// [SealEnvelopes] seal wherever docs and envs (the drivers themselves,
// not the sealing stores, and [FieldStore]s) still hold them in clear,
// creating the objects' keys in keys, and returns how many documents and
// envelopes it changed. Values already sealed are left as they are, so
// it may run any number of times, and on one node while others serve.
func SealStoredFields(ctx context.Context, docs DocumentStore, envs EnvelopeStore, keys KeyRing, rand io.Reader) (int, error) {
	fd, ok1 := docs.(FieldStore)
	fe, ok2 := envs.(FieldStore)
	if !ok1 || !ok2 {
		return 0, errors.New("workflow: the stores cannot rewrite stored fields (no FieldStore)")
	}
	n := 0
	for after := ""; ; {
		ds, err := fd.DocumentsAfter(ctx, after, sealStoredBatch)
		if err != nil {
			return n, err
		}
		for _, d := range ds {
			name, changed := d.Name, false
			o := &objectSeal{keys: keys, rand: rand, tenant: d.Tenant, object: DocumentObject(d.ID), create: true}
			if err := o.sealClear(ctx, fieldDocumentName, &name, &changed); err != nil {
				return n, err
			}
			if !changed {
				continue
			}
			// A document's name never changes: a stale one was sealed by
			// another node meanwhile.
			if err := fd.SetDocumentName(ctx, d.ID, d.Name, name); err != nil && !errors.Is(err, ErrStale) {
				return n, err
			} else if err == nil {
				n++
			}
		}
		if len(ds) < sealStoredBatch {
			break
		}
		after = ds[len(ds)-1].ID
	}
	for after := ""; ; {
		ids, err := fe.EnvelopeIDsAfter(ctx, after, sealStoredBatch)
		if err != nil {
			return n, err
		}
		for _, id := range ids {
			changed, err := sealStoredEnvelope(ctx, envs, fe, keys, rand, id)
			if err != nil {
				return n, err
			}
			if changed {
				n++
			}
		}
		if len(ids) < sealStoredBatch {
			break
		}
		after = ids[len(ids)-1]
	}
	if n > 0 {
		if err := fe.ScrubFreed(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// sealStoredEnvelope seals what envelope id holds in clear, retrying when
// another writer changed it meanwhile.
func sealStoredEnvelope(ctx context.Context, envs EnvelopeStore, fe FieldStore, keys KeyRing, rand io.Reader, id string) (bool, error) {
	for range sealStoredRetries {
		e, err := envs.Envelope(ctx, id)
		if err != nil {
			return false, err
		}
		ts, err := envs.Transitions(ctx, id)
		if err != nil {
			return false, err
		}
		o := &objectSeal{keys: keys, rand: rand, tenant: e.Tenant, object: EnvelopeObject(id), create: true}
		changed := false
		if err := envelopeFields(e, func(field string, v *string) error { return o.sealClear(ctx, field, v, &changed) }); err != nil {
			return false, err
		}
		for i := range ts {
			if err := o.sealClear(ctx, transitionField(&ts[i]), &ts[i].Reason, &changed); err != nil {
				return false, err
			}
		}
		if !changed {
			return false, nil
		}
		err = fe.SetEnvelopeFields(ctx, e, ts)
		if errors.Is(err, ErrStale) {
			continue
		}
		return err == nil, err
	}
	return false, fmt.Errorf("workflow: envelope %s kept changing while its fields were sealed", id)
}

// SealStored seals what the stores still hold in clear
// ([SealStoredFields]) under [Config.Keys], and returns how many
// documents and envelopes it changed; without keys it does nothing. The
// server runs it at start, before it serves: the service refuses to read
// a field in clear ([ErrUnsealedField]).
func (s *Service) SealStored(ctx context.Context) (int, error) {
	if s.cfg.Keys == nil {
		return 0, nil
	}
	return SealStoredFields(ctx, s.rawDocs, s.rawEnvs, s.cfg.Keys, rand.Reader)
}
