package workflow

import (
	"context"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

// Handler serves the document and envelope endpoints:
//
//	POST /v1/documents                                      upload a PDF
//	GET  /v1/documents/{id}                                 document metadata
//	DELETE /v1/documents/{id}                               delete (409 while an unfinished envelope has it)
//	GET  /v1/documents/{id}/content                         download as uploaded
//	GET  /v1/documents/{id}/pages                           page sizes
//	POST /v1/envelopes                                      create a draft
//	GET  /v1/envelopes                                      list (cursor, status filter)
//	GET  /v1/envelopes/{id}                                 get
//	POST /v1/envelopes/{id}/send                            send
//	POST /v1/envelopes/{id}/void                            void with a reason
//	POST /v1/envelopes/{id}/approve                         approve a submitted envelope (not its sender)
//	POST /v1/envelopes/{id}/reject                          return it to draft with a reason
//	GET  /v1/envelopes/{id}/history                         the recorded transitions
//	GET  /v1/envelopes/{id}/documents/{document}/content    current version
//	PUT  /v1/envelopes/{id}/fields                          replace a draft's placed fields
//	POST /v1/envelopes/{id}/remind                          re-notify the recipients whose turn it is
//	GET  /v1/settings                                       the tenant's settings (consent text)
//	PUT  /v1/settings                                       replace them
//
// Every route declares its action in [OpenAPI] (the action gate checks
// it); the tenant is the principal's, and a principal without a tenant
// (the platform administrator) is refused.
type Handler struct {
	Service *Service
	// Audit, if set, gives the history's entries their audit events'
	// positions in the log ("audit_index", "anchored"); nil omits them.
	Audit AuditPositions
}

// AuditPositions tells where an envelope's audit events sit in the audit
// log (internal/auditview implements it).
type AuditPositions interface {
	// Positions returns, by audit event ID, the position of tenant's
	// events about envelope.
	Positions(ctx context.Context, tenant, envelope string) (map[string]AuditPosition, error)
}

// An AuditPosition is an audit event's index in the log and whether a
// checkpoint covering it has been anchored.
type AuditPosition struct {
	Index    int64
	Anchored bool
}

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux api.Mux) {
	mux.HandleFunc("POST /v1/documents", h.upload)
	mux.HandleFunc("GET /v1/documents/{id}", h.getDocument)
	mux.HandleFunc("DELETE /v1/documents/{id}", h.deleteDocument)
	mux.HandleFunc("GET /v1/documents/{id}/content", h.documentContent)
	mux.HandleFunc("POST /v1/envelopes", h.createEnvelope)
	mux.HandleFunc("GET /v1/envelopes", h.listEnvelopes)
	mux.HandleFunc("GET /v1/envelopes/{id}", h.getEnvelope)
	mux.HandleFunc("POST /v1/envelopes/{id}/send", h.send)
	mux.HandleFunc("POST /v1/envelopes/{id}/void", h.void)
	mux.HandleFunc("POST /v1/envelopes/{id}/approve", h.approve)
	mux.HandleFunc("POST /v1/envelopes/{id}/reject", h.reject)
	mux.HandleFunc("GET /v1/envelopes/{id}/history", h.history)
	mux.HandleFunc("GET /v1/envelopes/{id}/documents/{document}/content", h.envelopeContent)
	mux.HandleFunc("GET /v1/documents/{id}/pages", h.documentPages)
	mux.HandleFunc("PUT /v1/envelopes/{id}/fields", h.placeFields)
	mux.HandleFunc("POST /v1/envelopes/{id}/remind", h.remind)
	mux.HandleFunc("GET /v1/settings", h.getSettings)
	mux.HandleFunc("PUT /v1/settings", h.putSettings)
}

