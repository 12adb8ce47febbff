package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
)

// HeaderRequestID names the request id. In a response it carries the
// server's own id of the request (the correlation id of its log lines and
// audit events); in a request it carries the client's id, which is kept
// beside the server's (see [ClientRequestID]), never in its place.
const HeaderRequestID = "X-Request-Id"

// HeaderClientRequestID echoes, in a response, the client's X-Request-Id
// when it was accepted.
const HeaderClientRequestID = "X-Client-Request-Id"

type requestIDKey struct{}
type clientRequestIDKey struct{}
type loggerKey struct{}

// RequestID returns the correlation id of a request context, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// ClientRequestID returns the X-Request-Id the client sent with the
// request of ctx, if it was sane (1–64 of [A-Za-z0-9._-]), or "". Clients
// choose it freely and may repeat it: it is recorded beside the server's
// [RequestID], never as the correlation id.
func ClientRequestID(ctx context.Context) string {
	s, _ := ctx.Value(clientRequestIDKey{}).(string)
	return s
}

// WithRequestID returns a copy of ctx carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// Logger returns the request logger of ctx: every line it writes carries
// the request id. Outside a request it returns slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// WithLogger returns a copy of ctx carrying l as its request logger.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// saneRequestID accepts 1–64 characters of [A-Za-z0-9._-], so a client
// id cannot inject log fields or header syntax.
func saneRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RequestIDs returns middleware that assigns each request a fresh random
// correlation id, answered in X-Request-Id, and keeps the client's own
// X-Request-Id, when sane, beside it: answered in X-Client-Request-Id and
// available as [ClientRequestID]. It puts both and a logger derived from
// base carrying request_id (and client_request_id) into the request
// context.
func RequestIDs(base *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := newRequestID()
			w.Header().Set(HeaderRequestID, id)
			ctx := WithRequestID(r.Context(), id)
			logger := base.With("request_id", id)
			if client := r.Header.Get(HeaderRequestID); saneRequestID(client) {
				w.Header().Set(HeaderClientRequestID, client)
				ctx = context.WithValue(ctx, clientRequestIDKey{}, client)
				logger = logger.With("client_request_id", client)
			}
			ctx = WithLogger(ctx, logger)
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
