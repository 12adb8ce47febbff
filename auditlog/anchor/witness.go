package anchor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
)

// Protocol constants of C2SP tlog-witness.
const (
	// ContentTypeSize is the media type of a witness's 409 answer.
	ContentTypeSize = "text/x.tlog.size"
	// maxProofLines is the most consistency proof lines a request may carry.
	maxProofLines = 63
	// maxWitnessResponse bounds the witness answers read.
	maxWitnessResponse = 64 << 10
)

// DefaultWitnessTimeout bounds each add-checkpoint exchange when
// Witness.Timeout is zero.
const DefaultWitnessTimeout = 10 * time.Second

// DefaultMaxSkew is how far in the future a cosignature timestamp may be,
// relative to Witness.Now, when Witness.MaxSkew is zero.
const DefaultMaxSkew = 5 * time.Minute

// ProofFunc returns the RFC 6962 consistency proof (RFC 6962 §2.1.2) of the
// log between tree sizes oldSize and newSize, 0 < oldSize <= newSize.
type ProofFunc func(ctx context.Context, oldSize, newSize int64) (tlog.TreeProof, error)

// Witness is a client of one C2SP tlog-witness witness: [Witness.Anchor]
// submits a checkpoint with "POST <URL>/add-checkpoint" and returns the
// witness's verified cosignature.
//
// The client remembers the size the witness last cosigned. When the
// witness answers 409 Conflict with another size (it was restarted, or
// another process of the log submitted in between), the client asks
// ProofFrom for a proof from that size and retries once. A witness holding
// a size larger than the checkpoint's, or one that refuses the proof, is
// reported as an error: that is what a forked or rolled-back log looks like
// from here.
//
// A Witness must not be copied after first use. Its methods are safe for
// concurrent use; exchanges with one witness are serialized.
type Witness struct {
	// Key is the witness's name and cosigning key. Cosignatures from other
	// keys are ignored; one from Key that does not verify is an error.
	Key CosignerKey
	// URL is the witness's submission prefix, e.g.
	// "https://witness.example/w1" (no trailing slash).
	URL string
	// ProofFrom supplies consistency proofs from sizes other than the
	// previous checkpoint's. Required.
	ProofFrom ProofFunc
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds each exchange; zero means [DefaultWitnessTimeout].
	Timeout time.Duration
	// MaxSkew is how far in the future a cosignature's timestamp may lie;
	// zero means [DefaultMaxSkew].
	MaxSkew time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	mu   sync.Mutex
	size int64 // size the witness last cosigned, as far as we know
}

// Anchor submits cp to the witness with a consistency proof from the size
// the witness last cosigned and returns its cosignature as an anchor of kind
// [KindWitness]: Name is Key.Name and Data the cosignature line. proof
// (from prev.Size) is used when the witness is known to be at prev.Size;
// other proofs come from ProofFrom.
//
// Errors wrap [ErrWitnessConflict] (the witness holds a larger or different
// tree even after one retry), [ErrWitnessRefused] (404, 403, 422, 400),
// [ErrBadCosignature] or [ErrMalformed].
func (w *Witness) Anchor(ctx context.Context, cp, prev auditlog.Checkpoint, proof tlog.TreeProof) ([]auditlog.Anchor, error) {
	body, c, err := checkpointBody(cp.Note)
	if err != nil {
		return nil, err
	}
	if c.Size != cp.Size {
		return nil, fmt.Errorf("%w: checkpoint note has size %d, record says %d", ErrMalformed, c.Size, cp.Size)
	}
	w.mu.Lock()
	defer w.mu.Unlock()

	old := w.size
	p, err := w.proof(ctx, old, cp.Size, prev, proof)
	if err != nil {
		return nil, err
	}
	cs, err := w.add(ctx, old, p, cp.Note, body)
	var conflict *ConflictError
	if errors.As(err, &conflict) && conflict.Size != old {
		// The witness is elsewhere: retry once from where it is.
		w.size = conflict.Size
		old = conflict.Size
		if p, err = w.proof(ctx, old, cp.Size, prev, proof); err != nil {
			return nil, err
		}
		cs, err = w.add(ctx, old, p, cp.Note, body)
		if errors.As(err, &conflict) {
			w.size = conflict.Size
		}
	}
	if err != nil {
		return nil, err
	}
	w.size = cp.Size
	return []auditlog.Anchor{{
		Size: cp.Size,
		Kind: KindWitness,
		Name: w.Key.Name,
		Data: []byte(cs.String()),
		Time: w.now(),
	}}, nil
}

