package totp

import (
	"encoding/base32"
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// MaxURILen bounds a provisioning URI given to ParseURI.
const MaxURILen = 1024

// ErrURI reports a provisioning URI that ParseURI refuses.
var ErrURI = errors.New("totp: invalid provisioning URI")

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// URI returns the otpauth:// provisioning URI of k for account at issuer
// (Google Authenticator's Key Uri Format):
//
//	otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
//
// The URI holds the secret: show it once (as a QR code), never log or
// store it.
func (k Key) URI(issuer, account string) (string, error) {
	if err := k.Validate(); err != nil {
		return "", err
	}
	if issuer == "" || account == "" || strings.Contains(issuer, ":") {
		return "", ErrURI
	}
	q := url.Values{}
	q.Set("secret", b32.EncodeToString(k.Secret))
	q.Set("issuer", issuer)
	q.Set("algorithm", k.Algorithm.String())
	q.Set("digits", strconv.Itoa(k.Digits))
	q.Set("period", "30")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: q.Encode()}
	s := u.String()
	if len(s) > MaxURILen {
		return "", ErrURI
	}
	return s, nil
}

// ParseURI reads a provisioning URI as URI writes it: scheme otpauth, type
// totp, a label ISSUER:ACCOUNT whose issuer equals the issuer parameter,
// and the parameters secret (unpadded base32, MinSecretLen to MaxSecretLen
// bytes), issuer, algorithm, digits and period=30, each exactly once and
// no others. It returns the key, the issuer and the account.
func ParseURI(s string) (k Key, issuer, account string, err error) {
	if len(s) > MaxURILen {
		return Key{}, "", "", ErrURI
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.User != nil ||
		u.Fragment != "" || u.Opaque != "" || u.ForceQuery {
		return Key{}, "", "", ErrURI
	}
	label, ok := strings.CutPrefix(u.Path, "/")
	if !ok {
		return Key{}, "", "", ErrURI
	}
	issuer, account, ok = strings.Cut(label, ":")
	if !ok || issuer == "" || account == "" {
		return Key{}, "", "", ErrURI
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil || len(q) != 5 {
		return Key{}, "", "", ErrURI
	}
	one := func(name string) string {
		v := q[name]
		if len(v) != 1 {
			ok = false
			return ""
		}
		return v[0]
	}
	secret, iss, alg, digits, period := one("secret"), one("issuer"), one("algorithm"), one("digits"), one("period")
	if !ok || iss != issuer || period != "30" {
		return Key{}, "", "", ErrURI
	}
	switch alg {
	case "SHA1":
		k.Algorithm = SHA1
	case "SHA256":
		k.Algorithm = SHA256
	case "SHA512":
		k.Algorithm = SHA512
	default:
		return Key{}, "", "", ErrURI
	}
	if len(digits) != 1 || digits[0] < '0' || digits[0] > '9' {
		return Key{}, "", "", ErrURI
	}
	k.Digits = int(digits[0] - '0')
	// Canonical only: the secret must encode back to itself (no stray
	// trailing bits).
	if k.Secret, err = b32.DecodeString(secret); err != nil || b32.EncodeToString(k.Secret) != secret {
		return Key{}, "", "", ErrURI
	}
	if err := k.Validate(); err != nil {
		return Key{}, "", "", ErrURI
	}
	return k, issuer, account, nil
}
