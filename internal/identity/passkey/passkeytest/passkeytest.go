// Package passkeytest is a virtual WebAuthn authenticator for tests: it
// answers the options a relying party sends to navigator.credentials
// (create and get) with real responses — ES256 credentials, "none"
// attestation, assertions signed over authenticatorData ‖
// SHA-256(clientDataJSON) — as a browser and a platform authenticator
// would (WebAuthn Level 3 §5.1.3, §5.1.4, §6). It is written from the
// specification, independently of go-webauthn, so that a test of the
// relying party exercises the real protocol.
//
// Its knobs make it misbehave the ways a relying party must notice: no
// user verification, no signature counter, an RP ID hash of another
// site, and [Authenticator.Clone] for a cloned device.
package passkeytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Flags of authenticator data (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

// An Authenticator holds ES256 credentials and answers create and get
// requests. Its zero value is ready to use; it is safe for concurrent use.
type Authenticator struct {
	// AAGUID is reported at registration.
	AAGUID [16]byte
	// NoUserVerification leaves the UV flag clear, as a security key used
	// without its PIN.
	NoUserVerification bool
	// NoCounter keeps every signature counter at zero, as many synced
	// passkey providers do.
	NoCounter bool
	// Synced sets the BE and BS flags (a backed-up, multi-device passkey).
	Synced bool
	// HashedRPID, if set, is hashed into authenticator data instead of
	// the RP ID asked for: what a relay on another site would produce.
	HashedRPID string

	mu    sync.Mutex
	creds []*credential
}

type credential struct {
	id         []byte
	rpID       string
	userHandle []byte
	key        *ecdsa.PrivateKey
	counter    uint32
}

// Clone returns an authenticator that holds copies of a's credentials and
// counters: a cloned device, whose counter lags behind the original's once
// either is used.
func (a *Authenticator) Clone() *Authenticator {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := &Authenticator{AAGUID: a.AAGUID, NoUserVerification: a.NoUserVerification, NoCounter: a.NoCounter,
		Synced: a.Synced, HashedRPID: a.HashedRPID}
	for _, cr := range a.creds {
		cp := *cr
		c.creds = append(c.creds, &cp)
	}
	return c
}

// CredentialIDs returns the ids of the credentials a holds.
func (a *Authenticator) CredentialIDs() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out [][]byte
	for _, c := range a.creds {
		out = append(out, slices.Clone(c.id))
	}
	return out
}

// b64 is base64url without padding, WebAuthn's JSON encoding of bytes.
type b64 []byte

func (b b64) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.RawURLEncoding.EncodeToString(b))
}

func (b *b64) UnmarshalJSON(d []byte) error {
	var s string
	if err := json.Unmarshal(d, &s); err != nil {
		return err
	}
	v, err := base64.RawURLEncoding.DecodeString(s)
	*b = v
	return err
}

type descriptor struct {
	Type string `json:"type"`
	ID   b64    `json:"id"`
}

type param struct {
	Type string `json:"type"`
	Alg  int    `json:"alg"`
}

type creationOptions struct {
	PublicKey struct {
		Challenge b64 `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID b64 `json:"id"`
		} `json:"user"`
		Params  []param      `json:"pubKeyCredParams"`
		Exclude []descriptor `json:"excludeCredentials"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge b64          `json:"challenge"`
		RPID      string       `json:"rpId"`
		Allow     []descriptor `json:"allowCredentials"`
	} `json:"publicKey"`
}

func clientData(typ string, challenge []byte, origin string) []byte {
	b, _ := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, base64.RawURLEncoding.EncodeToString(challenge), origin, false})
	return b
}

func (a *Authenticator) flags() byte {
	f := byte(flagUP)
	if !a.NoUserVerification {
		f |= flagUV
	}
	if a.Synced {
		f |= flagBE | flagBS
	}
	return f
}

func (a *Authenticator) rpIDHash(rpID string) []byte {
	if a.HashedRPID != "" {
		rpID = a.HashedRPID
	}
	h := sha256.Sum256([]byte(rpID))
	return h[:]
}

