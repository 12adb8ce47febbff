package auditview

import (
	"net/http"
	"strconv"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/workflow"
)

// Handler serves
//
//	GET /v1/audit/events        the principal's tenant's events, a page at a time
//	GET /v1/audit/checkpoint    the latest checkpoint and its anchors
//	GET /v1/envelopes/{id}/events  one envelope's events, a page at a time
//
// The first two declare the action audit.read in [OpenAPI], the last
// envelope.read (a sender reads their envelope's events without reading
// the log); the tenant is the principal's, and a principal without one
// (the platform administrator) is refused.
type Handler struct {
	Service *Service
}

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux api.Mux) {
	mux.HandleFunc("GET /v1/audit/events", h.events)
	mux.HandleFunc("GET /v1/audit/checkpoint", h.checkpoint)
	mux.HandleFunc("GET /v1/envelopes/{id}/events", h.envelopeEvents)
}

func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	a, err := workflow.ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	q, err := parseQuery(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	page, err := h.Service.Events(r.Context(), a.Tenant, q)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, page)
}

func (h *Handler) envelopeEvents(w http.ResponseWriter, r *http.Request) {
	a, err := workflow.ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	q, err := parseQuery(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	// The envelope is the path's; an "envelope" parameter is ignored.
	q.Envelope = r.PathValue("id")
	page, err := h.Service.EnvelopeEvents(r.Context(), a, q)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, page)
}

// parseQuery reads after, limit and envelope.
func parseQuery(r *http.Request) (Query, error) {
	v := r.URL.Query()
	q := Query{After: -1, Limit: DefaultLimit, Envelope: v.Get("envelope")}
	if s := v.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return q, api.Errorf(api.KindInvalid, "after must be an event index (a non-negative integer)")
		}
		q.After = n
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return q, api.Errorf(api.KindInvalid, "limit must be 1 to %d", MaxLimit)
		}
		q.Limit = n
	}
	return q, nil
}

func (h *Handler) checkpoint(w http.ResponseWriter, r *http.Request) {
	if _, err := workflow.ActorFrom(r); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	v, err := h.Service.Checkpoint(r.Context())
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, v)
}
