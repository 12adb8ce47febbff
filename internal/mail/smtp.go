package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// ErrNoTLS means [Config.RequireTLS] is set and the server did not offer
// STARTTLS.
var ErrNoTLS = errors.New("mail: server does not offer STARTTLS")

// DefaultTimeout bounds one SMTP exchange when the context has no earlier
// deadline.
const DefaultTimeout = 30 * time.Second

// Config configures an [SMTP] mailer.
type Config struct {
	// Host and Port locate the submission server; Port defaults to 587.
	Host string
	Port int
	// From is the envelope sender and From header, a bare address.
	From string
	// FromName, if set, is the display name of the From header.
	FromName string
	// Username and Password, if Username is set, authenticate with AUTH
	// PLAIN after STARTTLS (or to a loopback server without TLS).
	Username, Password string
	// RequireTLS refuses servers that do not offer STARTTLS.
	RequireTLS bool
	// TLSConfig configures STARTTLS; nil verifies the server against the
	// system roots with ServerName = Host.
	TLSConfig *tls.Config
	// HelloName is the name sent in EHLO; empty means "localhost".
	HelloName string
	// Timeout bounds one exchange; zero means [DefaultTimeout].
	Timeout time.Duration
	// Now and Rand, if set, replace time.Now and crypto/rand for the Date
	// and Message-ID headers.
	Now  func() time.Time
	Rand io.Reader
}

// Validate checks that Host is set, Port is in range and From is a bare
// address.
func (c *Config) Validate() error {
	if c.Host == "" {
		return errors.New("mail: no SMTP host")
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("mail: SMTP port %d out of range", c.Port)
	}
	if err := bareAddress(c.From); err != nil {
		return fmt.Errorf("mail: sender %q: %w", c.From, err)
	}
	if strings.ContainsAny(c.FromName, "\r\n") {
		return errors.New("mail: sender name spans lines")
	}
	return nil
}

// SMTP is a [Mailer] that opens one SMTP session per message.
type SMTP struct {
	cfg Config
}

var _ Mailer = (*SMTP)(nil)

// NewSMTP returns a mailer for cfg after [Config.Validate].
func NewSMTP(cfg Config) (*SMTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	return &SMTP{cfg: cfg}, nil
}

// Send implements [Mailer]: EHLO, STARTTLS when offered, AUTH when
// configured, MAIL FROM, RCPT TO, DATA, QUIT.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	raw, err := s.compose(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("mail: connect %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return fmt.Errorf("mail: %w", err)
		}
	}
	// Closing the connection unblocks the exchange when ctx ends early.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := s.session(conn, m.To, raw); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("mail: %w", ctx.Err())
		}
		return err
	}
	return nil
}

func (s *SMTP) session(conn net.Conn, to string, raw []byte) error {
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return fmt.Errorf("mail: greeting: %w", err)
	}
	defer c.Close()
	return s.exchange(c, to, raw)
}

func (s *SMTP) exchange(c *smtp.Client, to string, raw []byte) error {
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return fmt.Errorf("mail: EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc := s.cfg.TLSConfig
		if tc == nil {
			tc = &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("mail: STARTTLS: %w", err)
		}
	} else if s.cfg.RequireTLS {
		return ErrNoTLS
	}
	if s.cfg.Username != "" {
		// smtp.PlainAuth refuses to send credentials without TLS unless
		// the server is on loopback.
		auth := smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)
		if err := c.Auth(auth); err != nil {
			return fmt.Errorf("mail: AUTH: %w", err)
		}
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("mail: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("mail: QUIT: %w", err)
	}
	return nil
}

// compose renders m as an RFC 5322 message with a quoted-printable UTF-8
// body (RFC 2045) and RFC 2047-encoded subject and sender name.
func (s *SMTP) compose(m Message) ([]byte, error) {
	id := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Rand, id); err != nil {
		return nil, fmt.Errorf("mail: message id: %w", err)
	}
	from := "<" + s.cfg.From + ">"
	if s.cfg.FromName != "" {
		from = mime.QEncoding.Encode("utf-8", s.cfg.FromName) + " " + from
	}
	domain := s.cfg.From[strings.LastIndexByte(s.cfg.From, '@')+1:]
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from)
	hdr("To", "<"+m.To+">")
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	hdr("Date", s.cfg.Now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, fmt.Errorf("mail: encode body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("mail: encode body: %w", err)
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}
