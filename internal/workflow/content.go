package workflow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/keys/dataseal"
)

// Fields of a content's object (see [ContentObject]).
const (
	// FieldPDF is the AD field of a content's ciphertext.
	FieldPDF = "pdf"
	// FieldSHA256State is the AD field of a content's sealed SHA-256
	// state ([Content.State]).
	FieldSHA256State = "sha256_state"
)

// MaxAppendSize bounds the bytes [Service.AppendContent] appends at once
// (a signature's or a seal's incremental update), which it holds in
// memory.
const MaxAppendSize = 64 << 20

// ContentObject returns the [KeyRing] object of the content whose
// plaintext has SHA-256 sha256: "content:<sha256>".
func ContentObject(sha256 string) string { return "content:" + sha256 }

// Contents is access to the tenants' document contents by their SHA-256:
// what the signing side and the seal read and write. *Service
// implements it.
type Contents interface {
	// OpenContent returns a reader of tenant's content sha256 and its
	// size. The caller MUST close it.
	OpenContent(ctx context.Context, tenant, sha256 string) (blob.Reader, int64, error)
	// ContentDigest returns a SHA-256 in the state after tenant's content
	// sha256.
	ContentDigest(ctx context.Context, tenant, sha256 string) (hash.Hash, error)
	// AppendContent stores tenant's content base followed by what tail
	// yields as a new content and returns its SHA-256 and size.
	AppendContent(ctx context.Context, tenant, base string, tail io.Reader) (string, int64, error)
}

var _ Contents = (*Service)(nil)

func contentLockKey(tenant, sha string) string { return "content/" + tenant + "/" + sha }

func contentAD(tenant, sha, field string) dataseal.AD {
	return dataseal.AD{Tenant: tenant, Object: ContentObject(sha), Field: field}
}

// storeContent stores data as a content of tenant and returns its SHA-256
// and the function that releases the content's lock, which the caller
// holds until a row references the content (so that no deletion shreds
// it in between).
func (s *Service) storeContent(ctx context.Context, tenant string, data []byte) (string, func(), error) {
	if s.cfg.Keys == nil {
		sum, _, err := s.cfg.Blobs.Put(ctx, &sliceReader{b: data})
		return sum, func() {}, err
	}
	h := sha256.New()
	h.Write(data)
	sum := hex.EncodeToString(h.Sum(nil))
	unlock, err := s.locks.Lock(ctx, contentLockKey(tenant, sum))
	if err != nil {
		return "", nil, err
	}
	err = s.sealContent(ctx, tenant, sum, h, int64(len(data)), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		unlock()
		return "", nil, err
	}
	return sum, unlock, nil
}

// sliceReader reads a slice without exposing it through WriterTo, so
// that a blob store copies it through its own buffer.
type sliceReader struct {
	b   []byte
	off int
}

func (r *sliceReader) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

// sealContent stores, as tenant's content sum, the plaintext that write
// writes (size bytes, after which the SHA-256 state is h) sealed under the
// content's data key, unless tenant has that content already, in which
// case it refreshes its time. The caller holds the content's lock.
func (s *Service) sealContent(ctx context.Context, tenant, sum string, h hash.Hash, size int64, write func(io.Writer) error) error {
	now := s.now()
	obj := ContentObject(sum)
	if c, err := s.contents.Content(ctx, tenant, sum); err == nil {
		if s.contentReadable(ctx, c) {
			return s.contents.TouchContent(ctx, tenant, sum, now)
		}
		// A content whose key is gone (a deletion interrupted between
		// the shredding and the row's deletion) is replaced, unless
		// something still names it: then it stays unreadable.
		used, err := s.contents.ContentUsed(ctx, tenant, sum)
		if err != nil {
			return fmt.Errorf("workflow: content: %w", err)
		}
		if used {
			return fmt.Errorf("workflow: content %s of tenant %s cannot be read", sum, tenant)
		}
		if err := s.contents.DeleteContent(ctx, tenant, sum); err != nil {
			return fmt.Errorf("workflow: content: %w", err)
		}
	} else if !errors.Is(err, ErrNoRecord) {
		return fmt.Errorf("workflow: content: %w", err)
	}
	kek, err := s.cfg.Keys.ObjectKEK(ctx, tenant, obj, true)
	if err != nil {
		return fmt.Errorf("workflow: content key: %w", err)
	}
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return fmt.Errorf("workflow: content digest state: %w", err)
	}
	sealedState, err := dataseal.Seal(ctx, kek, contentAD(tenant, sum, FieldSHA256State), state, rand.Reader)
	clear(state)
	if err != nil {
		return fmt.Errorf("workflow: seal content: %w", err)
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		w, err := dataseal.NewWriter(ctx, kek, contentAD(tenant, sum, FieldPDF), pw, rand.Reader)
		if err == nil {
			err = write(w)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
		pw.CloseWithError(err)
	}()
	name, _, err := s.cfg.Blobs.Put(ctx, pr)
	pr.CloseWithError(errors.New("workflow: content store stopped reading"))
	<-done
	if err != nil {
		return fmt.Errorf("workflow: store content: %w", err)
	}
	if _, err := s.contents.InsertContent(ctx, &Content{Tenant: tenant, SHA256: sum, Blob: name, Size: size, State: sealedState, Created: now}); err != nil {
		return fmt.Errorf("workflow: insert content: %w", err)
	}
	return nil
}

// contentReadable reports whether c's key is there: its sealed state
// opens.
func (s *Service) contentReadable(ctx context.Context, c *Content) bool {
	_, err := s.contentState(ctx, c)
	return err == nil
}

