// Package witnesstest is an in-process C2SP tlog-witness witness for tests:
// it keeps, per log origin, the latest tree size and root hash it cosigned,
// checks the log's note signature and the RFC 6962 consistency proof of
// every add-checkpoint request, refuses rollbacks and forks, and answers
// with Ed25519 cosignature/v1 lines (C2SP tlog-cosignature).
//
// It is written apart from package anchor (its own request parser, key ID
// and signed-message code, and tlog.CheckTree for proofs) so that tests of
// the client check one implementation against another. Its state lives in
// memory only: it is not a production witness.
package witnesstest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// maxRequest bounds add-checkpoint request bodies.
const maxRequest = 64 << 10

// Witness is a C2SP tlog-witness witness. It implements [http.Handler] for
// "POST .../add-checkpoint". Create it with [New] and register logs with
// [Witness.AddLog].
type Witness struct {
	name string
	key  ed25519.PrivateKey
	// Now returns the time written in cosignatures; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	logs     map[string][]note.Verifier
	state    map[string]treeState
	refused  [][]byte
	requests int
}

// treeState is the latest checkpoint cosigned for one log.
type treeState struct {
	size int64
	hash tlog.Hash
}

// New returns a witness named name that cosigns with key.
func New(name string, key ed25519.PrivateKey) *Witness {
	return &Witness{name: name, key: key, logs: map[string][]note.Verifier{}, state: map[string]treeState{}}
}

// AddLog trusts the signed-note verifier key vkey (as made by
// note.NewEd25519VerifierKey) for checkpoints of origin.
func (w *Witness) AddLog(origin, vkey string) error {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("witnesstest: log key: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.logs[origin] = append(w.logs[origin], v)
	return nil
}

// VerifierKey returns the witness's cosigner key in signed-note vkey form:
// name+keyID+base64(0x04 ‖ Ed25519 public key).
func (w *Witness) VerifierKey() string {
	pub := w.key.Public().(ed25519.PublicKey)
	return fmt.Sprintf("%s+%08x+%s", w.name, w.keyID(),
		base64.StdEncoding.EncodeToString(append([]byte{0x04}, pub...)))
}

// Size returns the latest size cosigned for origin (0 if none).
func (w *Witness) Size(origin string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state[origin].size
}

// Refused returns the requests with a valid log signature that the witness
// refused for inconsistency: evidence of log misbehaviour.
func (w *Witness) Refused() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]byte(nil), w.refused...)
}

// Requests returns the number of add-checkpoint requests served.
func (w *Witness) Requests() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.requests
}

// ServeHTTP answers add-checkpoint requests as C2SP tlog-witness specifies:
// 200 with a cosignature line, 409 with the current size (text/x.tlog.size),
// 404 for an unknown origin, 403 without a trusted log signature, 422 when
// the consistency proof does not verify, 400 for malformed requests.
func (w *Witness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/add-checkpoint") {
		http.Error(rw, "not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil || len(body) > maxRequest {
		http.Error(rw, "request too large or unreadable", http.StatusBadRequest)
		return
	}
	status, ctype, resp := w.handle(body)
	rw.Header().Set("Content-Type", ctype)
	rw.WriteHeader(status)
	rw.Write(resp)
}

// handle processes one request body.
func (w *Witness) handle(body []byte) (int, string, []byte) {
	const plain = "text/plain; charset=utf-8"
	req, err := ParseRequest(body)
	if err != nil {
		return http.StatusBadRequest, plain, []byte(err.Error() + "\n")
	}
	text, _, ok := strings.Cut(string(req.Note), "\n\n")
	if !ok {
		return http.StatusBadRequest, plain, []byte("checkpoint has no signatures\n")
	}
	cp, err := ParseCheckpoint([]byte(text + "\n"))
	if err != nil {
		return http.StatusBadRequest, plain, []byte(err.Error() + "\n")
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests++
	verifiers, ok := w.logs[cp.Origin]
	if !ok {
		return http.StatusNotFound, plain, []byte("unknown log\n")
	}
	if _, err := note.Open(req.Note, note.VerifierList(verifiers...)); err != nil {
		return http.StatusForbidden, plain, []byte("no valid log signature\n")
	}
	if req.Old > cp.Size {
		return http.StatusBadRequest, plain, []byte("old size exceeds checkpoint size\n")
	}
	cur := w.state[cp.Origin]
	conflict := []byte(strconv.FormatInt(cur.size, 10) + "\n")
	if req.Old != cur.size {
		return http.StatusConflict, "text/x.tlog.size", conflict
	}
	switch {
	case req.Old == cp.Size:
		if req.Old != 0 && cp.Hash != cur.hash || len(req.Proof) != 0 {
			w.refused = append(w.refused, body)
			return http.StatusConflict, "text/x.tlog.size", conflict
		}
	case req.Old == 0:
		if len(req.Proof) != 0 {
			return http.StatusBadRequest, plain, []byte("proof from size 0 must be empty\n")
		}
	default:
		if err := tlog.CheckTree(req.Proof, cp.Size, cp.Hash, req.Old, cur.hash); err != nil {
			w.refused = append(w.refused, body)
			return http.StatusUnprocessableEntity, plain, []byte("consistency proof does not verify\n")
		}
	}
	line, err := w.cosign([]byte(text + "\n"))
	if err != nil {
		return http.StatusInternalServerError, plain, []byte("cosign failed\n")
	}
	w.state[cp.Origin] = treeState{size: cp.Size, hash: cp.Hash}
	return http.StatusOK, plain, line
}

// cosign returns the cosignature/v1 line over the checkpoint body.
func (w *Witness) cosign(body []byte) ([]byte, error) {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	ts := now().Unix()
	if ts < 0 {
		return nil, errors.New("witnesstest: time before 1970")
	}
	msg := append([]byte("cosignature/v1\ntime "+strconv.FormatInt(ts, 10)+"\n"), body...)
	sig := ed25519.Sign(w.key, msg)
	raw := binary.BigEndian.AppendUint32(nil, w.keyID())
	raw = binary.BigEndian.AppendUint64(raw, uint64(ts))
	raw = append(raw, sig...)
	return []byte("— " + w.name + " " + base64.StdEncoding.EncodeToString(raw) + "\n"), nil
}

// keyID is SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4].
func (w *Witness) keyID() uint32 {
	sum := sha256.Sum256(append([]byte(w.name+"\n\x04"), w.key.Public().(ed25519.PublicKey)...))
	return binary.BigEndian.Uint32(sum[:4])
}
