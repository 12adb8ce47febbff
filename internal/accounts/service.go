package accounts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
)

// Service manages tenants, service accounts' API keys and their access
// tokens. Every change is recorded in the audit log before it is stored:
// a change whose event cannot be recorded does not happen, and one that
// fails after its event is recorded gets a failure event.
//
// Which principal may call which method is the action gate's question
// (each route declares its action); the service checks only what the
// gate cannot know: the platform administrator acts only through the
// platform methods and tenant principals only on their own tenant, and
// for a key it changes it asks [api.Authorize] with the key as subject.
type Service struct {
	// Tenants and Keys hold the tenants and the API keys.
	Tenants TenantStore
	Keys    KeyStore
	// Tokens holds access tokens; nil disables the token exchange.
	Tokens TokenStore
	// Recorder records tenant and API key events.
	Recorder auditlog.Recorder
	// Provision sets up a new tenant's issuing CA and seal key before the
	// tenant is stored; nil provisions nothing. If it fails, the tenant is
	// not created.
	Provision func(ctx context.Context, t Tenant) error
	// ShredTenant crypto-shreds a deleted tenant's data: it destroys the
	// tenant's keys (its key-encryption keys), after which what was
	// sealed under them is unrecoverable. [Service.DeleteTenant] calls it
	// after the tenant is marked deleted and its credentials revoked, on
	// every deletion of the tenant, so it must be idempotent; a failure
	// is reported and a repeated deletion retries it. nil shreds nothing.
	ShredTenant func(ctx context.Context, tenant string) error
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

// Verifier returns the [api.CredentialVerifier] of the service's API keys
// and access tokens, recording refusals in the service's audit log.
func (s *Service) Verifier() KeyVerifier {
	return KeyVerifier{Keys: s.Keys, Tokens: s.Tokens, Recorder: s.Recorder, Now: s.Now}
}

const errAudit = "the audit log is unavailable"

var (
	errPlatformOnly  = &api.Error{Kind: api.KindForbidden, Detail: "only the platform administrator does this"}
	errTenantOnly    = &api.Error{Kind: api.KindForbidden, Detail: "a tenant's own principals manage its API keys; the platform administrator provisions keys through /v1/tenants/{id}/api-keys"}
	errNoKey         = &api.Error{Kind: api.KindNotFound, Detail: "no such API key"}
	errTenantDeleted = &api.Error{Kind: api.KindConflict, Detail: "the tenant is deleted"}
)

func platform(p api.Principal) bool { return p.Platform && p.Tenant == "" }

func tenantPrincipal(p api.Principal) bool { return !p.Platform && p.Tenant != "" }

// CreateTenant creates a tenant named name for the platform administrator
// p, provisioning it first. req describes the request in the audit event.
func (s *Service) CreateTenant(ctx context.Context, p api.Principal, req auditlog.Request, name string) (Tenant, error) {
	if !platform(p) {
		return Tenant{}, errPlatformOnly
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
	// Ids are never reused, not even a deleted tenant's: its audit trail
	// and shredded keys stay its own.
	if _, err := s.Tenants.Tenant(ctx, t.ID); err == nil {
		return Tenant{}, &api.Error{Kind: api.KindConflict, Detail: "a tenant with this id exists or was deleted; ids are never reused"}
	} else if !errors.Is(err, ErrNoRecord) {
		return Tenant{}, err
	}
	ev := auditlog.Event{
		Type: auditlog.TenantCreated, Tenant: t.ID, Actor: api.AuditActor(p), Request: req,
		Outcome: auditlog.OutcomeSuccess, Policy: auditlog.Policy{Decision: "allow", Rule: string(authz.ActionTenantAdmin)},
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
		if errors.Is(err, ErrExists) {
			return Tenant{}, &api.Error{Kind: api.KindConflict, Detail: "a tenant with this id exists or was deleted; ids are never reused", Err: err}
		}
		return Tenant{}, fmt.Errorf("accounts: store tenant: %w", err)
	}
	return t, nil
}

// DeleteTenant deletes tenant and crypto-shreds its data, for actor: the
// id of the principal that asked. If ctx carries a principal
// ([api.PrincipalFrom]) it must be the platform administrator, with that
// id, and is the event's actor; otherwise the system is, named actor.
//
// The deletion is recorded (tenant.deleted) before anything changes; if
// the record fails nothing does (fail closed). Then the tenant is marked
// deleted and every API key and access token of it revoked, in one step,
// so that its credentials are refused like unknown ones; then
// [Service.ShredTenant] destroys its keys. Deleting a deleted tenant is
// not an error: it is recorded again and repeats what may not have
// completed (the shredding), so a retry finishes a partial failure. An
// unknown tenant gives a not-found error; the id of a deleted tenant is
// never given to a new one.
func (s *Service) DeleteTenant(ctx context.Context, actor, tenant string) error {
	a := auditlog.Actor{Kind: auditlog.ActorSystem, ID: actor}
	if p, ok := api.PrincipalFrom(ctx); ok {
		if !platform(p) {
			return errPlatformOnly
		}
		if p.ID != actor {
			return fmt.Errorf("accounts: delete tenant: actor %q is not the caller", actor)
		}
		a = api.AuditActor(p)
	}
	return s.deleteTenant(ctx, a, auditlog.Request{}, tenant)
}

// deleteTenant is [Service.DeleteTenant] for a checked actor and the
// request that asked.
func (s *Service) deleteTenant(ctx context.Context, actor auditlog.Actor, req auditlog.Request, id string) error {
	t, err := s.Tenants.Tenant(ctx, id)
	if errors.Is(err, ErrNoRecord) || id == "" {
		return &api.Error{Kind: api.KindNotFound, Detail: "no such tenant"}
	}
	if err != nil {
		return err
	}
	ev := auditlog.Event{
		Type: auditlog.TenantDeleted, Tenant: t.ID, Actor: actor, Request: req,
		Outcome: auditlog.OutcomeSuccess, Policy: auditlog.Policy{Decision: "allow", Rule: string(authz.ActionTenantAdmin)},
		Details: map[string]string{"tenant_name": t.Name},
	}
	if t.DeletedAt != nil {
		ev.Details["deleted_at"] = t.DeletedAt.UTC().Format(time.RFC3339Nano)
	}
	if err := s.Recorder.Record(ctx, ev); err != nil {
		return &api.Error{Kind: api.KindUnavailable, Detail: errAudit, Err: err}
	}
	if err := s.Tenants.DeleteTenant(ctx, t.ID, s.now()); err != nil {
		s.recordFailure(ctx, ev, err)
		return fmt.Errorf("accounts: delete tenant %s: %w", t.ID, err)
	}
	if s.ShredTenant != nil {
		if err := s.ShredTenant(ctx, t.ID); err != nil {
			s.recordFailure(ctx, ev, err)
			return fmt.Errorf("accounts: shred tenant %s (deleted; delete it again to retry): %w", t.ID, err)
		}
	}
	return nil
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

// A CreateKeyRequest asks for a new service account key ([CheckKeySpec]
// says what is accepted).
type CreateKeyRequest struct {
	Name string `json:"name"`
	// Roles are standing role grants of the service account.
	Roles []string `json:"roles,omitempty"`
	// Actions bind the key; none means the built-in roles' actions.
	Actions []string `json:"actions,omitempty"`
	// AllowedIPs are CIDR prefixes; none allows any address.
	AllowedIPs []string `json:"allowed_ips,omitempty"`
	// ExpiresAt is when the key stops working; at most a year away.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// CreateKey creates a key of p's own tenant for the tenant principal p
// (the tenant's own administration, action apikey.admin). The key's owner
// is p (for a service account, its key's owner); p must hold every action
// it binds the key to, as [api.Authorize] decides. It returns the secret,
// to be shown once, and the stored key.
func (s *Service) CreateKey(ctx context.Context, p api.Principal, req auditlog.Request, in CreateKeyRequest) (string, APIKey, error) {
	if !tenantPrincipal(p) {
		return "", APIKey{}, errTenantOnly
	}
	owner := p.ID
	if p.Kind != api.PrincipalUser {
		owner = p.GrantedBy
		if owner == "platform" {
			owner = ""
		}
	}
	spec, err := CheckKeySpec(KeySpec{
		Tenant: p.Tenant, Name: in.Name, Roles: in.Roles, Actions: in.Actions,
		Owner: owner, AllowedIPs: in.AllowedIPs, ExpiresAt: in.ExpiresAt,
	}, s.now())
	if err != nil {
		return "", APIKey{}, err
	}
	secret, k, err := NewAPIKey(s.rand(), spec, s.now())
	if err != nil {
		return "", APIKey{}, err
	}
	if err := api.Authorize(ctx, api.AccessCheck{Action: string(authz.ActionAPIKeyAdmin), Subject: k.ID}); err != nil {
		return "", APIKey{}, err
	}
	// Nobody mints a key stronger than themselves.
	for _, a := range k.Actions {
		if err := api.Authorize(ctx, api.AccessCheck{Action: a}); errors.Is(err, api.ErrForbidden) {
			return "", APIKey{}, &api.Error{Kind: api.KindForbidden, Detail: "cannot bind a key to " + a + ", which the caller does not hold", Err: err}
		} else if err != nil {
			return "", APIKey{}, err
		}
	}
	if err := s.storeNewKey(ctx, p, req, k); err != nil {
		return "", APIKey{}, err
	}
	return secret, k, nil
}

// ProvisionKey creates a key of tenant for the platform administrator p
// (action tenant.admin), with no owner. It returns the secret, to be
// shown once, and the stored key.
func (s *Service) ProvisionKey(ctx context.Context, p api.Principal, req auditlog.Request, tenant string, in CreateKeyRequest) (string, APIKey, error) {
	if !platform(p) {
		return "", APIKey{}, errPlatformOnly
	}
	if tenant == "" {
		return "", APIKey{}, &api.Error{Kind: api.KindNotFound, Detail: "no such tenant"}
	}
	spec, err := CheckKeySpec(KeySpec{
		Tenant: tenant, Name: in.Name, Roles: in.Roles, Actions: in.Actions,
		AllowedIPs: in.AllowedIPs, ExpiresAt: in.ExpiresAt,
	}, s.now())
	if err != nil {
		return "", APIKey{}, err
	}
	if t, err := s.Tenants.Tenant(ctx, tenant); errors.Is(err, ErrNoRecord) {
		return "", APIKey{}, &api.Error{Kind: api.KindNotFound, Detail: "no such tenant"}
	} else if err != nil {
		return "", APIKey{}, err
	} else if t.DeletedAt != nil {
		return "", APIKey{}, errTenantDeleted
	}
	secret, k, err := NewAPIKey(s.rand(), spec, s.now())
	if err != nil {
		return "", APIKey{}, err
	}
	if err := s.storeNewKey(ctx, p, req, k); err != nil {
		return "", APIKey{}, err
	}
	return secret, k, nil
}

func (s *Service) storeNewKey(ctx context.Context, p api.Principal, req auditlog.Request, k APIKey) error {
	ev := keyEvent(api.AuditActor(p), req, k, auditlog.APIKeyCreated)
	if err := s.Recorder.Record(ctx, ev); err != nil {
		return &api.Error{Kind: api.KindUnavailable, Detail: errAudit, Err: err}
	}
	if err := s.Keys.CreateKey(ctx, k); err != nil {
		s.recordFailure(ctx, ev, err)
		if errors.Is(err, ErrTenantDeleted) {
			return errTenantDeleted
		}
		return err
	}
	return nil
}

func keyEvent(actor auditlog.Actor, req auditlog.Request, k APIKey, typ auditlog.EventType) auditlog.Event {
	d := map[string]string{"api_key_id": k.ID, "roles": strings.Join(k.Roles, " "), "actions": strings.Join(k.Actions, " ")}
	if k.Owner != "" {
		d["owner"] = k.Owner
	}
	if len(k.AllowedIPs) > 0 {
		d["allowed_ips"] = strings.Join(k.AllowedIPs, " ")
	}
	if k.ExpiresAt != nil {
		d["expires_at"] = k.ExpiresAt.Format(time.RFC3339)
	}
	return auditlog.Event{
		Type: typ, Tenant: k.Tenant, Actor: actor, Request: req,
		Outcome: auditlog.OutcomeSuccess, Policy: auditlog.Policy{Decision: "allow"}, Details: d,
	}
}

// ListKeys lists the keys of the tenant principal p's tenant.
func (s *Service) ListKeys(ctx context.Context, p api.Principal) ([]APIKey, error) {
	if !tenantPrincipal(p) {
		return nil, errTenantOnly
	}
	return s.Keys.Keys(ctx, p.Tenant)
}

// tenantKey returns key id of p's tenant after asking the authorizer
// whether p may administer it.
func (s *Service) tenantKey(ctx context.Context, p api.Principal, id string) (APIKey, error) {
	if !tenantPrincipal(p) {
		return APIKey{}, errTenantOnly
	}
	k, err := s.Keys.Key(ctx, p.Tenant, id)
	if errors.Is(err, ErrNoRecord) {
		return APIKey{}, errNoKey
	}
	if err != nil {
		return APIKey{}, err
	}
	if err := api.Authorize(ctx, api.AccessCheck{Action: string(authz.ActionAPIKeyAdmin), Subject: k.ID}); err != nil {
		return APIKey{}, err
	}
	return k, nil
}

// RevokeKey revokes key id of the tenant principal p's tenant, as
// [Service.DisableKey] does, recording p as the actor.
func (s *Service) RevokeKey(ctx context.Context, p api.Principal, req auditlog.Request, id string) error {
	k, err := s.tenantKey(ctx, p, id)
	if err != nil {
		return err
	}
	_, err = s.disable(ctx, api.AuditActor(p), req, k, s.now())
	return err
}

// DisableKey disables a service account's key id of tenant at once and
// for good: the key is revoked (a revoked key is never enabled again;
// create a new one), so are the keys it replaced whose rotation overlap
// has not ended, and every access token of those keys is deleted, so
// that none of their credentials works on the next request (the verifier
// checks the key of every token too). Each revoked key is recorded
// (apikey.revoked) with the system as actor before it is revoked.
// Disabling a revoked key revokes what remains and is not an error.
func (s *Service) DisableKey(ctx context.Context, tenant, id string, at time.Time) error {
	k, err := s.Keys.Key(ctx, tenant, id)
	if errors.Is(err, ErrNoRecord) {
		return errNoKey
	}
	if err != nil {
		return err
	}
	_, err = s.disable(ctx, auditlog.Actor{Kind: auditlog.ActorSystem}, auditlog.Request{}, k, at.UTC())
	return err
}

// disable revokes k and its predecessors still in overlap, and deletes
// their tokens; it returns the ids of the keys it revoked.
func (s *Service) disable(ctx context.Context, actor auditlog.Actor, req auditlog.Request, k APIKey, at time.Time) ([]string, error) {
	ks, err := s.Keys.Keys(ctx, k.Tenant)
	if err != nil {
		return nil, err
	}
	// Work on the stored records, not on the caller's copies.
	var chain []APIKey
	for _, o := range ks {
		if o.ID == k.ID {
			chain = append(chain, o)
		}
	}
	if len(chain) == 0 {
		return nil, errNoKey
	}
	for i := 0; i < len(chain) && i < len(ks); i++ {
		for _, o := range ks {
			if o.ReplacedBy == chain[i].ID && o.RevokedAt == nil {
				chain = append(chain, o)
			}
		}
	}
	var revoked []string
	for _, c := range chain {
		if c.RevokedAt == nil {
			ev := keyEvent(actor, req, c, auditlog.APIKeyRevoked)
			if err := s.Recorder.Record(ctx, ev); err != nil {
				return revoked, &api.Error{Kind: api.KindUnavailable, Detail: errAudit, Err: err}
			}
			if err := s.Keys.RevokeKey(ctx, c.Tenant, c.ID, at); err != nil {
				s.recordFailure(ctx, ev, err)
				return revoked, err
			}
			revoked = append(revoked, c.ID)
		}
		if s.Tokens != nil {
			if _, err := s.Tokens.DeleteTokens(ctx, c.Tenant, c.ID); err != nil {
				return revoked, err
			}
		}
	}
	return revoked, nil
}

// RevokeKeysOwnedBy disables ([Service.DisableKey]) every unrevoked key
// of tenant that user userID owns, at at, and returns the ids of the keys
// it revoked (with the keys they replaced still in overlap): the
// offboarding of a user takes their service accounts' keys and tokens
// with them. An empty userID is refused (keys without an owner belong to
// the platform).
func (s *Service) RevokeKeysOwnedBy(ctx context.Context, tenant, userID string, at time.Time) ([]string, error) {
	if tenant == "" || userID == "" {
		return nil, fmt.Errorf("accounts: revoke keys owned by: a tenant and a user are required")
	}
	ks, err := s.Keys.Keys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, k := range ks {
		if k.Owner != userID || k.RevokedAt != nil || slices.Contains(ids, k.ID) {
			continue
		}
		revoked, err := s.disable(ctx, auditlog.Actor{Kind: auditlog.ActorSystem}, auditlog.Request{}, k, at.UTC())
		ids = append(ids, revoked...)
		if err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// A RotateKeyRequest asks for a key's rotation.
type RotateKeyRequest struct {
	// OverlapSeconds is how long the old secret keeps working: 0 to
	// 604800 (7 days); absent means 86400 (a day).
	OverlapSeconds *int `json:"overlap_seconds,omitempty"`
}

// RotateKey replaces key id of the tenant principal p's tenant by a new
// key (a new id and secret, the same name, roles, actions, owner and
// allowed addresses, and the same lifetime from now if the old key had
// one, at most [MaxKeyLifetime]). The old secret keeps working until the
// overlap ends. A revoked, expired or already replaced key is not
// rotated (409). It returns the new secret, to be shown once, and the
// new key.
func (s *Service) RotateKey(ctx context.Context, p api.Principal, req auditlog.Request, id string, in RotateKeyRequest) (string, APIKey, error) {
	overlap := DefaultRotationOverlap
	if in.OverlapSeconds != nil {
		o := *in.OverlapSeconds
		// Compared in seconds: a huge value must not overflow into range.
		if o < 0 || o > int(MaxRotationOverlap/time.Second) {
			return "", APIKey{}, invalid("invalid-field", "overlap_seconds must be 0–%d", int(MaxRotationOverlap/time.Second))
		}
		overlap = time.Duration(o) * time.Second
	}
	old, err := s.tenantKey(ctx, p, id)
	if err != nil {
		return "", APIKey{}, err
	}
	now := s.now()
	if old.RevokedAt != nil || old.ReplacedBy != "" || (old.ExpiresAt != nil && !now.Before(*old.ExpiresAt)) {
		return "", APIKey{}, &api.Error{Kind: api.KindConflict, Detail: "the key is revoked, expired or already replaced"}
	}
	spec := KeySpec{Tenant: old.Tenant, Name: old.Name, Roles: old.Roles, Actions: old.Actions, Owner: old.Owner, AllowedIPs: old.AllowedIPs}
	if old.ExpiresAt != nil {
		t := now.Add(min(old.ExpiresAt.Sub(old.CreatedAt), MaxKeyLifetime))
		spec.ExpiresAt = &t
	}
	secret, next, err := NewAPIKey(s.rand(), spec, now)
	if err != nil {
		return "", APIKey{}, err
	}
	ends := now.Add(overlap)
	ev := keyEvent(api.AuditActor(p), req, next, auditlog.APIKeyRotated)
	ev.Details["replaces"] = old.ID
	ev.Details["overlap_seconds"] = strconv.Itoa(int(overlap / time.Second))
	if err := s.Recorder.Record(ctx, ev); err != nil {
		return "", APIKey{}, &api.Error{Kind: api.KindUnavailable, Detail: errAudit, Err: err}
	}
	if err := s.Keys.RotateKey(ctx, old.Tenant, old.ID, next, ends); err != nil {
		s.recordFailure(ctx, ev, err)
		if errors.Is(err, ErrReplaced) {
			return "", APIKey{}, &api.Error{Kind: api.KindConflict, Detail: "the key is revoked or already replaced"}
		}
		if errors.Is(err, ErrTenantDeleted) {
			return "", APIKey{}, errTenantDeleted
		}
		return "", APIKey{}, err
	}
	return secret, next, nil
}

// A TokenRequest asks for an access token.
type TokenRequest struct {
	// Actions narrow the token to some of its key's actions; none means
	// all of them.
	Actions []string `json:"actions,omitempty"`
	// ExpiresIn is the token's lifetime in seconds: 1–900; absent or 0
	// means 900.
	ExpiresIn int `json:"expires_in,omitempty"`
}

// ExchangeToken exchanges the API key secret for an access token of its
// key, for a request from remote: the key must authenticate as
// [KeyVerifier] says (an access token is not exchanged for another). It
// returns the token, to be shown once, and its stored form.
func (s *Service) ExchangeToken(ctx context.Context, secret string, remote netip.Addr, req auditlog.Request, in TokenRequest) (string, AccessToken, error) {
	if s.Tokens == nil {
		return "", AccessToken{}, &api.Error{Kind: api.KindNotFound, Detail: "access tokens are not enabled"}
	}
	ttl := MaxTokenLifetime
	if in.ExpiresIn != 0 {
		if in.ExpiresIn < 1 || in.ExpiresIn > int(MaxTokenLifetime/time.Second) {
			return "", AccessToken{}, invalid("invalid-field", "expires_in must be 1–%d seconds", int(MaxTokenLifetime/time.Second))
		}
		ttl = time.Duration(in.ExpiresIn) * time.Second
	}
	if !wellFormed(secret, KeyPrefix) {
		return "", AccessToken{}, errBadKey
	}
	v := s.Verifier()
	p, err := v.VerifyCredential(ctx, secret, remote)
	if err != nil {
		return "", AccessToken{}, err
	}
	k, err := s.Keys.Key(ctx, p.Tenant, p.ID)
	if err != nil {
		return "", AccessToken{}, err
	}
	actions, err := narrow(k, in.Actions)
	if err != nil {
		return "", AccessToken{}, err
	}
	tok, t, err := NewAccessToken(s.rand(), k, actions, ttl, s.now())
	if err != nil {
		return "", AccessToken{}, err
	}
	ev := auditlog.Event{
		Type: auditlog.APIKeyTokenIssued, Tenant: k.Tenant, Actor: api.AuditActor(p), Request: req,
		Outcome: auditlog.OutcomeSuccess, Policy: auditlog.Policy{Decision: "allow"},
		Details: map[string]string{
			"api_key_id": k.ID, "actions": strings.Join(actions, " "),
			"expires_at": t.ExpiresAt.Format(time.RFC3339),
		},
	}
	if err := s.Recorder.Record(ctx, ev); err != nil {
		return "", AccessToken{}, &api.Error{Kind: api.KindUnavailable, Detail: errAudit, Err: err}
	}
	if err := s.Tokens.CreateToken(ctx, t, MaxLiveTokens); err != nil {
		s.recordFailure(ctx, ev, err)
		if errors.Is(err, ErrTooManyTokens) {
			return "", AccessToken{}, &api.Error{Kind: api.KindRateLimited, Detail: "the key has too many live access tokens; reuse one until it expires"}
		}
		return "", AccessToken{}, err
	}
	return tok, t, nil
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
	secret, k, err := NewAPIKey(s.rand(), KeySpec{Name: "bootstrap administrator", Actions: PlatformActions}, s.now())
	if err != nil {
		return "", err
	}
	if err := s.Recorder.Record(ctx, keyEvent(auditlog.Actor{Kind: auditlog.ActorSystem}, auditlog.Request{}, k, auditlog.APIKeyCreated)); err != nil {
		return "", fmt.Errorf("accounts: bootstrap: %w", err)
	}
	if err := s.Keys.CreateKey(ctx, k); err != nil {
		return "", fmt.Errorf("accounts: bootstrap: %w", err)
	}
	return secret, nil
}
