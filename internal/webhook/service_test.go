package webhook_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/internal/webhook"
	webhooksqlite "github.com/signet-pki/signet/internal/webhook/sqlite"
	"github.com/signet-pki/signet/internal/webhook/webhooktest"
	"github.com/signet-pki/signet/keys/atrest/atresttest"
)

type env struct {
	t     testing.TB
	path  string
	pool  *sqldb.Pool
	store *webhooksqlite.Store
	keys  *atresttest.KeyRing
	svc   *webhook.Service
	now   atomic.Int64 // offset from the real clock, ns
}

func newEnv(t testing.TB, mod func(*webhook.Config)) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "signet.db"), keys: &atresttest.KeyRing{}}
	e.open(mod)
	return e
}

func (e *env) clock() time.Time { return time.Now().Add(time.Duration(e.now.Load())) }

func (e *env) open(mod func(*webhook.Config)) {
	t := e.t
	ctx := context.Background()
	pool, err := sqldb.OpenPool(ctx, e.path, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	st, err := webhooksqlite.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	cfg := webhook.Config{
		Store: st, Keys: e.keys,
		Guard:    &webhook.Guard{AllowPrivateNetworks: true, AllowHTTP: true},
		Schedule: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond},
		Now:      e.clock,
	}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.pool, e.store, e.svc = pool, st, svc
}

