//go:build cgo

package pkcs11

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"os"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/signet-pki/signet/keys"
)

// A module is a loaded and initialized PKCS#11 library. C_Initialize may be
// called once per process (PKCS#11 v2.40 §5.4), so modules are shared by
// every Backend of the process that names the same path, and finalized when
// the last one closes.
type module struct {
	path   string
	ctx    *p11.Ctx
	refs   int
	tokens map[uint]*login // by slot
}

// A login is a session on one token that holds the user's login for every
// other session of the process (PKCS#11 v2.40 §5.6: login state is shared
// by all sessions of an application with the token). It is shared by the
// Backends open on that token.
type login struct {
	session p11.SessionHandle
	pinHash [32]byte
	refs    int
}

var modules = struct {
	sync.Mutex
	m map[string]*module
}{m: map[string]*module{}}

// acquire loads and initializes the module at path, or takes another
// reference to it.
func acquire(path string) (*module, error) {
	modules.Lock()
	defer modules.Unlock()
	if m, ok := modules.m[path]; ok {
		m.refs++
		return m, nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, errorf(keys.ErrBackendUnavailable, "module %s: %v", path, errors.Unwrap(err))
	}
	ctx := p11.New(path)
	if ctx == nil {
		return nil, errorf(keys.ErrBackendUnavailable, "module %s: cannot load it as a PKCS#11 library", path)
	}
	if err := ctx.Initialize(); err != nil && !errors.Is(err, p11.Error(p11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		ctx.Destroy()
		return nil, &opError{
			msg:      "pkcs11: module " + path + ": C_Initialize: " + ckName(err),
			sentinel: keys.ErrBackendUnavailable, cause: err,
		}
	}
	m := &module{path: path, ctx: ctx, refs: 1, tokens: map[uint]*login{}}
	modules.m[path] = m
	return m, nil
}

// release drops a reference taken by acquire; the last one finalizes and
// unloads the module.
func (m *module) release() {
	modules.Lock()
	defer modules.Unlock()
	m.refs--
	if m.refs > 0 {
		return
	}
	delete(modules.m, m.path)
	m.ctx.Finalize()
	m.ctx.Destroy()
}

// findToken returns the slot holding the one present token labelled label.
func (m *module) findToken(label string) (uint, error) {
	slots, err := m.ctx.GetSlotList(true)
	if err != nil {
		return 0, wrap(label, "list slots", err)
	}
	var found []uint
	for _, s := range slots {
		ti, err := m.ctx.GetTokenInfo(s)
		if err != nil {
			continue
		}
		if ti.Label == label && ti.Flags&p11.CKF_TOKEN_INITIALIZED != 0 {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return 0, errorf(keys.ErrBackendUnavailable, "no initialized token labelled %q in module %s", label, m.path)
	case 1:
		return found[0], nil
	}
	return 0, errorf(keys.ErrBackendUnavailable, "%d tokens labelled %q in module %s: labels must be unique", len(found), label, m.path)
}

// logIn logs the user in to the token in slot with pin, or checks pin
// against the login another Backend of this process already holds (the
// token cannot check it again while logged in).
func (m *module) logIn(slot uint, label, pin string) error {
	modules.Lock()
	defer modules.Unlock()
	h := sha256.Sum256([]byte(pin))
	if l, ok := m.tokens[slot]; ok {
		if subtle.ConstantTimeCompare(h[:], l.pinHash[:]) != 1 {
			return errorf(keys.ErrBackendUnavailable, "token %q: log in: wrong PIN (the token is already logged in with another PIN)", label)
		}
		l.refs++
		return nil
	}
	sh, err := m.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return wrap(label, "open session", err)
	}
	if err := m.ctx.Login(sh, p11.CKU_USER, pin); err != nil && !errors.Is(err, p11.Error(p11.CKR_USER_ALREADY_LOGGED_IN)) {
		m.ctx.CloseSession(sh)
		return wrap(label, "log in", err)
	}
	m.tokens[slot] = &login{session: sh, pinHash: h, refs: 1}
	return nil
}

// logOut drops a reference taken by logIn; the last one logs out and
// closes the login session.
func (m *module) logOut(slot uint) {
	modules.Lock()
	defer modules.Unlock()
	l, ok := m.tokens[slot]
	if !ok {
		return
	}
	l.refs--
	if l.refs > 0 {
		return
	}
	delete(m.tokens, slot)
	m.ctx.Logout(l.session)
	m.ctx.CloseSession(l.session)
}
