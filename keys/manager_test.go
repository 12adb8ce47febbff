package keys_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
)

var digest = sha256.Sum256([]byte("document"))

func sign(t *testing.T, s crypto.Signer) []byte {
	t.Helper()
	sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func verifies(pub crypto.PublicKey, sig []byte) bool {
	return ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest[:], sig)
}

func TestCreateChecksPurposeAndAlgorithm(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		req  keys.CreateRequest
		want error
	}{
		{keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping, Algorithm: keys.ECDSAP256}, keys.ErrAlgorithm},
		{keys.CreateRequest{Purpose: keys.PurposeDocumentSigning, Algorithm: keys.AES256}, keys.ErrAlgorithm},
		{keys.CreateRequest{Purpose: keys.PurposeRootCA, Algorithm: keys.HMACSHA256}, keys.ErrAlgorithm},
		{keys.CreateRequest{Purpose: "coffee-making"}, keys.ErrPurpose},
		{keys.CreateRequest{Purpose: keys.PurposeTLS, Backend: "nowhere"}, keys.ErrBackendUnavailable},
		{keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping}, nil},
		{keys.CreateRequest{Purpose: keys.PurposeWebhookSigning}, nil},
		{keys.CreateRequest{Purpose: keys.PurposeAuditCheckpoint}, nil},
	} {
		k, err := f.m.Create(ctx, tc.req)
		if !errors.Is(err, tc.want) {
			t.Errorf("Create(%+v) = %v, want %v", tc.req, err, tc.want)
			continue
		}
		if err == nil && (k.Algorithm != tc.req.Purpose.Algorithms()[0] || len(k.Versions) != 1 || k.Versions[0].State != keys.StateActive) {
			t.Errorf("Create(%+v) = %+v", tc.req, k)
		}
	}
}

func TestPurposeViolations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	signing := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning})
	tsaKey := f.create(t, keys.CreateRequest{Purpose: keys.PurposeTimestamping})
	wrapping := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping})
	hook := f.create(t, keys.CreateRequest{Purpose: keys.PurposeWebhookSigning})
	blob, err := f.m.Wrap(ctx, wrapping.ID, []byte("data key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.rec.take()
	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"sign with a wrapping key", func() error {
			_, _, err := f.m.Signer(ctx, wrapping.ID, keys.PurposeDataKeyWrapping)
			return err
		}},
		{"sign with a wrapping key as document signing", func() error {
			_, _, err := f.m.Signer(ctx, wrapping.ID, keys.PurposeDocumentSigning)
			return err
		}},
		{"sign documents with a timestamping key", func() error {
			_, _, err := f.m.Signer(ctx, tsaKey.ID, keys.PurposeDocumentSigning)
			return err
		}},
		{"sign with an HMAC webhook key", func() error {
			_, _, err := f.m.Signer(ctx, hook.ID, keys.PurposeWebhookSigning)
			return err
		}},
		{"wrap with a signing key", func() error {
			_, err := f.m.Wrap(ctx, signing.ID, []byte("x"), nil)
			return err
		}},
		{"unwrap with a signing key", func() error {
			_, err := f.m.Unwrap(ctx, signing.ID, blob, nil)
			return err
		}},
		{"mac with a wrapping key", func() error {
			_, _, err := f.m.MAC(ctx, wrapping.ID, []byte("x"))
			return err
		}},
	} {
		err := tc.op()
		if !errors.Is(err, keys.ErrPurpose) {
			t.Errorf("%s: err = %v, want ErrPurpose", tc.name, err)
		}
		es := f.rec.take()
		if len(es) != 1 || es[0].Outcome != auditlog.OutcomeDenied || es[0].Subject.KeyID == "" {
			t.Errorf("%s: recorded %v, want one denied event with the key id", tc.name, ops(es))
		}
	}
	// The right uses still work.
	s, _, err := f.m.Signer(ctx, signing.ID, keys.PurposeDocumentSigning)
	if err != nil {
		t.Fatal(err)
	}
	sign(t, s)
	if _, _, err := f.m.MAC(ctx, hook.ID, []byte("x")); err != nil {
		t.Fatal(err)
	}
}

