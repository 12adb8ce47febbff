package remote

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/signet-pki/signet/keys"
)

// Limits of the RPC.
const (
	// MaxRequestSize bounds a request body: the largest payload is a
	// data key to wrap or data to MAC ([MaxData]), base64 in JSON.
	MaxRequestSize = 2 << 20
	// MaxData bounds the bytes a request carries (a digest, a data key,
	// the data to MAC, associated data): 1 MiB.
	MaxData = 1 << 20
	// maxLabel bounds a key label and a handle.
	maxLabel = 512
	// maxResponseSize bounds an answer read by the client.
	maxResponseSize = 4 << 20
)

// Operations of the RPC, each served at POST /v1/OP.
const (
	OpInfo            = "info"
	OpGenerate        = "generate"
	OpGenerateSession = "generate-session"
	OpPublic          = "public"
	OpSign            = "sign"
	OpDestroy         = "destroy"
	OpWrap            = "wrap"
	OpUnwrap          = "unwrap"
	OpMAC             = "mac"
	OpEnrol           = "enrol"
)

// Request is the body of every operation; each uses only some fields,
// and [DecodeRequest] refuses those it does not use.
type Request struct {
	// Algorithm and Label describe a key to generate.
	Algorithm keys.Algorithm `json:"algorithm,omitempty"`
	Label     string         `json:"label,omitempty"`
	// Handle names the key of every other operation.
	Handle string `json:"handle,omitempty"`
	// Backend names the signer's backend of a key operation: one of its
	// further backends ([HandlerConfig.Backends], such as a PKCS#11
	// token) by name; empty means its default one.
	Backend string `json:"backend,omitempty"`
	// Digest is what to sign (the message itself for Ed25519); Hash is
	// the crypto.Hash of the digest (0 for Ed25519); PSSSaltLength, if
	// PSS is set, asks for RSASSA-PSS with that salt length.
	Digest        []byte      `json:"digest,omitempty"`
	Hash          crypto.Hash `json:"hash,omitempty"`
	PSS           bool        `json:"pss,omitempty"`
	PSSSaltLength int         `json:"pss_salt_length,omitempty"`
	// Data is the plaintext to wrap, the ciphertext to unwrap or the
	// data to MAC; AAD the associated data of a wrap or unwrap.
	Data []byte `json:"data,omitempty"`
	AAD  []byte `json:"aad,omitempty"`
	// Nonce, Time and Proof authenticate an enrolment.
	Nonce []byte `json:"nonce,omitempty"`
	Time  int64  `json:"time,omitempty"`
	Proof []byte `json:"proof,omitempty"`
}

// Response is the answer of every operation.
type Response struct {
	// Backend names the signer's backend (info).
	Backend string `json:"backend,omitempty"`
	// Capabilities lists the optional operations the backend has (info).
	Capabilities []string `json:"capabilities,omitempty"`
	// Backends names the signer's further backends (info).
	Backends []string `json:"backends,omitempty"`
	// Handle is a generated key's handle.
	Handle string `json:"handle,omitempty"`
	// Public is a public key, PKIX DER.
	Public []byte `json:"public,omitempty"`
	// Data is a signature, a wrapped or unwrapped data key, or a MAC.
	Data []byte `json:"data,omitempty"`
	// Certificate, CA and CAMAC answer an enrolment.
	Certificate []byte `json:"certificate,omitempty"`
	CA          []byte `json:"ca,omitempty"`
	CAMAC       []byte `json:"ca_mac,omitempty"`
}

// Error codes of a refusal.
const (
	CodeBadRequest  = "bad_request"
	CodeForbidden   = "forbidden"
	CodeNotFound    = "key_not_found"
	CodeUnsupported = "unsupported"
	CodeUnavailable = "backend_unavailable"
	CodeFailed      = "failed"
)

// Error is a refusal of the signer, as the client returns it: it matches
// (errors.Is) [keys.ErrKeyNotFound], [keys.ErrUnsupportedAlgorithm] or
// [keys.ErrBackendUnavailable] when its code says so.
type Error struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return "remote: signer refused: " + e.Code + ": " + e.Message }

