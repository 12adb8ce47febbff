package accounts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
)

// Service manages tenants and API keys. Every change is recorded in the
// audit log before it is stored: a change whose event cannot be recorded
// does not happen, and one that fails after its event is recorded gets a
// failure event.
type Service struct {
	Tenants TenantStore
	Keys    KeyStore
	// Recorder records tenant.created and admin.policy_changed events.
	Recorder auditlog.Recorder
	// Provision sets up a new tenant's issuing CA and seal key before the
	// tenant is stored; nil provisions nothing. If it fails, the tenant is
	// not created.
	Provision func(ctx context.Context, t Tenant) error
	// Now and Rand default to time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// Verifier returns the [api.CredentialVerifier] of the service's API keys.
func (s *Service) Verifier() KeyVerifier { return KeyVerifier{Keys: s.Keys} }

const errAudit = "the audit log is unavailable"

// CreateTenant creates a tenant named name for the platform administrator
// p, provisioning it first. req describes the request in the audit event.
func (s *Service) CreateTenant(ctx context.Context, p api.Principal, req auditlog.Request, name string) (Tenant, error) {
	if p.Tenant != "" || !p.HasScope(api.ScopeAdmin) {
		return Tenant{}, &api.Error{Kind: api.KindForbidden, Type: "insufficient-scope", Detail: "the API key lacks scope " + api.ScopeAdmin}
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return Tenant{}, &api.Error{Kind: api.KindInvalid, Type: "invalid-field", Detail: "name must be 1–200 characters"}
	}
	var id [8]byte
	if _, err := io.ReadFull(s.rand(), id[:]); err != nil {
		return Tenant{}, fmt.Errorf("accounts: tenant id: %w", err)
	}
	t := Tenant{ID: "t-" + hex.EncodeToString(id[:]), Name: name, CreatedAt: s.now()}
	ev := auditlog.Event{
		Type: auditlog.TenantCreated, Tenant: t.ID, Actor: api.AuditActor(p), Request: req,
		Outcome: auditlog.OutcomeSuccess, Policy: auditlog.Policy{Decision: "allow", Rule: api.ScopeAdmin},
		Details: map[string]string{"tenant_name": t.Name},
	}
	if err := s.Recorder.Record(ctx, ev); err != nil {
		return Tenant{}, &api.Error{Kind: api.KindUnavailable, Detail: errAudit, Err: err}
	}
	if s.Provision != nil {
		if err := s.Provision(ctx, t); err != nil {
			s.recordFailure(ctx, ev, err)
			return Tenant{}, fmt.Errorf("accounts: provision tenant %s: %w", t.ID, err)
		}
	}
	if err := s.Tenants.CreateTenant(ctx, t); err != nil {
		s.recordFailure(ctx, ev, err)
		return Tenant{}, fmt.Errorf("accounts: store tenant: %w", err)
	}
	return t, nil
}

// ListTenants lists every tenant, oldest first.
func (s *Service) ListTenants(ctx context.Context) ([]Tenant, error) {
	return s.Tenants.Tenants(ctx)
}

// recordFailure records that an action whose success event was already
// recorded then failed, so the log does not claim it happened.
func (s *Service) recordFailure(ctx context.Context, ev auditlog.Event, cause error) {
	ev.Outcome = auditlog.OutcomeFailure
	ev.Reason = "not completed"
	if err := s.Recorder.Record(context.WithoutCancel(ctx), ev); err != nil {
		api.Logger(ctx).ErrorContext(ctx, "cannot record failure", "event", string(ev.Type), "error", errors.Join(cause, err).Error())
	}
}

// A CreateKeyRequest asks for a new API key.
type CreateKeyRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// Tenant is accepted from the platform administrator only.
	Tenant string `json:"tenant,omitempty"`
}

// keyAdmin resolves the tenant whose keys p manages: p's own, or for the
// platform administrator the requested one (its own platform keys when
// none is requested).
func keyAdmin(p api.Principal, scope, requested string) (string, error) {
	if p.Tenant == "" && p.HasScope(api.ScopeAdmin) {
		return requested, nil
	}
	if !p.HasScope(scope) {
		return "", &api.Error{Kind: api.KindForbidden, Type: "insufficient-scope", Detail: "the API key lacks scope " + scope}
	}
	if requested != "" && requested != p.Tenant {
		return "", &api.Error{Kind: api.KindForbidden, Detail: "an API key manages only its own tenant's keys"}
	}
	return p.Tenant, nil
}

