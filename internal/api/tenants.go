package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
)

// Accounts serves the tenants and API-keys endpoints:
//
//	POST   /v1/tenants        create a tenant (platform administrator)
//	GET    /v1/tenants        list tenants (platform administrator)
//	POST   /v1/api-keys       create an API key, returning its secret once
//	GET    /v1/api-keys       list the caller's tenant's keys
//	DELETE /v1/api-keys/{id}  revoke a key
type Accounts struct {
	Tenants TenantStore
	Keys    KeyStore
	// Recorder records tenant.created and admin.policy_changed events;
	// an action whose event cannot be recorded does not happen.
	Recorder auditlog.Recorder
	// Provision sets up a new tenant's issuing CA and seal key before the
	// tenant is stored; nil provisions nothing. If it fails, the tenant is
	// not created.
	Provision func(ctx context.Context, t Tenant) error
	// Now and Rand default to time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
}

// Register mounts the endpoints on mux.
func (h *Accounts) Register(mux Mux) {
	admin := RequireScope(ScopeAdmin)
	mux.Handle("POST /v1/tenants", admin(http.HandlerFunc(h.createTenant)))
	mux.Handle("GET /v1/tenants", admin(http.HandlerFunc(h.listTenants)))
	mux.HandleFunc("POST /v1/api-keys", h.createKey)
	mux.HandleFunc("GET /v1/api-keys", h.listKeys)
	mux.HandleFunc("DELETE /v1/api-keys/{id}", h.revokeKey)
}

func (h *Accounts) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

func (h *Accounts) rand() io.Reader {
	if h.Rand != nil {
		return h.Rand
	}
	return rand.Reader
}

type createTenantRequest struct {
	Name string `json:"name"`
}

func (h *Accounts) createTenant(w http.ResponseWriter, r *http.Request) {
	var req createTenantRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		WriteProblem(w, r, err)
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > 200 {
		WriteProblem(w, r, &Error{Kind: KindInvalid, Type: "invalid-field", Detail: "name must be 1–200 characters"})
		return
	}
	var id [8]byte
	if _, err := io.ReadFull(h.rand(), id[:]); err != nil {
		WriteProblem(w, r, fmt.Errorf("api: tenant id: %w", err))
		return
	}
	t := Tenant{ID: "t-" + hex.EncodeToString(id[:]), Name: req.Name, CreatedAt: h.now()}
	p, _ := PrincipalFrom(r.Context())
	ev := auditlog.Event{
		Type: auditlog.TenantCreated, Tenant: t.ID, Actor: AuditActor(p), Request: AuditRequest(r),
		Outcome: auditlog.OutcomeSuccess, Policy: auditlog.Policy{Decision: "allow", Rule: ScopeAdmin},
		Details: map[string]string{"tenant_name": t.Name},
	}
	if err := h.Recorder.Record(r.Context(), ev); err != nil {
		WriteProblem(w, r, &Error{Kind: KindUnavailable, Detail: "the audit log is unavailable", Err: err})
		return
	}
	if h.Provision != nil {
		if err := h.Provision(r.Context(), t); err != nil {
			h.recordFailure(r, ev, err)
			WriteProblem(w, r, fmt.Errorf("api: provision tenant %s: %w", t.ID, err))
			return
		}
	}
	if err := h.Tenants.CreateTenant(r.Context(), t); err != nil {
		h.recordFailure(r, ev, err)
		WriteProblem(w, r, fmt.Errorf("api: store tenant: %w", err))
		return
	}
	w.Header().Set("Location", "/v1/tenants/"+t.ID)
	WriteJSON(w, http.StatusCreated, t)
}

// recordFailure records that an action whose success event was already
// recorded then failed, so the log does not claim it happened.
func (h *Accounts) recordFailure(r *http.Request, ev auditlog.Event, cause error) {
	ev.Outcome = auditlog.OutcomeFailure
	ev.Reason = "not completed"
	if err := h.Recorder.Record(context.WithoutCancel(r.Context()), ev); err != nil {
		Logger(r.Context()).ErrorContext(r.Context(), "cannot record failure", "event", string(ev.Type), "error", errors.Join(cause, err).Error())
	}
}

func (h *Accounts) listTenants(w http.ResponseWriter, r *http.Request) {
	ts, err := h.Tenants.Tenants(r.Context())
	if err != nil {
		WriteProblem(w, r, err)
		return
	}
	if ts == nil {
		ts = []Tenant{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"tenants": ts})
}
