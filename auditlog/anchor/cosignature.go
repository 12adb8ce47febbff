package anchor

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/signet-pki/signet/auditlog"
)

// cosignatureAlgEd25519 is the signature type byte of Ed25519 cosignatures
// (cosignature/v1) in key IDs and verifier keys (C2SP tlog-cosignature).
const cosignatureAlgEd25519 = 0x04

// cosignatureSize is the decoded size of an Ed25519 cosignature: key ID,
// timestamp and signature.
const cosignatureSize = 4 + 8 + ed25519.SignatureSize

// sigLinePrefix starts every note signature line: U+2014 and a space.
const sigLinePrefix = "— "

// CosignerKey identifies a witness: its name and its Ed25519 public key,
// used for cosignature/v1 (C2SP tlog-cosignature).
type CosignerKey struct {
	// Name is the cosigner name, usually a schema-less URL.
	Name string
	// Key is the Ed25519 public key.
	Key ed25519.PublicKey
}

// NewCosignerKey returns the key of the cosigner name with Ed25519 public
// key pub. Names follow the signed-note rules: non-empty UTF-8 without
// spaces or plus signs.
func NewCosignerKey(name string, pub ed25519.PublicKey) (CosignerKey, error) {
	if !validKeyName(name) {
		return CosignerKey{}, fmt.Errorf("%w: cosigner name %q", ErrMalformed, name)
	}
	if len(pub) != ed25519.PublicKeySize {
		return CosignerKey{}, fmt.Errorf("%w: Ed25519 public key has %d bytes", ErrMalformed, len(pub))
	}
	return CosignerKey{Name: name, Key: bytes.Clone(pub)}, nil
}

// ParseCosignerKey parses a verifier key in the C2SP signed-note "vkey"
// encoding with signature type 0x04: name, "+", the key ID in 8 hex digits,
// "+", and base64 of 0x04 followed by the 32-byte Ed25519 public key.
func ParseCosignerKey(vkey string) (CosignerKey, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	id16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || len(id16) != 8 {
		return CosignerKey{}, fmt.Errorf("%w: cosigner vkey is not name+id+key", ErrMalformed)
	}
	id, err := strconv.ParseUint(id16, 16, 32)
	if err != nil || id16 != fmt.Sprintf("%08x", id) {
		// Only the canonical (lowercase) form: one key, one vkey.
		return CosignerKey{}, fmt.Errorf("%w: cosigner vkey id %q", ErrMalformed, id16)
	}
	raw, err := decodeBase64(key64)
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != cosignatureAlgEd25519 {
		return CosignerKey{}, fmt.Errorf("%w: cosigner vkey is not an Ed25519 cosignature/v1 key", ErrMalformed)
	}
	k, err := NewCosignerKey(name, raw[1:])
	if err != nil {
		return CosignerKey{}, err
	}
	if k.KeyID() != uint32(id) {
		return CosignerKey{}, fmt.Errorf("%w: cosigner vkey id %s does not match its key", ErrMalformed, id16)
	}
	return k, nil
}

// String returns the key in the signed-note vkey encoding that
// [ParseCosignerKey] reads.
func (k CosignerKey) String() string {
	return fmt.Sprintf("%s+%08x+%s", k.Name, k.KeyID(),
		base64.StdEncoding.EncodeToString(append([]byte{cosignatureAlgEd25519}, k.Key...)))
}

