package signing

import (
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/identity/passkey"
	"github.com/signet-pki/signet/internal/workflow"
)

// OpenAPI is this package's OpenAPI 3.1 fragment: the recipient paths and
// their schemas, merged by [api.MergeOpenAPI].
//
//go:embed openapi.json
var OpenAPI []byte

// Handler serves the recipient endpoints under /v1/recipient/. They are
// not API-key authenticated: code, verify, passkey/begin and
// passkey/finish take the link token, the others the session token,
// after which they ask the request's authorizer (see the package
// documentation). It also serves the sender's
//
//	POST /v1/envelopes/{id}/recipients/{recipient}/reissue
//
// (action envelope.send), which replaces a recipient's link.
type Handler struct {
	Service *Service
}

// Register mounts the endpoints on mux; code, verify, the passkey
// routes and sign are marked sensitive for the stricter rate limits.
func (h *Handler) Register(mux api.Mux) {
	mux.Handle("POST /v1/recipient/code", api.Sensitive(http.HandlerFunc(h.code)))
	mux.Handle("POST /v1/recipient/verify", api.Sensitive(http.HandlerFunc(h.verify)))
	mux.Handle("POST /v1/recipient/passkey/begin", api.Sensitive(http.HandlerFunc(h.passkeyBegin)))
	mux.Handle("POST /v1/recipient/passkey/finish", api.Sensitive(http.HandlerFunc(h.passkeyFinish)))
	mux.Handle("GET /v1/recipient/envelope", h.withSession(actionEnvelopeRead, h.envelope))
	mux.Handle("GET /v1/recipient/documents/{id}", h.withSession(actionDocumentRead, h.document))
	mux.Handle("POST /v1/recipient/consent", h.withSession(actionEnvelopeSign, h.consent))
	mux.Handle("POST /v1/recipient/sign", api.Sensitive(h.withSession(actionEnvelopeSign, h.sign)))
	mux.Handle("POST /v1/recipient/decline", h.withSession(actionEnvelopeSign, h.decline))
	mux.HandleFunc("POST /v1/envelopes/{id}/recipients/{recipient}/reissue", h.reissue)
}

// reissue re-issues a recipient's link at the sender's request.
func (h *Handler) reissue(w http.ResponseWriter, r *http.Request) {
	p, ok := api.PrincipalFrom(r.Context())
	if !ok {
		api.WriteProblem(w, r, api.ErrUnauthorized)
		return
	}
	if p.Tenant == "" {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindForbidden, Detail: "the platform administrator does not act inside tenants"})
		return
	}
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	aa, ar := api.AuditActor(p), api.AuditRequest(r)
	a := workflow.Actor{
		Tenant: p.Tenant, Kind: aa.Kind, ID: aa.ID,
		CorrelationID: ar.CorrelationID, IP: ar.IP, UserAgent: ar.UserAgent,
	}
	res, err := h.Service.Reissue(r.Context(), a, r.PathValue("id"), r.PathValue("recipient"))
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, res)
}

func unauthorized(w http.ResponseWriter, r *http.Request, scheme string, err error) {
	w.Header().Set("WWW-Authenticate", scheme+` realm="signet-recipient"`)
	api.WriteProblem(w, r, err)
}

func problem(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrInvalidLink) {
		w.Header().Set("WWW-Authenticate", SchemeLink+` realm="signet-recipient"`)
	} else if errors.Is(err, ErrInvalidSession) {
		w.Header().Set("WWW-Authenticate", SchemeSession+` realm="signet-recipient"`)
	}
	api.WriteProblem(w, r, err)
}

// decodeOptional decodes a JSON body into v when there is one; an empty
// body leaves v as it is.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	return api.DecodeJSON(w, r, v)
}

type codeResponse struct {
	SentTo    string `json:"sent_to"`
	Channel   string `json:"channel"`
	ExpiresIn int    `json:"expires_in"`
}