// proof returns the consistency proof from old to size.
func (w *Witness) proof(ctx context.Context, old, size int64, prev auditlog.Checkpoint, given tlog.TreeProof) (tlog.TreeProof, error) {
	switch {
	case old > size:
		return nil, &ConflictError{Witness: w.Key.Name, Size: old}
	case old == 0 || old == size:
		return nil, nil
	case old == prev.Size:
		return given, nil
	case w.ProofFrom == nil:
		return nil, fmt.Errorf("anchor: witness %s is at size %d and no ProofFrom is configured", w.Key.Name, old)
	}
	p, err := w.ProofFrom(ctx, old, size)
	if err != nil {
		return nil, fmt.Errorf("anchor: consistency proof %d to %d for witness %s: %w", old, size, w.Key.Name, err)
	}
	return p, nil
}

// add performs one add-checkpoint exchange and returns the verified
// cosignature.
func (w *Witness) add(ctx context.Context, old int64, proof tlog.TreeProof, note, body []byte) (Cosignature, error) {
	if len(proof) > maxProofLines {
		return Cosignature{}, fmt.Errorf("anchor: consistency proof has %d hashes, the protocol allows %d", len(proof), maxProofLines)
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "old %d\n", old)
	for _, h := range proof {
		req.WriteString(h.String())
		req.WriteByte('\n')
	}
	req.WriteByte('\n')
	req.Write(note)

	status, ctype, resp, err := w.post(ctx, req.Bytes())
	if err != nil {
		return Cosignature{}, err
	}
	switch status {
	case http.StatusOK:
		return w.cosignature(resp, body)
	case http.StatusConflict:
		if mt, _, err := mime.ParseMediaType(ctype); err != nil || mt != ContentTypeSize {
			return Cosignature{}, fmt.Errorf("%w: witness %s: 409 answer has content type %q, want %s", ErrMalformed, w.Key.Name, ctype, ContentTypeSize)
		}
		n, err := parseSizeBody(resp)
		if err != nil {
			return Cosignature{}, fmt.Errorf("witness %s: %w", w.Key.Name, err)
		}
		return Cosignature{}, &ConflictError{Witness: w.Key.Name, Size: n}
	default:
		return Cosignature{}, &RefusedError{Witness: w.Key.Name, Status: status, Body: printable(resp, 200)}
	}
}

// cosignature picks the lines of the configured key from a 200 answer and
// verifies them: every such line must verify, at least one must be there,
// and none may be dated further than MaxSkew in the future.
func (w *Witness) cosignature(resp, body []byte) (Cosignature, error) {
	lines, err := parseSignatureLines(resp)
	if err != nil {
		return Cosignature{}, fmt.Errorf("witness %s: %w", w.Key.Name, err)
	}
	id := w.Key.KeyID()
	var found []Cosignature
	for _, l := range lines {
		if l.Name != w.Key.Name || l.KeyID != id {
			continue // another key's signature: ignored (C2SP tlog-witness)
		}
		c, err := ParseCosignature(l.Text)
		if err != nil {
			return Cosignature{}, fmt.Errorf("%w: witness %s: %w", ErrBadCosignature, w.Key.Name, err)
		}
		if err := w.Key.Verify(c, body); err != nil {
			return Cosignature{}, err
		}
		skew := w.MaxSkew
		if skew <= 0 {
			skew = DefaultMaxSkew
		}
		if c.Time().After(w.now().Add(skew)) {
			return Cosignature{}, fmt.Errorf("%w: witness %s dated its cosignature %s, in the future",
				ErrBadCosignature, w.Key.Name, c.Time().Format(time.RFC3339))
		}
		found = append(found, c)
	}
	if len(found) == 0 {
		return Cosignature{}, fmt.Errorf("%w: witness %s answered without a cosignature from key %s",
			ErrBadCosignature, w.Key.Name, keyIDHex(id))
	}
	return found[0], nil
}

// post sends an add-checkpoint request and returns the status, content
// type and (bounded) body of the answer.
func (w *Witness) post(ctx context.Context, req []byte) (int, string, []byte, error) {
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = DefaultWitnessTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := strings.TrimSuffix(w.URL, "/") + "/add-checkpoint"
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req))
	if err != nil {
		return 0, "", nil, fmt.Errorf("anchor: witness %s: build request: %w", w.Key.Name, err)
	}
	hc := w.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		return 0, "", nil, fmt.Errorf("anchor: witness %s: %w", w.Key.Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxWitnessResponse+1))
	if err != nil {
		return 0, "", nil, fmt.Errorf("anchor: witness %s: read answer: %w", w.Key.Name, err)
	}
	if len(b) > maxWitnessResponse {
		return 0, "", nil, fmt.Errorf("%w: witness %s: answer exceeds %d bytes", ErrMalformed, w.Key.Name, maxWitnessResponse)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b, nil
}

func (w *Witness) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// printable returns at most n bytes of b as a single-line string for error
// messages.
func printable(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(string(b)))
}