// Is maps codes to the errors of package keys.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case CodeNotFound:
		return target == keys.ErrKeyNotFound
	case CodeUnsupported:
		return target == keys.ErrUnsupportedAlgorithm
	case CodeUnavailable:
		return target == keys.ErrBackendUnavailable
	}
	return false
}

// fields lists the request fields each operation takes.
var fields = map[string][]string{
	OpInfo:            {},
	OpGenerate:        {"algorithm", "label", "backend"},
	OpGenerateSession: {"algorithm", "label", "backend"},
	OpPublic:          {"handle", "backend"},
	OpSign:            {"handle", "digest", "hash", "pss", "pss_salt_length", "backend"},
	OpDestroy:         {"handle", "backend"},
	OpWrap:            {"handle", "data", "aad", "backend"},
	OpUnwrap:          {"handle", "data", "aad", "backend"},
	OpMAC:             {"handle", "data", "backend"},
	OpEnrol:           {"nonce", "time", "proof"},
}

// DecodeRequest decodes the body of operation op strictly: one JSON
// object, no unknown field, no field the operation does not take, no
// trailing data, sizes within the limits, a handle where the operation
// needs one. Every error says what is wrong, and never echoes the body.
func DecodeRequest(op string, body []byte) (*Request, error) {
	allowed, ok := fields[op]
	if !ok {
		return nil, fmt.Errorf("unknown operation %q", op)
	}
	if len(body) > MaxRequestSize {
		return nil, fmt.Errorf("request of %d bytes exceeds %d", len(body), MaxRequestSize)
	}
	var raw map[string]json.RawMessage
	if err := strictDecode(body, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, errors.New("request body is not a JSON object")
	}
	for k := range raw {
		if !contains(allowed, k) {
			return nil, fmt.Errorf("field %q is not taken by %s", truncate(k), op)
		}
	}
	var r Request
	if err := strictDecode(body, &r); err != nil {
		return nil, err
	}
	if err := r.check(op); err != nil {
		return nil, err
	}
	return &r, nil
}

func strictDecode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed request: %s", describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("malformed request: data after the JSON object")
	}
	return nil
}

// describeJSONError names the problem of a JSON error without quoting the
// body (which may hold a data key).
func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type", truncate(te.Field))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return "not a valid JSON object of the operation"
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// check verifies the decoded fields of op.
func (r *Request) check(op string) error {
	if len(r.Label) > maxLabel || len(r.Handle) > maxLabel || len(r.Backend) > maxLabel {
		return fmt.Errorf("label, handle or backend longer than %d bytes", maxLabel)
	}
	for _, b := range [][]byte{r.Digest, r.Data, r.AAD, r.Nonce, r.Proof} {
		if len(b) > MaxData {
			return fmt.Errorf("a field exceeds %d bytes", MaxData)
		}
	}
	switch op {
	case OpGenerate, OpGenerateSession:
		if r.Algorithm == "" {
			return errors.New("no algorithm")
		}
	case OpPublic, OpDestroy, OpWrap, OpUnwrap, OpMAC, OpSign:
		if r.Handle == "" {
			return errors.New("no handle")
		}
	case OpEnrol:
		if len(r.Nonce) != nonceSize || len(r.Proof) == 0 || r.Time == 0 {
			return errors.New("an enrolment needs a 32-byte nonce, the time and a proof")
		}
	}
	if op == OpSign {
		if len(r.Digest) == 0 {
			return errors.New("nothing to sign")
		}
		if r.Hash != 0 && (!r.Hash.Available() || r.Hash.Size() != len(r.Digest)) {
			return fmt.Errorf("digest of %d bytes does not match hash %d", len(r.Digest), r.Hash)
		}
		if r.PSS && r.Hash == 0 {
			return errors.New("PSS needs a hash")
		}
		if !r.PSS && r.PSSSaltLength != 0 {
			return errors.New("a salt length without PSS")
		}
		if r.PSSSaltLength < -1 || r.PSSSaltLength > 1024 {
			return errors.New("PSS salt length out of range")
		}
	}
	return nil
}
