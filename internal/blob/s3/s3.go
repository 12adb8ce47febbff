// Package s3 stores Signet's documents in an S3-compatible object store
// (AWS S3, MinIO, Ceph RGW, ...), implementing [blob.Store] and the
// listing, modification time and base lookups that garbage collection
// needs (workflow.BlobCollector), for deployments whose documents outgrow
// the database. It speaks the S3 REST protocol itself (path-style URLs,
// AWS Signature Version 4), a few hundred lines instead of an SDK.
//
// # Objects
//
// Blob "abcd…" is the object PREFIX/blobs/abcd…, with user metadata:
// signet-size (the whole content's length), signet-state (base64 of
// crypto/sha256's marshaled state after the content), signet-touched (when
// the blob was last written, re-put or appended to; [Store.ModTime]) and,
// for a revision, signet-base, signet-base-size and signet-depth. A whole
// blob's object holds its content; a revision's holds only its tail, as
// [blob.FS] keeps a .rev file, and is read through its base's objects. A
// chain is at most 32 revisions deep; the next revision is stored whole.
//
// # Atomic, streamed writes
//
// A blob's name is known only once its content is read. Content of up to
// one part (8 MiB) is read into memory and PUT under its final key. Larger
// content is streamed, a part at a time, as a multipart upload to a
// temporary key PREFIX/tmp/RANDOM, which S3 makes visible only when the
// upload completes; it is then copied to its final key (a server-side
// copy: one request, atomic, at most 5 GB) and the temporary object
// deleted. A reader therefore sees a whole blob or none. When the content
// is already stored, the object is copied onto itself with a new
// signet-touched instead. A Put holds at most one part in memory. A
// process that dies mid-Put leaves a temporary object or an incomplete
// multipart upload, which the bucket's lifecycle rules should expire
// (AbortIncompleteMultipartUpload, and expiry under PREFIX/tmp/).
//
// [Store.Open] reads the chain's object metadata and returns a reader
// that fetches 1 MiB ranges on demand, keeping the last two.
package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/blob/internal/chunkread"
)

const (
	// partSize is the size of a multipart upload's parts (S3 wants at
	// least 5 MiB but the last), and the largest content PUT at once.
	partSize = 8 << 20
	// maxParts bounds a multipart upload (S3's limit is 10,000); with
	// partSize it allows the 5 GB a single copy can take.
	maxParts = 640
	// rangeSize is how much of an object a reader fetches at once.
	rangeSize = 1 << 20
	// maxDepth bounds a revision chain, as in blob.FS.
	maxDepth = 32
	// requestTimeout bounds one request.
	requestTimeout = 5 * time.Minute
)

// Config locates a bucket.
type Config struct {
	// Endpoint is the service's URL, e.g. https://s3.eu-central-1.amazonaws.com.
	Endpoint string
	// Region is the bucket's region, e.g. eu-central-1 (us-east-1 if empty).
	Region string
	// Bucket is the bucket's name.
	Bucket string
	// Prefix, if set, starts every key (e.g. "signet/").
	Prefix string
	// AccessKey and SecretKey are the credentials.
	AccessKey, SecretKey string
	// HTTPClient sends the requests; nil means a client whose requests
	// time out after five minutes.
	HTTPClient *http.Client
}

// Store is a [blob.Store] in an S3 bucket. It is safe for concurrent use,
// by several processes on one bucket too.
type Store struct {
	c      *client
	prefix string
	// Now returns the time stamped on blobs written, re-put or appended
	// to (see [Store.ModTime]); nil means time.Now.
	Now func() time.Time
}

var _ blob.Store = (*Store)(nil)

var (
	bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	keyPrefix  = regexp.MustCompile(`^[A-Za-z0-9/_.-]*$`)
)

// New returns a store in the bucket cfg names. It does not contact the
// service.
func New(cfg Config) (*Store, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return nil, errors.New("blob/s3: the endpoint must be an http(s) URL without credentials or query")
	}
	if !bucketName.MatchString(cfg.Bucket) {
		return nil, fmt.Errorf("blob/s3: invalid bucket name %q", cfg.Bucket)
	}
	if !keyPrefix.MatchString(cfg.Prefix) {
		return nil, fmt.Errorf("blob/s3: the prefix %q may hold only letters, digits and / _ . -", cfg.Prefix)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("blob/s3: no credentials")
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: requestTimeout}
	}
	s := &Store{prefix: cfg.Prefix}
	s.c = &client{endpoint: u, region: region, bucket: cfg.Bucket, accessKey: cfg.AccessKey,
		secretKey: cfg.SecretKey, http: hc, now: time.Now}
	return s, nil
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) key(name string) string { return s.prefix + "blobs/" + name }

