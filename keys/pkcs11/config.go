package pkcs11

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// DefaultMaxSessions is the size of the session pool when
// [Config.MaxSessions] is zero.
const DefaultMaxSessions = 8

// Config selects a token and the credentials to use it.
type Config struct {
	// Module is the path of the PKCS#11 module, e.g.
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel is the token's label (CK_TOKEN_INFO.label, blank padding
	// removed). Exactly one present token must carry it.
	TokenLabel string
	// PIN is the user PIN (CKU_USER). It is never logged or printed.
	PIN string
	// MaxSessions bounds the sessions opened for operations, besides the
	// one that holds the login. Zero means DefaultMaxSessions.
	MaxSessions int
	// Rand is the source of the random CKA_ID of generated keys. Nil means
	// crypto/rand.
	Rand io.Reader
}

// Validate reports whether c names a module and a token label and has a
// PIN. Its messages never contain the PIN.
func (c Config) Validate() error {
	var errs []error
	if c.Module == "" {
		errs = append(errs, errors.New("pkcs11: config: no module path"))
	}
	if c.TokenLabel == "" {
		errs = append(errs, errors.New("pkcs11: config: no token label"))
	} else if len(c.TokenLabel) > 32 {
		errs = append(errs, errors.New("pkcs11: config: token label longer than 32 bytes"))
	}
	if c.PIN == "" {
		errs = append(errs, errors.New("pkcs11: config: no PIN"))
	}
	if c.MaxSessions < 0 {
		errs = append(errs, errors.New("pkcs11: config: negative MaxSessions"))
	}
	return errors.Join(errs...)
}

// String describes c with the PIN replaced by "REDACTED".
func (c Config) String() string {
	pin := ""
	if c.PIN != "" {
		pin = "REDACTED"
	}
	return fmt.Sprintf("pkcs11.Config{Module: %q, TokenLabel: %q, PIN: %q, MaxSessions: %d}",
		c.Module, c.TokenLabel, pin, c.MaxSessions)
}

// GoString is String, so that %#v never prints the PIN.
func (c Config) GoString() string { return c.String() }

// LogValue implements [slog.LogValuer] without the PIN.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("module", c.Module),
		slog.String("token", c.TokenLabel),
		slog.Bool("pin_set", c.PIN != ""),
		slog.Int("max_sessions", c.MaxSessions),
	)
}

func (c Config) maxSessions() int {
	if c.MaxSessions == 0 {
		return DefaultMaxSessions
	}
	return c.MaxSessions
}

// name is the Backend name for a token label.
func name(label string) string { return "pkcs11:" + label }
