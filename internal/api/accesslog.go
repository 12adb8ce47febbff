package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// AccessLog returns middleware that writes one structured line per request
// through the request logger (so it carries request_id): method, path
// (never the query, which may hold tokens), status, bytes, duration,
// client IP and, once authenticated, the principal: its kind
// (principal_kind), id (principal: the API key id or recipient id, never
// a secret) and tenant. Headers and bodies are never logged.
func AccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		note := new(atomic.Pointer[Principal])
		r = r.WithContext(context.WithValue(r.Context(), accessNoteKey{}, note))
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelError
		}
		ctx := r.Context()
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", redactPath(r.URL.Path)),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.n),
			slog.Duration("duration", time.Since(start)),
			slog.String("ip", ClientIP(r)),
		}
		if p := note.Load(); p != nil {
			attrs = append(attrs, slog.String("principal_kind", string(p.Kind)), slog.String("principal", p.ID))
			if p.Tenant != "" {
				attrs = append(attrs, slog.String("tenant", p.Tenant))
			}
		}
		Logger(ctx).LogAttrs(ctx, level, "request", attrs...)
	})
}

// accessNoteKey holds, in a request context, where [WithPrincipal] leaves
// the principal for the access log line.
type accessNoteKey struct{}

// notePrincipal names p in the access log line of the request of ctx.
func notePrincipal(ctx context.Context, p Principal) {
	if n, ok := ctx.Value(accessNoteKey{}).(*atomic.Pointer[Principal]); ok {
		n.Store(&Principal{Kind: p.Kind, ID: p.ID, Tenant: p.Tenant})
	}
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