// CreateKey creates an API key for p: of p's tenant, or of the requested
// tenant for the platform administrator, never with a scope p lacks. It
// returns the secret, to be shown once, and the stored key.
func (s *Service) CreateKey(ctx context.Context, p api.Principal, req auditlog.Request, in CreateKeyRequest) (string, APIKey, error) {
	tenant, err := keyAdmin(p, api.ScopeAPIKeysWrite, in.Tenant)
	if err != nil {
		return "", APIKey{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > 200 {
		return "", APIKey{}, &api.Error{Kind: api.KindInvalid, Type: "invalid-field", Detail: "name must be 1–200 characters"}
	}
	if err := ValidScopes(tenant, in.Scopes); err != nil {
		return "", APIKey{}, err
	}
	if p.Tenant != "" {
		// A tenant key cannot mint a key stronger than itself.
		for _, sc := range in.Scopes {
			if !p.HasScope(sc) {
				return "", APIKey{}, &api.Error{Kind: api.KindForbidden, Type: "insufficient-scope", Detail: "cannot grant scope " + sc + " that the caller lacks"}
			}
		}
	}
	if tenant != "" {
		if _, err := s.Tenants.Tenant(ctx, tenant); errors.Is(err, ErrNoRecord) {
			return "", APIKey{}, &api.Error{Kind: api.KindNotFound, Detail: "no such tenant"}
		} else if err != nil {
			return "", APIKey{}, err
		}
	}
	secret, k, err := NewAPIKey(s.rand(), tenant, name, in.Scopes, s.now())
	if err != nil {
		return "", APIKey{}, err
	}
	ev := keyEvent(p, req, k, "api_key.created")
	if err := s.Recorder.Record(ctx, ev); err != nil {
		return "", APIKey{}, &api.Error{Kind: api.KindUnavailable, Detail: errAudit, Err: err}
	}
	if err := s.Keys.CreateKey(ctx, k); err != nil {
		s.recordFailure(ctx, ev, err)
		return "", APIKey{}, err
	}
	return secret, k, nil
}

func keyEvent(p api.Principal, req auditlog.Request, k APIKey, action string) auditlog.Event {
	return auditlog.Event{
		Type: auditlog.AdminPolicyChanged, Tenant: k.Tenant, Actor: api.AuditActor(p), Request: req,
		Outcome: auditlog.OutcomeSuccess, Policy: auditlog.Policy{Decision: "allow"},
		Details: map[string]string{"action": action, "api_key_id": k.ID, "scopes": strings.Join(k.Scopes, " ")},
	}
}

// ListKeys lists the keys of p's tenant, or of the requested tenant for
// the platform administrator.
func (s *Service) ListKeys(ctx context.Context, p api.Principal, tenant string) ([]APIKey, error) {
	tenant, err := keyAdmin(p, api.ScopeAPIKeysRead, tenant)
	if err != nil {
		return nil, err
	}
	return s.Keys.Keys(ctx, tenant)
}

// RevokeKey revokes key id of p's tenant, or of the requested tenant for
// the platform administrator.
func (s *Service) RevokeKey(ctx context.Context, p api.Principal, req auditlog.Request, tenant, id string) error {
	tenant, err := keyAdmin(p, api.ScopeAPIKeysWrite, tenant)
	if err != nil {
		return err
	}
	ks, err := s.Keys.Keys(ctx, tenant)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ks, func(k APIKey) bool { return k.ID == id })
	if i < 0 {
		return &api.Error{Kind: api.KindNotFound, Detail: "no such API key"}
	}
	ev := keyEvent(p, req, ks[i], "api_key.revoked")
	if err := s.Recorder.Record(ctx, ev); err != nil {
		return &api.Error{Kind: api.KindUnavailable, Detail: errAudit, Err: err}
	}
	if err := s.Keys.RevokeKey(ctx, tenant, id, s.now()); err != nil {
		s.recordFailure(ctx, ev, err)
		return err
	}
	return nil
}

// Bootstrap creates the platform administrator's API key when there is
// no platform key yet, recording it first, and returns its secret to be
// shown once; it returns "" when a platform key exists.
func (s *Service) Bootstrap(ctx context.Context) (string, error) {
	ks, err := s.Keys.Keys(ctx, "")
	if err != nil {
		return "", fmt.Errorf("accounts: bootstrap: %w", err)
	}
	if len(ks) > 0 {
		return "", nil
	}
	secret, k, err := NewAPIKey(s.rand(), "", "bootstrap administrator", []string{api.ScopeAdmin}, s.now())
	if err != nil {
		return "", err
	}
	if err := s.Recorder.Record(ctx, auditlog.Event{
		Type: auditlog.AdminPolicyChanged, Actor: auditlog.Actor{Kind: auditlog.ActorSystem},
		Outcome: auditlog.OutcomeSuccess, Details: map[string]string{"action": "api_key.created", "api_key_id": k.ID, "scopes": api.ScopeAdmin},
	}); err != nil {
		return "", fmt.Errorf("accounts: bootstrap: %w", err)
	}
	if err := s.Keys.CreateKey(ctx, k); err != nil {
		return "", fmt.Errorf("accounts: bootstrap: %w", err)
	}
	return secret, nil
}
