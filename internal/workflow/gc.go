package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/blob"
)

// A BlobCollector is a blob store that can list its blobs, say when each
// was last written and which blob a revision extends, which garbage
// collection needs. [blob.FS] implements it.
type BlobCollector interface {
	blob.Store
	Walk(ctx context.Context, fn func(name string) error) error
	ModTime(name string) (time.Time, error)
	Base(name string) (string, error)
}

var _ BlobCollector = (*blob.FS)(nil)

// CollectGarbage deletes the blobs of bs that no document row or envelope
// document references, that no kept blob extends (a signed version is
// stored as a revision of the version it signed, see [blob.Store]), and
// that were last written more than grace ago (by the service clock). The
// grace period spares blobs that a request has just written and is about
// to reference (an upload between its blob write and its row insert, a
// signature between its new version and [Service.RecipientSigned]); it
// should exceed any request's duration, e.g. an hour. A blob's time is
// checked again just before it is deleted, since appending a revision to
// a blob touches it. It returns the number of blobs deleted.
func (s *Service) CollectGarbage(ctx context.Context, bs BlobCollector, grace time.Duration) (int, error) {
	cutoff := s.now().Add(-grace)
	var kept []string
	candidates := map[string]bool{}
	err := bs.Walk(ctx, func(name string) error {
		recent, err := recentBlob(bs, name, cutoff)
		if err != nil {
			return nil // gone meanwhile
		}
		used := recent
		if !used {
			if used, err = s.cfg.Documents.BlobReferenced(ctx, name); err != nil {
				return err
			}
		}
		if used {
			kept = append(kept, name)
		} else {
			candidates[name] = true
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("workflow: collect garbage: %w", err)
	}
	// Keep the chain under every kept blob.
	done := map[string]bool{}
	for _, name := range kept {
		for b := name; b != "" && !done[b]; {
			done[b] = true
			delete(candidates, b)
			next, err := bs.Base(b)
			if err != nil {
				if errors.Is(err, blob.ErrNotFound) {
					break
				}
				return 0, fmt.Errorf("workflow: collect garbage: %w", err)
			}
			b = next
		}
	}
	n := 0
	for name := range candidates {
		if recent, err := recentBlob(bs, name, cutoff); err != nil || recent {
			continue
		}
		if err := bs.Delete(ctx, name); err != nil {
			return n, fmt.Errorf("workflow: collect garbage: %w", err)
		}
		n++
	}
	return n, nil
}

// recentBlob reports whether blob name was written or touched after
// cutoff.
func recentBlob(bs BlobCollector, name string, cutoff time.Time) (bool, error) {
	mt, err := bs.ModTime(name)
	if err != nil {
		return false, err
	}
	return mt.After(cutoff), nil
}
