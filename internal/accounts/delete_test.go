package accounts_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/api"
)

// shredder is a ShredTenant hook that records its calls and fails while
// fail is set.
type shredder struct {
	mu    sync.Mutex
	calls []string
	fail  bool
}

func (s *shredder) shred(_ context.Context, tenant string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, tenant)
	if s.fail {
		return errors.New("the key backend is unreachable")
	}
	return nil
}

func (s *shredder) called() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// refusingRecorder refuses every event.
type refusingRecorder struct{}

func (refusingRecorder) Record(context.Context, auditlog.Event) error {
	return errors.New("audit storage is down")
}

// notAPI is apiKind's answer for an error that is not an *api.Error.
const notAPI api.Kind = -1

func apiKind(err error) api.Kind {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return notAPI
}

// TestDeleteTenant: deleting a tenant records tenant.deleted first, marks
// the tenant deleted, revokes its keys and tokens (refused then like
// unknown credentials) and calls the shredding hook; a failed shredding
// is reported and recorded, and deleting again retries it; other tenants
// keep working; the deleted tenant gets no new key.
func TestDeleteTenant(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	sh := &shredder{fail: true}
	f.svc.ShredTenant = sh.shred
	ta, tb := f.tenant(t, "A"), f.tenant(t, "B")
	secretA, keyA := f.provision(t, ta, accounts.CreateKeyRequest{Name: "a", Roles: []string{"sender"}})
	secretB, _ := f.provision(t, tb, accounts.CreateKeyRequest{Name: "b", Roles: []string{"sender"}})
	token, _, err := f.svc.ExchangeToken(ctx, secretA, netip.Addr{}, auditlog.Request{}, accounts.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	v := f.svc.Verifier()
	for _, c := range []string{secretA, secretB, token} {
		if _, err := v.VerifyCredential(ctx, c, netip.Addr{}); err != nil {
			t.Fatalf("before deletion: %v", err)
		}
	}
	before := len(f.types(t))

	err = f.svc.DeleteTenant(ctx, "ops-runbook", ta)
	if err == nil || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "delete it again") {
		t.Fatalf("DeleteTenant with a failing hook: %v", err)
	}
	if got := sh.called(); !slices.Equal(got, []string{ta}) {
		t.Fatalf("hook calls %v", got)
	}
	tn, err := f.store.Tenant(ctx, ta)
	if err != nil || tn.DeletedAt == nil || !tn.DeletedAt.Equal(f.clock.Now()) {
		t.Fatalf("tenant after a deletion whose shredding failed: %+v, %v", tn, err)
	}
	unknown := accounts.KeyPrefix + strings.Repeat("A", 43)
	_, unknownErr := v.VerifyCredential(ctx, unknown, netip.Addr{})
	for name, c := range map[string]string{"key": secretA, "token": token} {
		_, err := v.VerifyCredential(ctx, c, netip.Addr{})
		if !errors.Is(err, api.ErrUnauthorized) || err.Error() != unknownErr.Error() {
			t.Errorf("the deleted tenant's %s: %v; want the refusal of an unknown one (%v)", name, err, unknownErr)
		}
	}
	if k, _ := f.store.Key(ctx, ta, keyA.ID); k.RevokedAt == nil {
		t.Error("the deleted tenant's key is not revoked")
	}
	if _, err := f.store.TokenByHash(ctx, accounts.HashSecret(token)); !errors.Is(err, accounts.ErrNoRecord) {
		t.Errorf("the deleted tenant's token is still stored: %v", err)
	}
	if _, err := v.VerifyCredential(ctx, secretB, netip.Addr{}); err != nil {
		t.Errorf("another tenant's key after the deletion: %v", err)
	}

	// Deleting again completes the shredding.
	f.clock.Advance(time.Minute)
	sh.mu.Lock()
	sh.fail = false
	sh.mu.Unlock()
	if err := f.svc.DeleteTenant(ctx, "ops-runbook", ta); err != nil {
		t.Fatalf("second DeleteTenant: %v", err)
	}
	if got := sh.called(); !slices.Equal(got, []string{ta, ta}) {
		t.Fatalf("hook calls %v, want a retry", got)
	}
	if tn, _ := f.store.Tenant(ctx, ta); !tn.DeletedAt.Equal(f.clock.Now().Add(-time.Minute)) {
		t.Errorf("a second deletion moved the deletion time to %v", tn.DeletedAt)
	}
	evs, _ := f.recorded(t)
	var got []string
	for _, e := range evs[before:] {
		if e.Type == "apikey.refused" { // the verifier's refusals of the revoked key
			continue
		}
		got = append(got, e.Type+"/"+e.Outcome+"/"+e.Tenant+"/"+e.Actor.Kind+":"+e.Actor.ID)
	}
	want := []string{
		"tenant.deleted/success/" + ta + "/system:ops-runbook",
		"tenant.deleted/failure/" + ta + "/system:ops-runbook",
		"tenant.deleted/success/" + ta + "/system:ops-runbook",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if last := evs[len(evs)-1]; last.Details["tenant_name"] != "A" || last.Details["deleted_at"] == "" {
		t.Errorf("the retry's details %v: want the name and the first deletion time", last.Details)
	}

	// The deleted tenant gets no key, by provisioning or rotation.
	if _, _, err := f.svc.ProvisionKey(ctx, platformAdmin, auditlog.Request{}, ta, accounts.CreateKeyRequest{Name: "x", Roles: []string{"sender"}}); apiKind(err) != api.KindConflict {
		t.Errorf("provision a key of a deleted tenant: %v, want a conflict", err)
	}
	if ks, _ := f.store.Keys(ctx, ta); len(ks) != 1 {
		t.Errorf("%d keys of the deleted tenant, want the one revoked", len(ks))
	}
}

// TestDeleteTenantRefusals: an unknown tenant is not found; a principal in
// the context must be the platform administrator named as actor; an audit
// log that cannot record stops the deletion before anything changes.
func TestDeleteTenantRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	sh := &shredder{}
	f.svc.ShredTenant = sh.shred
	ta := f.tenant(t, "A")
	secret, _ := f.provision(t, ta, accounts.CreateKeyRequest{Name: "a", Roles: []string{"sender"}})
	tenantAdmin := api.Principal{Kind: api.PrincipalUser, ID: "u-1", Tenant: ta, Roles: []string{"tenant-admin"}}
	tests := []struct {
		name   string
		ctx    context.Context
		actor  string
		tenant string
		kind   api.Kind
	}{
		{"unknown tenant", ctx, "ops", "t-none", api.KindNotFound},
		{"empty tenant", ctx, "ops", "", api.KindNotFound},
		{"tenant principal", api.WithPrincipal(ctx, tenantAdmin), "u-1", ta, api.KindForbidden},
		{"platform administrator under another name", api.WithPrincipal(ctx, platformAdmin), "someone-else", ta, notAPI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.svc.DeleteTenant(tt.ctx, tt.actor, tt.tenant)
			if err == nil || apiKind(err) != tt.kind {
				t.Fatalf("DeleteTenant: %v, want kind %q", err, tt.kind)
			}
		})
	}
	f.svc.Recorder = refusingRecorder{}
	if err := f.svc.DeleteTenant(ctx, "ops", ta); apiKind(err) != api.KindUnavailable {
		t.Fatalf("DeleteTenant without an audit log: %v, want unavailable", err)
	}
	if tn, _ := f.store.Tenant(ctx, ta); tn.DeletedAt != nil {
		t.Error("a refused deletion marked the tenant deleted")
	}
	if _, err := f.svc.Verifier().VerifyCredential(ctx, secret, netip.Addr{}); err != nil {
		t.Errorf("a refused deletion revoked the tenant's key: %v", err)
	}
	if len(sh.called()) != 0 {
		t.Errorf("a refused deletion shredded: %v", sh.called())
	}
	// The platform administrator's principal in the context is the actor.
	f.svc.Recorder = f.log
	if err := f.svc.DeleteTenant(api.WithPrincipal(ctx, platformAdmin), platformAdmin.ID, ta); err != nil {
		t.Fatal(err)
	}
	evs, _ := f.recorded(t)
	if last := evs[len(evs)-1]; last.Type != "tenant.deleted" || last.Actor.Kind != "service" || last.Actor.ID != platformAdmin.ID {
		t.Errorf("last event %+v, want tenant.deleted by the platform administrator's key", last)
	}
}

