package server

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSlowResponseReadCutOff: a client that stops reading a large
// response makes the handler's write fail within the bound instead of
// holding the connection, and the cut-off is logged; a client that reads
// at a normal rate gets the whole response.
func TestSlowResponseReadCutOff(t *testing.T) {
	const chunk, total = 32 << 10, 256 << 20
	result := make(chan error, 2)
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	h := limitResponseWrite(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size := total
		if r.URL.Path == "/small" {
			size = 4 << 20
		}
		buf := make([]byte, chunk)
		for n := 0; n < size; n += chunk {
			if _, err := w.Write(buf); err != nil {
				result <- err
				return
			}
		}
		result <- nil
	}), time.Second, 64<<10, logger)
	srv := httptest.NewServer(h)
	defer srv.Close()

	// A client with a small receive buffer that reads nothing.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /large HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-result:
		if err == nil {
			t.Fatal("the handler wrote 256 MiB to a client that reads nothing")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("a client that reads nothing still holds the handler after 60 s")
	}
	// The middleware logs once the handler has returned.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "response read too slowly"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the cut-off is not logged: %s", logs.String())
		}
	}

	res, err := http.Get(srv.URL + "/small")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || n != 4<<20 {
		t.Fatalf("normal read: %d bytes, %v", n, err)
	}
	if err := <-result; err != nil {
		t.Fatalf("handler for a normal reader: %v", err)
	}
}

// lockedBuffer is a bytes.Buffer safe for a logger and a reader at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
