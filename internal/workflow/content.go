package workflow

import (
	"bytes"
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

// storeContent stores data as a content of tenant and returns its
// SHA-256, the content to insert with the document's row (nil without
// [Config.Keys]: data is then a plain blob) and the function that
// releases the content's lock, which the caller holds until the row
// references the content (so that no deletion shreds it in between).
// With Keys, digest yields a SHA-256 in the state after data.
func (s *Service) storeContent(ctx context.Context, tenant string, data []byte, digest <-chan hash.Hash) (string, *Content, func(), error) {
	if s.cfg.Keys == nil {
		sum, _, err := s.cfg.Blobs.Put(ctx, bytes.NewReader(data))
		return sum, nil, func() {}, err
	}
	h := <-digest
	sum := hex.EncodeToString(h.Sum(nil))
	unlock, err := s.locks.Lock(ctx, contentLockKey(tenant, sum))
	if err != nil {
		return "", nil, nil, err
	}
	c, err := s.sealContent(ctx, tenant, sum, h, int64(len(data)), bytes.NewReader(data), nil)
	if err != nil {
		unlock()
		return "", nil, nil, err
	}
	return sum, c, unlock, nil
}

// discardContent shreds the data key of c, which storeContent stored for
// an upload that then failed, unless c has a row (the upload reused a
// stored content). Its ciphertext, unreadable, is left to garbage
// collection. The caller holds the content's lock.
func (s *Service) discardContent(ctx context.Context, c *Content) {
	if c == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if _, err := s.contents.Content(ctx, c.Tenant, c.SHA256); !errors.Is(err, ErrNoRecord) {
		return
	}
	if err := s.cfg.Keys.Shred(ctx, c.Tenant, ContentObject(c.SHA256)); err != nil {
		s.log.WarnContext(ctx, "workflow: shredding the key of a failed upload's content failed", "content", c.SHA256, "error", err)
	}
}

// sealContent returns tenant's content sum, stored: the stored row if
// there is one (with Created set to now, for the caller to touch), else a
// new one whose ciphertext it stores, sealing the plaintext read from src
// (size bytes, after which the SHA-256 state is h) under the content's
// data key; atEOF, if not nil, is called once src is read, and its error
// stores nothing. The caller holds the content's lock and inserts the
// row ([ContentStore.InsertDocumentContent], or putContent).
func (s *Service) sealContent(ctx context.Context, tenant, sum string, h hash.Hash, size int64, src io.Reader, atEOF func() error) (*Content, error) {
	now := s.now()
	obj := ContentObject(sum)
	if c, err := s.contents.Content(ctx, tenant, sum); err == nil {
		if s.contentReadable(ctx, c) {
			c.Created = now
			return c, nil
		}
		// A content whose key is gone (a deletion interrupted between
		// the shredding and the row's deletion) is replaced, unless
		// something still names it: then it stays unreadable.
		used, err := s.contents.ContentUsed(ctx, tenant, sum)
		if err != nil {
			return nil, fmt.Errorf("workflow: content: %w", err)
		}
		if used {
			return nil, fmt.Errorf("workflow: content %s of tenant %s cannot be read", sum, tenant)
		}
		if err := s.contents.DeleteContent(ctx, tenant, sum); err != nil {
			return nil, fmt.Errorf("workflow: content: %w", err)
		}
	} else if !errors.Is(err, ErrNoRecord) {
		return nil, fmt.Errorf("workflow: content: %w", err)
	}
	kek, err := s.cfg.Keys.ObjectKEK(ctx, tenant, obj, true)
	if err != nil {
		return nil, fmt.Errorf("workflow: content key: %w", err)
	}
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("workflow: content digest state: %w", err)
	}
	sealedState, err := dataseal.Seal(ctx, kek, contentAD(tenant, sum, FieldSHA256State), state, rand.Reader)
	clear(state)
	if err != nil {
		return nil, fmt.Errorf("workflow: seal content: %w", err)
	}
	if atEOF != nil {
		src = &checkAtEOF{r: src, check: atEOF}
	}
	// The blob store hashes and writes the ciphertext while the next
	// segments are sealed, on the sealing reader's goroutine.
	sr, err := dataseal.NewSealingReader(ctx, kek, contentAD(tenant, sum, FieldPDF), src, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("workflow: seal content: %w", err)
	}
	name, _, err := s.cfg.Blobs.Put(ctx, sr)
	sr.Close()
	if err != nil {
		return nil, fmt.Errorf("workflow: store content: %w", err)
	}
	return &Content{Tenant: tenant, SHA256: sum, Blob: name, Size: size, State: sealedState, Created: now}, nil
}

