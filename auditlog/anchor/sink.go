package anchor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
)

// A Sink keeps a write-once copy of every published checkpoint outside the
// log's own storage, so that a log rolled back or rewritten by its operator
// can be told apart from the history it published.
//
// # Contract
//
// Put MUST store cp durably before returning and MUST NOT replace a stored
// checkpoint: putting a different checkpoint for a size already stored
// fails with an error wrapping [ErrExists]; putting the identical
// checkpoint again succeeds and returns the same locator. Latest MUST return
// the stored checkpoint with the largest size, or an error wrapping
// [auditlog.ErrNotFound] when the sink is empty. Implementations are safe
// for concurrent use.
//
// # Implementations
//
// [FileSink] writes files. An object store with a retention lock fits the
// same contract; a sketch for Amazon S3 Object Lock (not built):
//
//   - The bucket is created with Object Lock enabled and a default retention
//     in compliance mode (for example ten years), so that no account, the
//     root account included, can delete or overwrite an object version
//     before its retention ends. The log's credentials allow s3:PutObject
//     and s3:GetObject only.
//   - Put writes key "checkpoints/<size zero-padded to 20 digits>" with
//     header "If-None-Match: *" (conditional write: 412 when the key
//     exists, mapped to [ErrExists] after comparing the stored object),
//     Content-MD5, and x-amz-object-lock-mode / retain-until-date set
//     explicitly. The locator is "s3://bucket/key?versionId=...".
//   - Latest lists "checkpoints/" and reads the last key; the zero padding
//     makes lexical order numeric order.
//   - Versioning (required by Object Lock) keeps even a conditional-write
//     race visible: every version stays readable until retention ends.
type Sink interface {
	// Put stores cp and returns a locator naming where.
	Put(ctx context.Context, cp auditlog.Checkpoint) (locator string, err error)
	// Latest returns the stored checkpoint with the largest size.
	Latest(ctx context.Context) (auditlog.Checkpoint, error)
}

// SinkAnchorer anchors each checkpoint by putting it into a [Sink]; the
// anchor (kind [KindSink]) records the locator.
type SinkAnchorer struct {
	// Sink receives the checkpoints.
	Sink Sink
	// Name names the sink in anchors, e.g. "file:/var/lib/signet-worm".
	Name string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Anchor puts cp into the sink and returns an anchor of kind [KindSink]
// whose Data is the locator. prev and proof are unused.
func (s *SinkAnchorer) Anchor(ctx context.Context, cp, _ auditlog.Checkpoint, _ tlog.TreeProof) ([]auditlog.Anchor, error) {
	if s.Sink == nil {
		return nil, errors.New("anchor: SinkAnchorer has no Sink")
	}
	loc, err := s.Sink.Put(ctx, cp)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return []auditlog.Anchor{{Size: cp.Size, Kind: KindSink, Name: s.Name, Data: []byte(loc), Time: now()}}, nil
}

// VerifySink compares the sink's latest checkpoint with the log's
// checkpoints cps (as returned by [auditlog.Storage.Checkpoints]). It
// returns nil when the sink is empty or its latest checkpoint is one of
// cps, byte for byte. It returns an error wrapping [ErrRollback] when the
// sink's latest size is larger than every checkpoint of the log (the log was
// truncated or restored from an old backup), and one wrapping [ErrForked]
// when the log holds a different checkpoint of that size, or none at all
// (it was rewritten).
func VerifySink(ctx context.Context, s Sink, cps []auditlog.Checkpoint) error {
	latest, err := s.Latest(ctx)
	if errors.Is(err, auditlog.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("anchor: read sink: %w", err)
	}
	var maxSize int64 = -1
	for _, cp := range cps {
		maxSize = max(maxSize, cp.Size)
		if cp.Size != latest.Size {
			continue
		}
		if !bytes.Equal(cp.Note, latest.Note) {
			return fmt.Errorf("%w: checkpoint %d differs between the log and the sink", ErrForked, latest.Size)
		}
		return nil
	}
	if latest.Size > maxSize {
		return fmt.Errorf("%w: sink holds checkpoint %d, the log's newest is %d", ErrRollback, latest.Size, maxSize)
	}
	return fmt.Errorf("%w: sink holds checkpoint %d, which the log lacks", ErrForked, latest.Size)
}
