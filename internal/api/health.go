package api

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// A Check is one readiness condition: a dependency Signet cannot serve
// without (the database, the key backend, the audit log).
type Check struct {
	Name string
	// Func returns nil when the dependency is usable.
	Func func(ctx context.Context) error
}

// Health serves the probes:
//
//	GET /healthz  liveness: 200 while the process serves HTTP
//	GET /readyz   readiness: 200 when every check passes, else a 503
//	              problem naming the failing checks
type Health struct {
	Checks []Check
	// Timeout bounds each check (default 2 s).
	Timeout time.Duration
}

// Register mounts the probes on mux.
func (h *Health) Register(mux Mux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", h.ready)
}

type checkResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

func (h *Health) ready(w http.ResponseWriter, r *http.Request) {
	timeout := h.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	res := make([]checkResult, len(h.Checks))
	var wg sync.WaitGroup
	for i, c := range h.Checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			res[i] = checkResult{Name: c.Name, OK: true}
			if err := c.Func(ctx); err != nil {
				res[i].OK = false
				res[i].Error = "unavailable"
				Logger(ctx).WarnContext(ctx, "readiness check failed", "check", c.Name, "error", err.Error())
			}
		})
	}
	wg.Wait()
	var failed []string
	for _, c := range res {
		if !c.OK {
			failed = append(failed, c.Name)
		}
	}
	if len(failed) > 0 {
		detail := "not ready:"
		for _, f := range failed {
			detail += " " + f
		}
		WriteProblem(w, r, &Error{Kind: KindUnavailable, Type: "not-ready", Detail: detail})
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": res})
}
