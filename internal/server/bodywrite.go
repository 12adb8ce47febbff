package server

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"
)

// limitResponseWrite returns next with its responses written under a
// moving deadline ([movingDeadline], counted from the first write), the
// counterpart of [limitBodyRead] for clients that read slowly: every
// write must complete within timeout, and the response as a whole must be
// taken at minRate bytes per second on average after the first timeout.
//
// A client that stops reading (or trickles a large download) makes a
// write fail once the connection's buffers are full; the handler sees the
// error, the connection is closed and a warning is logged. The time a
// handler takes before it writes (a signature) does not count. Over HTTP/1
// the deadline is the connection's write deadline, over HTTP/2 the
// stream's ([http.ResponseController.SetWriteDeadline]); after the
// handler returns, what the server still flushes gets one more timeout.
func limitResponseWrite(next http.Handler, timeout time.Duration, minRate int64, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// No deadline until the first write: over HTTP/2 a passing
		// deadline resets the stream even while the request body is still
		// arriving; and over HTTP/1 this clears what the previous response
		// on the connection left.
		if err := rc.SetWriteDeadline(time.Time{}); err != nil {
			// Not a real network connection: nothing to bound.
			next.ServeHTTP(w, r)
			return
		}
		dw := &deadlineWriter{ResponseWriter: w, rc: rc, timeout: timeout, minRate: minRate}
		next.ServeHTTP(dw, r)
		_ = rc.SetWriteDeadline(time.Now().Add(timeout))
		if dw.timedOut {
			logger.WarnContext(r.Context(), "response read too slowly by the client", "method", r.Method, "path", r.URL.Path,
				"remote", r.RemoteAddr, "bytes", dw.n, "seconds", int(time.Since(dw.first).Seconds()))
		}
	})
}

// deadlineWriter is a response written under [limitResponseWrite]'s
// deadline.
type deadlineWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	timeout  time.Duration
	minRate  int64
	first    time.Time
	n        int64
	timedOut bool
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	now := time.Now()
	if w.first.IsZero() {
		w.first = now
	}
	_ = w.rc.SetWriteDeadline(movingDeadline(now, w.first, w.timeout, w.n, w.minRate))
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		w.timedOut = true
	}
	return n, err
}

// Unwrap lets [http.ResponseController] reach the connection.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