// checkAtEOF reads r and, at its end, returns check's error instead of
// io.EOF if check fails.
type checkAtEOF struct {
	r     io.Reader
	check func() error
	err   error
}

func (c *checkAtEOF) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	if err == io.EOF {
		if cerr := c.check(); cerr != nil {
			err = cerr
		}
		c.err = err
	}
	return n, err
}

// putContent stores the row of c as sealContent returned it: a new one,
// or the stored one touched.
func (s *Service) putContent(ctx context.Context, c *Content) error {
	inserted, err := s.contents.InsertContent(ctx, c)
	if err == nil && !inserted {
		err = s.contents.TouchContent(ctx, c.Tenant, c.SHA256, c.Created)
	}
	if err != nil {
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
	return &sealedReader{ra: ra, raw: raw, size: c.Size}, c.Size, nil
}

// sealedReader is a [blob.Reader] of a sealed content's plaintext. ReadAt
// and short runs of Read (a PDF reader's) go through the ReaderAt's
// segment cache; once Read has read a segment's worth sequentially (a
// download), it switches to a [dataseal.StreamReader], which decrypts the
// next segments on its own goroutine while the caller sends these.
type sealedReader struct {
	ra   *dataseal.ReaderAt
	raw  io.Closer
	size int64
	pos  int64
	seq  int64                  // bytes read sequentially since the last move
	st   *dataseal.StreamReader // reading at pos, once seq reached a segment
}

// Read implements io.Reader.
func (r *sealedReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if r.st == nil && r.seq >= dataseal.SegmentSize {
		r.st = r.ra.Stream(r.pos)
	}
	var n int
	var err error
	if r.st != nil {
		n, err = r.st.Read(p)
	} else {
		if rest := r.size - r.pos; int64(len(p)) > rest {
			p = p[:rest]
		}
		n, err = r.ra.ReadAt(p, r.pos)
	}
	r.pos += int64(n)
	r.seq += int64(n)
	if err == io.EOF && r.pos < r.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// WriteTo implements io.WriterTo: the rest, through a
// [dataseal.StreamReader].
func (r *sealedReader) WriteTo(w io.Writer) (int64, error) {
	if r.pos >= r.size {
		return 0, nil
	}
	if r.st == nil {
		r.st = r.ra.Stream(r.pos)
	}
	n, err := r.st.WriteTo(w)
	r.pos += n
	r.seq += n
	return n, err
}

// Seek implements io.Seeker.
func (r *sealedReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("workflow: seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("workflow: seek: negative position")
	}
	if offset != r.pos {
		if r.st != nil {
			r.st.Close()
			r.st = nil
		}
		r.pos, r.seq = offset, 0
	}
	return offset, nil
}

// ReadAt implements io.ReaderAt.
func (r *sealedReader) ReadAt(p []byte, off int64) (int, error) { return r.ra.ReadAt(p, off) }

// Close stops the stream, if any, and closes the ciphertext's reader.
func (r *sealedReader) Close() error {
	if r.st != nil {
		r.st.Close()
		r.st = nil
	}
	return r.raw.Close()
}

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
	check := sha256.New()
	src := io.TeeReader(io.MultiReader(io.NewSectionReader(rd, 0, size), bytes.NewReader(tb)), check)
	c, err := s.sealContent(ctx, tenant, sum, h, total, src, func() error {
		if got := hex.EncodeToString(check.Sum(nil)); got != sum {
			return fmt.Errorf("workflow: content %s and its digest state disagree", base)
		}
		return nil
	})
	if err == nil {
		err = s.putContent(ctx, c)
	}
	if err != nil {
		return "", 0, err
	}
	return sum, total, nil
}
