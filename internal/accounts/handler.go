package accounts

import (
	_ "embed"
	"net/http"

	"github.com/signet-pki/signet/internal/api"
)

// OpenAPI is this package's OpenAPI 3.1 fragment: the tenants and API-keys
// endpoints ([api.MergeOpenAPI]).
//
//go:embed openapi/accounts.json
var OpenAPI []byte

// Handler serves the tenants and API-keys endpoints:
//
//	POST   /v1/tenants        create a tenant (platform administrator)
//	GET    /v1/tenants        list tenants (platform administrator)
//	POST   /v1/api-keys       create an API key, returning its secret once
//	GET    /v1/api-keys       list the caller's tenant's keys
//	DELETE /v1/api-keys/{id}  revoke a key
type Handler struct {
	Service *Service
}

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux api.Mux) {
	admin := api.RequireScope(api.ScopeAdmin)
	mux.Handle("POST /v1/tenants", admin(http.HandlerFunc(h.createTenant)))
	mux.Handle("GET /v1/tenants", admin(http.HandlerFunc(h.listTenants)))
	mux.HandleFunc("POST /v1/api-keys", h.createKey)
	mux.HandleFunc("GET /v1/api-keys", h.listKeys)
	mux.HandleFunc("DELETE /v1/api-keys/{id}", h.revokeKey)
}

// principal returns the principal of r; without one the request is
// answered 401.
func principal(r *http.Request) (api.Principal, error) {
	p, ok := api.PrincipalFrom(r.Context())
	if !ok {
		return p, &api.Error{Kind: api.KindUnauthorized, Detail: "an API key is required"}
	}
	return p, nil
}

type createTenantRequest struct {
	Name string `json:"name"`
}

func (h *Handler) createTenant(w http.ResponseWriter, r *http.Request) {
	var req createTenantRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	p, _ := api.PrincipalFrom(r.Context())
	t, err := h.Service.CreateTenant(r.Context(), p, api.AuditRequest(r), req.Name)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/tenants/"+t.ID)
	api.WriteJSON(w, http.StatusCreated, t)
}

func (h *Handler) listTenants(w http.ResponseWriter, r *http.Request) {
	ts, err := h.Service.ListTenants(r.Context())
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if ts == nil {
		ts = []Tenant{}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"tenants": ts})
}

type createKeyResponse struct {
	APIKey
	// Secret is the key itself, shown this once.
	Secret string `json:"secret"`
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) {
	var req CreateKeyRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	p, err := principal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	secret, k, err := h.Service.CreateKey(r.Context(), p, api.AuditRequest(r), req)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteSecretJSON(w, r, http.StatusCreated, createKeyResponse{APIKey: k, Secret: secret})
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request) {
	p, err := principal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	ks, err := h.Service.ListKeys(r.Context(), p, r.URL.Query().Get("tenant"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if ks == nil {
		ks = []APIKey{}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"api_keys": ks})
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request) {
	p, err := principal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if err := h.Service.RevokeKey(r.Context(), p, api.AuditRequest(r), r.URL.Query().Get("tenant"), r.PathValue("id")); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
