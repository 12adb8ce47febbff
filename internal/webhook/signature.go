package webhook

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the Standard Webhooks specification.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

const (
	secretPrefix    = "whsec_"
	publicKeyPrefix = "whpk_"
	// SecretSize is the number of random bytes of a new secret.
	SecretSize = 32
	// minSecret and maxSecret bound the key of a parsed secret, as the
	// specification recommends (24 to 64 bytes).
	minSecret = 24
	maxSecret = 64
	// DefaultTolerance is how far a timestamp may be from the verifier's
	// clock.
	DefaultTolerance = 5 * time.Minute
	// maxSignatureHeader bounds the signature header Verify reads.
	maxSignatureHeader = 4096
)

// ErrVerification is wrapped by every verification failure.
var ErrVerification = errors.New("webhook: verification failed")

// A Secret is the symmetric key of an endpoint.
type Secret []byte

// NewSecret returns SecretSize random bytes.
func NewSecret() (Secret, error) {
	s := make(Secret, SecretSize)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("webhook: secret: %w", err)
	}
	return s, nil
}

// String returns the secret in its "whsec_<base64>" form, the only form
// in which it is shown to the endpoint's owner.
func (s Secret) String() string { return secretPrefix + base64.StdEncoding.EncodeToString(s) }

// ParseSecret reads a "whsec_<base64>" secret (the prefix is optional, as
// in the specification's libraries).
func ParseSecret(text string) (Secret, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(text, secretPrefix))
	if err != nil {
		return nil, errors.New("webhook: secret is not base64")
	}
	if len(b) < minSecret || len(b) > maxSecret {
		return nil, fmt.Errorf("webhook: secret of %d bytes, want %d to %d", len(b), minSecret, maxSecret)
	}
	return Secret(b), nil
}

// signedContent is what the specification signs: "id.timestamp.body".
func signedContent(id string, ts int64, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(body)+24)
	b = append(b, id...)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	return append(b, body...)
}

func hmacSig(key []byte, content []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(content)
	return m.Sum(nil)
}

// SignV1 returns "v1,<base64 HMAC-SHA256(secret, id.ts.body)>".
func SignV1(secret Secret, id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(hmacSig(secret, signedContent(id, ts.Unix(), body)))
}

// SignV1a returns "v1a,<base64 Ed25519(key, id.ts.body)>".
func SignV1a(key ed25519.PrivateKey, id string, ts time.Time, body []byte) string {
	return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(key, signedContent(id, ts.Unix(), body)))
}

// A Signer signs one message for one endpoint: with every secret in
// Secrets (the current one and, during a rotation, the previous one) and,
// when Key is set, with Ed25519.
type Signer struct {
	Secrets []Secret
	Key     ed25519.PrivateKey
}

// Headers returns the three Standard Webhooks headers of a message.
func (s Signer) Headers(id string, ts time.Time, body []byte) http.Header {
	sigs := make([]string, 0, len(s.Secrets)+1)
	for _, sec := range s.Secrets {
		sigs = append(sigs, SignV1(sec, id, ts, body))
	}
	if s.Key != nil {
		sigs = append(sigs, SignV1a(s.Key, id, ts, body))
	}
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, strings.Join(sigs, " "))
	return h
}

// PublicKeyString returns an Ed25519 public key as "whpk_<base64>".
func PublicKeyString(pub ed25519.PublicKey) string {
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads a "whpk_<base64>" key.
func ParsePublicKey(text string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(text, publicKeyPrefix))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("webhook: malformed public key")
	}
	return ed25519.PublicKey(b), nil
}

// A Verifier checks the headers of a received message. A message is
// accepted when its timestamp is within Tolerance of Now and at least one
// of its signatures verifies under one of Secrets (v1) or Keys (v1a).
type Verifier struct {
	Secrets   []Secret
	Keys      []ed25519.PublicKey
	Tolerance time.Duration    // 0 means DefaultTolerance
	Now       func() time.Time // nil means time.Now
}

// Verify checks h and body; it returns the message id and timestamp.
func (v Verifier) Verify(h http.Header, body []byte) (id string, ts time.Time, err error) {
	id = h.Get(HeaderID)
	tsText := h.Get(HeaderTimestamp)
	sigText := h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigText == "" {
		return "", time.Time{}, fmt.Errorf("%w: missing header", ErrVerification)
	}
	if len(sigText) > maxSignatureHeader {
		return "", time.Time{}, fmt.Errorf("%w: signature header too long", ErrVerification)
	}
	sec, perr := strconv.ParseInt(tsText, 10, 64)
	if perr != nil {
		return "", time.Time{}, fmt.Errorf("%w: malformed timestamp", ErrVerification)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	tol := v.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	ts = time.Unix(sec, 0)
	if d := now().Sub(ts); d > tol || d < -tol {
		return "", time.Time{}, fmt.Errorf("%w: timestamp outside the tolerance", ErrVerification)
	}
	content := signedContent(id, sec, body)
	var macs [][]byte
	for _, s := range v.Secrets {
		macs = append(macs, hmacSig(s, content))
	}
	for _, part := range strings.Split(sigText, " ") {
		version, b64, ok := strings.Cut(part, ",")
		if !ok {
			continue
		}
		sig, derr := base64.StdEncoding.DecodeString(b64)
		if derr != nil {
			continue
		}
		switch version {
		case "v1":
			for _, m := range macs {
				if subtle.ConstantTimeCompare(m, sig) == 1 {
					return id, ts, nil
				}
			}
		case "v1a":
			for _, k := range v.Keys {
				if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, content, sig) {
					return id, ts, nil
				}
			}
		}
	}
	return "", time.Time{}, fmt.Errorf("%w: no matching signature", ErrVerification)
}
