package anchor

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/signet-pki/signet/auditlog"
)

// IndexFile is the name of [FileSink]'s append-only index.
const IndexFile = "checkpoints.log"

// checkpointExt ends the names of [FileSink]'s checkpoint files.
const checkpointExt = ".checkpoint"

// FileSink is a [Sink] in a directory. Put writes each checkpoint note to
// "<Dir>/<size>.checkpoint", created with O_EXCL (it is never overwritten)
// and mode 0400 (read-only, its owner's only), and appends the line
// "<size> <base64 of the note>" to "<Dir>/checkpoints.log" (0600), opened
// with O_APPEND. The file, the index and the directory are fsynced before
// Put returns.
//
// # Making it write-once
//
// The file modes stop mistakes, not the operator: a root user on the same
// machine can rewrite anything. Point Dir at storage the log's operator
// cannot rewrite:
//
//   - a separate machine or mount exported to the log host without delete
//     rights, e.g. an NFS export whose server marks files immutable;
//   - on Linux, "chattr +a" on the directory (files can be created, not
//     removed or renamed) and on checkpoints.log (append only), set by an
//     administrator other than the log's operator, since removing the flag
//     needs CAP_LINUX_IMMUTABLE; a periodic "chattr +i" on new checkpoint
//     files completes it;
//   - object storage with a retention lock (see the S3 Object Lock sketch
//     on [Sink]), synchronized from this directory or as its own Sink.
//
// A Put interrupted by a crash may leave a short checkpoint file; the next
// Put of that size then fails with [ErrExists] and the file needs an
// administrator's look. A retried Put of an identical checkpoint succeeds
// and appends its index line again, so the index may repeat a line.
type FileSink struct {
	// Dir is the directory; it must exist.
	Dir string

	mu sync.Mutex // serializes index appends
}

var _ Sink = (*FileSink)(nil)

// Put stores cp in its own file and appends it to the index; the locator
// is the file's path. cp.Note must be a checkpoint note of size cp.Size.
func (s *FileSink) Put(ctx context.Context, cp auditlog.Checkpoint) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	_, c, err := checkpointBody(cp.Note)
	if err != nil {
		return "", err
	}
	if c.Size != cp.Size {
		return "", fmt.Errorf("%w: checkpoint note has size %d, record says %d", ErrMalformed, c.Size, cp.Size)
	}
	path := filepath.Join(s.Dir, fmt.Sprintf("%d%s", cp.Size, checkpointExt))
	if err := createOnce(path, cp.Note); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	line := fmt.Sprintf("%d %s\n", cp.Size, base64.StdEncoding.EncodeToString(cp.Note))
	if err := appendSync(filepath.Join(s.Dir, IndexFile), []byte(line)); err != nil {
		return "", err
	}
	if err := syncDir(s.Dir); err != nil {
		return "", err
	}
	return path, nil
}

// Latest returns the checkpoint file with the largest size. Its Time is the
// file's modification time.
func (s *FileSink) Latest(ctx context.Context) (auditlog.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return auditlog.Checkpoint{}, err
	}
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return auditlog.Checkpoint{}, fmt.Errorf("anchor: read sink directory: %w", err)
	}
	best, name := int64(-1), ""
	for _, e := range entries {
		stem, ok := strings.CutSuffix(e.Name(), checkpointExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		n, err := parseSize(stem)
		if err != nil {
			continue
		}
		if n > best {
			best, name = n, e.Name()
		}
	}
	if best < 0 {
		return auditlog.Checkpoint{}, fmt.Errorf("anchor: sink %s: %w", s.Dir, auditlog.ErrNotFound)
	}
	path := filepath.Join(s.Dir, name)
	note, err := os.ReadFile(path)
	if err != nil {
		return auditlog.Checkpoint{}, fmt.Errorf("anchor: read %s: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return auditlog.Checkpoint{}, fmt.Errorf("anchor: stat %s: %w", path, err)
	}
	return auditlog.Checkpoint{Size: best, Note: note, Time: info.ModTime()}, nil
}

// createOnce creates path exclusively with mode 0400, writes data and syncs
// it. If path exists with the same content it succeeds; with other content
// it fails with ErrExists.
func createOnce(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if errors.Is(err, fs.ErrExist) {
		old, rerr := os.ReadFile(path)
		if rerr != nil {
			return fmt.Errorf("anchor: read existing %s: %w", path, rerr)
		}
		if !bytes.Equal(old, data) {
			return fmt.Errorf("%w: %s", ErrExists, path)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("anchor: create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("anchor: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("anchor: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("anchor: close %s: %w", path, err)
	}
	return nil
}

// appendSync appends data to path (created 0600 if missing) and syncs it.
func appendSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("anchor: open %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("anchor: append to %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("anchor: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("anchor: close %s: %w", path, err)
	}
	return nil
}

// syncDir fsyncs a directory so that new entries in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("anchor: open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("anchor: sync directory %s: %w", dir, err)
	}
	return nil
}
