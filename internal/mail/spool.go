package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/signet-pki/signet/keys/dataseal"
)

// Spool is the Mailer of a server with no SMTP server configured: it
// writes each message as an RFC 5322 file into Dir, readable only by the
// owner, so that a single-machine installation works with zero
// configuration and its operator can hand links and codes over by other
// means. Messages hold one-time codes and signing links: with Key set
// (the server always sets it) each file is sealed ([keys/dataseal],
// AES-256-GCM under a data key wrapped by Key, bound to the file's name),
// named *.sealed, and only a holder of Key reads it; without Key, files
// are clear .eml files, for tests and tools. A real deployment
// configures SMTP instead.
type Spool struct {
	// Dir receives the messages; it is created (0700) if missing.
	Dir string
	// Key, if set, is the 32-byte key under which messages are sealed.
	Key []byte
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Suffixes of spooled message files: sealed, and in clear.
const (
	sealedSuffix = ".sealed"
	clearSuffix  = ".eml"
)

// spoolAD binds a sealed message to the name of its file (without suffix).
func spoolAD(base string) dataseal.AD {
	return dataseal.AD{Tenant: "signet", Object: "outbox", Field: base}
}

func (s *Spool) kek() (dataseal.KEK, error) {
	if len(s.Key) != 32 {
		return nil, errors.New("mail: spool: the key must be 32 bytes")
	}
	return dataseal.NewAESKEK("1", s.Key), nil
}

func (s *Spool) suffix() string {
	if s.Key != nil {
		return sealedSuffix
	}
	return clearSuffix
}

// seal returns content sealed for the file base (+ suffix), or content
// itself without Key.
func (s *Spool) seal(ctx context.Context, base string, content []byte) ([]byte, error) {
	if s.Key == nil {
		return content, nil
	}
	kek, err := s.kek()
	if err != nil {
		return nil, err
	}
	b, err := dataseal.Seal(ctx, kek, spoolAD(base), content, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("mail: spool: %w", err)
	}
	return b, nil
}

// open reverses seal.
func (s *Spool) open(ctx context.Context, base string, b []byte) ([]byte, error) {
	if s.Key == nil {
		return b, nil
	}
	kek, err := s.kek()
	if err != nil {
		return nil, err
	}
	pt, err := dataseal.Open(ctx, kek, spoolAD(base), b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSpoolFile, err)
	}
	return pt, nil
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
	base := t.Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(id)
	content, err := s.seal(ctx, base, []byte(spoolFile(m, t)))
	if err != nil {
		return err
	}
	return s.write(base, content)
}