func TestRotationKeepsOldVersions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sk := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning})
	wk := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping})

	s1, ref1, err := f.m.Signer(ctx, sk.ID, keys.PurposeDocumentSigning)
	if err != nil {
		t.Fatal(err)
	}
	sig1 := sign(t, s1)
	blob1, err := f.m.Wrap(ctx, wk.ID, []byte("dek-1"), []byte("doc-1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{sk.ID, wk.ID} {
		ref, err := f.m.Rotate(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ref.Version != 2 {
			t.Fatalf("Rotate(%s) = %v, want version 2", id, ref)
		}
	}
	pub1, _, err := f.m.PublicKey(ctx, sk.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !verifies(pub1, sig1) {
		t.Error("v1 signature no longer verifies against v1's public key")
	}
	if _, err := s1.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, keys.ErrState) {
		t.Errorf("v1 signer after rotation: err = %v, want ErrState", err)
	}
	s2, ref2, err := f.m.Signer(ctx, sk.ID, keys.PurposeDocumentSigning)
	if err != nil {
		t.Fatal(err)
	}
	if ref2.Version != 2 || ref1.Version != 1 {
		t.Fatalf("refs = %v, %v", ref1, ref2)
	}
	sig2 := sign(t, s2)
	pub2, _, _ := f.m.PublicKey(ctx, sk.ID, 0)
	if !verifies(pub2, sig2) || verifies(pub1, sig2) {
		t.Error("v2 signature does not verify against v2 only")
	}
	got, err := f.m.Unwrap(ctx, wk.ID, blob1, []byte("doc-1"))
	if err != nil || string(got) != "dek-1" {
		t.Fatalf("unwrap v1 blob after rotation = %q, %v", got, err)
	}
	if _, err := f.m.Unwrap(ctx, wk.ID, blob1, []byte("doc-2")); err == nil {
		t.Error("unwrap with different aad succeeded")
	}
	blob2, err := f.m.Wrap(ctx, wk.ID, []byte("dek-2"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, _, _ := keys.ParseWrapped(blob2); n != 2 {
		t.Errorf("new blob made with version %d, want 2", n)
	}
	k, _ := f.m.Get(ctx, wk.ID)
	if k.Versions[0].State != keys.StateVerifyOnly || k.Versions[1].State != keys.StateActive {
		t.Errorf("states after rotation = %s, %s", k.Versions[0].State, k.Versions[1].State)
	}
}

func TestRotateDueByAge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	aged := f.create(t, keys.CreateRequest{Purpose: keys.PurposeTimestamping, RotateAfter: 24 * time.Hour})
	f.create(t, keys.CreateRequest{Purpose: keys.PurposeTimestamping}) // never by age
	for _, tc := range []struct {
		advance time.Duration
		want    []keys.KeyVersionRef
	}{
		{23 * time.Hour, nil},
		{2 * time.Hour, []keys.KeyVersionRef{{KeyID: aged.ID, Version: 2}}},
		{time.Hour, nil}, // v2 is one hour old
		{24 * time.Hour, []keys.KeyVersionRef{{KeyID: aged.ID, Version: 3}}},
	} {
		f.clock.Advance(tc.advance)
		got, err := f.m.RotateDue(ctx, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("after +%v: RotateDue = %v, want %v", tc.advance, got, tc.want)
		}
	}
	es := f.rec.take()
	if want := []string{"key.rotated rotate v2 success", "key.rotated rotate v3 success"}; !reflect.DeepEqual(ops(es), want) {
		t.Errorf("events = %v, want %v", ops(es), want)
	}
	if es[0].Details["trigger"] != "age" {
		t.Errorf("trigger = %q, want age", es[0].Details["trigger"])
	}
}

func TestRotateByUsage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sk := f.create(t, keys.CreateRequest{Purpose: keys.PurposePlatformSeal, UsageLimit: 3})
	s, ref, err := f.m.Signer(ctx, sk.ID, keys.PurposePlatformSeal)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		sign(t, s)
	}
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, keys.ErrState) {
		t.Fatalf("4th signature with %v: err = %v, want ErrState (rotated)", ref, err)
	}
	k, _ := f.m.Get(ctx, sk.ID)
	if len(k.Versions) != 2 || k.Versions[0].Usage != 3 || k.Versions[0].State != keys.StateVerifyOnly {
		t.Fatalf("after 3 uses: %+v", k.Versions)
	}
	_, ref2, err := f.m.Signer(ctx, sk.ID, keys.PurposePlatformSeal)
	if err != nil || ref2.Version != 2 {
		t.Fatalf("Signer after usage rotation = %v, %v", ref2, err)
	}

	wk := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping, UsageLimit: 2})
	var versions []int
	for range 5 {
		b, err := f.m.Wrap(ctx, wk.ID, []byte("k"), nil)
		if err != nil {
			t.Fatal(err)
		}
		n, _, _ := keys.ParseWrapped(b)
		versions = append(versions, n)
	}
	if want := []int{1, 1, 2, 2, 3}; !reflect.DeepEqual(versions, want) {
		t.Errorf("wrap versions = %v, want %v", versions, want)
	}
}

func TestRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sk := f.create(t, keys.CreateRequest{Purpose: keys.PurposeIssuingCA, Tenant: "acme"})
	wk := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping})
	var got []keys.KeyRevocation
	f.m.OnRevoke(func(ctx context.Context, r keys.KeyRevocation) error {
		got = append(got, r)
		return nil
	})
	s, _, err := f.m.Signer(ctx, sk.ID, keys.PurposeIssuingCA)
	if err != nil {
		t.Fatal(err)
	}
	sign(t, s)
	blob, err := f.m.Wrap(ctx, wk.ID, []byte("dek"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.rec.take()

	compromise := f.clock.Now().Add(-time.Hour)
	if _, err := f.m.Revoke(ctx, sk.ID, 0, keys.ReasonKeyCompromise, f.clock.Now().Add(time.Hour)); err == nil {
		t.Fatal("revocation with a future compromise time succeeded")
	}
	refs, err := f.m.Revoke(ctx, sk.ID, 0, keys.ReasonKeyCompromise, compromise)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].Version != 1 {
		t.Fatalf("revoked %v", refs)
	}
	// The signer handed out before the revocation stops at once.
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, keys.ErrState) {
		t.Errorf("sign after revocation: err = %v, want ErrState", err)
	}
	if _, _, err := f.m.Signer(ctx, sk.ID, keys.PurposeIssuingCA); !errors.Is(err, keys.ErrState) {
		t.Errorf("Signer after revocation: err = %v, want ErrState", err)
	}
	if len(got) != 1 || got[0].Reason != keys.ReasonKeyCompromise || !got[0].CompromiseTime.Equal(compromise) ||
		got[0].Version != 1 || got[0].Key.Tenant != "acme" || !got[0].Public.(*ecdsa.PublicKey).Equal(s.Public()) {
		t.Fatalf("hook got %+v", got)
	}
	es := ops(f.rec.take())
	if want := "revoke v1 success"; len(es) < 2 || !bytes.Contains([]byte(es[1]), []byte(want)) {
		t.Errorf("events = %v, want a %q record", es, want)
	}
	k, _ := f.m.Get(ctx, sk.ID)
	if r := k.Versions[0].Revocation; k.Versions[0].State != keys.StateRevoked || r == nil || !r.CompromiseTime.Equal(compromise) {
		t.Errorf("stored version = %+v", k.Versions[0])
	}
	// A revoked key can get a fresh version.
	if ref, err := f.m.Rotate(ctx, sk.ID); err != nil || ref.Version != 2 {
		t.Fatalf("Rotate after revoke = %v, %v", ref, err)
	}

	// Revoked wrapping versions no longer unwrap; a failing hook is
	// reported but the revocation stands.
	boom := errors.New("CRL store down")
	f.m.OnRevoke(func(context.Context, keys.KeyRevocation) error { return boom })
	if _, err := f.m.Revoke(ctx, wk.ID, 1, keys.ReasonSuperseded, time.Time{}); !errors.Is(err, keys.ErrRevocationHook) || !errors.Is(err, boom) {
		t.Fatalf("Revoke with failing hook = %v", err)
	}
	if _, err := f.m.Unwrap(ctx, wk.ID, blob, nil); !errors.Is(err, keys.ErrState) {
		t.Errorf("unwrap with revoked version: err = %v, want ErrState", err)
	}
	if _, err := f.m.Revoke(ctx, wk.ID, 1, keys.ReasonSuperseded, time.Time{}); !errors.Is(err, keys.ErrState) {
		t.Errorf("second revocation: err = %v, want ErrState", err)
	}
}

