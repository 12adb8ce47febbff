package archive

import (
	_ "embed"
	"net/http"

	"github.com/signet-pki/signet/internal/api"
)

// OpenAPI is this package's OpenAPI 3.1 fragment: GET
// /v1/archive/status, merged by [api.MergeOpenAPI].
//
//go:embed openapi.json
var OpenAPI []byte

// Handler serves the state of renewal to the platform administrator:
//
//	GET /v1/archive/status   [Status] as JSON (tenant.admin)
type Handler struct {
	// Service is the renewal service; nil when renewal is disabled (the
	// route then answers 404 not-configured).
	Service *Service
}

// Register mounts the route on mux.
func (h *Handler) Register(mux api.Mux) {
	mux.HandleFunc("GET /v1/archive/status", h.status)
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	// The action gate lets only the platform administrator through
	// (tenant.admin); the handler checks it again.
	if p, ok := api.PrincipalFrom(r.Context()); !ok || !p.Platform || p.Tenant != "" {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindForbidden, Detail: "only the platform administrator reads the archive renewal status"})
		return
	}
	if h.Service == nil {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindNotFound, Type: "not-configured", Detail: "archive renewal is disabled (archive.disabled)"})
		return
	}
	api.WriteJSON(w, http.StatusOK, h.Service.Status())
}
