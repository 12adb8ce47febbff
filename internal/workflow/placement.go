package workflow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/pades"
)

// A FieldKind is what a placed field asks its recipient for.
type FieldKind string

// Field kinds.
const (
	// FieldSignature: a drawn or typed signature.
	FieldSignature FieldKind = "signature"
	// FieldInitials: drawn or typed initials.
	FieldInitials FieldKind = "initials"
	// FieldDate: the signing date, filled by the server.
	FieldDate FieldKind = "date"
	// FieldText: a line of text the recipient types.
	FieldText FieldKind = "text"
)

// Valid reports whether k is one of the field kinds.
func (k FieldKind) Valid() bool {
	return k == FieldSignature || k == FieldInitials || k == FieldDate || k == FieldText
}

// Limits on placed fields.
const (
	// MaxFields bounds the fields of one envelope.
	MaxFields = 200
	// MaxFieldLabel bounds a field's label, in bytes.
	MaxFieldLabel = 100
	// maxFieldPages bounds the pages whose sizes are read of a document.
	maxFieldPages = 20000
	// minFieldSide is the smallest width or height of a field, in points.
	minFieldSide = 4
)

// A Field is a box placed on a page of one of the envelope's documents
// for one of its signers to fill when they sign: X, Y, W and H are the
// box's lower-left corner, width and height in points, measured from the
// lower-left corner of the page's visible box ([PageSize]).
type Field struct {
	ID          string    `json:"id"`
	DocumentID  string    `json:"document_id"`
	RecipientID string    `json:"recipient_id"`
	Kind        FieldKind `json:"kind"`
	Page        int       `json:"page"`
	X           float64   `json:"x"`
	Y           float64   `json:"y"`
	W           float64   `json:"width"`
	H           float64   `json:"height"`
	Required    bool      `json:"required"`
	// Label is a hint shown with the field ("Signature of the tenant");
	// it is sealed at rest as the envelope's other free text.
	Label string `json:"label"`
}

// A FieldInput is a field of a [CreateRequest]: its recipient is an
// index into the request's recipients.
type FieldInput struct {
	Document  string    `json:"document"`
	Recipient *int      `json:"recipient"`
	Kind      FieldKind `json:"kind"`
	Page      int       `json:"page"`
	X         float64   `json:"x"`
	Y         float64   `json:"y"`
	Width     float64   `json:"width"`
	Height    float64   `json:"height"`
	Required  bool      `json:"required"`
	Label     string    `json:"label,omitempty"`
}

// A PlacedFieldInput is a field of [Service.PlaceFields]: its document
// and recipient are named by id.
type PlacedFieldInput struct {
	DocumentID  string    `json:"document_id"`
	RecipientID string    `json:"recipient_id"`
	Kind        FieldKind `json:"kind"`
	Page        int       `json:"page"`
	X           float64   `json:"x"`
	Y           float64   `json:"y"`
	Width       float64   `json:"width"`
	Height      float64   `json:"height"`
	Required    bool      `json:"required"`
	Label       string    `json:"label,omitempty"`
}