// drain runs delivery passes until cond holds (bounded by a deadline, not
// asserted on).
func (e *env) drain(cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatal("condition not reached")
		}
		if _, err := e.svc.DeliverOnce(context.Background()); err != nil {
			e.t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestDeliverySignedAndVerified(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	rcv := webhooktest.New("")
	defer rcv.Close()
	ep, secret, err := e.svc.Create(ctx, "t1", rcv.URL(), []string{webhook.EventEnvelopeCompleted}, true)
	if err != nil {
		t.Fatal(err)
	}
	rcv.SetSecrets(secret.String())
	if err := e.svc.Notify(ctx, "t1", webhook.EventEnvelopeCompleted, map[string]string{"envelope_id": "env_1", "status": "completed"}); err != nil {
		t.Fatal(err)
	}
	// Not subscribed, other tenant: nothing.
	if err := e.svc.Notify(ctx, "t1", webhook.EventEnvelopeSent, map[string]string{"envelope_id": "env_1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Notify(ctx, "t2", webhook.EventEnvelopeCompleted, map[string]string{"envelope_id": "env_2"}); err != nil {
		t.Fatal(err)
	}
	e.drain(func() bool { return len(rcv.Accepted()) == 1 })
	if n, _ := e.svc.DeliverOnce(ctx); n != 0 {
		t.Fatalf("%d more deliveries", n)
	}
	got := rcv.Accepted()[0]
	var p struct {
		Type      string            `json:"type"`
		Timestamp time.Time         `json:"timestamp"`
		Data      map[string]string `json:"data"`
	}
	if err := json.Unmarshal(got.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != webhook.EventEnvelopeCompleted || p.Data["envelope_id"] != "env_1" || p.Timestamp.IsZero() {
		t.Fatalf("payload %s", got.Body)
	}
	if rej := rcv.Rejected(); len(rej) != 0 {
		t.Fatalf("rejected: %v", rej)
	}
	// A replay of the delivery (same id and timestamp) is refused.
	if code := rcv.Replay(got); code != http.StatusBadRequest {
		t.Fatalf("replay answered %d", code)
	}
	// A correctly signed message with an old timestamp is refused too.
	old := time.Now().Add(-10 * time.Minute)
	stale := webhooktest.Delivery{ID: "msg_old", Timestamp: old.Unix(), Body: got.Body,
		Signature: webhook.SignV1(secret, "msg_old", old, got.Body)}
	if code := rcv.Replay(stale); code != http.StatusBadRequest {
		t.Fatalf("old timestamp answered %d", code)
	}
	// The delivery log.
	ds, atts, err := e.svc.Deliveries(ctx, "t1", ep.ID, 10)
	if err != nil || len(ds) != 1 || ds[0].Status != webhook.StatusDelivered || len(atts[ds[0].MessageID]) != 1 {
		t.Fatalf("deliveries %+v %+v %v", ds, atts, err)
	}
	if a := atts[ds[0].MessageID][0]; a.StatusCode != http.StatusNoContent || a.Error != "" {
		t.Fatalf("attempt %+v", a)
	}
	// Another tenant sees nothing.
	if _, _, err := e.svc.Deliveries(ctx, "t2", ep.ID, 10); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("other tenant: %v", err)
	}
}

// TestRetriesThenOneSuccess: a receiver failing 3 times then succeeding
// gets exactly one successful delivery per event.
func TestRetriesThenOneSuccess(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	rcv := webhooktest.New("")
	defer rcv.Close()
	ep, secret, err := e.svc.Create(ctx, "t1", rcv.URL(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	rcv.SetSecrets(secret.String())
	rcv.FailNext(3)
	for _, id := range []string{"env_1", "env_2"} {
		if err := e.svc.Notify(ctx, "t1", webhook.EventEnvelopeSent, map[string]string{"envelope_id": id}); err != nil {
			t.Fatal(err)
		}
	}
	e.drain(func() bool { return len(rcv.Accepted()) == 2 })
	for range 3 {
		if _, err := e.svc.DeliverOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	acc := rcv.Accepted()
	if len(acc) != 2 || acc[0].ID == acc[1].ID {
		t.Fatalf("accepted %d deliveries: %+v", len(acc), acc)
	}
	ds, atts, err := e.svc.Deliveries(ctx, "t1", ep.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, d := range ds {
		if d.Status != webhook.StatusDelivered {
			t.Errorf("delivery %s is %s", d.MessageID, d.Status)
		}
		total += len(atts[d.MessageID])
		last := atts[d.MessageID][len(atts[d.MessageID])-1]
		if last.StatusCode != http.StatusNoContent {
			t.Errorf("last attempt %+v", last)
		}
	}
	if total != 5 {
		t.Fatalf("%d attempts in all, want 5 (3 failures, 2 successes)", total)
	}
	if rcv.Requests() != 5 {
		t.Fatalf("%d requests", rcv.Requests())
	}
}

func TestDeadLetterAndRetry(t *testing.T) {
	e := newEnv(t, func(c *webhook.Config) { c.Schedule = []time.Duration{time.Millisecond} })
	ctx := context.Background()
	rcv := webhooktest.New("")
	defer rcv.Close()
	ep, secret, err := e.svc.Create(ctx, "t1", rcv.URL(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	rcv.SetSecrets(secret.String())
	rcv.FailNext(1000)
	if err := e.svc.Notify(ctx, "t1", webhook.EventKeyRotated, map[string]string{"key_id": "k1"}); err != nil {
		t.Fatal(err)
	}
	dead := func() bool {
		ds, _, err := e.svc.Deliveries(ctx, "t1", ep.ID, 10)
		return err == nil && len(ds) == 1 && ds[0].Status == webhook.StatusDead
	}
	e.drain(dead)
	got, err := e.svc.Get(ctx, "t1", ep.ID)
	if err != nil || !got.Failing {
		t.Fatalf("endpoint not failing: %+v %v", got, err)
	}
	if rcv.Requests() != 2 {
		t.Fatalf("%d requests, want 2 (first try and one retry)", rcv.Requests())
	}
	ds, atts, _ := e.svc.Deliveries(ctx, "t1", ep.ID, 10)
	if a := atts[ds[0].MessageID]; len(a) != 2 || a[1].Error != "status 503" || a[1].Response == "" {
		t.Fatalf("attempts %+v", a)
	}
	rcv.FailNext(0)
	if err := e.svc.Retry(ctx, "t1", ep.ID, ds[0].MessageID); err != nil {
		t.Fatal(err)
	}
	e.drain(func() bool { return len(rcv.Accepted()) == 1 })
	if got, _ := e.svc.Get(ctx, "t1", ep.ID); got.Failing {
		t.Fatal("still failing after a success")
	}
	if err := e.svc.Retry(ctx, "t1", ep.ID, "msg_nope"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("retry of a missing delivery: %v", err)
	}
}

func TestRotationOverlap(t *testing.T) {
	e := newEnv(t, func(c *webhook.Config) { c.Schedule = []time.Duration{} })
	ctx := context.Background()
	rcv := webhooktest.New("")
	defer rcv.Close()
	ep, oldSecret, err := e.svc.Create(ctx, "t1", rcv.URL(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	newSecret, until, err := e.svc.RotateSecret(ctx, "t1", ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(newSecret, oldSecret) || !until.After(e.clock()) {
		t.Fatal("rotation did not change the secret")
	}
	// During the overlap a receiver holding either secret accepts.
	for i, s := range []webhook.Secret{oldSecret, newSecret} {
		rcv.SetSecrets(s.String())
		if err := e.svc.Notify(ctx, "t1", webhook.EventKeyRotated, map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
		e.drain(func() bool { return len(rcv.Accepted()) == i+1 })
	}
	// After it, only the new one signs. The receiver's clock check stays
	// satisfied: only the service's idea of the overlap moves.
	e.svc = expireOverlap(t, e, until)
	rcv.SetSecrets(oldSecret.String())
	if err := e.svc.Notify(ctx, "t1", webhook.EventKeyRotated, map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	e.drain(func() bool { return len(rcv.Rejected()) == 1 })
	if len(rcv.Accepted()) != 2 {
		t.Fatal("old secret accepted after the overlap")
	}
}

// expireOverlap ends the endpoint's rotation overlap by moving its
// PreviousUntil back (the receiver checks timestamps against the real
// clock, so the service's clock is not moved instead).
func expireOverlap(t *testing.T, e *env, until time.Time) *webhook.Service {
	t.Helper()
	ep, err := e.store.Endpoints(context.Background(), "t1", 10)
	if err != nil || len(ep) != 1 {
		t.Fatal(err)
	}
	ep[0].PreviousUntil = time.Now().Add(-time.Second)
	if err := e.store.UpdateEndpoint(context.Background(), ep[0]); err != nil {
		t.Fatal(err)
	}
	return e.svc
}

func TestAsymmetricSignature(t *testing.T) {
	e := newEnv(t, func(c *webhook.Config) { c.Asymmetric = true })
	ctx := context.Background()
	rcv := webhooktest.New("")
	defer rcv.Close()
	if _, _, err := e.svc.Create(ctx, "t1", rcv.URL(), nil, true); err != nil {
		t.Fatal(err)
	}
	pub, err := e.svc.PublicKey(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	rcv.SetPublicKeys(webhook.PublicKeyString(pub)) // no shared secret
	if err := e.svc.Notify(ctx, "t1", webhook.EventDocumentUploaded, map[string]string{"document_id": "doc_1"}); err != nil {
		t.Fatal(err)
	}
	e.drain(func() bool { return len(rcv.Accepted()) == 1 })
	other, err := e.svc.PublicKey(ctx, "t2")
	if err != nil || bytes.Equal(other, pub) {
		t.Fatal("tenants share a signing key")
	}
	again, _ := e.svc.PublicKey(ctx, "t1")
	if !bytes.Equal(again, pub) {
		t.Fatal("signing key changed")
	}
}

// TestCrashBetweenCommitAndSend: the message is written in the state
// change's transaction; the process stops before sending; after a
// restart it is delivered. A rolled-back change sends nothing.
func TestCrashBetweenCommitAndSend(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	rcv := webhooktest.New("")
	defer rcv.Close()
	_, secret, err := e.svc.Create(ctx, "t1", rcv.URL(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	rcv.SetSecrets(secret.String())
	committed, _ := e.svc.Message("t1", webhook.EventEnvelopeCompleted, map[string]string{"envelope_id": "env_ok"})
	rolledBack, _ := e.svc.Message("t1", webhook.EventEnvelopeCompleted, map[string]string{"envelope_id": "env_rb"})
	if err := e.pool.Tx(ctx, func(tx *sql.Tx) error { return webhooksqlite.InsertMessages(ctx, tx, []webhook.Message{committed}) }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("state change failed")
	if err := e.pool.Tx(ctx, func(tx *sql.Tx) error {
		if err := webhooksqlite.InsertMessages(ctx, tx, []webhook.Message{rolledBack}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	// "Crash": close the database without any delivery pass, reopen.
	e.pool.Close()
	e.open(nil)
	e.drain(func() bool { return len(rcv.Accepted()) == 1 })
	for range 3 {
		e.svc.DeliverOnce(ctx)
	}
	acc := rcv.Accepted()
	if len(acc) != 1 || acc[0].ID != committed.ID {
		t.Fatalf("accepted %+v", acc)
	}
}

func TestSecretsSealedAtRest(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	ep, secret, err := e.svc.Create(ctx, "t1", "https://receiver.example/hook", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	rotated, _, err := e.svc.RotateSecret(ctx, "t1", ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	var cur, prev []byte
	if err := e.pool.Writer().QueryRow(`SELECT secret, previous_secret FROM webhook_endpoints WHERE id = ?`, ep.ID).Scan(&cur, &prev); err != nil {
		t.Fatal(err)
	}
	for _, s := range [][]byte{secret, rotated} {
		for _, col := range [][]byte{cur, prev} {
			if bytes.Contains(col, s) || bytes.Contains(col, []byte(webhook.Secret(s).String())) {
				t.Fatal("a secret is stored in clear")
			}
		}
	}
	if err := e.svc.Delete(ctx, "t1", ep.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.keys.ObjectKEK(ctx, "t1", "webhook:"+ep.ID, false); err == nil {
		t.Fatal("the endpoint's key survived its deletion")
	}
}

func TestRegistrationChecks(t *testing.T) {
	e := newEnv(t, func(c *webhook.Config) { c.Guard = &webhook.Guard{} })
	ctx := context.Background()
	for _, u := range []string{"https://127.0.0.1/hook", "http://receiver.example/", "https://169.254.169.254/", "https://10.1.1.1/"} {
		_, _, err := e.svc.Create(ctx, "t1", u, nil, true)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Kind != api.KindInvalid {
			t.Errorf("%s: %v, want a 422 problem", u, err)
		}
	}
	if _, _, err := e.svc.Create(ctx, "t1", "https://93.184.215.14/", []string{"nope"}, true); !errors.Is(err, api.ErrNotFound) {
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Kind != api.KindInvalid {
			t.Errorf("unknown event: %v", err)
		}
	}
}

// publicResolver answers a public address for every name but
// loopback.example.
type publicResolver struct{}

func (publicResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if host == "loopback.example" {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("93.184.215.14")}, nil
}

// TestPlatformEndpoint: the configured platform endpoint is created,
// then updated in place (new URL, new secret, re-enabled) on the next
// start; it receives the platform's events, signed with the configured
// secret, and no tenant's; a bad name is refused.
func TestPlatformEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	old, _ := webhook.NewSecret()
	if _, err := e.svc.EnsurePlatformEndpoint(ctx, "ops", "http://127.0.0.1:9/old", []string{webhook.EventAlert}, old); err != nil {
		t.Fatal(err)
	}
	rcv := webhooktest.New("")
	defer rcv.Close()
	secret, _ := webhook.NewSecret()
	rcv.SetSecrets(secret.String())
	ep, err := e.svc.EnsurePlatformEndpoint(ctx, "ops", rcv.URL(), []string{webhook.EventAlert}, secret)
	if err != nil {
		t.Fatal(err)
	}
	if ep.ID != webhook.PlatformIDPrefix+"ops" || ep.Tenant != "" {
		t.Fatalf("endpoint %+v", ep)
	}
	if eps, _ := e.svc.List(ctx, ""); len(eps) != 1 || eps[0].URL != rcv.URL() {
		t.Fatalf("platform endpoints %+v", eps)
	}
	if err := e.svc.Notify(ctx, "t1", webhook.EventAlert, map[string]string{"rule": "tenant-rule"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Notify(ctx, "", webhook.EventAlert, map[string]string{"rule": "audit-append"}); err != nil {
		t.Fatal(err)
	}
	e.drain(func() bool { return len(rcv.Accepted()) == 1 })
	if got := rcv.Accepted(); len(got) != 1 || !strings.Contains(string(got[0].Body), "audit-append") {
		t.Fatalf("accepted %+v (rejected %v)", got, rcv.Rejected())
	}
	for _, name := range []string{"", "Ops", "a/b", strings.Repeat("x", 33)} {
		if _, err := e.svc.EnsurePlatformEndpoint(ctx, name, rcv.URL(), nil, secret); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}
