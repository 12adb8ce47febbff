package webhook

import (
	_ "embed"
	"net/http"
	"strconv"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

// OpenAPI is this package's OpenAPI 3.1 fragment (/v1/webhooks…), merged
// by [api.MergeOpenAPI].
//
//go:embed openapi.json
var OpenAPI []byte

// Handler serves the webhook endpoints of the caller's tenant (action
// webhook.admin, declared in [OpenAPI]); the tenant is the principal's,
// never the request's:
//
//	POST   /v1/webhooks                                      register an endpoint; answers its secret once
//	GET    /v1/webhooks                                      list the tenant's endpoints
//	GET    /v1/webhooks/public-key                           the tenant's Ed25519 key (v1a signatures)
//	GET    /v1/webhooks/{id}                                 one endpoint
//	PATCH  /v1/webhooks/{id}                                 change url, events, enabled
//	DELETE /v1/webhooks/{id}                                 delete it, its deliveries and its secret's key
//	POST   /v1/webhooks/{id}/rotate-secret                   a new secret, answered once; the old one signs until the overlap ends
//	GET    /v1/webhooks/{id}/deliveries                      deliveries and their attempts
//	POST   /v1/webhooks/{id}/deliveries/{delivery}/retry     send a delivery again
type Handler struct {
	Service *Service
}

// Register mounts the routes on mux.
func (h *Handler) Register(mux api.Mux) {
	mux.HandleFunc("POST /v1/webhooks", h.create)
	mux.HandleFunc("GET /v1/webhooks", h.list)
	mux.HandleFunc("GET /v1/webhooks/public-key", h.publicKey)
	mux.HandleFunc("GET /v1/webhooks/{id}", h.get)
	mux.HandleFunc("PATCH /v1/webhooks/{id}", h.update)
	mux.HandleFunc("DELETE /v1/webhooks/{id}", h.delete)
	mux.HandleFunc("POST /v1/webhooks/{id}/rotate-secret", h.rotate)
	mux.HandleFunc("GET /v1/webhooks/{id}/deliveries", h.deliveries)
	mux.HandleFunc("POST /v1/webhooks/{id}/deliveries/{delivery}/retry", h.retry)
}

// tenant returns the caller's tenant ("" for the platform administrator).
func (h *Handler) tenant(r *http.Request) (string, error) {
	if h.Service == nil {
		return "", &api.Error{Kind: api.KindNotFound, Type: "not-configured", Detail: "webhooks need the keys at rest, which this server runs without"}
	}
	p, ok := api.PrincipalFrom(r.Context())
	if !ok {
		return "", &api.Error{Kind: api.KindUnauthorized, Detail: "authentication is required"}
	}
	if p.Kind == api.PrincipalRecipient || (p.Tenant == "" && !p.Platform) {
		return "", &api.Error{Kind: api.KindForbidden, Detail: "webhooks are configured by a tenant or the platform administrator"}
	}
	return p.Tenant, nil
}

// EndpointView is an endpoint as the API shows it (never its secrets).
type EndpointView struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	Enabled        bool       `json:"enabled"`
	Failing        bool       `json:"failing"`
	RotationEndsAt *time.Time `json:"rotation_ends_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func (h *Handler) view(e *Endpoint) EndpointView {
	v := EndpointView{ID: e.ID, URL: e.URL, Events: e.Events, Enabled: e.Enabled, Failing: e.Failing,
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
	if v.Events == nil {
		v.Events = []string{}
	}
	if e.PreviousSecret != nil && h.Service.cfg.Now().Before(e.PreviousUntil) {
		t := e.PreviousUntil.UTC()
		v.RotationEndsAt = &t
	}
	return v
}

type createRequest struct {
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Enabled *bool    `json:"enabled"`
}

type createdEndpoint struct {
	EndpointView
	Secret string `json:"secret"`
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	t, err := h.tenant(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var req createRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	enabled := req.Enabled == nil || *req.Enabled
	e, secret, err := h.Service.Create(r.Context(), t, req.URL, req.Events, enabled)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/webhooks/"+e.ID)
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusCreated, createdEndpoint{EndpointView: h.view(e), Secret: secret.String()})
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	t, err := h.tenant(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	es, err := h.Service.List(r.Context(), t)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	out := struct {
		Webhooks []EndpointView `json:"webhooks"`
	}{Webhooks: []EndpointView{}}
	for _, e := range es {
		out.Webhooks = append(out.Webhooks, h.view(e))
	}
	api.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	t, err := h.tenant(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	e, err := h.Service.Get(r.Context(), t, r.PathValue("id"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, h.view(e))
}

type patchRequest struct {
	URL     *string   `json:"url"`
	Events  *[]string `json:"events"`
	Enabled *bool     `json:"enabled"`
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	t, err := h.tenant(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var req patchRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	e, err := h.Service.Update(r.Context(), t, r.PathValue("id"), Patch(req))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, h.view(e))
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	t, err := h.tenant(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if err := h.Service.Delete(r.Context(), t, r.PathValue("id")); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) rotate(w http.ResponseWriter, r *http.Request) {
	t, err := h.tenant(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	secret, until, err := h.Service.RotateSecret(r.Context(), t, r.PathValue("id"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, struct {
		Secret             string    `json:"secret"`
		PreviousValidUntil time.Time `json:"previous_valid_until"`
	}{secret.String(), until.UTC()})
}

func (h *Handler) publicKey(w http.ResponseWriter, r *http.Request) {
	t, err := h.tenant(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	k, err := h.Service.PublicKey(r.Context(), t)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, struct {
		PublicKey string `json:"public_key"`
		Algorithm string `json:"algorithm"`
	}{PublicKeyString(k), "ed25519"})
}

// AttemptView is one attempt as the API shows it.
type AttemptView struct {
	N          int       `json:"n"`
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"`
	LatencyMS  int64     `json:"latency_ms"`
	Error      string    `json:"error,omitempty"`
	Response   string    `json:"response,omitempty"`
}