// Create answers the options of navigator.credentials.create (the JSON
// object with a "publicKey" member) from origin: it makes a new ES256
// credential and returns the registration response as JSON
// (RegistrationResponseJSON, with "none" attestation).
func (a *Authenticator) Create(optionsJSON []byte, origin string) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: creation options: %w", err)
	}
	pk := o.PublicKey
	if len(pk.Challenge) == 0 || pk.RP.ID == "" || len(pk.User.ID) == 0 {
		return nil, errors.New("passkeytest: creation options lack a challenge, an RP ID or a user id")
	}
	if !slices.ContainsFunc(pk.Params, func(p param) bool { return p.Type == "public-key" && p.Alg == -7 }) {
		return nil, errors.New("passkeytest: ES256 not among the accepted algorithms")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.creds {
		if c.rpID == pk.RP.ID && slices.ContainsFunc(pk.Exclude, func(d descriptor) bool { return bytes.Equal(d.ID, c.id) }) {
			return nil, errors.New("passkeytest: InvalidStateError: a credential of the exclude list is present")
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 32)
	rand.Read(id)
	c := &credential{id: id, rpID: pk.RP.ID, userHandle: slices.Clone(pk.User.ID), key: key}

	// Authenticator data with attested credential data (§6.1, §6.5.1).
	auth := append(a.rpIDHash(pk.RP.ID), a.flags()|flagAT)
	auth = binary.BigEndian.AppendUint32(auth, c.counter)
	auth = append(auth, a.AAGUID[:]...)
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(id)))
	auth = append(auth, id...)
	auth = append(auth, coseES256(&key.PublicKey)...)

	// The attestation object, "none" format (§6.5.4, §8.7).
	var att []byte
	att = cborHead(att, 5, 3)
	att = cborText(att, "fmt")
	att = cborText(att, "none")
	att = cborText(att, "attStmt")
	att = cborHead(att, 5, 0)
	att = cborText(att, "authData")
	att = cborBytes(att, auth)

	cdj := clientData("webauthn.create", pk.Challenge, origin)
	a.creds = append(a.creds, c)
	return json.Marshal(map[string]any{
		"id": base64.RawURLEncoding.EncodeToString(id), "rawId": b64(id), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON": b64(cdj), "attestationObject": b64(att), "transports": []string{"internal", "hybrid"},
		},
		"clientExtensionResults": map[string]any{},
	})
}

// Get answers the options of navigator.credentials.get from origin: it
// picks a credential it holds for the RP ID (one of allowCredentials, if
// the list is not empty), advances its counter (unless NoCounter) and
// returns the authentication response as JSON (AuthenticationResponseJSON).
func (a *Authenticator) Get(optionsJSON []byte, origin string) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: request options: %w", err)
	}
	pk := o.PublicKey
	if len(pk.Challenge) == 0 || pk.RPID == "" {
		return nil, errors.New("passkeytest: request options lack a challenge or an RP ID")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var c *credential
	for _, cr := range a.creds {
		if cr.rpID == pk.RPID && (len(pk.Allow) == 0 || slices.ContainsFunc(pk.Allow, func(d descriptor) bool { return bytes.Equal(d.ID, cr.id) })) {
			c = cr
			break
		}
	}
	if c == nil {
		return nil, errors.New("passkeytest: NotAllowedError: no credential for this RP ID")
	}
	if !a.NoCounter {
		c.counter++
	}
	auth := append(a.rpIDHash(pk.RPID), a.flags())
	auth = binary.BigEndian.AppendUint32(auth, c.counter)
	cdj := clientData("webauthn.get", pk.Challenge, origin)
	h := sha256.Sum256(cdj)
	digest := sha256.Sum256(append(slices.Clone(auth), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": base64.RawURLEncoding.EncodeToString(c.id), "rawId": b64(c.id), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON": b64(cdj), "authenticatorData": b64(auth), "signature": b64(sig), "userHandle": b64(c.userHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}

// coseES256 encodes an ECDSA P-256 public key as a COSE_Key (RFC 9053
// §7.1.1): {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}, keys
// in CTAP2 canonical order.
func coseES256(pub *ecdsa.PublicKey) []byte {
	e, err := pub.ECDH()
	if err != nil {
		panic(err)
	}
	raw := e.Bytes() // 0x04 ‖ x ‖ y
	var b []byte
	b = cborHead(b, 5, 5)
	b = cborHead(b, 0, 1)
	b = cborHead(b, 0, 2)
	b = cborHead(b, 0, 3)
	b = cborHead(b, 1, 6) // -7
	b = cborHead(b, 1, 0) // -1
	b = cborHead(b, 0, 1)
	b = cborHead(b, 1, 1) // -2
	b = cborBytes(b, raw[1:33])
	b = cborHead(b, 1, 2) // -3
	b = cborBytes(b, raw[33:])
	return b
}

// cborHead appends a CBOR head (RFC 8949 §3) of major type major and
// argument n.
func cborHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n < 1<<8:
		return append(b, m|24, byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n < 1<<32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

func cborBytes(b, v []byte) []byte { return append(cborHead(b, 2, uint64(len(v))), v...) }

func cborText(b []byte, s string) []byte { return append(cborHead(b, 3, uint64(len(s))), s...) }
