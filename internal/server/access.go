package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/access"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity/login"
)

// people is what the server runs for users and their permissions: the
// login service (sessions, second factors) and the authorizer the gate
// asks.
type people struct {
	login      *login.Service
	authorizer *access.Authorizer
}

// openPeople builds the login service and the authorizer over the
// identity store, and mounts the login routes on the router; it returns
// their OpenAPI fragments.
func (s *Server) openPeople(ctx context.Context, o options) (*people, [][]byte, error) {
	id := s.stores.Identity
	sealer, err := s.dir.IdentitySealer(ctx)
	if err != nil {
		return nil, nil, err
	}
	recoveryKey, err := s.dir.RecoveryCodeKey(ctx)
	if err != nil {
		return nil, nil, err
	}
	p := &people{}
	if p.login, err = login.New(login.Config{
		Store: id, Sealer: sealer, Recorder: s.audit.log, Policy: s.policy, RecoveryKey: recoveryKey,
		Issuer: "Signet", IdleTimeout: time.Duration(s.cfg.Identity.SessionIdle), AbsoluteTimeout: time.Duration(s.cfg.Identity.SessionAbsolute),
		Now: o.now,
	}); err != nil {
		return nil, nil, err
	}
	if p.authorizer, err = access.New(access.Config{Grants: id, Policy: s.policy, Recorder: s.audit.log, Now: o.now, Logger: o.logger}); err != nil {
		return nil, nil, err
	}
	p.login.Register(s.router)
	return p, [][]byte{login.OpenAPI}, nil
}

// policy returns the tenant's authorization policy.
func (s *Server) policy(ctx context.Context, tenant string) (authz.TenantPolicy, error) {
	return authz.TenantPolicy{Tenant: tenant}, nil
}

// selfAuthenticated reports whether a route's handler establishes its own
// principal: the recipient routes (link tokens).
func selfAuthenticated(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/v1/recipient/")
}