func TestDestroy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sk := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning})
	wk := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping})
	blob, err := f.m.Wrap(ctx, wk.ID, []byte("dek"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.m.Destroy(ctx, sk.ID, 1); !errors.Is(err, keys.ErrState) {
		t.Fatalf("destroying the active version: err = %v, want ErrState", err)
	}
	for _, id := range []string{sk.ID, wk.ID} {
		if _, err := f.m.Rotate(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	files := f.files(t)
	for _, id := range []string{sk.ID, wk.ID} {
		if err := f.m.Destroy(ctx, id, 1); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.files(t); got != files-2 {
		t.Errorf("%d sealed files after destroying 2 of %d", got, files)
	}
	k, _ := f.m.Get(ctx, sk.ID)
	if _, err := f.soft.Signer(ctx, k.Versions[0].Handle); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("backend still opens the destroyed material: %v", err)
	}
	if k.Versions[0].State != keys.StateDestroyed || k.Versions[0].Destroyed.IsZero() {
		t.Errorf("stored version = %+v", k.Versions[0])
	}
	if err := f.m.Destroy(ctx, sk.ID, 1); !errors.Is(err, keys.ErrState) {
		t.Errorf("second destroy: err = %v, want ErrState", err)
	}
	if _, err := f.m.Revoke(ctx, sk.ID, 1, keys.ReasonKeyCompromise, time.Time{}); !errors.Is(err, keys.ErrState) {
		t.Errorf("revoking a destroyed version: err = %v, want ErrState", err)
	}
	if _, err := f.m.Unwrap(ctx, wk.ID, blob, nil); !errors.Is(err, keys.ErrState) {
		t.Errorf("unwrap with destroyed version: err = %v, want ErrState", err)
	}
	if pub, _, err := f.m.PublicKey(ctx, sk.ID, 1); err != nil || pub == nil {
		t.Errorf("public key of destroyed version = %v, %v; want it kept", pub, err)
	}
}

func TestEveryOperationRecorded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sk, err := f.m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning, Tenant: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := f.m.Signer(ctx, sk.ID, keys.PurposeDocumentSigning)
	if err != nil {
		t.Fatal(err)
	}
	sign(t, s)
	wk, err := f.m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping})
	if err != nil {
		t.Fatal(err)
	}
	blob, _ := f.m.Wrap(ctx, wk.ID, []byte("d"), nil)
	f.m.Unwrap(ctx, wk.ID, blob, nil)
	f.m.Unwrap(ctx, wk.ID, append(blob[:len(blob)-1:len(blob)-1], blob[len(blob)-1]^1), nil) // tampered: fails
	hk, _ := f.m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeWebhookSigning})
	f.m.MAC(ctx, hk.ID, []byte("body"))
	f.m.Rotate(ctx, sk.ID)
	f.m.Revoke(ctx, sk.ID, 1, keys.ReasonSuperseded, time.Time{})
	f.m.Destroy(ctx, sk.ID, 1)
	s.Sign(rand.Reader, digest[:], crypto.SHA256) // v1 is destroyed: denied

	want := []string{
		"key.created generate v1 success",
		"key.used sign v1 success",
		"key.created generate v1 success",
		"key.used wrap v1 success",
		"key.used unwrap v1 success",
		"key.used unwrap v1 success",
		"key.used unwrap v1 failure",
		"key.created generate v1 success",
		"key.used mac v1 success",
		"key.rotated rotate v2 success",
		revokedType() + " revoke v1 success",
		"key.destroyed destroy v1 success",
		"key.used sign v1 denied",
	}
	es := f.rec.take()
	if got := ops(es); !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
	for _, e := range es {
		if e.Subject.KeyID == "" || e.Details["purpose"] == "" {
			t.Errorf("event %s without key id or purpose", e.Type)
		}
	}
	if es[0].Tenant != "t1" {
		t.Errorf("tenant = %q", es[0].Tenant)
	}
}

// TestBackendFailureRecorded makes the backend itself fail (an RSA
// signature over a digest of the wrong length) and expects a failure
// record after the attempt.
func TestBackendFailureRecorded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning, Algorithm: keys.RSA2048})
	s, _, err := f.m.Signer(ctx, k.ID, keys.PurposeDocumentSigning)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(rand.Reader, []byte("short"), crypto.SHA256); err == nil {
		t.Fatal("RSA signature over a 5-byte SHA-256 digest succeeded")
	}
	if got, want := ops(f.rec.take()), []string{"key.used sign v1 success", "key.used sign v1 failure"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
}