// meta is a blob object's metadata.
type meta struct {
	size     int64 // the whole content's
	state    []byte
	touched  time.Time
	base     string
	baseSize int64
	depth    int
	objSize  int64 // the object's own length: the content, or the tail
}

const metaPrefix = "X-Amz-Meta-Signet-"

func (m *meta) header() http.Header {
	h := http.Header{}
	h.Set(metaPrefix+"Size", strconv.FormatInt(m.size, 10))
	h.Set(metaPrefix+"State", base64.StdEncoding.EncodeToString(m.state))
	h.Set(metaPrefix+"Touched", m.touched.UTC().Format(time.RFC3339Nano))
	if m.base != "" {
		h.Set(metaPrefix+"Base", m.base)
		h.Set(metaPrefix+"Base-Size", strconv.FormatInt(m.baseSize, 10))
		h.Set(metaPrefix+"Depth", strconv.Itoa(m.depth))
	}
	return h
}

// head reads blob name's metadata; an error wraps blob.ErrNotFound or
// blob.ErrCorrupt where that is the cause.
func (s *Store) head(ctx context.Context, name string) (*meta, error) {
	resp, err := s.c.do(ctx, request{method: http.MethodHead, key: s.key(name)})
	if errors.Is(err, errNoSuchKey) {
		return nil, fmt.Errorf("blob/s3: %w: %s", blob.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("blob/s3: %w", err)
	}
	resp.Body.Close()
	h := resp.Header
	corrupt := func(what string) (*meta, error) {
		return nil, fmt.Errorf("blob/s3: %w: %s has %s", blob.ErrCorrupt, name, what)
	}
	m := &meta{base: h.Get(metaPrefix + "Base")}
	var err1, err2 error
	m.size, err1 = strconv.ParseInt(h.Get(metaPrefix+"Size"), 10, 64)
	m.state, err2 = base64.StdEncoding.DecodeString(h.Get(metaPrefix + "State"))
	m.objSize = resp.ContentLength
	if err1 != nil || err2 != nil || m.size < 0 || m.objSize < 0 || stateLength(m.state) != m.size {
		return corrupt("unusable metadata")
	}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(metaPrefix+"Touched")); err == nil {
		m.touched = t
	} else if t, err := http.ParseTime(h.Get("Last-Modified")); err == nil {
		m.touched = t
	} else {
		return corrupt("no modification time")
	}
	if m.base == "" {
		if m.objSize != m.size {
			return corrupt("a size unlike its object's")
		}
		return m, nil
	}
	m.baseSize, err1 = strconv.ParseInt(h.Get(metaPrefix+"Base-Size"), 10, 64)
	m.depth, err2 = strconv.Atoi(h.Get(metaPrefix + "Depth"))
	if err1 != nil || err2 != nil || blob.CheckName(m.base) != nil || m.depth < 1 || m.depth > maxDepth || m.baseSize+m.objSize != m.size {
		return corrupt("an unusable base")
	}
	return m, nil
}

// Put implements [blob.Store] (see the package documentation).
func (s *Store) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	return s.store(ctx, sha256.New(), r, nil)
}

// Append implements [blob.Store]. The new blob is stored as a revision of
// base: an object with only tail's bytes, hashed from the SHA-256 state
// recorded for base, so that base's bytes are neither read nor copied. A
// base that is itself 32 revisions deep gets a whole copy instead. Append
// refreshes base's signet-touched first.
func (s *Store) Append(ctx context.Context, base string, tail io.Reader) (string, int64, error) {
	if err := blob.CheckName(base); err != nil {
		return "", 0, err
	}
	m, err := s.head(ctx, base)
	if err != nil {
		return "", 0, err
	}
	h, err := restore(base, m)
	if err != nil {
		return "", 0, err
	}
	if m.depth >= maxDepth {
		rd, _, err := s.Open(ctx, base)
		if err != nil {
			return "", 0, err
		}
		defer rd.Close()
		return s.Put(ctx, io.MultiReader(rd, tail))
	}
	if err := s.touch(ctx, base, m); err != nil {
		return "", 0, err
	}
	return s.store(ctx, h, tail, &meta{base: base, baseSize: m.size, depth: m.depth + 1})
}

