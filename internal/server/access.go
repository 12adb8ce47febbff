package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/access"
	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/admin"
	"github.com/signet-pki/signet/internal/identity/login"
	"github.com/signet-pki/signet/internal/identity/oidc"
)

// people is what the server runs for users and their permissions: the
// login service (sessions, second factors) and the authorizer the gate
// asks.
type people struct {
	login      *login.Service
	admin      *admin.Service
	authorizer *access.Authorizer
}

// openPeople builds the login service and the authorizer over the
// identity store, and mounts the login routes on the router; it returns
// their OpenAPI fragments.
func (s *Server) openPeople(ctx context.Context, o options) (*people, [][]byte, error) {
	id := s.stores.Identity
	recoveryKey, err := s.dir.RecoveryCodeKey(ctx)
	if err != nil {
		return nil, nil, err
	}
	providers := map[string]*oidc.Client{}
	for _, pc := range s.cfg.Identity.OIDC {
		c, err := oidc.New(ctx, pc.oidcProvider(o.secretOf(pc.ClientSecretEnv)), nil)
		if err != nil {
			return nil, nil, fmt.Errorf("server: identity.oidc %q: %w", pc.Name, err)
		}
		providers[pc.Name] = c
	}
	p := &people{}
	if p.login, err = login.New(login.Config{
		Store: id, Sealer: s.identitySealer, Keys: s.keyRing, Recorder: s.audit.log, Policy: s.policy, RecoveryKey: recoveryKey,
		Passkeys: s.passkeys, OIDC: providers,
		Issuer: "Signet", IdleTimeout: time.Duration(s.cfg.Identity.SessionIdle), AbsoluteTimeout: time.Duration(s.cfg.Identity.SessionAbsolute),
		Now: o.now,
	}); err != nil {
		return nil, nil, err
	}
	if p.authorizer, err = access.New(access.Config{Grants: id, Policy: s.policy, Recorder: s.audit.log, Alert: s.alert, Now: o.now, Logger: o.logger}); err != nil {
		return nil, nil, err
	}
	if p.admin, err = admin.New(admin.Config{
		Store: id, Recorder: s.audit.log, Offboard: s.accounts.RevokeKeysOwnedBy, Keys: s.reviewKeys,
		Passkeys: func(ctx context.Context, tenant, userID string) (int, error) {
			ps, err := id.PasskeysOf(ctx, tenant, userID)
			return len(ps), err
		},
		TenantExists: func(ctx context.Context, tenant string) error {
			if _, err := s.stores.Tenants.Tenant(ctx, tenant); errors.Is(err, accounts.ErrNoRecord) {
				return identity.ErrNotFound
			} else if err != nil {
				return err
			}
			return nil
		},
		Alert: s.alert, Now: o.now, Logger: o.logger,
	}); err != nil {
		return nil, nil, err
	}
	p.login.Register(s.router)
	p.admin.Register(s.router)
	return p, [][]byte{login.OpenAPI, admin.OpenAPI}, nil
}

// policy returns the tenant's authorization policy (the strict default
// until the tenant sets one).
func (s *Server) policy(ctx context.Context, tenant string) (authz.TenantPolicy, error) {
	return s.stores.Identity.Policy(ctx, tenant)
}

// reviewKeys describes the tenant's service accounts for the access
// review.
func (s *Server) reviewKeys(ctx context.Context, tenant string) ([]admin.ReviewKey, error) {
	keys, err := s.stores.APIKeys.Keys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return accounts.ReviewKeys(keys), nil
}

// alert raises a security alert: a break-glass self-approval. It is
// logged at error level, where operators' log alerting looks.
func (s *Server) alert(ctx context.Context, ev auditlog.Event) {
	s.logger.ErrorContext(ctx, "ALERT: security event", "type", string(ev.Type), "tenant", ev.Tenant, "actor", ev.Actor.ID,
		"action", ev.Details["action"])
}

// selfAuthenticated reports whether a route's handler establishes its own
// principal: the recipient routes (link tokens).
func selfAuthenticated(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/v1/recipient/")
}
