//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/signet-pki/signet/keys"
)

// A pool hands out sessions on one token, one goroutine per session at a
// time (PKCS#11 v2.40 §5.6: a session runs one operation at a time), and
// opens at most cap(open) of them.
type pool struct {
	ctx   *p11.Ctx
	slot  uint
	label string
	idle  chan p11.SessionHandle
	open  chan struct{} // one token per open session

	mu     sync.Mutex
	closed bool
}

func newPool(ctx *p11.Ctx, slot uint, label string, max int) *pool {
	return &pool{
		ctx: ctx, slot: slot, label: label,
		idle: make(chan p11.SessionHandle, max),
		open: make(chan struct{}, max),
	}
}

var errClosed = errors.New("pkcs11: backend closed")

// get returns an idle session, opens a new one if fewer than the maximum
// are open, or waits for one to be returned.
func (p *pool) get(ctx context.Context) (p11.SessionHandle, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return 0, &opError{msg: errClosed.Error(), sentinel: keys.ErrBackendUnavailable, cause: errClosed}
	}
	select {
	case sh := <-p.idle:
		return sh, nil
	default:
	}
	select {
	case sh := <-p.idle:
		return sh, nil
	case p.open <- struct{}{}:
		sh, err := p.ctx.OpenSession(p.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
		if err != nil {
			<-p.open
			return 0, wrap(p.label, "open session", err)
		}
		return sh, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// put returns a session after use. A session whose operation failed is
// closed rather than reused: PKCS#11 leaves some operations active after
// an error, and a lost session fails every later call.
func (p *pool) put(sh p11.SessionHandle, opErr error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if opErr != nil || p.closed {
		p.ctx.CloseSession(sh)
		<-p.open
		return
	}
	p.idle <- sh // never blocks: at most cap(idle) sessions are open
}

// close closes the idle sessions; sessions in use are closed when put back.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for {
		select {
		case sh := <-p.idle:
			p.ctx.CloseSession(sh)
			<-p.open
		default:
			return
		}
	}
}