// write stores content as the file base + suffix (temporary name, fsync,
// rename).
func (s *Spool) write(base string, content []byte) error {
	name := filepath.Join(s.Dir, base+s.suffix())
	f, err := os.CreateTemp(s.Dir, ".spool-*")
	if err != nil {
		return fmt.Errorf("mail: spool: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(content); err != nil {
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

// spoolFile is the content of the file Send writes for m at time t.
func spoolFile(m Message, t time.Time) string {
	var b strings.Builder
	b.WriteString("To: <" + m.To + ">\r\n")
	b.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", m.Subject) + "\r\n")
	b.WriteString("Date: " + t.Format(time.RFC1123Z) + "\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	return b.String()
}

// Bounds on what the spool's readers accept: a message Send writes is a
// few hundred bytes, and an outbox holds one installation's mail.
const (
	maxSpoolFileSize = 1 << 20
	maxSpoolFiles    = 10000
)

// ErrSpoolTooLarge means the outbox holds more messages, or a message
// file is larger, than the spool's readers accept.
var ErrSpoolTooLarge = errors.New("mail: spool: outbox too large to read")

// To returns the messages spooled in Dir to addr (compared without regard
// to case), in the order of their file names ([Spool.Messages]).
func (s *Spool) To(addr string) ([]Message, error) {
	all, err := s.Messages()
	if err != nil {
		return nil, err
	}
	var out []Message
	for _, m := range all {
		if strings.EqualFold(m.To, addr) {
			out = append(out, m)
		}
	}
	return out, nil
}

// Messages returns every message spooled in Dir, in the order of their
// file names: the order Send wrote them, as long as the clock moved
// forward. A missing Dir holds no messages. Files that are not spooled
// messages (not of the spool's suffix, .sealed with Key and .eml without,
// hidden, not regular) are skipped; a message file that does not open or
// parse is an error.
func (s *Spool) Messages() ([]Message, error) {
	ctx := context.Background()
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mail: spool: %w", err)
	}
	if len(entries) > maxSpoolFiles {
		return nil, ErrSpoolTooLarge
	}
	var out []Message
	for _, e := range entries { // os.ReadDir sorts by name
		name := e.Name()
		base, ok := strings.CutSuffix(name, s.suffix())
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || !ok {
			continue
		}
		b, err := readBounded(filepath.Join(s.Dir, name), maxSpoolFileSize)
		if err != nil {
			return nil, err
		}
		if b, err = s.open(ctx, base, b); err != nil {
			return nil, fmt.Errorf("%w (file %s)", err, name)
		}
		m, err := ParseSpooled(b)
		if err != nil {
			return nil, fmt.Errorf("%w (file %s)", err, name)
		}
		out = append(out, m)
	}
	return out, nil
}

// SealClear seals the clear .eml files of Dir (spooled before the spool
// had a key) as Send would have with Key, removes them, and returns how
// many it sealed. Without Key it does nothing. A missing Dir holds none.
func (s *Spool) SealClear(ctx context.Context) (int, error) {
	if s.Key == nil {
		return 0, nil
	}
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("mail: spool: %w", err)
	}
	if len(entries) > maxSpoolFiles {
		return 0, ErrSpoolTooLarge
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		base, ok := strings.CutSuffix(name, clearSuffix)
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || !ok {
			continue
		}
		b, err := readBounded(filepath.Join(s.Dir, name), maxSpoolFileSize)
		if err != nil {
			return n, err
		}
		sealed, err := s.seal(ctx, base, b)
		clear(b)
		if err != nil {
			return n, err
		}
		if err := s.write(base, sealed); err != nil {
			return n, err
		}
		if err := os.Remove(filepath.Join(s.Dir, name)); err != nil {
			return n, fmt.Errorf("mail: spool: %w", err)
		}
		n++
	}
	return n, nil
}

// Wait polls Dir until at least n messages to addr are spooled and
// returns them all (as [Spool.To]), or returns ctx's error.
func (s *Spool) Wait(ctx context.Context, addr string, n int) ([]Message, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		msgs, err := s.To(addr)
		if err != nil {
			return nil, err
		}
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, fmt.Errorf("mail: spool: waiting for message %d to %s: %w", n, addr, ctx.Err())
		}
	}
}

func readBounded(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("mail: spool: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("mail: spool: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, ErrSpoolTooLarge
	}
	return b, nil
}

// ErrBadSpoolFile means a spooled message file is not in the form Send
// writes.
var ErrBadSpoolFile = errors.New("mail: spool: malformed message file")

// ParseSpooled decodes one message file written by [Spool.Send]: the
// bare address of its To header, its decoded Subject, and its body with
// line ends turned back into LF (a body that held CRLF reads back with LF).
func ParseSpooled(b []byte) (Message, error) {
	if len(b) > maxSpoolFileSize {
		return Message{}, ErrSpoolTooLarge
	}
	pm, err := netmail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrBadSpoolFile, err)
	}
	to, err := netmail.ParseAddress(pm.Header.Get("To"))
	if err != nil || to.Name != "" {
		return Message{}, fmt.Errorf("%w: To is not one bare address", ErrBadSpoolFile)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
	if err != nil {
		return Message{}, fmt.Errorf("%w: subject: %w", ErrBadSpoolFile, err)
	}
	body, err := io.ReadAll(pm.Body)
	if err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrBadSpoolFile, err)
	}
	text, ok := strings.CutSuffix(string(body), "\r\n")
	if !ok {
		return Message{}, fmt.Errorf("%w: body does not end with CRLF", ErrBadSpoolFile)
	}
	return Message{To: to.Address, Subject: subject, Body: strings.ReplaceAll(text, "\r\n", "\n")}, nil
}
