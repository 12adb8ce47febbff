package apiclient

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/mail"
)

// The patterns are compiled on first use, not when the package is
// initialized: every command of the signet binary links this package.
var (
	linkRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`#([A-Za-z0-9_-]{43})\b`) })
	codeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`code is ([0-9]{6})\b`) })
)

// An Inbox holds what Signet e-mailed, per recipient: an in-process SMTP
// server in tests (mailtest.Server) or a data directory's outbox
// (mail.Spool), which `signet quickstart` reads so that the release
// binary carries no SMTP server.
type Inbox interface {
	// Wait blocks until at least n messages were sent to addr and
	// returns them all, oldest first, or returns ctx's error.
	Wait(ctx context.Context, addr string, n int) ([]mail.Message, error)
	// To returns the messages sent to addr so far, oldest first.
	To(addr string) ([]mail.Message, error)
}

// Mailbox reads the links and codes that Signet e-mailed from an Inbox.
type Mailbox struct {
	Inbox Inbox
	// Timeout bounds each wait (default 30 s).
	Timeout time.Duration
}

func (m *Mailbox) wait(ctx context.Context, addr string, n int) (mail.Message, error) {
	d := m.Timeout
	if d == 0 {
		d = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	msgs, err := m.Inbox.Wait(ctx, addr, n)
	if err != nil {
		return mail.Message{}, err
	}
	return msgs[n-1], nil
}

// Count returns how many messages addr received so far.
func (m *Mailbox) Count(addr string) (int, error) {
	msgs, err := m.Inbox.To(addr)
	return len(msgs), err
}

// Link waits for the n-th message to addr (1-based) and returns the link
// token it carries.
func (m *Mailbox) Link(ctx context.Context, addr string, n int) (string, error) {
	msg, err := m.wait(ctx, addr, n)
	if err != nil {
		return "", err
	}
	s := linkRE().FindStringSubmatch(msg.Body)
	if s == nil {
		return "", fmt.Errorf("apiclient: message %d to %s (%q) has no link", n, addr, msg.Subject)
	}
	return s[1], nil
}

// Code waits for the n-th message to addr and returns the one-time code
// it carries.
func (m *Mailbox) Code(ctx context.Context, addr string, n int) (string, error) {
	msg, err := m.wait(ctx, addr, n)
	if err != nil {
		return "", err
	}
	s := codeRE().FindStringSubmatch(msg.Body)
	if s == nil {
		return "", fmt.Errorf("apiclient: message %d to %s (%q) has no code", n, addr, msg.Subject)
	}
	return s[1], nil
}

// Authenticate runs the recipient's code exchange for link: it asks for a
// code, reads it from the mailbox and verifies it, returning a client
// acting with the session.
func (m *Mailbox) Authenticate(ctx context.Context, c *Client, addr, link string) (*Client, error) {
	n, err := m.Count(addr)
	if err != nil {
		return nil, err
	}
	rc := c.Recipient(link)
	if err := rc.SendCode(ctx); err != nil {
		return nil, err
	}
	code, err := m.Code(ctx, addr, n+1)
	if err != nil {
		return nil, err
	}
	return rc.Verify(ctx, code)
}