// TestDeletedTenantIDNotReused: creating a tenant whose id is a deleted
// tenant's is refused with a conflict, before provisioning anything.
func TestDeletedTenantIDNotReused(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	var provisioned []string
	f.svc.Provision = func(_ context.Context, tn accounts.Tenant) error {
		provisioned = append(provisioned, tn.ID)
		return nil
	}
	same := bytes.Repeat([]byte{0x42}, 8)
	f.svc.Rand = bytes.NewReader(same)
	ta := f.tenant(t, "A")
	if err := f.svc.DeleteTenant(ctx, "ops", ta); err != nil {
		t.Fatal(err)
	}
	f.svc.Rand = bytes.NewReader(same)
	_, err := f.svc.CreateTenant(ctx, platformAdmin, auditlog.Request{}, "B")
	if apiKind(err) != api.KindConflict {
		t.Fatalf("create a tenant with a deleted tenant's id: %v, want a conflict", err)
	}
	if !slices.Equal(provisioned, []string{ta}) {
		t.Errorf("provisioned %v, want only the first tenant", provisioned)
	}
	if tn, _ := f.store.Tenant(ctx, ta); tn.Name != "A" || tn.DeletedAt == nil {
		t.Errorf("the deleted tenant's record changed: %+v", tn)
	}
}
