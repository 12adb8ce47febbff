package accounts

import (
	_ "embed"
	"errors"
	"net/http"
	"strings"

	"github.com/signet-pki/signet/internal/api"
)

// OpenAPI is this package's OpenAPI 3.1 fragment: the tenants, API-keys
// and tokens endpoints ([api.MergeOpenAPI]).
//
//go:embed openapi/accounts.json
var OpenAPI []byte

// Handler serves the tenants, API-keys and tokens endpoints (each route's
// action is declared in [OpenAPI] and checked by the action gate):
//
//	POST   /v1/tenants                  create a tenant (platform administrator)
//	GET    /v1/tenants                  list tenants (platform administrator)
//	DELETE /v1/tenants/{id}             delete a tenant: revoke its credentials, crypto-shred its keys (platform administrator)
//	POST   /v1/tenants/{id}/api-keys    provision a tenant's service account key (platform administrator)
//	POST   /v1/api-keys                 create a key of the caller's tenant, returning its secret once
//	GET    /v1/api-keys                 list the caller's tenant's keys
//	DELETE /v1/api-keys/{id}            revoke a key (and its tokens)
//	POST   /v1/api-keys/{id}/rotate     replace a key, the old secret working for an overlap
//	POST   /v1/tokens                   exchange an API key for a short-lived access token (public: the handler authenticates the key)
type Handler struct {
	Service *Service
}

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux api.Mux) {
	mux.HandleFunc("POST /v1/tenants", h.createTenant)
	mux.HandleFunc("GET /v1/tenants", h.listTenants)
	mux.HandleFunc("DELETE /v1/tenants/{id}", h.deleteTenant)
	mux.HandleFunc("POST /v1/tenants/{id}/api-keys", h.provisionKey)
	mux.HandleFunc("POST /v1/api-keys", h.createKey)
	mux.HandleFunc("GET /v1/api-keys", h.listKeys)
	mux.HandleFunc("DELETE /v1/api-keys/{id}", h.revokeKey)
	mux.HandleFunc("POST /v1/api-keys/{id}/rotate", h.rotateKey)
	mux.Handle("POST /v1/tokens", api.Sensitive(http.HandlerFunc(h.exchangeToken)))
}

// principal returns the principal of r; without one the request is
// answered 401.
func principal(r *http.Request) (api.Principal, error) {
	p, ok := api.PrincipalFrom(r.Context())
	if !ok {
		return p, &api.Error{Kind: api.KindUnauthorized, Detail: "authentication is required"}
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
	p, err := principal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	t, err := h.Service.CreateTenant(r.Context(), p, api.AuditRequest(r), req.Name)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/tenants/"+t.ID)
	api.WriteJSON(w, http.StatusCreated, t)
}

func (h *Handler) listTenants(w http.ResponseWriter, r *http.Request) {
	p, err := principal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if !platform(p) {
		api.WriteProblem(w, r, errPlatformOnly)
		return
	}
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

func (h *Handler) deleteTenant(w http.ResponseWriter, r *http.Request) {
	p, err := principal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if !platform(p) {
		api.WriteProblem(w, r, errPlatformOnly)
		return
	}
	if err := h.Service.deleteTenant(r.Context(), api.AuditActor(p), api.AuditRequest(r), r.PathValue("id")); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
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
	w.Header().Set("Location", "/v1/api-keys/"+k.ID)
	api.WriteSecretJSON(w, r, http.StatusCreated, createKeyResponse{APIKey: k, Secret: secret})
}

func (h *Handler) provisionKey(w http.ResponseWriter, r *http.Request) {
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
	secret, k, err := h.Service.ProvisionKey(r.Context(), p, api.AuditRequest(r), r.PathValue("id"), req)
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
	ks, err := h.Service.ListKeys(r.Context(), p)
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
	if err := h.Service.RevokeKey(r.Context(), p, api.AuditRequest(r), r.PathValue("id")); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request) {
	var req RotateKeyRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	p, err := principal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	secret, k, err := h.Service.RotateKey(r.Context(), p, api.AuditRequest(r), r.PathValue("id"), req)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/api-keys/"+k.ID)
	api.WriteSecretJSON(w, r, http.StatusCreated, createKeyResponse{APIKey: k, Secret: secret})
}

// tokenResponse is an OAuth 2.0-style access token answer (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken string   `json:"access_token"`
	TokenType   string   `json:"token_type"`
	ExpiresIn   int      `json:"expires_in"`
	Actions     []string `json:"actions"`
}

// exchangeToken is public in the OpenAPI document: it authenticates the
// API key of the Authorization header itself, like a login.
func (h *Handler) exchangeToken(w http.ResponseWriter, r *http.Request) {
	var req TokenRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="signet"`)
		api.WriteProblem(w, r, errBadKey)
		return
	}
	tok, t, err := h.Service.ExchangeToken(r.Context(), strings.TrimSpace(secret), api.RemoteAddr(r), api.AuditRequest(r), req)
	if err != nil {
		if errors.Is(err, api.ErrUnauthorized) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="signet"`)
			err = errBadKey
		}
		api.WriteProblem(w, r, err)
		return
	}
	actions := t.Actions
	if actions == nil {
		actions = []string{}
	}
	api.WriteSecretJSON(w, r, http.StatusOK, tokenResponse{
		AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(t.ExpiresAt.Sub(t.CreatedAt).Seconds()), Actions: actions,
	})
}
