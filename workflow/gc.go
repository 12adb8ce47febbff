package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/signet-pki/signet/blob"
)

// A BlobCollector is a blob store that can list its blobs and say when
// each was last written, which garbage collection needs. [blob.FS]
// implements it.
type BlobCollector interface {
	blob.Store
	Walk(ctx context.Context, fn func(name string) error) error
	ModTime(name string) (time.Time, error)
}

var _ BlobCollector = (*blob.FS)(nil)

// CollectGarbage deletes the blobs of bs that no document row or envelope
// document references and that were last written more than grace ago
// (by the service clock). The grace period spares blobs that a request
// has just written and is about to reference (an upload between its blob
// write and its row insert, a signature between its new version and
// [Service.RecipientSigned]); it should exceed any request's duration,
// e.g. an hour. It returns the number of blobs deleted.
//
// Superseded intermediate versions of signed documents are collected too:
// each later version contains them (incremental updates), and the current
// version is the one that is referenced.
func (s *Service) CollectGarbage(ctx context.Context, bs BlobCollector, grace time.Duration) (int, error) {
	cutoff := s.now().Add(-grace)
	n := 0
	err := bs.Walk(ctx, func(name string) error {
		mt, err := bs.ModTime(name)
		if err != nil || mt.After(cutoff) {
			return nil // gone meanwhile, or too recent
		}
		used, err := s.cfg.Documents.BlobReferenced(ctx, name)
		if err != nil {
			return err
		}
		if used {
			return nil
		}
		if err := bs.Delete(ctx, name); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("workflow: collect garbage: %w", err)
	}
	return n, nil
}