// TestFailingRecorder checks that every operation fails when the audit
// log refuses its record, and leaves neither metadata nor key material
// changed.
func TestFailingRecorder(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		op   func(f *fixture, sk, wk *keys.Key, s crypto.Signer, blob []byte) error
	}{
		{"create", func(f *fixture, _, _ *keys.Key, _ crypto.Signer, _ []byte) error {
			_, err := f.m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeTLS})
			return err
		}},
		{"sign", func(f *fixture, _, _ *keys.Key, s crypto.Signer, _ []byte) error {
			_, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
			return err
		}},
		{"wrap", func(f *fixture, _, wk *keys.Key, _ crypto.Signer, _ []byte) error {
			_, err := f.m.Wrap(ctx, wk.ID, []byte("x"), nil)
			return err
		}},
		{"unwrap", func(f *fixture, _, wk *keys.Key, _ crypto.Signer, blob []byte) error {
			_, err := f.m.Unwrap(ctx, wk.ID, blob, nil)
			return err
		}},
		{"rotate", func(f *fixture, sk, _ *keys.Key, _ crypto.Signer, _ []byte) error {
			_, err := f.m.Rotate(ctx, sk.ID)
			return err
		}},
		{"rotate due", func(f *fixture, _, _ *keys.Key, _ crypto.Signer, _ []byte) error {
			_, err := f.m.RotateDue(ctx, f.clock.Now().Add(48*time.Hour))
			return err
		}},
		{"revoke", func(f *fixture, sk, _ *keys.Key, _ crypto.Signer, _ []byte) error {
			_, err := f.m.Revoke(ctx, sk.ID, 0, keys.ReasonKeyCompromise, time.Time{})
			return err
		}},
		{"destroy", func(f *fixture, _, wk *keys.Key, _ crypto.Signer, _ []byte) error {
			return f.m.Destroy(ctx, wk.ID, 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			hooked := false
			f.m.OnRevoke(func(context.Context, keys.KeyRevocation) error { hooked = true; return nil })
			sk := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning, RotateAfter: time.Hour})
			wk := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping})
			s, _, err := f.m.Signer(ctx, sk.ID, keys.PurposeDocumentSigning)
			if err != nil {
				t.Fatal(err)
			}
			blob, err := f.m.Wrap(ctx, wk.ID, []byte("dek"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.m.Rotate(ctx, wk.ID); err != nil { // so that v1 may be destroyed
				t.Fatal(err)
			}
			before, _ := f.m.List(ctx, "*")
			files := f.files(t)
			f.rec.setRefuse(true)
			err = tc.op(f, sk, wk, s, blob)
			if !errors.Is(err, keys.ErrAudit) {
				t.Fatalf("err = %v, want ErrAudit", err)
			}
			after, _ := f.m.List(ctx, "*")
			if !reflect.DeepEqual(before, after) {
				t.Errorf("metadata changed:\nbefore %+v\nafter  %+v", before, after)
			}
			if got := f.files(t); got != files {
				t.Errorf("%d sealed files, had %d", got, files)
			}
			if hooked {
				t.Error("revocation hook ran")
			}
		})
	}
}

// TestSignerFormatting checks that the manager's signer prints only its
// key reference.
func TestSignerFormatting(t *testing.T) {
	f := newFixture(t)
	k := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning})
	s, ref, err := f.m.Signer(context.Background(), k.ID, keys.PurposeDocumentSigning)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		if got, want := fmt.Sprintf(verb, s), "keys.Signer("+ref.String()+")"; got != want {
			t.Errorf("%s = %q, want %q", verb, got, want)
		}
	}
}

// revokedType is the event type revocations are recorded under: key.revoked
// once the audit log knows it, key.rotated until then.
func revokedType() string {
	if t := auditlog.EventType("key.revoked"); t.Known() {
		return string(t)
	}
	return string(auditlog.KeyRotated)
}

