package evidence

import (
	"net/http"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/workflow"
)

// Handler serves
//
//	GET /v1/envelopes/{id}/evidence    the envelope's evidence bundle (application/zip)
//
// The route's action is document.export (declared in [OpenAPI]); the
// tenant is the principal's. Every step that can fail is done before the
// status line: errors are problems. A failure while the ZIP streams
// aborts the response ([http.ErrAbortHandler]): the client sees a
// connection closed before the end of the body, never a short 200.
type Handler struct {
	Service *Service
}

// Register mounts the endpoint on mux.
func (h *Handler) Register(mux api.Mux) {
	mux.HandleFunc("GET /v1/envelopes/{id}/evidence", h.bundle)
}

func (h *Handler) bundle(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, ok := api.PrincipalFrom(ctx)
	if !ok {
		api.WriteProblem(w, r, api.ErrUnauthorized)
		return
	}
	if p.Tenant == "" {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindForbidden, Detail: "the platform administrator does not act inside tenants"})
		return
	}
	id := r.PathValue("id")
	if err := api.Authorize(ctx, api.AccessCheck{Action: string(authz.ActionDocumentExport), Tenant: p.Tenant, Envelope: id}); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	aa, req := api.AuditActor(p), api.AuditRequest(r)
	a := workflow.Actor{
		Tenant: p.Tenant, Kind: aa.Kind, ID: aa.ID, AuthMethods: aa.AuthMethods,
		CorrelationID: req.CorrelationID, ClientRequestID: req.ClientRequestID, IP: req.IP, UserAgent: req.UserAgent,
	}
	b, err := h.Service.Prepare(ctx, a, id)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	send(w, r, b)
}

// send answers with b; a failure part-way aborts the response.
func send(w http.ResponseWriter, r *http.Request, b *Bundle) {
	ctx := r.Context()
	hd := w.Header()
	hd.Set("Content-Type", "application/zip")
	hd.Set("Content-Disposition", `attachment; filename="`+b.Filename()+`"`)
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := b.Write(ctx, w); err != nil {
		api.Logger(ctx).ErrorContext(ctx, "evidence bundle failed while streaming", "envelope", b.EnvelopeID, "error", err.Error())
		panic(http.ErrAbortHandler)
	}
}