// store writes everything read from r as a new blob whose content starts
// with that of rev.base (nil rev: a whole blob), h being in the state after
// the base's content.
func (s *Store) store(ctx context.Context, h hash.Hash, r io.Reader, rev *meta) (string, int64, error) {
	m := &meta{}
	if rev != nil {
		*m = *rev
	}
	buf := make([]byte, partSize)
	k, err := io.ReadFull(r, buf)
	if err == nil {
		return s.storeLarge(ctx, h, r, m, buf)
	}
	if err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", 0, fmt.Errorf("blob/s3: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return "", 0, fmt.Errorf("blob/s3: put: %w", err)
	}
	h.Write(buf[:k])
	name, err := s.finish(h, m, int64(k))
	if err != nil {
		return "", 0, err
	}
	if done, err := s.touchIfStored(ctx, name); done || err != nil {
		return name, m.size, err
	}
	_, _, err = s.c.doRead(ctx, request{method: http.MethodPut, key: s.key(name), header: m.header(), body: buf[:k]})
	if err != nil {
		return "", 0, fmt.Errorf("blob/s3: put: %w", err)
	}
	return name, m.size, nil
}

// finish completes m for content of objSize bytes hashed into h and
// returns the blob's name.
func (s *Store) finish(h hash.Hash, m *meta, objSize int64) (string, error) {
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return "", fmt.Errorf("blob/s3: put: %w", err)
	}
	m.state, m.objSize, m.size, m.touched = state, objSize, m.baseSize+objSize, s.now()
	return hex.EncodeToString(h.Sum(nil)), nil
}

// touchIfStored refreshes blob name's signet-touched and reports true if
// it is stored.
func (s *Store) touchIfStored(ctx context.Context, name string) (bool, error) {
	m, err := s.head(ctx, name)
	if errors.Is(err, blob.ErrNotFound) || errors.Is(err, blob.ErrCorrupt) {
		return false, nil // (re)written whole
	}
	if err != nil {
		return false, err
	}
	return true, s.touch(ctx, name, m)
}

// touch copies blob name's object onto itself with a new signet-touched.
func (s *Store) touch(ctx context.Context, name string, m *meta) error {
	t := *m
	t.touched = s.now()
	if t.touched.Before(m.touched) {
		t.touched = m.touched
	}
	return s.copy(ctx, s.key(name), s.key(name), &t)
}

// copy copies object from to key to with metadata m.
func (s *Store) copy(ctx context.Context, from, to string, m *meta) error {
	hdr := m.header()
	hdr.Set("X-Amz-Copy-Source", "/"+s.c.bucket+"/"+from)
	hdr.Set("X-Amz-Metadata-Directive", "REPLACE")
	_, body, err := s.c.doRead(ctx, request{method: http.MethodPut, key: to, header: hdr})
	if errors.Is(err, errNoSuchKey) {
		return fmt.Errorf("blob/s3: %w: %s (deleted meanwhile)", blob.ErrNotFound, from)
	}
	if err != nil {
		return fmt.Errorf("blob/s3: copy: %w", err)
	}
	// S3 may answer 200 with an error document.
	if bytes.Contains(body, []byte("<Error>")) {
		return fmt.Errorf("blob/s3: copy: %s", firstLine(body))
	}
	return nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s[:min(len(s), 200)]
}

