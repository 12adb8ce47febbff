package server

import "context"

// SealPDF seals doc with tenant's seal key at PAdES B-LTA, as completed
// documents are, so that tests have a PDF the server's trust validates.
func (s *Server) SealPDF(ctx context.Context, tenant string, doc []byte) ([]byte, error) {
	return s.sealer.SealPDF(ctx, tenant, doc)
}
