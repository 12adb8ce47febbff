package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// AccessLog returns middleware that writes one structured line per request
// through the request logger (so it carries request_id): method, path
// (never the query, which may hold tokens), route pattern, status, bytes,
// duration and client IP. Headers and bodies are never logged.
func AccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelError
		}
		ctx := r.Context()
		Logger(ctx).LogAttrs(ctx, level, "request",
			slog.String("method", r.Method),
			slog.String("path", redactPath(r.URL.Path)),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.n),
			slog.Duration("duration", time.Since(start)),
			slog.String("ip", ClientIP(r)),
		)
	})
}

// redactPath hides the path segment after /v1/recipient/, where link
// tokens may travel.
func redactPath(p string) string {
	const pre = "/v1/recipient/"
	if len(p) > len(pre) && p[:len(pre)] == pre {
		return pre + "…"
	}
	return p
}

type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Recover returns middleware that turns a handler panic into a logged 500
// problem (unless the panic is http.ErrAbortHandler, which it re-raises).
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			ctx := r.Context()
			Logger(ctx).ErrorContext(ctx, "handler panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			WriteProblem(w, r, fmt.Errorf("api: handler panic"))
		}()
		next.ServeHTTP(w, r)
	})
}

// LimitBody returns middleware that caps every request body at n bytes;
// reading past it fails with an [http.MaxBytesError] (a 413 problem).
func LimitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				WriteProblem(w, r, &http.MaxBytesError{Limit: n})
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}
