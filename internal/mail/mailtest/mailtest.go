// Package mailtest runs an in-process SMTP server (RFC 5321) that captures
// the messages it receives, for tests and benchmarks; the signet binary
// does not link it. It speaks real SMTP over a loopback TCP socket, with
// optional STARTTLS (RFC 3207) and AUTH PLAIN (RFC 4616), so a [mail.SMTP]
// talks to it exactly as to a production server.
package mailtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	signetmail "github.com/signet-pki/signet/internal/mail"
)

// A Message is one captured message, decoded.
type Message struct {
	// From is the envelope sender (MAIL FROM), To the envelope
	// recipients (RCPT TO).
	From string
	To   []string
	// Header is the parsed header; Subject is the decoded subject.
	Header  mail.Header
	Subject string
	// Body is the decoded text body (quoted-printable undone, CRLF turned
	// into LF).
	Body string
	// Raw is the message as received in DATA.
	Raw []byte
	// TLS reports whether the session ran over STARTTLS; Username is the
	// authenticated user, if any.
	TLS      bool
	Username string
}

// Options configures a [Server].
type Options struct {
	// TLSConfig, if set, makes the server offer STARTTLS.
	TLSConfig *tls.Config
	// Username and Password, if Username is set, make AUTH PLAIN with
	// these credentials mandatory before MAIL FROM.
	Username, Password string
}

// Server is a capturing SMTP server on a loopback port.
type Server struct {
	opts Options
	srv  *smtp.Server
	ln   net.Listener
	done chan struct{}

	mu      sync.Mutex
	msgs    []Message
	changed chan struct{} // closed and replaced on every new message
}

// New starts a server on 127.0.0.1 with a free port. Close it when done.
func New(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mailtest: listen: %w", err)
	}
	s := &Server{opts: opts, ln: ln, done: make(chan struct{}), changed: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = opts.TLSConfig
	srv.AllowInsecureAuth = opts.TLSConfig == nil
	srv.MaxMessageBytes = 1 << 20
	srv.MaxRecipients = 10
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv
	go func() {
		defer close(s.done)
		_ = srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host is the server's IP address, Port its TCP port.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.Addr())
	return h
}

// Port is the server's TCP port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// Close stops the server and waits for it.
func (s *Server) Close() error {
	err := s.srv.Close()
	// Serve may not have registered the listener yet; closing it here
	// too ends Serve either way.
	_ = s.ln.Close()
	<-s.done
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Messages returns every message captured so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// To returns the messages addressed to addr (an envelope recipient), oldest
// first.
func (s *Server) To(addr string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.to(addr)
}

func (s *Server) to(addr string) []Message {
	var out []Message
	for _, m := range s.msgs {
		for _, r := range m.To {
			if strings.EqualFold(r, addr) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// Wait blocks until at least n messages were sent to addr and returns
// them all, or returns ctx's error.
func (s *Server) Wait(ctx context.Context, addr string, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		got := s.to(addr)
		ch := s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("mailtest: waiting for message %d to %s: %w", n, addr, ctx.Err())
		}
	}
}

// Sent is a view of a [Server]'s messages as the [signetmail.Message]
// values Signet sent (one recipient, subject, decoded body), for readers
// that take any source of sent mail, such as apiclient.Mailbox.
type Sent struct{ s *Server }

// Sent returns the view of the server's messages as sent mail.
func (s *Server) Sent() Sent { return Sent{s} }

// Wait is [Server.Wait] with the messages as sent mail to addr.
func (v Sent) Wait(ctx context.Context, addr string, n int) ([]signetmail.Message, error) {
	msgs, err := v.s.Wait(ctx, addr, n)
	return asSent(addr, msgs), err
}

// To is [Server.To] with the messages as sent mail to addr; it never
// fails.
func (v Sent) To(addr string) ([]signetmail.Message, error) {
	return asSent(addr, v.s.To(addr)), nil
}

func asSent(addr string, msgs []Message) []signetmail.Message {
	var out []signetmail.Message
	for _, m := range msgs {
		out = append(out, signetmail.Message{To: addr, Subject: m.Subject, Body: m.Body})
	}
	return out
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// session implements smtp.Session and smtp.AuthSession for one connection.
type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.s.opts.Username == "" {
		return nil, smtp.ErrAuthUnsupported
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return errors.New("mailtest: identity mismatch")
		}
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return errors.New("mailtest: invalid credentials")
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: ss.from, To: append([]string(nil), ss.to...), Raw: raw, Username: ss.user}
	_, m.TLS = ss.conn.TLSConnectionState()
	if err := decode(&m); err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	ss.s.add(m)
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// decode parses m.Raw into its header, subject and text body.
func decode(m *Message) error {
	pm, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return fmt.Errorf("mailtest: parse message: %w", err)
	}
	m.Header = pm.Header
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(pm.Header.Get("Subject")); err != nil {
		return fmt.Errorf("mailtest: subject: %w", err)
	}
	body := pm.Body
	if strings.EqualFold(pm.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("mailtest: body: %w", err)
	}
	text := string(b)
	for strings.Contains(text, "\r\n") {
		text = strings.ReplaceAll(text, "\r\n", "\n")
	}
	m.Body = text
	return nil
}
