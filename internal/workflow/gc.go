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

// gcBatch bounds the contents one query of garbage collection lists.
const gcBatch = 256

// CollectGarbage deletes what nothing references any more, sparing what
// was written or reused less than grace ago (by the service clock).
//
// First, with [Config.Keys] set, the sealed contents ([Content]) that no
// document or envelope document of their tenant uses and that were
// stored (or stored again) more than grace ago: each is shredded (its
// data key destroyed, [KeyRing.Shred]), then its row deleted, then its
// ciphertext; under the content's lock, after checking again that it is
// still unused and old.
//
// Then the blobs of bs that no document row or envelope document
// references by name (plain versions) and no content row names (sealed
// ones), that no kept blob extends (a signed plain version is stored as
// a revision of the version it signed, see [blob.Store]), and that were
// last written more than grace ago.
//
// The grace period spares what a request has just written and is about
// to reference (an upload between its content and its row, a signature
// between its new version and [Service.RecipientSigned]); it should
// exceed any request's duration, e.g. an hour. A blob's time is checked
// again just before it is deleted, since appending a revision to a blob
// touches it. It returns the number of blobs deleted.
func (s *Service) CollectGarbage(ctx context.Context, bs BlobCollector, grace time.Duration) (int, error) {
	cutoff := s.now().Add(-grace)
	n, err := s.collectContents(ctx, bs, cutoff)
	if err != nil {
		return n, fmt.Errorf("workflow: collect garbage: %w", err)
	}
	m, err := s.collectBlobs(ctx, bs, cutoff)
	return n + m, err
}

// collectContents shreds and deletes the unused contents stored before
// cutoff, and their ciphertexts.
func (s *Service) collectContents(ctx context.Context, bs BlobCollector, cutoff time.Time) (int, error) {
	if s.cfg.Keys == nil || s.contents == nil {
		return 0, nil
	}
	n := 0
	for {
		batch, err := s.contents.UnusedContents(ctx, cutoff, gcBatch)
		if err != nil {
			return n, err
		}
		dropped := 0
		for _, c := range batch {
			ok, err := s.dropContent(ctx, c.Tenant, c.SHA256, &cutoff)
			if err != nil {
				return n, err
			}
			if !ok {
				continue
			}
			dropped++
			if used, err := s.contents.ContentBlobReferenced(ctx, c.Blob); err != nil || used {
				if err != nil {
					return n, err
				}
				continue
			}
			if err := bs.Delete(ctx, c.Blob); err != nil {
				return n, err
			}
			n++
		}
		if len(batch) < gcBatch || dropped == 0 {
			return n, nil
		}
	}
}

// dropContent shreds tenant's content sha and deletes its row if no
// document or envelope document of tenant uses it and, if stored is not
// nil, it was stored before *stored; it reports whether it did. The
// ciphertext stays in the blob store, unreadable, until garbage
// collection deletes it. The data key goes first: an interruption leaves
// a row without a key, which nothing uses and which the next collection
// deletes.
func (s *Service) dropContent(ctx context.Context, tenant, sha string, stored *time.Time) (bool, error) {
	if s.cfg.Keys == nil || s.contents == nil {
		return false, nil
	}
	unlock, err := s.locks.Lock(ctx, contentLockKey(tenant, sha))
	if err != nil {
		return false, err
	}
	defer unlock()
	c, err := s.contents.Content(ctx, tenant, sha)
	if errors.Is(err, ErrNoRecord) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if stored != nil && !c.Created.Before(*stored) {
		return false, nil // stored again meanwhile
	}
	if used, err := s.contents.ContentUsed(ctx, tenant, sha); err != nil || used {
		return false, err
	}
	if err := s.cfg.Keys.Shred(ctx, tenant, ContentObject(sha)); err != nil {
		return false, fmt.Errorf("shred content %s: %w", sha, err)
	}
	if err := s.contents.DeleteContent(ctx, tenant, sha); err != nil {
		return false, err
	}
	s.log.InfoContext(ctx, "workflow: content shredded", "tenant", tenant, "sha256", sha)
	return true, nil
}

// collectBlobs deletes the unreferenced blobs written before cutoff.
func (s *Service) collectBlobs(ctx context.Context, bs BlobCollector, cutoff time.Time) (int, error) {
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
		if !used && s.contents != nil {
			if used, err = s.contents.ContentBlobReferenced(ctx, name); err != nil {
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
