package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/pkcs11"
)

// The backends of [KeysAtRestConfig.Backend].
const (
	// BackendSoft is the sealed software backend (keys/soft), under the
	// master key: the default.
	BackendSoft = "soft"
	// BackendPKCS11 is the token of [Config.PKCS11].
	BackendPKCS11 = "pkcs11"
)

// MaxPKCS11Sessions bounds [PKCS11Config.MaxSessions].
const MaxPKCS11Sessions = 256

// PKCS11Config names a PKCS#11 token (an HSM; SoftHSM2 in tests) for key
// custody. Its keys are generated inside the token, sensitive and
// non-extractable, and used there (keys/pkcs11). The user PIN comes only
// from the environment variable PINEnv names, never from the file.
//
// While the section is present the token is registered with key custody
// under the name "pkcs11:TOKEN_LABEL", so that keys made on it stay
// usable whichever backend new keys go to.
type PKCS11Config struct {
	// Module is the path of the vendor's PKCS#11 module, e.g.
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string `json:"module"`
	// TokenLabel selects the token by its label (never by slot, which
	// can change); exactly one present token must carry it.
	TokenLabel string `json:"token_label"`
	// PINEnv names the environment variable that holds the user PIN.
	PINEnv string `json:"pin_env"`
	// MaxSessions bounds the token's sessions for operations (default
	// pkcs11.DefaultMaxSessions, at most MaxPKCS11Sessions).
	MaxSessions int `json:"max_sessions"`
}

// KeysAtRestConfig says where key custody makes the tenants'
// key-encryption keys (purpose data-key-wrapping, AES-256), which wrap
// the data keys of everything stored at rest.
type KeysAtRestConfig struct {
	// Backend is "soft" (the default: the sealed software backend) or
	// "pkcs11" (the token of [Config.PKCS11]). It applies to keys made
	// from now on; existing keys stay where they are.
	Backend string `json:"backend"`
}

// validateKeys checks pkcs11 and keys_at_rest; each error is one line.
func (c *Config) validateKeys() []error {
	var errs []error
	switch c.KeysAtRest.Backend {
	case "", BackendSoft:
	case BackendPKCS11:
		if c.PKCS11 == nil && c.Role != RoleAPI {
			errs = append(errs, errors.New(`keys_at_rest.backend "pkcs11" needs a pkcs11 section: {"module", "token_label", "pin_env"}`))
		}
	default:
		errs = append(errs, fmt.Errorf(`keys_at_rest.backend %q is neither "soft" nor "pkcs11"`, c.KeysAtRest.Backend))
	}
	p := c.PKCS11
	if p == nil {
		return errs
	}
	if c.Role == RoleAPI {
		// The api role holds no key backend credential: it reaches the
		// keys through the signer.
		return append(errs, errors.New("role api: pkcs11 belongs to the signer's configuration: the api role holds no key backend credential"))
	}
	if p.Module == "" {
		errs = append(errs, errors.New("pkcs11.module is required: the path of the token's PKCS#11 module"))
	}
	if p.TokenLabel == "" {
		errs = append(errs, errors.New("pkcs11.token_label is required: the label of the token to use"))
	} else if len(p.TokenLabel) > 32 {
		errs = append(errs, fmt.Errorf("pkcs11.token_label %q is longer than 32 bytes, the longest a token label can be", p.TokenLabel))
	}
	if p.PINEnv == "" {
		errs = append(errs, errors.New("pkcs11.pin_env is required: the environment variable that holds the user PIN (the PIN is never in the file)"))
	}
	if p.MaxSessions < 0 || p.MaxSessions > MaxPKCS11Sessions {
		errs = append(errs, fmt.Errorf("pkcs11.max_sessions %d is outside 0–%d", p.MaxSessions, MaxPKCS11Sessions))
	}
	return errs
}

// atRestBackend is the name of the backend of new tenant KEKs for the
// data directory ("" = the default backend), in one process or the
// signer.
func (c *Config) atRestBackend() string {
	if c.KeysAtRest.Backend != BackendPKCS11 || c.PKCS11 == nil {
		return ""
	}
	return c.PKCS11.BackendName()
}

// BackendName is the name under which key custody knows the token:
// "pkcs11:" and its label.
func (p *PKCS11Config) BackendName() string { return "pkcs11:" + p.TokenLabel }

// signerAtRestBackend is, for the api role, the name of the backend of
// new tenant KEKs: with keys_at_rest.backend "pkcs11", the PKCS#11 token
// the signer serves (one of others, its further backends).
func signerAtRestBackend(cfg Config, others []keys.Backend) (string, error) {
	if cfg.KeysAtRest.Backend != BackendPKCS11 {
		return "", nil
	}
	var names []string
	for _, b := range others {
		if strings.HasPrefix(b.Name(), "pkcs11:") {
			names = append(names, b.Name())
		}
	}
	if len(names) != 1 {
		return "", fmt.Errorf(`server: keys_at_rest.backend "pkcs11": the signer at %s serves %d PKCS#11 tokens, want one: give the signer's configuration a pkcs11 section`, cfg.Signer.URL, len(names))
	}
	return names[0], nil
}

// openPKCS11 opens the token of cfg.PKCS11, if any, with the PIN from
// the environment variable it names (see [OpenPKCS11]).
func openPKCS11(ctx context.Context, cfg Config, o options) (*pkcs11.Backend, error) {
	if cfg.PKCS11 == nil {
		return nil, nil
	}
	return OpenPKCS11(ctx, cfg.PKCS11, o.secretOf)
}

// OpenPKCS11 opens the token p names, the PIN read with secret from the
// environment variable p.PINEnv names, as `signet serve` does; the data
// commands use it for the keys in the token. The caller closes the
// backend. Its errors are one line and never contain the PIN.
func OpenPKCS11(ctx context.Context, p *PKCS11Config, secret func(name string) string) (*pkcs11.Backend, error) {
	if !pkcs11Supported {
		return nil, errors.New("server: pkcs11: this build has no PKCS#11 support (it was built without cgo): use a build with cgo, or remove the pkcs11 section")
	}
	pin := ""
	if secret != nil && p.PINEnv != "" {
		pin = secret(p.PINEnv)
	}
	if pin == "" {
		return nil, fmt.Errorf("server: pkcs11: $%s is unset or empty: the token's user PIN comes only from the environment variable pkcs11.pin_env names", p.PINEnv)
	}
	b, err := pkcs11.Open(ctx, pkcs11.Config{Module: p.Module, TokenLabel: p.TokenLabel, PIN: pin, MaxSessions: p.MaxSessions})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return b, nil
}

// The token is a key custody backend that wraps in the token.
var (
	_ keys.Backend = (*pkcs11.Backend)(nil)
	_ keys.Wrapper = (*pkcs11.Backend)(nil)
)
