package workflow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/webhook"
)

// maxNameLen bounds document names, subjects and similar labels.
const maxNameLen = 200

// Upload checks and stores a PDF read from body and returns its document
// row. The body is read into memory up to the size limit (larger is
// [ErrTooLarge]) and fully parsed within the decoding budget (see
// [ErrNotPDF], [ErrMalformedPDF], [ErrDecodeBudget], [ErrEncryptedPDF],
// [ErrCertifiedPDF], [ErrActiveContent]) before anything is written.
// Refusals of encrypted or active content and of decompression bombs are
// audited as denied uploads.
//
// Then the content is stored (sealed under the tenant's key if
// [Config.Keys] is set, see [Content]), the document.uploaded event is
// recorded and the row is inserted (with the content's, in one
// transaction), in that order: a failure after the content is stored
// leaves it unreferenced, which is harmless (contents are reachable only
// through tenant-scoped rows; identical content uploaded later by the
// same tenant reuses it) and which [Service.CollectGarbage] removes. The upload is checked in memory, and
// nothing of it is written in clear when Keys is set.
func (s *Service) Upload(ctx context.Context, a Actor, name string, body io.Reader) (*Document, error) {
	if a.Tenant == "" {
		return nil, withDetail(ErrInvalid, "documents belong to a tenant", nil)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "document.pdf"
	}
	if err := checkLabel("the document name", name, maxNameLen, true); err != nil {
		return nil, err
	}
	// A sealed content is named by its plaintext's SHA-256 before it is
	// sealed: hash it on the side while the body is read and checked.
	var hashing *sideHash
	var digest <-chan hash.Hash
	if s.cfg.Keys != nil {
		hashing = newSideHash()
		digest = hashing.sum
	}
	data, err := readBody(io.LimitReader(body, s.cfg.MaxDocumentSize+1), hashing)
	if err != nil {
		// An *http.MaxBytesError from the server's body limit stays
		// wrapped; api answers it with 413.
		return nil, fmt.Errorf("workflow: read upload: %w", err)
	}
	if int64(len(data)) > s.cfg.MaxDocumentSize {
		return nil, withDetail(ErrTooLarge, "the document exceeds "+strconv.FormatInt(s.cfg.MaxDocumentSize, 10)+" bytes", nil)
	}
	// At most cap(s.checks) checks run at once; the others wait here.
	select {
	case s.checks <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("workflow: waiting to check the upload: %w", ctx.Err())
	}
	info, err := checkPDF(bytes.NewReader(data), int64(len(data)), s.cfg.MaxDecodedSize)
	<-s.checks
	if err != nil {
		if errors.Is(err, ErrEncryptedPDF) || errors.Is(err, ErrActiveContent) || errors.Is(err, ErrDecodeBudget) {
			// A refused upload of possibly hostile content is worth an
			// audit record; its failure does not change the answer.
			_, _ = s.record(ctx, a, audit{
				typ: auditlog.DocumentUploaded, tenant: a.Tenant,
				subject: auditlog.Subject{DocumentSHA256: sha256Hex(data)},
				outcome: auditlog.OutcomeDenied, reason: problemType(err),
				details:   map[string]string{"size": strconv.Itoa(len(data))},
				sensitive: map[string]string{"name": name},
			})
		}
		return nil, err
	}
	id, err := s.newID("doc_")
	if err != nil {
		return nil, err
	}
	sum, content, unlock, err := s.storeContent(ctx, a.Tenant, data, digest)
	if err != nil {
		return nil, fmt.Errorf("workflow: store document: %w", err)
	}
	// The content's lock is held until the row references it; if the
	// upload fails before, a content stored for it alone is shredded.
	defer unlock()
	stored := false
	defer func() {
		if !stored {
			s.discardContent(ctx, content)
		}
	}()
	size := int64(len(data))
	d := &Document{ID: id, Tenant: a.Tenant, SHA256: sum, Size: size, Pages: info.Pages, Name: name, Created: s.now()}
	if _, err := s.record(ctx, a, audit{
		typ: auditlog.DocumentUploaded, tenant: a.Tenant,
		subject:   auditlog.Subject{DocumentSHA256: sum},
		details:   map[string]string{"document_id": id, "size": strconv.FormatInt(size, 10), "pages": strconv.Itoa(info.Pages)},
		sensitive: map[string]string{"name": name},
	}); err != nil {
		return nil, err
	}
	if content != nil {
		// The content's row and the document's, in one transaction; the
		// content store is not wrapped by the sealing of fields, so the
		// row is sealed here.
		row := d
		if sd, ok := s.cfg.Documents.(*sealedDocuments); ok {
			if row, err = sd.sealed(ctx, d); err != nil {
				return nil, err
			}
		}
		err = s.contents.InsertDocumentContent(ctx, row, content)
	} else {
		err = s.cfg.Documents.InsertDocument(ctx, d)
	}
	if err != nil {
		return nil, fmt.Errorf("workflow: insert document: %w", err)
	}
	stored = true
	s.notifyWebhook(ctx, a.Tenant, webhook.EventDocumentUploaded, map[string]any{"document_id": d.ID, "pages": d.Pages, "size": d.Size})
	return d, nil
}

