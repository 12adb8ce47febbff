package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Spool is the Mailer of a server with no SMTP server configured: it
// writes each message as an RFC 5322 file (.eml) into Dir, readable only by
// the owner, so that a single-machine installation works with zero
// configuration and its operator can hand links and codes over by other
// means. Messages hold one-time codes and signing links: Dir must be as
// private as the rest of the data directory, and a real deployment
// configures SMTP instead.
type Spool struct {
	// Dir receives the messages; it is created (0700) if missing.
	Dir string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

var _ Mailer = (*Spool)(nil)

// Send writes m to a new file in Dir (temporary name, fsync, rename).
func (s *Spool) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("mail: spool: %w", err)
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return fmt.Errorf("mail: spool: %w", err)
	}
	t := now().UTC()
	var b strings.Builder
	b.WriteString("To: <" + m.To + ">\r\n")
	b.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", m.Subject) + "\r\n")
	b.WriteString("Date: " + t.Format(time.RFC1123Z) + "\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	name := filepath.Join(s.Dir, t.Format("20060102T150405.000000000Z")+"-"+hex.EncodeToString(id)+".eml")
	f, err := os.CreateTemp(s.Dir, ".spool-*")
	if err != nil {
		return fmt.Errorf("mail: spool: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("mail: spool: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("mail: spool: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("mail: spool: %w", err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("mail: spool: %w", err)
	}
	return nil
}