func (h *Handler) code(w http.ResponseWriter, r *http.Request) {
	hash, ok := tokenFrom(r, SchemeLink)
	if !ok {
		unauthorized(w, r, SchemeLink, withDetail(ErrInvalidLink, "send the link token as Authorization: Link <token>", nil))
		return
	}
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	sent, err := h.Service.SendCode(r.Context(), hash)
	if err != nil {
		problem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusAccepted, codeResponse{SentTo: sent.SentTo, Channel: sent.Channel, ExpiresIn: int(h.Service.cfg.CodeTTL / time.Second)})
}

type verifyRequest struct {
	Code string `json:"code"`
}

type verifyResponse struct {
	Session   string    `json:"session"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	hash, ok := tokenFrom(r, SchemeLink)
	if !ok {
		unauthorized(w, r, SchemeLink, withDetail(ErrInvalidLink, "send the link token as Authorization: Link <token>", nil))
		return
	}
	// A link_only recipient may send no body at all.
	var req verifyRequest
	if err := decodeOptional(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	req.Code = strings.TrimSpace(req.Code)
	if len(req.Code) > maxAccessCodeInput {
		api.WriteProblem(w, r, withDetail(ErrInvalid, "code is too long", nil))
		return
	}
	tok, ss, err := h.Service.Verify(r.Context(), hash, req.Code, api.AuditRequest(r))
	if err != nil {
		problem(w, r, err)
		return
	}
	// The session token is shown once: never kept for an idempotent replay.
	api.WriteSecretJSON(w, r, http.StatusOK, verifyResponse{Session: tok, ExpiresAt: ss.ExpiresAt})
}

// The actions the session routes declare (x-signet-action).
const (
	actionEnvelopeRead = "envelope.read"
	actionDocumentRead = "document.read"
	actionEnvelopeSign = "envelope.sign"
)

// Principal returns the recipient principal of session ss: the
// recipient of its envelope in its tenant, with the methods of its
// verification and, for a session opened by a passkey confirmation or a
// TOTP code, the strong authentication "passkey" or "totp" at its time
// (what a high-assurance envelope's envelope.sign demands, within the
// tenant's step-up window).
func (ss Session) Principal() api.Principal {
	p := api.Principal{
		Kind: api.PrincipalRecipient, ID: ss.RecipientID, Tenant: ss.Tenant, Envelope: ss.EnvelopeID,
		AuthMethods: slices.Clone(ss.Methods),
	}
	switch {
	case ss.Intent != nil:
		p.StrongAuth = api.Authentication{Method: passkeyMethod, At: ss.AuthTime}
	case totpSession(ss):
		p.StrongAuth = api.Authentication{Method: totpMethod, At: ss.AuthTime}
	}
	return p
}

// withSession authenticates the session token, establishes the
// recipient principal ([Session.Principal]) and asks the request's
// authorizer (api.Authorize) whether it may perform action on the
// session's envelope, with the envelope's stored facts (HighAssurance),
// before fn. Without an authorizer the request is refused (500): the
// check is never skipped.
func (h *Handler) withSession(action string, fn func(w http.ResponseWriter, r *http.Request, ss Session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hash, ok := tokenFrom(r, SchemeSession)
		if !ok {
			unauthorized(w, r, SchemeSession, withDetail(ErrInvalidSession, "send the session token as Authorization: Session <token>", nil))
			return
		}
		ss, err := h.Service.Session(r.Context(), hash)
		if err != nil {
			problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		// Names the recipient in the access log line, and is who the
		// authorizer decides for.
		r = r.WithContext(api.WithPrincipal(r.Context(), ss.Principal()))
		v, err := h.Service.view(r.Context(), ss.EnvelopeID, ss.RecipientID)
		if err != nil {
			problem(w, r, err)
			return
		}
		if err := api.Authorize(r.Context(), api.AccessCheck{
			Action: action, Tenant: ss.Tenant, Envelope: ss.EnvelopeID, HighAssurance: v.Envelope.HighAssurance,
		}); err != nil {
			api.WriteProblem(w, r, err)
			return
		}
		fn(w, r, ss)
	})
}

// passkeyBegin starts a passkey recipient's confirmation.
func (h *Handler) passkeyBegin(w http.ResponseWriter, r *http.Request) {
	hash, ok := tokenFrom(r, SchemeLink)
	if !ok {
		unauthorized(w, r, SchemeLink, withDetail(ErrInvalidLink, "send the link token as Authorization: Link <token>", nil))
		return
	}
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	c, err := h.Service.BeginPasskey(r.Context(), hash, api.AuditRequest(r))
	if err != nil {
		problem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, c)
}

type passkeyFinishRequest struct {
	// Response is the browser's AuthenticationResponseJSON.
	Response json.RawMessage `json:"response"`
}

func (h *Handler) passkeyFinish(w http.ResponseWriter, r *http.Request) {
	hash, ok := tokenFrom(r, SchemeLink)
	if !ok {
		unauthorized(w, r, SchemeLink, withDetail(ErrInvalidLink, "send the link token as Authorization: Link <token>", nil))
		return
	}
	var req passkeyFinishRequest
	if err := api.DecodeJSONLimit(w, r, &req, passkey.MaxResponse+1024); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if len(req.Response) == 0 || req.Response[0] != '{' {
		api.WriteProblem(w, r, withDetail(ErrInvalid, "response must be the authenticator's answer (a JSON object from navigator.credentials.get)", nil))
		return
	}
	tok, ss, err := h.Service.FinishPasskey(r.Context(), hash, req.Response, api.AuditRequest(r))
	if err != nil {
		problem(w, r, err)
		return
	}
	// The session token is shown once: never kept for an idempotent replay.
	api.WriteSecretJSON(w, r, http.StatusOK, verifyResponse{Session: tok, ExpiresAt: ss.ExpiresAt})
}

func (h *Handler) envelope(w http.ResponseWriter, r *http.Request, ss Session) {
	v, err := h.Service.View(r.Context(), ss, api.AuditRequest(r))
	if err != nil {
		problem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
}

func (h *Handler) document(w http.ResponseWriter, r *http.Request, ss Session) {
	rd, d, err := h.Service.Document(r.Context(), ss, r.PathValue("id"), api.AuditRequest(r))
	if err != nil {
		problem(w, r, err)
		return
	}
	defer rd.Close()
	size, err := rd.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = rd.Seek(0, io.SeekStart)
	}
	if err != nil {
		problem(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("ETag", `"`+d.SHA256+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", `attachment; filename="document.pdf"`)
	_, _ = io.Copy(w, rd)
}

