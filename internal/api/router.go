package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
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

// ServeHTTP dispatches r (see [http.ServeMux.ServeHTTP]) and, under a
// [RequestObserver], notes the pattern of the route that served it.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt.ServeMux.ServeHTTP(w, r)
	// The mux sets r.Pattern on the request it was given.
	if n, ok := r.Context().Value(routeNoteKey{}).(*routeNote); ok {
		n.route = r.Pattern
	}
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
	// Observer, if set, watches every request from outside all the
	// rest (metrics, traces).
	Observer RequestObserver
}

// A RequestObserver watches the requests a [Chain] serves. StartRequest
// is called first, before any other middleware; the context it returns
// becomes the request's (a trace span may ride in it). EndRequest is
// called once the handler returned, with that context, the pattern of the
// route that matched ("" when none did, e.g. a 404), the response
// status, and the time taken. Route patterns, unlike paths, never carry
// identifiers or tokens.
type RequestObserver interface {
	StartRequest(r *http.Request) context.Context
	EndRequest(ctx context.Context, route string, status int, elapsed time.Duration)
}

// routeNoteKey holds, in a request context, where the router leaves the
// pattern of the route it dispatched to.
type routeNoteKey struct{}

type routeNote struct{ route string }

// observe wraps next in o.
func observe(rt *Router, o RequestObserver, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := o.StartRequest(r)
		note := new(routeNote)
		r = r.WithContext(context.WithValue(ctx, routeNoteKey{}, note))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			route := note.route
			if route == "" {
				// Refused before routing (authentication, rate
				// limits) or by a panic: the route it was meant for.
				_, route = rt.ServeMux.Handler(r)
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			o.EndRequest(ctx, route, status, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

// Chain wraps rt in s, from the outside in: the observer (if any), panic
// recovery, request id and logger, access log, security headers ([SecurityHeaders]), refusal of
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
	h = RequestIDs(logger)(h)
	if s.Observer != nil {
		h = observe(rt, s.Observer, h)
	}
	return h
}