// storeLarge streams first and the rest of r as a multipart upload to a
// temporary key, then copies it to its final key.
func (s *Store) storeLarge(ctx context.Context, h hash.Hash, r io.Reader, m *meta, first []byte) (name string, size int64, err error) {
	var rnd [16]byte
	rand.Read(rnd[:])
	tmp := s.prefix + "tmp/" + hex.EncodeToString(rnd[:])
	_, body, err := s.c.doRead(ctx, request{method: http.MethodPost, key: tmp, query: url.Values{"uploads": {""}}})
	if err != nil {
		return "", 0, fmt.Errorf("blob/s3: put: %w", err)
	}
	var init struct{ UploadId string }
	if err := xml.Unmarshal(body, &init); err != nil || init.UploadId == "" {
		return "", 0, fmt.Errorf("blob/s3: put: no upload id in %q", firstLine(body))
	}
	completed := false
	defer func() {
		if !completed {
			s.c.doRead(context.WithoutCancel(ctx), request{method: http.MethodDelete, key: tmp, query: url.Values{"uploadId": {init.UploadId}}})
		}
	}()
	type part struct {
		PartNumber int
		ETag       string
	}
	var parts []part
	buf := first
	n := int64(0)
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, fmt.Errorf("blob/s3: put: %w", err)
		}
		if len(parts) == maxParts {
			return "", 0, fmt.Errorf("blob/s3: put: content longer than %d bytes", int64(maxParts)*partSize)
		}
		h.Write(buf)
		n += int64(len(buf))
		num := len(parts) + 1
		hdr, _, err := s.c.doRead(ctx, request{method: http.MethodPut, key: tmp, body: buf,
			query: url.Values{"partNumber": {strconv.Itoa(num)}, "uploadId": {init.UploadId}}})
		if err != nil {
			return "", 0, fmt.Errorf("blob/s3: put: %w", err)
		}
		parts = append(parts, part{num, hdr.Get("ETag")})
		k, rerr := io.ReadFull(r, first[:cap(first)])
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return "", 0, fmt.Errorf("blob/s3: put: %w", rerr)
		}
		if k == 0 {
			break
		}
		buf = first[:k]
	}
	complete, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"CompleteMultipartUpload"`
		Part    []part
	}{Part: parts})
	_, body, err = s.c.doRead(ctx, request{method: http.MethodPost, key: tmp, body: complete,
		query: url.Values{"uploadId": {init.UploadId}}})
	if err == nil && bytes.Contains(body, []byte("<Error>")) {
		err = errors.New(firstLine(body))
	}
	if err != nil {
		return "", 0, fmt.Errorf("blob/s3: put: complete upload: %w", err)
	}
	completed = true
	defer s.c.doRead(context.WithoutCancel(ctx), request{method: http.MethodDelete, key: tmp})
	name, err = s.finish(h, m, n)
	if err != nil {
		return "", 0, err
	}
	if done, err := s.touchIfStored(ctx, name); done || err != nil {
		return name, m.size, err
	}
	if err := s.copy(ctx, tmp, s.key(name), m); err != nil {
		return "", 0, err
	}
	return name, m.size, nil
}

// restore returns a SHA-256 in the state recorded for blob name.
func restore(name string, m *meta) (hash.Hash, error) {
	h := sha256.New()
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(m.state) != nil {
		return nil, fmt.Errorf("blob/s3: %w: %s has an unusable hash state", blob.ErrCorrupt, name)
	}
	return h, nil
}

// stateLength returns the message length recorded in a marshaled SHA-256
// state (its last 8 bytes, big-endian), or -1.
func stateLength(state []byte) int64 {
	if len(state) < 8 {
		return -1
	}
	return int64(binary.BigEndian.Uint64(state[len(state)-8:]))
}

// Digest implements [blob.Store] from the recorded state; it reads no
// content.
func (s *Store) Digest(ctx context.Context, name string) (hash.Hash, error) {
	if err := blob.CheckName(name); err != nil {
		return nil, err
	}
	m, err := s.head(ctx, name)
	if err != nil {
		return nil, err
	}
	return restore(name, m)
}

// Open implements [blob.Store]. It reads the metadata of the blob and of
// the bases it extends; the reader fetches ranges of their objects as
// they are read.
func (s *Store) Open(ctx context.Context, name string) (blob.Reader, int64, error) {
	if err := blob.CheckName(name); err != nil {
		return nil, 0, err
	}
	type link struct {
		name string
		m    *meta
	}
	var chain []link
	for n := name; ; {
		m, err := s.head(ctx, n)
		if errors.Is(err, blob.ErrNotFound) && len(chain) > 0 {
			return nil, 0, fmt.Errorf("blob/s3: %w: %s lacks its base %s", blob.ErrCorrupt, name, n)
		}
		if err != nil {
			return nil, 0, err
		}
		chain = append(chain, link{n, m})
		if m.base == "" {
			break
		}
		if len(chain) > maxDepth {
			return nil, 0, fmt.Errorf("blob/s3: %w: %s's chain is longer than %d", blob.ErrCorrupt, name, maxDepth)
		}
		n = m.base
	}
	var segs []chunkread.Segment[string]
	for i := len(chain) - 1; i >= 0; i-- {
		l := chain[i]
		start := l.m.size - l.m.objSize
		if i < len(chain)-1 && (l.m.baseSize != chain[i+1].m.size || l.m.depth != len(chain)-1-i) {
			return nil, 0, fmt.Errorf("blob/s3: %w: %s has an inconsistent chain of bases", blob.ErrCorrupt, name)
		}
		if l.m.objSize > 0 {
			segs = append(segs, chunkread.Segment[string]{Key: s.key(l.name), Start: start, Len: l.m.objSize})
		}
	}
	r, err := chunkread.New(ctx, "blob/s3", name, segs, rangeSize, s.fetch)
	if err != nil {
		return nil, 0, err
	}
	return r, r.Size(), nil
}

// fetch returns range n of object key.
func (s *Store) fetch(ctx context.Context, key string, n int64, buf []byte) ([]byte, error) {
	hdr := http.Header{}
	hdr.Set("Range", fmt.Sprintf("bytes=%d-%d", n*rangeSize, (n+1)*rangeSize-1))
	resp, err := s.c.do(ctx, request{method: http.MethodGet, key: key, header: hdr})
	if errors.Is(err, errNoSuchKey) {
		return nil, fmt.Errorf("%w: range %d (deleted while being read)", blob.ErrNotFound, n)
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	k, err := io.ReadFull(resp.Body, buf[:min(len(buf), rangeSize)])
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	if resp.StatusCode != http.StatusPartialContent {
		return nil, fmt.Errorf("status %d to a range request", resp.StatusCode)
	}
	return buf[:k], nil
}

// Delete implements [blob.Store]. A revision that extends the blob can no
// longer be read (Open fails with ErrCorrupt, as on [blob.FS]): callers
// delete only blobs that no kept blob has as its base (see [Store.Base]).
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := blob.CheckName(name); err != nil {
		return err
	}
	_, _, err := s.c.doRead(ctx, request{method: http.MethodDelete, key: s.key(name)})
	if err != nil && !errors.Is(err, errNoSuchKey) {
		return fmt.Errorf("blob/s3: delete: %w", err)
	}
	return nil
}

// ModTime returns when the blob was last written, re-put or appended to,
// for garbage collectors that must spare blobs a request may be about to
// reference.
func (s *Store) ModTime(name string) (time.Time, error) {
	if err := blob.CheckName(name); err != nil {
		return time.Time{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	m, err := s.head(ctx, name)
	if err != nil {
		return time.Time{}, err
	}
	return m.touched, nil
}

// Base returns the blob that revision name extends, or "" if name is
// stored whole. Garbage collection keeps the base of every blob it keeps.
func (s *Store) Base(name string) (string, error) {
	if err := blob.CheckName(name); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	m, err := s.head(ctx, name)
	if err != nil {
		return "", err
	}
	return m.base, nil
}

// Walk calls fn with the name of every stored blob, in no particular
// order, until fn returns an error (which Walk returns). It lists a page
// of up to 1,000 keys at a time.
func (s *Store) Walk(ctx context.Context, fn func(name string) error) error {
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {s.prefix + "blobs/"}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		_, body, err := s.c.doRead(ctx, request{method: http.MethodGet, query: q})
		if err != nil {
			return fmt.Errorf("blob/s3: walk: %w", err)
		}
		var page struct {
			Contents              []struct{ Key string }
			IsTruncated           bool
			NextContinuationToken string
		}
		if err := xml.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("blob/s3: walk: %w", err)
		}
		for _, c := range page.Contents {
			name := strings.TrimPrefix(c.Key, s.prefix+"blobs/")
			if blob.CheckName(name) != nil {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(name); err != nil {
				return err
			}
		}
		if !page.IsTruncated || page.NextContinuationToken == "" {
			return nil
		}
		token = page.NextContinuationToken
	}
}
