package server

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

// Defaults of the request body read bounds (see [Config.BodyReadTimeout]).
const (
	DefaultBodyReadTimeout = 30 * time.Second
	DefaultBodyMinRate     = 16 << 10 // bytes per second
)

// errBodyTimeout answers a request whose body did not arrive in time.
var errBodyTimeout = &api.Error{
	Kind: api.KindInvalid, Type: "request-timeout", Title: "Request timeout", Status: http.StatusRequestTimeout,
	Detail: "the request body arrived too slowly",
}

// limitBodyRead returns next with its request bodies read under a moving
// deadline: every read must return within timeout, and the body as a
// whole must arrive at minRate bytes per second on average after the
// first timeout, so a client that trickles its body is cut off while a
// large upload on a slow link goes through:
//
//	deadline = min(now + timeout, start + timeout + bytesRead/minRate)
//
// A body that misses its deadline is answered 408 (a problem), the
// connection is closed and a warning is logged. Once the body is read to its end the deadline is
// lifted, so that a long computation afterwards (a signature) is not cut
// short. Over HTTP/1 the deadline is the connection's read deadline, over
// HTTP/2 the stream's ([http.ResponseController.SetReadDeadline]).
func limitBodyRead(next http.Handler, timeout time.Duration, minRate int64, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		b := &deadlineBody{body: r.Body, rc: http.NewResponseController(w), start: time.Now(), timeout: timeout, minRate: minRate}
		if err := b.extend(); err != nil {
			// The connection cannot take deadlines (not a real network
			// connection): nothing to bound.
			next.ServeHTTP(w, r)
			return
		}
		r.Body = b
		tw := &timeoutWriter{ResponseWriter: w, body: b}
		next.ServeHTTP(tw, r)
		if b.timedOut.Load() {
			logger.WarnContext(r.Context(), "request body arrived too slowly", "method", r.Method, "path", r.URL.Path,
				"remote", r.RemoteAddr, "bytes", b.n, "seconds", int(time.Since(b.start).Seconds()))
			if !tw.wrote {
				w.Header().Set("Connection", "close")
				api.WriteProblem(w, r, errBodyTimeout)
			}
		}
	})
}

// deadlineBody is a request body read under [limitBodyRead]'s deadline.
type deadlineBody struct {
	body     io.ReadCloser
	rc       *http.ResponseController
	start    time.Time
	timeout  time.Duration
	minRate  int64
	n        int64
	done     bool
	timedOut atomic.Bool
}

// extend sets the read deadline for the next read.
func (b *deadlineBody) extend() error {
	return b.rc.SetReadDeadline(movingDeadline(time.Now(), b.start, b.timeout, b.n, b.minRate))
}

// movingDeadline is the deadline of the next read or write of a body that
// started at start and has moved n bytes so far: within timeout of now,
// and no later than the body moving at minRate bytes per second after its
// first timeout.
func movingDeadline(now, start time.Time, timeout time.Duration, n, minRate int64) time.Time {
	d := start.Add(timeout + time.Duration(float64(n)/float64(minRate)*float64(time.Second)))
	if idle := now.Add(timeout); idle.Before(d) {
		d = idle
	}
	return d
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.done {
		return b.body.Read(p)
	}
	if err := b.extend(); err != nil {
		return 0, err
	}
	n, err := b.body.Read(p)
	b.n += int64(n)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.timedOut.Store(true)
		return n, errBodyTimeout
	case err != nil:
		// The end (or a failure): lift the deadline.
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.body.Close() }

// timeoutWriter drops what the handler answers after its request body
// timed out, so that [limitBodyRead] answers 408 instead.
type timeoutWriter struct {
	http.ResponseWriter
	body  *deadlineBody
	wrote bool
}

func (w *timeoutWriter) WriteHeader(code int) {
	if w.body.timedOut.Load() && !w.wrote {
		return
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *timeoutWriter) Write(p []byte) (int, error) {
	if w.body.timedOut.Load() && !w.wrote {
		return len(p), nil
	}
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap lets [http.ResponseController] reach the connection.
func (w *timeoutWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