// KeyID returns the key ID: the first four bytes of
// SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key), big-endian (C2SP
// tlog-cosignature).
func (k CosignerKey) KeyID() uint32 {
	h := sha256.New()
	h.Write([]byte(k.Name))
	h.Write([]byte{'\n', cosignatureAlgEd25519})
	h.Write(k.Key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// Verify checks that c is this key's cosignature/v1 over the checkpoint
// body (C2SP tlog-cosignature). It returns an error wrapping
// [ErrBadCosignature] if the name, key ID or signature does not match.
func (k CosignerKey) Verify(c Cosignature, body []byte) error {
	if c.Name != k.Name || c.KeyID != k.KeyID() {
		return fmt.Errorf("%w: signature line is from %s+%08x, not %s+%08x",
			ErrBadCosignature, c.Name, c.KeyID, k.Name, k.KeyID())
	}
	if len(k.Key) != ed25519.PublicKeySize || !ed25519.Verify(k.Key, CosignedMessage(body, c.Timestamp), c.Signature) {
		return fmt.Errorf("%w: %s's signature does not verify", ErrBadCosignature, k.Name)
	}
	return nil
}

// Cosignature is one Ed25519 cosignature/v1 note signature line
// (C2SP tlog-cosignature): "— <name> base64(key ID ‖ timestamp ‖
// signature)".
type Cosignature struct {
	// Name is the cosigner name.
	Name string
	// KeyID is the cosigner's key ID (see [CosignerKey.KeyID]).
	KeyID uint32
	// Timestamp is when the cosigner signed, in seconds since the POSIX
	// epoch.
	Timestamp uint64
	// Signature is the 64-byte Ed25519 signature over [CosignedMessage].
	Signature []byte
}

// ParseCosignature parses a cosignature line, without its final newline.
// It refuses lines whose signature is not exactly a 4-byte key ID, an
// 8-byte timestamp below 2^63 and a 64-byte Ed25519 signature in canonical
// base64.
func ParseCosignature(line string) (Cosignature, error) {
	rest, ok := strings.CutPrefix(line, sigLinePrefix)
	if !ok {
		return Cosignature{}, fmt.Errorf("%w: signature line does not start with %q", ErrMalformed, sigLinePrefix)
	}
	name, b64, ok := strings.Cut(rest, " ")
	if !ok || !validKeyName(name) {
		return Cosignature{}, fmt.Errorf("%w: signature line has no valid key name", ErrMalformed)
	}
	raw, err := decodeBase64(b64)
	if err != nil || len(raw) != cosignatureSize {
		return Cosignature{}, fmt.Errorf("%w: signature of %s is not a base64 Ed25519 cosignature", ErrMalformed, name)
	}
	ts := binary.BigEndian.Uint64(raw[4:12])
	if ts > math.MaxInt64 {
		return Cosignature{}, fmt.Errorf("%w: cosignature timestamp %d exceeds 2^63-1", ErrMalformed, ts)
	}
	return Cosignature{
		Name:      name,
		KeyID:     binary.BigEndian.Uint32(raw[:4]),
		Timestamp: ts,
		Signature: bytes.Clone(raw[12:]),
	}, nil
}

// String returns the signature line, without a final newline.
func (c Cosignature) String() string {
	raw := make([]byte, 12, 12+len(c.Signature))
	binary.BigEndian.PutUint32(raw[:4], c.KeyID)
	binary.BigEndian.PutUint64(raw[4:12], c.Timestamp)
	raw = append(raw, c.Signature...)
	return sigLinePrefix + c.Name + " " + base64.StdEncoding.EncodeToString(raw)
}

// Time returns the cosignature's timestamp as a time.
func (c Cosignature) Time() time.Time {
	return time.Unix(int64(c.Timestamp), 0).UTC()
}

// CosignedMessage returns the message an Ed25519 cosignature/v1 signs: the
// lines "cosignature/v1" and "time <timestamp>", then the checkpoint body
// (C2SP tlog-cosignature, "Ed25519 signed message").
func CosignedMessage(body []byte, timestamp uint64) []byte {
	msg := fmt.Appendf(nil, "cosignature/v1\ntime %d\n", timestamp)
	return append(msg, body...)
}

// validKeyName reports whether name is a valid signed-note key name:
// non-empty UTF-8 with no Unicode spaces and no plus signs.
func validKeyName(name string) bool {
	return name != "" && utf8.ValidString(name) &&
		strings.IndexFunc(name, unicode.IsSpace) < 0 && !strings.Contains(name, "+")
}

// keyIDHex formats a key ID for messages.
func keyIDHex(id uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], id)
	return hex.EncodeToString(b[:])
}

// VerifyCosignatureAnchor checks an anchor of kind [KindWitness] against the
// checkpoint it anchors: Data must be a cosignature line of key, with the
// anchor named after the key, and the Ed25519 cosignature/v1 must verify
// over cp's body (C2SP tlog-cosignature). Errors wrap [ErrBadCosignature],
// [ErrMalformed] or [ErrKind].
func VerifyCosignatureAnchor(a auditlog.Anchor, cp auditlog.Checkpoint, key CosignerKey) error {
	if a.Kind != KindWitness {
		return fmt.Errorf("%w: %q is not %q", ErrKind, a.Kind, KindWitness)
	}
	if a.Size != cp.Size {
		return fmt.Errorf("anchor: cosignature anchors size %d, checkpoint has size %d", a.Size, cp.Size)
	}
	if a.Name != key.Name {
		return fmt.Errorf("%w: anchor is named %q, key is %q", ErrBadCosignature, a.Name, key.Name)
	}
	body, _, err := checkpointBody(cp.Note)
	if err != nil {
		return err
	}
	c, err := ParseCosignature(string(a.Data))
	if err != nil {
		return err
	}
	return key.Verify(c, body)
}