// contentState opens c's SHA-256 state.
func (s *Service) contentState(ctx context.Context, c *Content) (hash.Hash, error) {
	kek, err := s.cfg.Keys.ObjectKEK(ctx, c.Tenant, ContentObject(c.SHA256), false)
	if err != nil {
		return nil, fmt.Errorf("workflow: content key: %w", err)
	}
	state, err := dataseal.Open(ctx, kek, contentAD(c.Tenant, c.SHA256, FieldSHA256State), c.State)
	if err != nil {
		return nil, fmt.Errorf("workflow: content digest state: %w", err)
	}
	defer clear(state)
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("workflow: content digest state: %w", err)
	}
	return h, nil
}

// OpenContent implements [Contents]. With [Config.Keys] set, a content
// stored sealed is read through its tenant's key, with random access
// that authenticates each segment it reads ([dataseal.NewReaderAt]); a
// version stored before sealing was configured (no content row) is read
// as the plain blob it is.
func (s *Service) OpenContent(ctx context.Context, tenant, sha256 string) (blob.Reader, int64, error) {
	if s.cfg.Keys != nil {
		c, err := s.contents.Content(ctx, tenant, sha256)
		switch {
		case err == nil:
			return s.openSealed(ctx, c)
		case !errors.Is(err, ErrNoRecord):
			return nil, 0, fmt.Errorf("workflow: content: %w", err)
		}
	}
	rd, size, err := s.cfg.Blobs.Open(ctx, sha256)
	if err != nil {
		return nil, 0, fmt.Errorf("workflow: open document content: %w", err)
	}
	return rd, size, nil
}

func (s *Service) openSealed(ctx context.Context, c *Content) (blob.Reader, int64, error) {
	kek, err := s.cfg.Keys.ObjectKEK(ctx, c.Tenant, ContentObject(c.SHA256), false)
	if err != nil {
		return nil, 0, fmt.Errorf("workflow: content key: %w", err)
	}
	raw, rawSize, err := s.cfg.Blobs.Open(ctx, c.Blob)
	if err != nil {
		return nil, 0, fmt.Errorf("workflow: open document content: %w", err)
	}
	ra, err := dataseal.NewReaderAt(ctx, kek, contentAD(c.Tenant, c.SHA256, FieldPDF), raw, rawSize)
	if err == nil && ra.Size() != c.Size {
		err = fmt.Errorf("workflow: content %s holds %d bytes, its row says %d", c.SHA256, ra.Size(), c.Size)
	}
	if err != nil {
		raw.Close()
		return nil, 0, fmt.Errorf("workflow: open document content: %w", err)
	}
	return &sealedReader{SectionReader: io.NewSectionReader(ra, 0, c.Size), raw: raw}, c.Size, nil
}

// sealedReader is a [blob.Reader] of a sealed content's plaintext.
type sealedReader struct {
	*io.SectionReader
	raw io.Closer
}

// Close closes the ciphertext's reader.
func (r *sealedReader) Close() error { return r.raw.Close() }

// ContentDigest implements [Contents]: the state kept (sealed) with the
// content, or the blob store's for a plain one.
func (s *Service) ContentDigest(ctx context.Context, tenant, sha256 string) (hash.Hash, error) {
	if s.cfg.Keys != nil {
		c, err := s.contents.Content(ctx, tenant, sha256)
		switch {
		case err == nil:
			return s.contentState(ctx, c)
		case !errors.Is(err, ErrNoRecord):
			return nil, fmt.Errorf("workflow: content: %w", err)
		}
	}
	h, err := s.cfg.Blobs.Digest(ctx, sha256)
	if err != nil {
		return nil, fmt.Errorf("workflow: document digest: %w", err)
	}
	return h, nil
}

// AppendContent implements [Contents]. Without [Config.Keys] the new
// version is a revision of base in the blob store ([blob.Store.Append]).
// With them it is a content of its own, sealed under its own key: the
// tail (at most [MaxAppendSize] bytes) is read into memory, the new
// SHA-256 follows from base's state, and base's plaintext is streamed,
// a segment at a time, with the tail into the new ciphertext, whose
// plaintext is checked against that hash before it is stored.
func (s *Service) AppendContent(ctx context.Context, tenant, base string, tail io.Reader) (string, int64, error) {
	if s.cfg.Keys == nil {
		return s.cfg.Blobs.Append(ctx, base, tail)
	}
	tb, err := io.ReadAll(io.LimitReader(tail, MaxAppendSize+1))
	if err != nil {
		return "", 0, fmt.Errorf("workflow: read appended content: %w", err)
	}
	if len(tb) > MaxAppendSize {
		return "", 0, fmt.Errorf("workflow: appended content exceeds %d bytes", MaxAppendSize)
	}
	h, err := s.ContentDigest(ctx, tenant, base)
	if err != nil {
		return "", 0, err
	}
	h.Write(tb)
	sum := hex.EncodeToString(h.Sum(nil))
	rd, size, err := s.OpenContent(ctx, tenant, base)
	if err != nil {
		return "", 0, err
	}
	defer rd.Close()
	unlock, err := s.locks.Lock(ctx, contentLockKey(tenant, sum))
	if err != nil {
		return "", 0, err
	}
	defer unlock()
	total := size + int64(len(tb))
	err = s.sealContent(ctx, tenant, sum, h, total, func(w io.Writer) error {
		check := sha256.New()
		mw := io.MultiWriter(w, check)
		buf := make([]byte, dataseal.SegmentSize)
		if _, err := io.CopyBuffer(mw, io.NewSectionReader(rd, 0, size), buf); err != nil {
			return fmt.Errorf("workflow: read content %s: %w", base, err)
		}
		if _, err := mw.Write(tb); err != nil {
			return err
		}
		if got := hex.EncodeToString(check.Sum(nil)); got != sum {
			return fmt.Errorf("workflow: content %s and its digest state disagree", base)
		}
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	return sum, total, nil
}