// ActorFrom returns the acting principal of r as a workflow actor, with
// the request's audit facts: 401 without a principal, 403 for the platform
// administrator, who acts in no tenant. Other handlers that call the
// workflow for a request use it too.
func ActorFrom(r *http.Request) (Actor, error) {
	p, ok := api.PrincipalFrom(r.Context())
	if !ok {
		return Actor{}, api.ErrUnauthorized
	}
	if p.Tenant == "" {
		return Actor{}, &api.Error{Kind: api.KindForbidden, Detail: "the platform administrator does not act inside tenants"}
	}
	aa, req := api.AuditActor(p), api.AuditRequest(r)
	return Actor{
		Tenant: p.Tenant, Kind: aa.Kind, ID: aa.ID,
		CorrelationID: req.CorrelationID, ClientRequestID: req.ClientRequestID, IP: req.IP, UserAgent: req.UserAgent,
	}, nil
}

// envelopeJSON is an envelope as the API shows it.
type envelopeJSON struct {
	*Envelope
	ReminderEveryHours int `json:"reminder_every_hours"`
}

func toJSON(e *Envelope) envelopeJSON {
	if e.Fields == nil {
		e.Fields = []Field{}
	}
	return envelopeJSON{Envelope: e, ReminderEveryHours: int(e.ReminderEvery.Hours())}
}

// shown is e as GET shows it: with its documents' page sizes. A document
// whose sizes cannot be read is shown without them.
func (h *Handler) shown(r *http.Request, e *Envelope) envelopeJSON {
	for i := range e.Documents {
		d := &e.Documents[i]
		if ps, err := h.Service.PageSizes(r.Context(), e.Tenant, d.OriginalSHA256); err == nil {
			d.PageSizes = ps
		}
	}
	return toJSON(e)
}

func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/pdf" {
		api.WriteProblem(w, r, withDetail(ErrUnsupportedMedia, "the request body must be application/pdf", nil))
		return
	}
	limit := h.Service.MaxDocumentSize()
	if r.ContentLength > limit {
		api.WriteProblem(w, r, withDetail(ErrTooLarge, "the document exceeds "+strconv.FormatInt(limit, 10)+" bytes", nil))
		return
	}
	body := http.MaxBytesReader(w, r.Body, limit+1)
	d, err := h.Service.Upload(r.Context(), a, r.URL.Query().Get("name"), body)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/documents/"+d.ID)
	api.WriteJSON(w, http.StatusCreated, d)
}