// Document returns the metadata of the acting tenant's document id.
func (s *Service) Document(ctx context.Context, a Actor, id string) (*Document, error) {
	d, err := s.cfg.Documents.Document(ctx, a.Tenant, id)
	if errors.Is(err, ErrNoRecord) {
		s.auditProbe(ctx, a, id)
		return nil, withDetail(ErrNotFound, "no document "+quoteID(id), nil)
	}
	if err != nil {
		return nil, fmt.Errorf("workflow: document: %w", err)
	}
	return d, nil
}

// OpenDocument returns the content of the acting tenant's document id as
// uploaded, and records the download. The caller MUST close the reader.
func (s *Service) OpenDocument(ctx context.Context, a Actor, id string) (blob.Reader, *Document, error) {
	d, err := s.Document(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	rd, _, err := s.OpenContent(ctx, d.Tenant, d.SHA256)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.record(ctx, a, audit{
		typ: auditlog.DocumentDownloaded, tenant: a.Tenant,
		subject: auditlog.Subject{DocumentSHA256: d.SHA256},
		details: map[string]string{"document_id": d.ID},
	}); err != nil {
		rd.Close()
		return nil, nil, err
	}
	return rd, d, nil
}

// auditProbe records a denied access when id exists under another tenant:
// a cross-tenant probe is security-relevant, though the client only ever
// sees "not found".
func (s *Service) auditProbe(ctx context.Context, a Actor, id string) {
	if ok, err := s.cfg.Documents.DocumentExists(ctx, id); err != nil || !ok {
		return
	}
	_, _ = s.record(ctx, a, audit{
		typ: auditlog.DocumentDownloaded, tenant: a.Tenant,
		outcome: auditlog.OutcomeDenied, reason: "document of another tenant",
		details: map[string]string{"document_id": id},
	})
}

// OpenEnvelopeDocument returns the current version (after the signatures
// so far, or the sealed one) of document documentID of the acting
// tenant's envelope envelopeID, and records the download. The caller MUST
// close the reader.
func (s *Service) OpenEnvelopeDocument(ctx context.Context, a Actor, envelopeID, documentID string) (blob.Reader, *EnvelopeDocument, error) {
	e, err := s.load(ctx, a, envelopeID)
	if err != nil {
		return nil, nil, err
	}
	d := e.Document(documentID)
	if d == nil {
		return nil, nil, withDetail(ErrNotFound, "no document "+quoteID(documentID)+" in the envelope", nil)
	}
	rd, _, err := s.OpenContent(ctx, e.Tenant, d.SHA256)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.record(ctx, a, audit{
		typ: auditlog.DocumentDownloaded, tenant: e.Tenant,
		subject: auditlog.Subject{DocumentSHA256: d.SHA256, EnvelopeID: e.ID},
		details: map[string]string{"document_id": d.DocumentID},
	}); err != nil {
		rd.Close()
		return nil, nil, err
	}
	return rd, d, nil
}

// sideHash is a SHA-256 computed on its own goroutine of the pieces given
// to it, in order; sum yields it once done is called.
type sideHash struct {
	pieces chan []byte
	sum    chan hash.Hash
}

func newSideHash() *sideHash {
	h := &sideHash{pieces: make(chan []byte, 64), sum: make(chan hash.Hash, 1)}
	go func() {
		d := sha256.New()
		for p := range h.pieces {
			d.Write(p)
		}
		h.sum <- d
	}()
	return h
}

// readBody reads r into memory and returns its bytes. With h, each piece
// read goes to h as it arrives (and h is done at the end, error or not):
// a piece is never written again, since the buffer grows by moving what
// it holds to a new array, leaving the old one as it was.
func readBody(r io.Reader, h *sideHash) ([]byte, error) {
	if h != nil {
		defer close(h.pieces)
	}
	data := make([]byte, 0, 512)
	for {
		if len(data) == cap(data) {
			grown := make([]byte, len(data), 2*cap(data))
			copy(grown, data)
			data = grown
		}
		n, err := r.Read(data[len(data):cap(data)])
		if n > 0 {
			if h != nil {
				h.pieces <- data[len(data) : len(data)+n : len(data)+n]
			}
			data = data[:len(data)+n]
		}
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
