package auditlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrMalformed reports a checkpoint, note or receipt that does not follow
// its C2SP format.
var ErrMalformed = errors.New("auditlog: malformed")

// A TreeHead is the body of a C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint):
// the log's origin, its size and the RFC 6962 root hash at that size
// (RFC 6962, Section 2.1).
type TreeHead struct {
	// Origin uniquely names the log, e.g. "signet.local/audit".
	Origin string
	// Size is the number of leaves.
	Size int64
	// Hash is the Merkle tree hash of the first Size leaves.
	Hash tlog.Hash
	// Extensions are optional non-empty lines after the root hash; Signet
	// writes none and keeps those it reads.
	Extensions []string
}

// Marshal returns the checkpoint body: "<origin>\n<size>\n<base64 root>\n"
// followed by the extension lines.
func (t TreeHead) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(t.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(t.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(t.Hash[:]))
	b.WriteByte('\n')
	for _, e := range t.Extensions {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseTreeHead parses a checkpoint body (the note text, without signature
// lines) as c2sp.org/tlog-checkpoint specifies: a non-empty origin, a
// decimal size without leading zeros and a base64 SHA-256 root hash, each
// on its own line, then optional non-empty extension lines.
func ParseTreeHead(text []byte) (TreeHead, error) {
	var t TreeHead
	s := string(text)
	if !strings.HasSuffix(s, "\n") {
		return t, fmt.Errorf("%w checkpoint: no final newline", ErrMalformed)
	}
	lines := strings.Split(s[:len(s)-1], "\n")
	if len(lines) < 3 {
		return t, fmt.Errorf("%w checkpoint: %d lines, want at least 3", ErrMalformed, len(lines))
	}
	if lines[0] == "" {
		return t, fmt.Errorf("%w checkpoint: empty origin", ErrMalformed)
	}
	t.Origin = lines[0]
	n, err := parseDecimal(lines[1])
	if err != nil {
		return t, fmt.Errorf("%w checkpoint: size: %v", ErrMalformed, err)
	}
	t.Size = n
	h, err := parseHashLine(lines[2])
	if err != nil {
		return t, fmt.Errorf("%w checkpoint: root hash: %v", ErrMalformed, err)
	}
	t.Hash = h
	for _, e := range lines[3:] {
		if e == "" {
			return t, fmt.Errorf("%w checkpoint: empty extension line", ErrMalformed)
		}
		t.Extensions = append(t.Extensions, e)
	}
	return t, nil
}

// parseDecimal parses a non-negative ASCII decimal without leading zeros.
func parseDecimal(s string) (int64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("bad decimal %q", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("bad decimal %q", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad decimal %q", s)
	}
	return n, nil
}

// parseHashLine decodes one canonical base64 SHA-256 hash.
func parseHashLine(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != len(h) || base64.StdEncoding.EncodeToString(b) != s {
		return h, fmt.Errorf("bad hash %q", s)
	}
	copy(h[:], b)
	return h, nil
}

// SignTreeHead signs the checkpoint body as a C2SP signed note
// (c2sp.org/signed-note) and returns the note text.
func SignTreeHead(t TreeHead, signer note.Signer) ([]byte, error) {
	msg, err := note.Sign(&note.Note{Text: string(t.Marshal())}, signer)
	if err != nil {
		return nil, fmt.Errorf("auditlog: sign checkpoint: %w", err)
	}
	return msg, nil
}

// OpenCheckpoint verifies a signed checkpoint note with verifier and parses
// its body. A signature by any other key makes it fail with an error that
// wraps [ErrBadSignature]. If origin is not empty, the checkpoint's origin
// must equal it.
func OpenCheckpoint(msg []byte, verifier note.Verifier, origin string) (TreeHead, error) {
	return openCheckpoint(msg, note.VerifierList(verifier), origin)
}

// openCheckpoint is OpenCheckpoint accepting a signature by any of keys.
func openCheckpoint(msg []byte, keys note.Verifiers, origin string) (TreeHead, error) {
	n, err := note.Open(msg, keys)
	if err != nil {
		return TreeHead{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	t, err := ParseTreeHead([]byte(n.Text))
	if err != nil {
		return TreeHead{}, err
	}
	if origin != "" && t.Origin != origin {
		return TreeHead{}, fmt.Errorf("%w checkpoint: origin %q, want %q", ErrMalformed, t.Origin, origin)
	}
	return t, nil
}

// ErrBadSignature reports a checkpoint that the expected key did not sign.
var ErrBadSignature = errors.New("auditlog: checkpoint not signed by the audit key")

// ParseCheckpointUnverified parses the body of a signed checkpoint note
// without checking any signature. Use it only on checkpoints read back from
// the log's own storage, where [Verify] checks signatures separately.
func ParseCheckpointUnverified(msg []byte) (TreeHead, error) {
	i := bytes.Index(msg, []byte("\n\n"))
	if i < 0 {
		return TreeHead{}, fmt.Errorf("%w checkpoint: no signature block", ErrMalformed)
	}
	return ParseTreeHead(msg[:i+1])
}