func (h *Handler) getDocument(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	d, err := h.Service.Document(r.Context(), a, r.PathValue("id"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, d)
}

func (h *Handler) documentContent(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	rd, d, err := h.Service.OpenDocument(r.Context(), a, r.PathValue("id"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	defer rd.Close()
	servePDF(w, r, d.Name, d.SHA256, rd)
}

func (h *Handler) deleteDocument(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if err := h.Service.DeleteDocument(r.Context(), a, r.PathValue("id")); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) envelopeContent(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	rd, d, err := h.Service.OpenEnvelopeDocument(r.Context(), a, r.PathValue("id"), r.PathValue("document"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	defer rd.Close()
	servePDF(w, r, d.Name, d.SHA256, rd)
}

func (h *Handler) createEnvelope(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var req CreateRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	e, err := h.Service.CreateEnvelope(r.Context(), a, req)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/envelopes/"+e.ID)
	api.WriteJSON(w, http.StatusCreated, h.shown(r, e))
}

func (h *Handler) getEnvelope(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	e, err := h.Service.Envelope(r.Context(), a, r.PathValue("id"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, h.shown(r, e))
}

func (h *Handler) listEnvelopes(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	q := r.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 {
			api.WriteProblem(w, r, invalid("limit must be a positive integer"))
			return
		}
	}
	es, next, err := h.Service.ListEnvelopes(r.Context(), a, Status(q.Get("status")), q.Get("cursor"), limit)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	out := struct {
		Envelopes  []envelopeJSON `json:"envelopes"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}{Envelopes: []envelopeJSON{}, NextCursor: next}
	for _, e := range es {
		out.Envelopes = append(out.Envelopes, toJSON(e))
	}
	api.WriteJSON(w, http.StatusOK, out)
}

// decodeOptional decodes an optional JSON body: an empty body is fine.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	return api.DecodeJSON(w, r, v)
}

func (h *Handler) send(w http.ResponseWriter, r *http.Request) {
	h.envelopeAction(w, r, h.Service.Send)
}

func (h *Handler) remind(w http.ResponseWriter, r *http.Request) {
	h.envelopeAction(w, r, h.Service.Remind)
}

// envelopeAction serves a POST on /v1/envelopes/{id}/… without a body
// (an empty JSON object is accepted) that answers the envelope.
func (h *Handler) envelopeAction(w http.ResponseWriter, r *http.Request, do func(context.Context, Actor, string) (*Envelope, error)) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	e, err := do(r.Context(), a, r.PathValue("id"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, toJSON(e))
}

func (h *Handler) void(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	e, err := h.Service.Void(r.Context(), a, r.PathValue("id"), req.Reason)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, toJSON(e))
}

// approvalCheck asks the request's authorizer whether its principal may
// approve the tenant's envelope id with the stored facts: its submitter
// (who may not approve it) and its assurance.
func approvalCheck(r *http.Request, a Actor, id string) ApprovalCheck {
	return func(sender string, highAssurance bool) error {
		return api.Authorize(r.Context(), api.AccessCheck{Action: "envelope.approve", Tenant: a.Tenant, Envelope: id,
			EnvelopeSender: sender, HighAssurance: highAssurance})
	}
}

func (h *Handler) approve(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	id := r.PathValue("id")
	e, err := h.Service.Approve(r.Context(), a, id, approvalCheck(r, a, id))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, toJSON(e))
}

func (h *Handler) reject(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	id := r.PathValue("id")
	e, err := h.Service.Reject(r.Context(), a, id, req.Reason, approvalCheck(r, a, id))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, toJSON(e))
}

func (h *Handler) history(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	ts, err := h.Service.History(r.Context(), a, r.PathValue("id"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	type item struct {
		Transition
		Explanation string `json:"explanation"`
		AuditIndex  *int64 `json:"audit_index,omitempty"`
		Anchored    *bool  `json:"anchored,omitempty"`
	}
	var pos map[string]AuditPosition
	if h.Audit != nil && len(ts) > 0 {
		if pos, err = h.Audit.Positions(r.Context(), a.Tenant, r.PathValue("id")); err != nil {
			api.WriteProblem(w, r, err)
			return
		}
	}
	out := struct {
		Transitions []item `json:"transitions"`
	}{Transitions: []item{}}
	for _, t := range ts {
		it := item{Transition: t, Explanation: t.Explain()}
		if p, ok := pos[t.AuditEventID]; ok {
			it.AuditIndex, it.Anchored = &p.Index, &p.Anchored
		}
		out.Transitions = append(out.Transitions, it)
	}
	api.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) documentPages(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	ps, err := h.Service.DocumentPages(r.Context(), a, r.PathValue("id"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, struct {
		Pages []PageSize `json:"pages"`
	}{ps})
}

func (h *Handler) placeFields(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var req struct {
		Fields []PlacedFieldInput `json:"fields"`
	}
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	e, err := h.Service.PlaceFields(r.Context(), a, r.PathValue("id"), req.Fields)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, h.shown(r, e))
}

func (h *Handler) getSettings(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	v, err := h.Service.TenantSettings(r.Context(), a)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
}

func (h *Handler) putSettings(w http.ResponseWriter, r *http.Request) {
	a, err := ActorFrom(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var req Settings
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	v, err := h.Service.SetTenantSettings(r.Context(), a, req)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
}

// servePDF answers with the PDF in rd, supporting Range and conditional
// requests with the content's SHA-256 as strong ETag.
func servePDF(w http.ResponseWriter, r *http.Request, name, sum string, rd io.ReadSeeker) {
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("ETag", `"`+sum+`"`)
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": safeFilename(name)}))
	http.ServeContent(w, r, "", time.Time{}, rd)
}

// safeFilename keeps a download name printable.
func safeFilename(name string) string {
	name = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '"' {
			return '_'
		}
		return c
	}, name)
	if name == "" {
		return "document.pdf"
	}
	return name
}