type consentRequest struct {
	Consent bool `json:"consent"`
	// ConsentSHA256 is the SHA-256 of the consent text the recipient
	// read (View.Consent.SHA256), if the client confirms it.
	ConsentSHA256 string `json:"consent_sha256,omitempty"`
}

func (h *Handler) consent(w http.ResponseWriter, r *http.Request, ss Session) {
	var req consentRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if !req.Consent {
		api.WriteProblem(w, r, withDetail(ErrInvalid, `consent must be true; to refuse, decline the envelope`, nil))
		return
	}
	v, err := h.Service.ConsentText(r.Context(), ss, req.ConsentSHA256, api.AuditRequest(r))
	if err != nil {
		problem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
}

func (h *Handler) sign(w http.ResponseWriter, r *http.Request, ss Session) {
	// The body is read as any JSON body is, within maxSignBody, and then
	// checked as decodeSignRequest checks it.
	var req signRequest
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		if err := api.DecodeJSONLimit(w, r, &req, maxSignBody); err != nil {
			api.WriteProblem(w, r, err)
			return
		}
	}
	if err := checkFieldValues(req.Fields); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	res, err := h.Service.SignFields(r.Context(), ss, req.Fields, api.AuditRequest(r))
	if err != nil {
		problem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, res)
}

type declineRequest struct {
	Reason string `json:"reason"`
}

func (h *Handler) decline(w http.ResponseWriter, r *http.Request, ss Session) {
	var req declineRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	v, err := h.Service.Decline(r.Context(), ss, req.Reason, api.AuditRequest(r))
	if err != nil {
		problem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
}
