package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/keys/dataseal"
	"github.com/signet-pki/signet/pki/ca"
)

// Sealer returns a [ca.RecordSealer] made by [ca.NewRecordSealer] over
// software KEKs ([dataseal.NewAESKEK]), one random key per issuer.
func Sealer(t testing.TB) ca.RecordSealer {
	t.Helper()
	var (
		mu   sync.Mutex
		keks = map[string]dataseal.KEK{}
	)
	return ca.NewRecordSealer(func(_ context.Context, issuer string) (dataseal.KEK, error) {
		mu.Lock()
		defer mu.Unlock()
		if k, ok := keks[issuer]; ok {
			return k, nil
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		keks[issuer] = dataseal.NewAESKEK("1", key)
		return keks[issuer], nil
	})
}

// RunSealed runs the conformance suite on [ca.SealedStore] over the
// stores open makes, then checks what such a store keeps: the subject
// and DER of signer certificates only sealed, in no form that dump
// finds, while the sealed store hands them out in clear; a sealed value
// moved to another certificate's row fails to open; records stored in
// clear earlier, and records of certificates that name no one, read as
// they were; revocation status stays readable from the inner store
// without any key (what OCSP and CRLs use).
//
// open returns a new, empty inner store and dump, which returns every
// byte the store keeps at rest (its database files, or every column of
// every row); dump is nil for a store that keeps nothing at rest
// ([ca.MemStore]).
func RunSealed(t *testing.T, open func(t *testing.T) (inner ca.Store, dump func(t *testing.T) []byte)) {
	t.Run("Conformance", func(t *testing.T) {
		Run(t, func(t *testing.T) ca.Store {
			inner, _ := open(t)
			return ca.SealedStore(inner, Sealer(t))
		})
	})
	t.Run("AtRest", func(t *testing.T) {
		inner, dump := open(t)
		testAtRest(t, inner, ca.SealedStore(inner, Sealer(t)), dump)
	})
	t.Run("MovedValues", func(t *testing.T) {
		inner, _ := open(t)
		testMoved(t, inner, ca.SealedStore(inner, Sealer(t)))
	})
	t.Run("Legacy", func(t *testing.T) {
		inner, _ := open(t)
		testLegacy(t, inner, ca.SealedStore(inner, Sealer(t)))
	})
}

// Planted values: a person's name and e-mail address in a signer
// certificate, and a service's name that stays in clear.
const (
	personMarker  = "Zephyrine Quillfeather"
	emailMarker   = "zq.planted@example.org"
	serviceMarker = "Planted OCSP Responder Xq9"
)

// PlantedSecrets returns what the sealed suite plants in signer records
// and must not be found at rest: a person's name and e-mail address.
func PlantedSecrets() []string { return []string{personMarker, emailMarker} }

func personRecord(serial int64) ca.Record {
	r := rec(serial, "acme", "person-key", "1")
	r.Subject = "CN=" + personMarker + ",O=acme"
	r.DER = append([]byte{0x30, 0x82, 0x01, 0x00}, "rfc822Name="+emailMarker+";cn="+personMarker...)
	return r
}

func testAtRest(t *testing.T, inner, s ca.Store, dump func(t *testing.T) []byte) {
	ctx := context.Background()
	person := personRecord(101)
	service := rec(102, "acme", "ocsp-key", "1")
	service.Kind, service.Subject = ca.KindOCSP, "CN="+serviceMarker+",O=Signet"
	for _, r := range []ca.Record{person, service} {
		if err := s.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []ca.Record{person, service} {
		got, err := s.Get(ctx, r.Serial)
		if err != nil || !equal(got, r) {
			t.Errorf("Get(%v) = %+v, %v; want %+v", r.Serial, got, err, r)
		}
	}
	raw, err := inner.Get(ctx, person.Serial)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.IsSealed(raw) || strings.Contains(raw.Subject, personMarker) || bytes.Contains(raw.DER, []byte(emailMarker)) {
		t.Errorf("the inner store holds the signer record in clear: subject %q", raw.Subject)
	}
	if raw, err := inner.Get(ctx, service.Serial); err != nil || ca.IsSealed(raw) || !equal(raw, service) {
		t.Errorf("the OCSP responder's record was changed at rest: %+v, %v", raw, err)
	}
	if dump != nil {
		b := dump(t)
		if !bytes.Contains(b, []byte(serviceMarker)) {
			t.Fatalf("dump of %d bytes lacks the clear service subject: it does not show what is at rest", len(b))
		}
		for _, secret := range []string{personMarker, emailMarker, person.Subject, string(person.DER)} {
			for _, f := range secretscan.Forms(secret) {
				if bytes.Contains(b, f) {
					t.Errorf("the store holds %q at rest (as %q)", secret, f)
				}
			}
		}
	}
	// What OCSP and CRLs read needs no key: status and revocation data
	// stay in clear in the inner store.
	at := t0.Add(time.Minute)
	r, err := s.Revoke(ctx, person.Serial, ca.ReasonKeyCompromise, at, time.Time{})
	if err != nil || r.Subject != person.Subject || string(r.DER) != string(person.DER) {
		t.Fatalf("Revoke = %+v, %v; want the record opened", r, err)
	}
	if _, err := s.Revoke(ctx, person.Serial, ca.ReasonSuperseded, at, time.Time{}); !errors.Is(err, ca.ErrAlreadyRevoked) {
		t.Errorf("second Revoke: %v, want ErrAlreadyRevoked", err)
	}
	raw, err = inner.Get(ctx, person.Serial)
	if err != nil || raw.Status != ca.StatusRevoked || raw.Reason != ca.ReasonKeyCompromise || !raw.RevokedAt.Equal(at) {
		t.Errorf("inner Get after Revoke = %+v, %v", raw, err)
	}
	rs, err := inner.Revoked(ctx, "acme")
	if err != nil || len(rs) != 1 || rs[0].Serial.Cmp(person.Serial) != 0 || rs[0].Reason != ca.ReasonKeyCompromise {
		t.Errorf("inner Revoked = %+v, %v", rs, err)
	}
	rs, err = s.Revoked(ctx, "acme")
	if err != nil || len(rs) != 1 || !equal(rs[0], r) {
		t.Errorf("sealed Revoked = %+v, %v; want the record opened", rs, err)
	}
	rs, err = s.ByKey(ctx, "person-key", "")
	if err != nil || len(rs) != 1 || !equal(rs[0], r) {
		t.Errorf("sealed ByKey = %+v, %v; want the record opened", rs, err)
	}
}

func testMoved(t *testing.T, inner, s ca.Store) {
	ctx := context.Background()
	a := personRecord(201)
	if err := s.Insert(ctx, a); err != nil {
		t.Fatal(err)
	}
	rawA, err := inner.Get(ctx, a.Serial)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		r    ca.Record
	}{
		{"row copied to another serial", func() ca.Record { r := rawA; r.Serial = big.NewInt(203); return r }()},
		{"row copied to another issuer", func() ca.Record { r := rawA; r.Serial, r.Issuer = big.NewInt(204), "other"; return r }()},
	} {
		if err := inner.Insert(ctx, c.r); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, c.r.Serial); !errors.Is(err, ca.ErrSealed) {
			t.Errorf("%s: Get = %+v, %v; want ErrSealed", c.name, got, err)
		}
	}
	if rs, err := s.ByKey(ctx, "person-key", "1"); !errors.Is(err, ca.ErrSealed) {
		t.Errorf("ByKey over a moved row = %d records, %v; want ErrSealed", len(rs), err)
	}
	if got, err := s.Get(ctx, a.Serial); err != nil || !equal(got, a) {
		t.Errorf("Get of the original = %+v, %v", got, err)
	}
}

func testLegacy(t *testing.T, inner, s ca.Store) {
	ctx := context.Background()
	old := personRecord(301)
	if err := inner.Insert(ctx, old); err != nil {
		t.Fatal(err)
	}
	fresh := personRecord(302)
	if err := s.Insert(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, old.Serial); err != nil || !equal(got, old) {
		t.Errorf("Get of a record stored in clear = %+v, %v", got, err)
	}
	rs, err := s.ByKey(ctx, "person-key", "1")
	if err != nil || len(rs) != 2 || !equal(rs[0], old) || !equal(rs[1], fresh) {
		t.Errorf("ByKey over a clear and a sealed record = %+v, %v", rs, err)
	}
	if raw, err := inner.Get(ctx, fresh.Serial); err != nil || !ca.IsSealed(raw) {
		t.Errorf("a record inserted after sealing began is not sealed: %+v, %v", raw, err)
	}
	sealed, err := inner.Get(ctx, fresh.Serial)
	if err != nil {
		t.Fatal(err)
	}
	sealed.Serial = big.NewInt(303)
	if err := s.Insert(ctx, sealed); !errors.Is(err, ca.ErrSealed) {
		t.Errorf("Insert of an already sealed record: %v, want ErrSealed", err)
	}
}
