//go:build cgo

package pkcs11

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/signet-pki/signet/keys"
)

// opError is a one-line "pkcs11: ..." message that matches both a keys
// sentinel and the token's return value with errors.Is and errors.As.
type opError struct {
	msg      string
	sentinel error // keys.ErrBackendUnavailable, keys.ErrKeyNotFound or nil
	cause    error // a p11.Error or nil
}

func (e *opError) Error() string { return e.msg }

func (e *opError) Unwrap() []error {
	var errs []error
	if e.sentinel != nil {
		errs = append(errs, e.sentinel)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// ckName returns the CKR_ name of a PKCS#11 return value, or the error's
// text for other errors.
func ckName(err error) string {
	var ck p11.Error
	if errors.As(err, &ck) {
		s := ck.Error()
		if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s[i+2:], "CKR_") {
			return s[i+2:]
		}
		return fmt.Sprintf("CKR 0x%X", uint(ck))
	}
	return err.Error()
}

// unavailableCodes are the return values that mean the token cannot be
// used now (PKCS#11 v2.40 §5.1): absent or failed device, bad login.
var unavailableCodes = sync.OnceValue(func() map[p11.Error]string {
	return map[p11.Error]string{
		p11.CKR_PIN_INCORRECT:                  "wrong PIN",
		p11.CKR_PIN_INVALID:                    "invalid PIN",
		p11.CKR_PIN_LEN_RANGE:                  "PIN length out of range",
		p11.CKR_PIN_LOCKED:                     "PIN locked",
		p11.CKR_PIN_EXPIRED:                    "PIN expired",
		p11.CKR_USER_PIN_NOT_INITIALIZED:       "user PIN not initialized",
		p11.CKR_TOKEN_NOT_PRESENT:              "token not present",
		p11.CKR_TOKEN_NOT_RECOGNIZED:           "token not recognized",
		p11.CKR_DEVICE_REMOVED:                 "device removed",
		p11.CKR_DEVICE_ERROR:                   "device error",
		p11.CKR_DEVICE_MEMORY:                  "device memory exhausted",
		p11.CKR_SESSION_HANDLE_INVALID:         "session lost",
		p11.CKR_SESSION_CLOSED:                 "session closed",
		p11.CKR_USER_NOT_LOGGED_IN:             "not logged in",
		p11.CKR_CRYPTOKI_NOT_INITIALIZED:       "module not initialized",
		p11.CKR_SESSION_COUNT:                  "too many sessions",
		p11.CKR_TOKEN_WRITE_PROTECTED:          "token write-protected",
		p11.CKR_FUNCTION_FAILED:                "function failed",
		p11.CKR_GENERAL_ERROR:                  "general error",
		p11.CKR_HOST_MEMORY:                    "host memory exhausted",
		p11.CKR_USER_TYPE_INVALID:              "user type invalid",
		p11.CKR_SESSION_READ_ONLY_EXISTS:       "read-only session exists",
		p11.CKR_USER_ANOTHER_ALREADY_LOGGED_IN: "another user is logged in",
	}
})

// notFoundCodes are the return values that mean the key is gone.
var notFoundCodes = sync.OnceValue(func() map[p11.Error]bool {
	return map[p11.Error]bool{
		p11.CKR_KEY_HANDLE_INVALID:    true,
		p11.CKR_OBJECT_HANDLE_INVALID: true,
	}
})

// wrap turns an error from the module into an opError for operation op on
// token label, choosing the keys sentinel from the return value.
func wrap(label, op string, err error) error {
	if err == nil {
		return nil
	}
	var oe *opError
	if errors.As(err, &oe) {
		return err
	}
	var ck p11.Error
	if errors.As(err, &ck) {
		if what, ok := unavailableCodes()[ck]; ok {
			return &opError{
				msg:      fmt.Sprintf("pkcs11: token %q: %s: %s (%s)", label, op, what, ckName(ck)),
				sentinel: keys.ErrBackendUnavailable, cause: ck,
			}
		}
		if notFoundCodes()[ck] {
			return &opError{
				msg:      fmt.Sprintf("pkcs11: token %q: %s: key not found (%s)", label, op, ckName(ck)),
				sentinel: keys.ErrKeyNotFound, cause: ck,
			}
		}
		return &opError{msg: fmt.Sprintf("pkcs11: token %q: %s: %s", label, op, ckName(ck)), cause: ck}
	}
	return &opError{msg: fmt.Sprintf("pkcs11: token %q: %s: %v", label, op, err), cause: err}
}

// errorf builds an opError wrapping sentinel (which may be nil).
func errorf(sentinel error, format string, args ...any) error {
	return &opError{msg: "pkcs11: " + fmt.Sprintf(format, args...), sentinel: sentinel}
}