// DeliveryView is one delivery with its attempts.
type DeliveryView struct {
	ID          string        `json:"id"`
	Type        string        `json:"type"`
	Status      string        `json:"status"`
	NextAttempt *time.Time    `json:"next_attempt_at,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
	Attempts    []AttemptView `json:"attempts"`
}

func (h *Handler) deliveries(w http.ResponseWriter, r *http.Request) {
	t, err := h.tenant(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	limit := MaxDeliveriesListed
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > MaxDeliveriesListed {
			api.WriteProblem(w, r, invalid("limit must be 1 to %d", MaxDeliveriesListed))
			return
		}
		limit = n
	}
	ds, atts, err := h.Service.Deliveries(r.Context(), t, r.PathValue("id"), limit)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	out := struct {
		Deliveries []DeliveryView `json:"deliveries"`
	}{Deliveries: []DeliveryView{}}
	for _, d := range ds {
		v := DeliveryView{ID: d.MessageID, Type: d.Type, Status: d.Status, CreatedAt: d.CreatedAt.UTC(), Attempts: []AttemptView{}}
		if d.Status == StatusPending && !d.NextAttempt.IsZero() {
			n := d.NextAttempt.UTC()
			v.NextAttempt = &n
		}
		for _, a := range atts[d.MessageID] {
			v.Attempts = append(v.Attempts, AttemptView{N: a.N, At: a.At.UTC(), StatusCode: a.StatusCode,
				LatencyMS: a.Latency.Milliseconds(), Error: a.Error, Response: a.Response})
		}
		out.Deliveries = append(out.Deliveries, v)
	}
	api.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) retry(w http.ResponseWriter, r *http.Request) {
	t, err := h.tenant(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if err := h.Service.Retry(r.Context(), t, r.PathValue("id"), r.PathValue("delivery")); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
