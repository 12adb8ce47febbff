package auditlog

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// receiptHeader is the first line of a c2sp.org/tlog-proof.
const receiptHeader = "c2sp.org/tlog-proof@v1"

// A Receipt is an offline-verifiable proof that an event is in the log
// (c2sp.org/tlog-proof@v1): its index, the RFC 6962 inclusion proof and
// the signed checkpoint the proof leads to.
type Receipt struct {
	// Extra is optional opaque, unauthenticated data.
	Extra []byte
	// Index is the event's position.
	Index int64
	// Proof is the audit path from the leaf's sibling up to the root's
	// child (RFC 6962, Section 2.1.1).
	Proof tlog.RecordProof
	// Checkpoint is the signed checkpoint note, verbatim.
	Checkpoint []byte
}

// Marshal returns the receipt's text form.
func (r *Receipt) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(receiptHeader + "\n")
	if r.Extra != nil {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(r.Extra) + "\n")
	}
	fmt.Fprintf(&b, "index %d\n", r.Index)
	for _, h := range r.Proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(r.Checkpoint)
	return b.Bytes()
}

// ParseReceipt parses a receipt in c2sp.org/tlog-proof@v1 text form. It
// checks the syntax only; [VerifyReceipt] checks the proof and signature.
func ParseReceipt(text []byte) (*Receipt, error) {
	i := bytes.Index(text, []byte("\n\n"))
	if i < 0 {
		return nil, fmt.Errorf("%w receipt: no checkpoint", ErrMalformed)
	}
	lines := strings.Split(string(text[:i]), "\n")
	cp := text[i+2:]
	if lines[0] != receiptHeader {
		return nil, fmt.Errorf("%w receipt: header %q", ErrMalformed, lines[0])
	}
	r := &Receipt{}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		e, err := base64.StdEncoding.Strict().DecodeString(lines[0][len("extra "):])
		if err != nil || base64.StdEncoding.EncodeToString(e) != lines[0][len("extra "):] {
			return nil, fmt.Errorf("%w receipt: extra data", ErrMalformed)
		}
		r.Extra = e
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return nil, fmt.Errorf("%w receipt: no index line", ErrMalformed)
	}
	n, err := parseDecimal(lines[0][len("index "):])
	if err != nil {
		return nil, fmt.Errorf("%w receipt: index: %v", ErrMalformed, err)
	}
	r.Index = n
	for _, l := range lines[1:] {
		h, err := parseHashLine(l)
		if err != nil {
			return nil, fmt.Errorf("%w receipt: proof: %v", ErrMalformed, err)
		}
		r.Proof = append(r.Proof, h)
	}
	if len(r.Proof) > 63 {
		return nil, fmt.Errorf("%w receipt: proof of %d hashes", ErrMalformed, len(r.Proof))
	}
	if _, err := ParseCheckpointUnverified(cp); err != nil {
		return nil, err
	}
	r.Checkpoint = append([]byte(nil), cp...)
	return r, nil
}

// VerifyReceipt verifies a receipt offline: the checkpoint is signed by
// verifier, and leaf (the event's canonical encoding) is at the receipt's
// index in the checkpointed tree. It returns the checkpoint's tree head
// and the receipt.
func VerifyReceipt(receipt []byte, verifier note.Verifier, leaf []byte) (TreeHead, *Receipt, error) {
	r, err := ParseReceipt(receipt)
	if err != nil {
		return TreeHead{}, nil, err
	}
	th, err := OpenCheckpoint(r.Checkpoint, verifier, "")
	if err != nil {
		return TreeHead{}, nil, err
	}
	if r.Index >= th.Size {
		return TreeHead{}, nil, fmt.Errorf("auditlog: receipt index %d outside tree of size %d", r.Index, th.Size)
	}
	if err := tlog.CheckRecord(r.Proof, th.Size, th.Hash, r.Index, tlog.RecordHash(leaf)); err != nil {
		return TreeHead{}, nil, fmt.Errorf("auditlog: receipt: inclusion proof: %w", err)
	}
	return th, r, nil
}
