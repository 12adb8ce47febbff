package apiclient

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/signet-pki/signet/internal/mail/mailtest"
)

var (
	linkRE = regexp.MustCompile(`#([A-Za-z0-9_-]{43})\b`)
	codeRE = regexp.MustCompile(`code is ([0-9]{6})\b`)
)

// Mailbox reads links and codes that Signet emailed to an in-process
// mailtest server.
type Mailbox struct {
	Server *mailtest.Server
	// Timeout bounds each wait (default 30 s).
	Timeout time.Duration
}

func (m *Mailbox) wait(ctx context.Context, addr string, n int) (mailtest.Message, error) {
	d := m.Timeout
	if d == 0 {
		d = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	msgs, err := m.Server.Wait(ctx, addr, n)
	if err != nil {
		return mailtest.Message{}, err
	}
	return msgs[n-1], nil
}

// Count returns how many messages addr received so far.
func (m *Mailbox) Count(addr string) int { return len(m.Server.To(addr)) }

// Link waits for the n-th message to addr (1-based) and returns the link
// token it carries.
func (m *Mailbox) Link(ctx context.Context, addr string, n int) (string, error) {
	msg, err := m.wait(ctx, addr, n)
	if err != nil {
		return "", err
	}
	s := linkRE.FindStringSubmatch(msg.Body)
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
	s := codeRE.FindStringSubmatch(msg.Body)
	if s == nil {
		return "", fmt.Errorf("apiclient: message %d to %s (%q) has no code", n, addr, msg.Subject)
	}
	return s[1], nil
}

// Authenticate runs the recipient's code exchange for link: it asks for a
// code, reads it from the mailbox and verifies it, returning a client
// acting with the session.
func (m *Mailbox) Authenticate(ctx context.Context, c *Client, addr, link string) (*Client, error) {
	n := m.Count(addr)
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