// TestUsageCountedInBlocks checks the usage count of a busy key: a few
// durable updates for many uses, never fewer counted than made, exact
// counting for occasional use and near the limit, and revocation taking
// effect at once although uses are reserved.
func TestUsageCountedInBlocks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sk := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning})
	s, _, err := f.m.Signer(ctx, sk.ID, keys.PurposeDocumentSigning)
	if err != nil {
		t.Fatal(err)
	}
	usage := func() int64 {
		k, err := f.m.Get(ctx, sk.ID)
		if err != nil {
			t.Fatal(err)
		}
		return k.Versions[0].Usage
	}
	sign(t, s)
	if u := usage(); u != 1 {
		t.Fatalf("one occasional use counted as %d", u)
	}
	// Busy: many uses within a second (the fixture's clock stands still).
	for range 199 {
		sign(t, s)
	}
	if u := usage(); u < 200 || u >= 200+64 {
		t.Fatalf("200 uses counted as %d, want at least 200 and fewer than 264", u)
	}
	// Uses are reserved, yet a revocation refuses the next one.
	if _, err := f.m.Revoke(ctx, sk.ID, 0, keys.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, keys.ErrState) {
		t.Fatalf("signature after revocation: %v, want ErrState", err)
	}

	// Near a usage limit every busy use is counted on its own.
	lk := f.create(t, keys.CreateRequest{Purpose: keys.PurposePlatformSeal, UsageLimit: 100})
	ls, _, err := f.m.Signer(ctx, lk.ID, keys.PurposePlatformSeal)
	if err != nil {
		t.Fatal(err)
	}
	for range 99 {
		sign(t, ls)
	}
	k, _ := f.m.Get(ctx, lk.ID)
	if k.Versions[0].Usage != 99 || k.Versions[0].State != keys.StateActive {
		t.Fatalf("99 uses of a key limited to 100: %+v", k.Versions[0])
	}
	sign(t, ls)
	if k, _ = f.m.Get(ctx, lk.ID); len(k.Versions) != 2 || k.Versions[0].Usage != 100 {
		t.Fatalf("after the 100th use: %+v", k.Versions)
	}
}

// TestAuditCheckpointKeySelfRecording: a checkpoint key's signatures are
// not key.used events (each is a checkpoint of its own), so they work
// while the audit log takes no events, as at shutdown; its refusals are
// still recorded.
func TestAuditCheckpointKeySelfRecording(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ck := f.create(t, keys.CreateRequest{Purpose: keys.PurposeAuditCheckpoint, Algorithm: keys.Ed25519})
	s, _, err := f.m.Signer(ctx, ck.ID, keys.PurposeAuditCheckpoint)
	if err != nil {
		t.Fatal(err)
	}
	f.rec.take()
	f.rec.setRefuse(true)
	msg := []byte("signet.local/audit\n42\nroot\n")
	sig, err := s.Sign(rand.Reader, msg, crypto.Hash(0))
	if err != nil {
		t.Fatalf("checkpoint signature while the log takes no events: %v", err)
	}
	if !ed25519.Verify(s.Public().(ed25519.PublicKey), msg, sig) {
		t.Fatal("signature does not verify")
	}
	f.rec.setRefuse(false)
	if ev := f.rec.take(); len(ev) != 0 {
		t.Fatalf("checkpoint signature recorded %d events", len(ev))
	}
	if k, _ := f.m.Get(ctx, ck.ID); k.Versions[0].Usage != 1 {
		t.Errorf("usage %d, want 1", k.Versions[0].Usage)
	}
	if _, err := f.m.Revoke(ctx, ck.ID, 0, keys.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.rec.take()
	if _, err := s.Sign(rand.Reader, msg, crypto.Hash(0)); !errors.Is(err, keys.ErrState) {
		t.Fatalf("signature with a revoked checkpoint key: %v", err)
	}
	ev := f.rec.take()
	if len(ev) != 1 || ev[0].Outcome != auditlog.OutcomeDenied {
		t.Fatalf("refusal recorded as %+v, want one denied event", ev)
	}
}

// TestImport: an Ed25519 key taken into custody signs as itself, its
// creation is recorded as an import, and other keys are refused.
func TestImport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.rec.take()
	k, err := f.m.Import(ctx, keys.CreateRequest{Purpose: keys.PurposeAuditCheckpoint, Algorithm: keys.Ed25519, Label: "imported"}, priv)
	if err != nil {
		t.Fatal(err)
	}
	ev := f.rec.take()
	if len(ev) != 1 || ev[0].Type != auditlog.KeyCreated || ev[0].Details["imported"] != "true" {
		t.Fatalf("import recorded as %+v", ev)
	}
	s, _, err := f.m.Signer(ctx, k.ID, keys.PurposeAuditCheckpoint)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("checkpoint")
	sig, err := s.Sign(rand.Reader, msg, crypto.Hash(0))
	if err != nil || !ed25519.Verify(priv.Public().(ed25519.PublicKey), msg, sig) {
		t.Fatalf("imported key does not sign as itself: %v", err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := f.m.Import(ctx, keys.CreateRequest{Purpose: keys.PurposeTLS, Algorithm: keys.ECDSAP256}, ec); err == nil {
		t.Error("an ECDSA key was imported")
	}
	if _, err := f.m.Import(ctx, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping, Algorithm: keys.Ed25519}, priv); !errors.Is(err, keys.ErrAlgorithm) {
		t.Errorf("import for a purpose that does not allow Ed25519: %v", err)
	}
}
