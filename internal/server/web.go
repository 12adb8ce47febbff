package server

import "github.com/signet-pki/signet/internal/web"

// openWeb mounts the web interface (the pages and their static files, all
// public) on the router and returns its OpenAPI fragment.
func (s *Server) openWeb() []byte {
	web.New().Register(s.router)
	return web.OpenAPI
}
