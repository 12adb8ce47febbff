package api

import (
	"log/slog"
	"net/http"
	"slices"
	"sync"
)

// A Mux is where handler packages register their routes, with Go 1.22
// method and path patterns such as "POST /v1/envelopes". Both
// [*http.ServeMux] and [*Router] implement it; handler packages declare
// Register(mux api.Mux) so that the server can record every route for the
// OpenAPI check.
type Mux interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

var (
	_ Mux = (*http.ServeMux)(nil)
	_ Mux = (*Router)(nil)
)

// A Router is an [http.ServeMux] that remembers the patterns registered on
// it.
type Router struct {
	*http.ServeMux

	mu       sync.Mutex
	patterns []string
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{ServeMux: http.NewServeMux()} }

// Handle registers handler for pattern (see [http.ServeMux.Handle]).
func (rt *Router) Handle(pattern string, handler http.Handler) {
	rt.ServeMux.Handle(pattern, handler)
	rt.mu.Lock()
	rt.patterns = append(rt.patterns, pattern)
	rt.mu.Unlock()
}

// HandleFunc registers handler for pattern.
func (rt *Router) HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request)) {
	rt.Handle(pattern, http.HandlerFunc(handler))
}

// Patterns returns the registered patterns, sorted.
func (rt *Router) Patterns() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	p := slices.Clone(rt.patterns)
	slices.Sort(p)
	return p
}

// Stack is the middleware [Chain] puts around a router. Nil members are
// left out.
type Stack struct {
	// Logger is the base of every request logger.
	Logger *slog.Logger
	// MaxBody caps request bodies (the upload limit plus some slack).
	MaxBody int64
	// Limiter enforces per-IP limits before authentication and
	// per-principal limits after it.
	Limiter *RateLimiter
	// Auth authenticates API keys.
	Auth *Authenticator
	// Gate enforces each route's declared action.
	Gate *Gate
	// Idempotency handles Idempotency-Key.
	Idempotency *Idempotency
}

// Chain wraps rt in s, from the outside in: panic recovery, request id and
// logger, access log, security headers ([SecurityHeaders]), refusal of
// repeated singleton fields, body limit, per-IP rate limit, authentication,
// per-principal rate limit, the action gate, idempotency, the router.
func Chain(rt *Router, s Stack) http.Handler {
	var h http.Handler = rt
	if s.Idempotency != nil {
		h = s.Idempotency.Middleware(h)
	}
	if s.Gate != nil {
		h = s.Gate.Middleware(h)
	}
	if s.Limiter != nil {
		h = s.Limiter.ByPrincipal(rt.ServeMux)(h)
	}
	if s.Auth != nil {
		h = s.Auth.Middleware(h)
	}
	if s.Limiter != nil {
		h = s.Limiter.ByIP(rt.ServeMux)(h)
	}
	if s.MaxBody > 0 {
		h = LimitBody(s.MaxBody)(h)
	}
	h = SingletonFields(h)
	h = SecurityHeaders(h)
	h = AccessLog(h)
	// Recover sits inside RequestIDs so that a panic's problem and log
	// line carry the request id.
	h = Recover(h)
	logger := s.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return RequestIDs(logger)(h)
}
