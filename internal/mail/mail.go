// Package mail sends Signet's e-mail: recipient links and one-time codes.
//
// # Transport
//
// [SMTP] delivers a [Message] to one recipient over SMTP (RFC 5321). When
// the server offers STARTTLS (RFC 3207) the session is upgraded before any
// credentials or content are sent; [Config.RequireTLS] makes a server that
// does not offer it an error. AUTH PLAIN (RFC 4616) is used when a
// username is configured, and only over TLS (or to a loopback server).
//
// # Privacy
//
// A message body carries secrets (a link token, a one-time code). Nothing
// in this package logs or returns a body or a subject; errors name only the
// SMTP step that failed and the server's reply code.
//
// # Spool
//
// A server with no SMTP server configured writes each message to a
// [Spool], a directory of .eml files; [Spool.To] and [Spool.Wait] read
// them back (`signet quickstart` reads its signers' links and codes there).
//
// Package mail/mailtest provides an in-process SMTP server that captures
// messages, for tests.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// ErrInvalidMessage means a message cannot be sent as given: a missing or
// malformed address, or a header field with a line break.
var ErrInvalidMessage = errors.New("mail: invalid message")

// A Message is one plain-text e-mail to one recipient.
type Message struct {
	// To is the recipient's bare address.
	To string
	// Subject is the subject line (a single line).
	Subject string
	// Body is the plain-text body. It MUST be treated as secret.
	Body string
}

// Validate checks that To is a bare address and Subject a single line.
func (m Message) Validate() error {
	if err := bareAddress(m.To); err != nil {
		return fmt.Errorf("%w: recipient: %w", ErrInvalidMessage, err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return fmt.Errorf("%w: subject spans lines", ErrInvalidMessage)
	}
	return nil
}

// A Mailer delivers messages.
//
// Send MUST return nil only once the message was accepted for delivery by
// the next hop, and MUST NOT log or echo the message body.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

func bareAddress(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return errors.New("not an address")
	}
	if a.Address != s || a.Name != "" {
		return errors.New("not a bare address")
	}
	return nil
}
