package witnesstest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// Request is a parsed add-checkpoint request body (C2SP tlog-witness).
type Request struct {
	// Old is the size of the previous checkpoint.
	Old int64
	// Proof is the consistency proof from Old to the checkpoint's size.
	Proof tlog.TreeProof
	// Note is the signed checkpoint note.
	Note []byte
}

var errRequest = errors.New("witnesstest: malformed add-checkpoint request")

// ParseRequest parses an add-checkpoint body: "old <size>", up to 63 base64
// hash lines, an empty line, and the checkpoint note.
func ParseRequest(body []byte) (Request, error) {
	var r Request
	line, rest, ok := bytes.Cut(body, []byte("\n"))
	if !ok {
		return r, errRequest
	}
	n, ok := strings.CutPrefix(string(line), "old ")
	if !ok {
		return r, fmt.Errorf("%w: no old size line", errRequest)
	}
	old, err := decimal(n)
	if err != nil {
		return r, err
	}
	r.Old = old
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if !ok {
			return r, fmt.Errorf("%w: no empty line before the checkpoint", errRequest)
		}
		if len(line) == 0 {
			break
		}
		if len(r.Proof) == 63 {
			return r, fmt.Errorf("%w: more than 63 proof lines", errRequest)
		}
		h, err := decode64(string(line))
		if err != nil || len(h) != tlog.HashSize {
			return r, fmt.Errorf("%w: proof line is not a base64 hash", errRequest)
		}
		r.Proof = append(r.Proof, tlog.Hash(h))
	}
	r.Note = rest
	return r, nil
}

// Marshal encodes r as an add-checkpoint body.
func (r Request) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", r.Old)
	for _, h := range r.Proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(r.Note)
	return b.Bytes()
}

// Checkpoint is a parsed C2SP tlog-checkpoint body.
type Checkpoint struct {
	Origin     string
	Size       int64
	Hash       tlog.Hash
	Extensions []string
}

// ParseCheckpoint parses a checkpoint body: origin, size, base64 root hash
// and optional extension lines, each non-empty and newline-terminated.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	var c Checkpoint
	s, ok := strings.CutSuffix(string(text), "\n")
	if !ok {
		return c, fmt.Errorf("%w: checkpoint does not end in a newline", errRequest)
	}
	lines := strings.Split(s, "\n")
	if len(lines) < 3 || slices.Contains(lines, "") {
		return c, fmt.Errorf("%w: checkpoint needs three non-empty lines", errRequest)
	}
	size, err := decimal(lines[1])
	if err != nil {
		return c, err
	}
	h, err := decode64(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return c, fmt.Errorf("%w: checkpoint hash", errRequest)
	}
	c.Origin, c.Size, c.Hash = lines[0], size, tlog.Hash(h)
	c.Extensions = lines[3:]
	return c, nil
}

// Marshal encodes c as a checkpoint body.
func (c Checkpoint) Marshal() []byte {
	s := c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Hash[:]) + "\n"
	for _, e := range c.Extensions {
		s += e + "\n"
	}
	return []byte(s)
}

// decimal parses a size with no sign and no leading zeroes.
func decimal(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("%w: %q is not a size", errRequest, s)
	}
	return n, nil
}

// decode64 decodes canonical base64 with no embedded line breaks.
func decode64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errRequest
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}
