package passkey

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/signet-pki/signet/internal/identity"
)

// Kind is the kind of a ceremony.
type Kind uint8

// The kinds of ceremony.
const (
	KindRegistration Kind = 1
	KindLogin        Kind = 2
	KindSigning      Kind = 3
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindRegistration:
		return "registration"
	case KindLogin:
		return "login"
	case KindSigning:
		return "signing"
	}
	return fmt.Sprintf("kind %d", uint8(k))
}

// Bounds of a ceremony.
const (
	minChallenge = 16
	maxChallenge = 64
	// MaxCeremony bounds the binary form of a [Ceremony].
	MaxCeremony = 1024
)

// ceremonyMagic opens the binary form of a [Ceremony], version 1.
const ceremonyMagic = "SGPK\x01"

// A Ceremony is the state the relying party keeps between the two halves
// of a ceremony: its kind, the user (tenant and id), the challenge, the
// expiry and, for a signing ceremony, what is signed. It is not secret
// but must not be changed by the client: the caller keeps it server-side
// or sealed in the session, and uses it once.
//
// Its binary form ([Ceremony.MarshalBinary]) is
//
//	"SGPK" 0x01 ‖ kind (1 byte) ‖ expiry (int64be Unix nanoseconds) ‖
//	u8 len ‖ challenge ‖ u8 len ‖ tenant ‖ u8 len ‖ user id
//	[ for a signing ceremony: document SHA-256 (32 bytes) ‖ u8 len ‖ envelope id ‖ u8 len ‖ signer id ]
//
// with a challenge of 16 to 64 bytes and ids of UTF-8 of 1 to
// [identity.MaxID] bytes; at most [MaxCeremony] bytes in all.
type Ceremony struct {
	kind      Kind
	tenant    string
	userID    string
	challenge []byte
	expires   time.Time
	// Signing only.
	document             [32]byte
	envelopeID, signerID string
}

// Kind returns the ceremony's kind; zero for the zero Ceremony.
func (c Ceremony) Kind() Kind { return c.kind }

// Expires returns when the ceremony's time is up.
func (c Ceremony) Expires() time.Time { return c.expires }

// Signing returns what a signing ceremony binds: the document's SHA-256,
// the envelope and the signer; ok is false for another kind.
func (c Ceremony) Signing() (documentSHA256 [32]byte, envelopeID, signerID string, ok bool) {
	return c.document, c.envelopeID, c.signerID, c.kind == KindSigning
}

func id(field, s string) error {
	if s == "" || len(s) > identity.MaxID || !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s must be UTF-8 of 1 to %d bytes", ErrCeremony, field, identity.MaxID)
	}
	return nil
}

func (c Ceremony) validate() error {
	switch {
	case c.kind != KindRegistration && c.kind != KindLogin && c.kind != KindSigning:
		return fmt.Errorf("%w: unknown kind %d", ErrCeremony, c.kind)
	case len(c.challenge) < minChallenge || len(c.challenge) > maxChallenge:
		return fmt.Errorf("%w: challenge of %d bytes", ErrCeremony, len(c.challenge))
	case c.expires.IsZero():
		return fmt.Errorf("%w: no expiry", ErrCeremony)
	}
	if err := id("tenant", c.tenant); err != nil {
		return err
	}
	if err := id("user id", c.userID); err != nil {
		return err
	}
	if c.kind != KindSigning {
		if c.document != ([32]byte{}) || c.envelopeID != "" || c.signerID != "" {
			return fmt.Errorf("%w: a %v ceremony binds no document", ErrCeremony, c.kind)
		}
		return nil
	}
	if err := id("envelope id", c.envelopeID); err != nil {
		return err
	}
	if err := id("signer id", c.signerID); err != nil {
		return err
	}
	if want := SigningChallenge(c.document, c.envelopeID, c.signerID); string(c.challenge) != string(want[:]) {
		return fmt.Errorf("%w: the challenge is not the document's", ErrCeremony)
	}
	return nil
}

// MarshalBinary returns the binary form of c (see [Ceremony]).
func (c Ceremony) MarshalBinary() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	b := append([]byte(ceremonyMagic), byte(c.kind))
	b = binary.BigEndian.AppendUint64(b, uint64(c.expires.UnixNano()))
	b = appendField(b, string(c.challenge))
	b = appendField(b, c.tenant)
	b = appendField(b, c.userID)
	if c.kind == KindSigning {
		b = append(b, c.document[:]...)
		b = appendField(b, c.envelopeID)
		b = appendField(b, c.signerID)
	}
	return b, nil
}

func appendField(b []byte, s string) []byte { return append(append(b, byte(len(s))), s...) }

// UnmarshalBinary decodes the binary form of a ceremony, refusing one
// that is malformed, too long, or carries trailing bytes. It does not
// check the expiry (the Finish methods do).
func (c *Ceremony) UnmarshalBinary(b []byte) error {
	if len(b) > MaxCeremony {
		return fmt.Errorf("%w: %d bytes", ErrCeremony, len(b))
	}
	r := reader{b: b}
	if string(r.take(len(ceremonyMagic))) != ceremonyMagic {
		return fmt.Errorf("%w: not a version 1 ceremony", ErrCeremony)
	}
	var v Ceremony
	v.kind = Kind(r.byte())
	if exp := r.take(8); exp != nil {
		v.expires = time.Unix(0, int64(binary.BigEndian.Uint64(exp))).UTC()
	}
	v.challenge = append([]byte(nil), r.field()...)
	v.tenant = string(r.field())
	v.userID = string(r.field())
	if v.kind == KindSigning {
		copy(v.document[:], r.take(32))
		v.envelopeID = string(r.field())
		v.signerID = string(r.field())
	}
	if r.bad || len(r.b) != 0 {
		return fmt.Errorf("%w: truncated or trailing bytes", ErrCeremony)
	}
	if err := v.validate(); err != nil {
		return err
	}
	*c = v
	return nil
}

// reader takes bytes off b; past the end it marks itself bad.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) field() []byte { return r.take(int(r.byte())) }
