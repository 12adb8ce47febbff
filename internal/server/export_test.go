package server

import "github.com/signet-pki/signet/internal/identity"

// IdentityStore returns the server's identity store, so that tests can
// set up users, grants and sessions without going through every login.
func (s *Server) IdentityStore() identity.Store { return s.stores.Identity }