// A PageSize is the visible box of one page of a document (its crop box,
// else its media box), in points, and its rotation when shown (0, 90,
// 180 or 270 degrees clockwise). Fields are placed in this box's
// coordinates, unrotated.
type PageSize struct {
	Number int     `json:"number"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	Rotate int     `json:"rotate"`
	// Left and Bottom are the box's lower-left corner in the page's user
	// space: where a field's (0, 0) lies.
	Left   float64 `json:"-"`
	Bottom float64 `json:"-"`
}

// FieldsOf returns the fields of e that recipient fills, in order.
func (e *Envelope) FieldsOf(recipient string) []Field {
	var out []Field
	for _, f := range e.Fields {
		if f.RecipientID == recipient {
			out = append(out, f)
		}
	}
	return out
}

// PlacementDigest returns the SHA-256, in hex, of the placement of fs:
// each field's id, document, recipient, kind, page, box and whether it is
// required, in order (labels apart, which are free text), as audit
// events record it.
func PlacementDigest(fs []Field) string {
	var b bytes.Buffer
	for _, f := range fs {
		fmt.Fprintf(&b, "%s|%s|%s|%s|%d|%s|%s|%s|%s|%t\n", f.ID, f.DocumentID, f.RecipientID, f.Kind, f.Page,
			num(f.X), num(f.Y), num(f.W), num(f.H), f.Required)
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:])
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// placementDetails are the audit details describing fs.
func placementDetails(fs []Field, into map[string]string) {
	into["fields"] = strconv.Itoa(len(fs))
	if len(fs) > 0 {
		into["fields_sha256"] = PlacementDigest(fs)
	}
}

// checkField validates field i of e (the field's document and recipient
// already resolved), sizes giving each document's pages.
func checkField(i int, e *Envelope, f *Field, sizes func(docID string) ([]PageSize, error)) error {
	at := fmt.Sprintf("fields[%d]", i)
	if !f.Kind.Valid() {
		return invalid("%s: kind must be signature, initials, date or text", at)
	}
	d := e.Document(f.DocumentID)
	if d == nil {
		return invalid("%s: document %s is not in the envelope", at, quoteID(f.DocumentID))
	}
	r := e.Recipient(f.RecipientID)
	if r == nil {
		return invalid("%s: recipient %s is not in the envelope", at, quoteID(f.RecipientID))
	}
	if r.Role != RoleSigner {
		return invalid("%s: the recipient is a %s; fields are filled by signers only", at, r.Role)
	}
	if err := checkLabel(at+".label", f.Label, MaxFieldLabel, false); err != nil {
		return err
	}
	for _, v := range []float64{f.X, f.Y, f.W, f.H} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return invalid("%s: x, y, width and height must be finite numbers", at)
		}
	}
	if f.W < minFieldSide || f.H < minFieldSide {
		return invalid("%s: width and height must be at least %d points", at, minFieldSide)
	}
	ps, err := sizes(f.DocumentID)
	if err != nil {
		return err
	}
	if f.Page < 1 || f.Page > len(ps) {
		return invalid("%s: page must be between 1 and %d, the document's pages", at, len(ps))
	}
	p := ps[f.Page-1]
	if f.X < 0 || f.Y < 0 || f.X+f.W > p.Width || f.Y+f.H > p.Height {
		return invalid("%s: the box must lie inside page %d (%s × %s points)", at, f.Page, num(p.Width), num(p.Height))
	}
	return nil
}

// checkFieldCounts refuses more fields of one signer on one document
// than one signature shows ([pades.MaxWidgets]).
func checkFieldCounts(fs []Field) error {
	n := map[[2]string]int{}
	for i, f := range fs {
		k := [2]string{f.DocumentID, f.RecipientID}
		if n[k]++; n[k] > pades.MaxWidgets {
			return invalid("fields[%d]: a signer has at most %d fields on one document", i, pades.MaxWidgets)
		}
	}
	return nil
}

// fieldsFromCreate resolves and checks the fields of a create request
// against the new envelope e.
func (s *Service) fieldsFromCreate(ctx context.Context, e *Envelope, in []FieldInput) ([]Field, error) {
	if len(in) > MaxFields {
		return nil, invalid("an envelope holds at most %d fields", MaxFields)
	}
	return s.placed(ctx, e, len(in), func(i int) (Field, error) {
		fi := in[i]
		if fi.Recipient == nil || *fi.Recipient < 0 || *fi.Recipient >= len(e.Recipients) {
			return Field{}, invalid("fields[%d]: recipient must be the index (from 0) of one of the recipients", i)
		}
		return Field{
			DocumentID: fi.Document, RecipientID: e.Recipients[*fi.Recipient].ID, Kind: fi.Kind, Page: fi.Page,
			X: fi.X, Y: fi.Y, W: fi.Width, H: fi.Height, Required: fi.Required, Label: strings.TrimSpace(fi.Label),
		}, nil
	})
}

// placed builds the n fields of e that field(i) describes, checks each
// against e and its pages, gives each an id and checks the counts.
func (s *Service) placed(ctx context.Context, e *Envelope, n int, field func(i int) (Field, error)) ([]Field, error) {
	sizes := s.sizesOf(ctx, e)
	out := make([]Field, 0, n)
	for i := range n {
		f, err := field(i)
		if err != nil {
			return nil, err
		}
		if err := checkField(i, e, &f, sizes); err != nil {
			return nil, err
		}
		if f.ID, err = s.newID("fld_"); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if err := checkFieldCounts(out); err != nil {
		return nil, err
	}
	return out, nil
}

// PlaceFields replaces all the fields of the acting tenant's draft
// envelope id by in, and records envelope.fields_placed with their
// number and [PlacementDigest]. Each field names a document of the
// envelope, a signer of it, a page of the document and a box inside it
// ([ErrInvalid] with the field's index otherwise). Once sent, an
// envelope's fields no longer change ([ErrInvalidTransition]).
func (s *Service) PlaceFields(ctx context.Context, a Actor, id string, in []PlacedFieldInput) (*Envelope, error) {
	if len(in) > MaxFields {
		return nil, invalid("an envelope holds at most %d fields", MaxFields)
	}
	return s.mutate(ctx, a, id, func(e *Envelope) (*change, error) {
		if e.Status != StatusDraft {
			return nil, withDetail(ErrInvalidTransition, "fields are placed on draft envelopes only; this one is "+string(e.Status), nil)
		}
		fs, err := s.placed(ctx, e, len(in), func(i int) (Field, error) {
			fi := in[i]
			return Field{
				DocumentID: fi.DocumentID, RecipientID: fi.RecipientID, Kind: fi.Kind, Page: fi.Page,
				X: fi.X, Y: fi.Y, W: fi.Width, H: fi.Height, Required: fi.Required, Label: strings.TrimSpace(fi.Label),
			}, nil
		})
		if err != nil {
			return nil, err
		}
		e.Fields = fs
		details := map[string]string{}
		placementDetails(fs, details)
		return &change{audit: audit{typ: EventEnvelopeFieldsPlaced, details: details}}, nil
	})
}

// sizesOf returns a memoized lookup of the page sizes of e's documents
// (as uploaded).
func (s *Service) sizesOf(ctx context.Context, e *Envelope) func(docID string) ([]PageSize, error) {
	memo := map[string][]PageSize{}
	return func(docID string) ([]PageSize, error) {
		if ps, ok := memo[docID]; ok {
			return ps, nil
		}
		d := e.Document(docID)
		if d == nil {
			return nil, withDetail(ErrNotFound, "no document "+quoteID(docID)+" in the envelope", nil)
		}
		ps, err := s.PageSizes(ctx, e.Tenant, d.OriginalSHA256)
		if err != nil {
			return nil, err
		}
		memo[docID] = ps
		return ps, nil
	}
}

// pageCacheSize bounds the page sizes [Service.PageSizes] remembers.
const pageCacheSize = 512

// pageCache remembers the page sizes of contents, which never change.
type pageCache struct {
	mu sync.Mutex
	m  map[string][]PageSize
}

func (c *pageCache) get(k string) ([]PageSize, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.m[k]
	return ps, ok
}

func (c *pageCache) put(k string, ps []PageSize) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= pageCacheSize {
		c.m = make(map[string][]PageSize, pageCacheSize)
	}
	c.m[k] = ps
}

// PageSizes returns the page sizes of tenant's content sum (a document
// version), read from the PDF within the decoding budget and remembered.
// Callers must not change the slice.
func (s *Service) PageSizes(ctx context.Context, tenant, sum string) ([]PageSize, error) {
	key := tenant + "/" + sum
	if ps, ok := s.pages.get(key); ok {
		return ps, nil
	}
	rd, size, err := s.OpenContent(ctx, tenant, sum)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	ps, err := readPageSizes(rd, size, s.cfg.MaxDecodedSize)
	if err != nil {
		return nil, err
	}
	s.pages.put(key, ps)
	return ps, nil
}

// readPageSizes reads the page boxes of the PDF in ra.
func readPageSizes(ra io.ReaderAt, size, budget int64) ([]PageSize, error) {
	r, err := pdf.Open(ra, size, pdf.WithBudget(budget))
	if err != nil {
		return nil, malformed("the document's cross-reference data is unreadable", err)
	}
	boxes, err := r.PageBoxes(maxFieldPages)
	if errors.Is(err, pdf.ErrPageLimit) {
		return nil, invalid("the document has more than %d pages", maxFieldPages)
	}
	if err != nil {
		return nil, malformed("the document's page boxes are unreadable: "+err.Error(), err)
	}
	ps := make([]PageSize, len(boxes))
	for i, b := range boxes {
		ps[i] = PageSize{Number: i + 1, Width: b.Width(), Height: b.Height(), Rotate: b.Rotate, Left: b.Left, Bottom: b.Bottom}
	}
	return ps, nil
}

// DocumentPages returns the page sizes of the acting tenant's document
// id.
func (s *Service) DocumentPages(ctx context.Context, a Actor, id string) ([]PageSize, error) {
	d, err := s.Document(ctx, a, id)
	if err != nil {
		return nil, err
	}
	return s.PageSizes(ctx, d.Tenant, d.SHA256)
}

// WithPageSizes sets the PageSizes of each of e's documents (as
// uploaded), for showing it.
func (s *Service) WithPageSizes(ctx context.Context, e *Envelope) error {
	for i := range e.Documents {
		d := &e.Documents[i]
		ps, err := s.PageSizes(ctx, e.Tenant, d.OriginalSHA256)
		if err != nil {
			return err
		}
		d.PageSizes = ps
	}
	return nil
}

// EventEnvelopeFieldsPlaced is recorded when a draft's fields are
// replaced ([Service.PlaceFields]).
const EventEnvelopeFieldsPlaced = auditlog.EnvelopeFieldsPlaced
