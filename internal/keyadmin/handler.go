package keyadmin

import (
	"net/http"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/pki/ca"
)

// Handler serves
//
//	GET  /v1/keys                            the tenant's keys (audit.read)
//	POST /v1/keys/{id}/rotate                rotate the seal key or the KEK (key.admin)
//	POST /v1/certificates/{serial}/revoke    revoke a certificate (key.admin), body {"reason": "keyCompromise"}
//
// The actions are declared in [OpenAPI]; the tenant is the principal's.
type Handler struct {
	Service *Service
}

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux api.Mux) {
	mux.HandleFunc("GET /v1/keys", h.list)
	mux.HandleFunc("POST /v1/keys/{id}/rotate", h.rotate)
	mux.HandleFunc("POST /v1/certificates/{serial}/revoke", h.revoke)
}

// tenant returns the principal's tenant ("" for the platform
// administrator, whom the service refuses).
func tenant(r *http.Request) (string, error) {
	p, ok := api.PrincipalFrom(r.Context())
	if !ok {
		return "", api.ErrUnauthorized
	}
	return p.Tenant, nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	t, err := tenant(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	ks, err := h.Service.List(r.Context(), t)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, struct {
		Keys []KeyView `json:"keys"`
	}{ks})
}

func (h *Handler) rotate(w http.ResponseWriter, r *http.Request) {
	t, err := tenant(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	ks, err := h.Service.Rotate(r.Context(), t, r.PathValue("id"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, struct {
		Keys []KeyView `json:"keys"`
	}{ks})
}

// maxRevokeBody bounds the revocation request.
const maxRevokeBody = 4 << 10

func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	t, err := tenant(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := api.DecodeJSONLimit(w, r, &req, maxRevokeBody); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if req.Reason == "" {
		api.WriteProblem(w, r, api.Errorf(api.KindInvalid, "reason is required (an RFC 5280 reason, e.g. keyCompromise)"))
		return
	}
	reason, err := ca.ParseReason(req.Reason)
	if err != nil {
		api.WriteProblem(w, r, api.Errorf(api.KindInvalid, "unknown revocation reason %q", req.Reason))
		return
	}
	serial, err := ParseSerial(r.PathValue("serial"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	c, err := h.Service.Revoke(r.Context(), t, serial, reason)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, c)
}
