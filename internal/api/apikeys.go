package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/signet-pki/signet/auditlog"
)

type createKeyRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// Tenant is accepted from the platform administrator only.
	Tenant string `json:"tenant,omitempty"`
}

type createKeyResponse struct {
	APIKey
	// Secret is the key itself, shown this once.
	Secret string `json:"secret"`
}

// keyAdmin resolves the tenant whose keys the principal manages: the
// principal's own, or for the platform administrator the requested one
// (its own platform keys when none is requested).
func keyAdmin(r *http.Request, scope, requested string) (Principal, string, error) {
	p, ok := PrincipalFrom(r.Context())
	if !ok {
		return p, "", &Error{Kind: KindUnauthorized, Detail: "an API key is required"}
	}
	if p.Tenant == "" && p.HasScope(ScopeAdmin) {
		return p, requested, nil
	}
	if !p.HasScope(scope) {
		return p, "", &Error{Kind: KindForbidden, Type: "insufficient-scope", Detail: "the API key lacks scope " + scope}
	}
	if requested != "" && requested != p.Tenant {
		return p, "", &Error{Kind: KindForbidden, Detail: "an API key manages only its own tenant's keys"}
	}
	return p, p.Tenant, nil
}

func (h *Accounts) createKey(w http.ResponseWriter, r *http.Request) {
	var req createKeyRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		WriteProblem(w, r, err)
		return
	}
	p, tenant, err := keyAdmin(r, ScopeAPIKeysWrite, req.Tenant)
	if err != nil {
		WriteProblem(w, r, err)
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > 200 {
		WriteProblem(w, r, &Error{Kind: KindInvalid, Type: "invalid-field", Detail: "name must be 1–200 characters"})
		return
	}
	if err := ValidScopes(tenant, req.Scopes); err != nil {
		WriteProblem(w, r, err)
		return
	}
	if p.Tenant != "" {
		// A tenant key cannot mint a key stronger than itself.
		for _, s := range req.Scopes {
			if !p.HasScope(s) {
				WriteProblem(w, r, &Error{Kind: KindForbidden, Type: "insufficient-scope", Detail: "cannot grant scope " + s + " that the caller lacks"})
				return
			}
		}
	}
	if tenant != "" {
		if _, err := h.Tenants.Tenant(r.Context(), tenant); errors.Is(err, ErrNoRecord) {
			WriteProblem(w, r, &Error{Kind: KindNotFound, Detail: "no such tenant"})
			return
		} else if err != nil {
			WriteProblem(w, r, err)
			return
		}
	}
	secret, k, err := NewAPIKey(h.rand(), tenant, req.Name, req.Scopes, h.now())
	if err != nil {
		WriteProblem(w, r, err)
		return
	}
	ev := keyEvent(r, p, k, "api_key.created")
	if err := h.Recorder.Record(r.Context(), ev); err != nil {
		WriteProblem(w, r, &Error{Kind: KindUnavailable, Detail: "the audit log is unavailable", Err: err})
		return
	}
	if err := h.Keys.CreateKey(r.Context(), k); err != nil {
		h.recordFailure(r, ev, err)
		WriteProblem(w, r, err)
		return
	}
	WriteSecretJSON(w, r, http.StatusCreated, createKeyResponse{APIKey: k, Secret: secret})
}

func keyEvent(r *http.Request, p Principal, k APIKey, action string) auditlog.Event {
	return auditlog.Event{
		Type: auditlog.AdminPolicyChanged, Tenant: k.Tenant, Actor: AuditActor(p), Request: AuditRequest(r),
		Outcome: auditlog.OutcomeSuccess, Policy: auditlog.Policy{Decision: "allow"},
		Details: map[string]string{"action": action, "api_key_id": k.ID, "scopes": strings.Join(k.Scopes, " ")},
	}
}

func (h *Accounts) listKeys(w http.ResponseWriter, r *http.Request) {
	_, tenant, err := keyAdmin(r, ScopeAPIKeysRead, r.URL.Query().Get("tenant"))
	if err != nil {
		WriteProblem(w, r, err)
		return
	}
	ks, err := h.Keys.Keys(r.Context(), tenant)
	if err != nil {
		WriteProblem(w, r, err)
		return
	}
	if ks == nil {
		ks = []APIKey{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"api_keys": ks})
}

func (h *Accounts) revokeKey(w http.ResponseWriter, r *http.Request) {
	p, tenant, err := keyAdmin(r, ScopeAPIKeysWrite, r.URL.Query().Get("tenant"))
	if err != nil {
		WriteProblem(w, r, err)
		return
	}
	id := r.PathValue("id")
	ks, err := h.Keys.Keys(r.Context(), tenant)
	if err != nil {
		WriteProblem(w, r, err)
		return
	}
	i := slices.IndexFunc(ks, func(k APIKey) bool { return k.ID == id })
	if i < 0 {
		WriteProblem(w, r, &Error{Kind: KindNotFound, Detail: "no such API key"})
		return
	}
	ev := keyEvent(r, p, ks[i], "api_key.revoked")
	if err := h.Recorder.Record(r.Context(), ev); err != nil {
		WriteProblem(w, r, &Error{Kind: KindUnavailable, Detail: "the audit log is unavailable", Err: err})
		return
	}
	if err := h.Keys.RevokeKey(r.Context(), tenant, id, h.now()); err != nil {
		h.recordFailure(r, ev, err)
		WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
