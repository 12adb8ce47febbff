package ca_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys/dataseal"
	"github.com/signet-pki/signet/pki/ca"
)

// oneKEK is a KEK provider that gives every issuer the same key, so that
// only the associated data tells the issuers apart.
func oneKEK(t *testing.T) func(context.Context, string) (dataseal.KEK, error) {
	t.Helper()
	kek := dataseal.NewAESKEK("1", bytes.Repeat([]byte{9}, 32))
	return func(context.Context, string) (dataseal.KEK, error) { return kek, nil }
}

// TestRecordSealerBinding: a sealed value opens only for the issuer,
// serial and field it was sealed for, even under one key.
func TestRecordSealerBinding(t *testing.T) {
	ctx := context.Background()
	s := ca.NewRecordSealer(oneKEK(t))
	serial := big.NewInt(0x5ea1)
	plain := []byte("CN=Ada Lovelace,O=acme")
	sealed, err := s.Seal(ctx, "acme", serial, ca.FieldSubject, plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plain) {
		t.Fatal("the sealed value holds the plaintext")
	}
	if got, err := s.Open(ctx, "acme", serial, ca.FieldSubject, sealed); err != nil || string(got) != string(plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	for _, c := range []struct {
		name, issuer, field string
		serial              *big.Int
	}{
		{"another serial", "acme", ca.FieldSubject, big.NewInt(0x5ea2)},
		{"another field", "acme", ca.FieldDER, serial},
		{"another issuer", "other", ca.FieldSubject, serial},
	} {
		_, err := s.Open(ctx, c.issuer, c.serial, c.field, sealed)
		if !errors.Is(err, ca.ErrSealed) || !errors.Is(err, dataseal.ErrAuth) {
			t.Errorf("%s: Open = %v, want ErrSealed wrapping dataseal.ErrAuth", c.name, err)
		}
	}
	for _, bad := range []*big.Int{nil, big.NewInt(0), big.NewInt(-1)} {
		if _, err := s.Seal(ctx, "acme", bad, ca.FieldSubject, plain); !errors.Is(err, ca.ErrSealed) {
			t.Errorf("Seal for serial %v: %v, want ErrSealed", bad, err)
		}
	}
	if _, err := s.Seal(ctx, "", serial, ca.FieldSubject, plain); !errors.Is(err, ca.ErrSealed) {
		t.Errorf("Seal without issuer: %v, want ErrSealed", err)
	}
}

// TestSealedStoreSwappedFields: a record whose sealed subject and DER
// were swapped, or whose sealed subject is malformed, does not open.
func TestSealedStoreSwappedFields(t *testing.T) {
	ctx := context.Background()
	s := ca.NewRecordSealer(oneKEK(t))
	serial := big.NewInt(77)
	subj, err := s.Seal(ctx, "acme", serial, ca.FieldSubject, []byte("CN=Ada Lovelace,O=acme"))
	if err != nil {
		t.Fatal(err)
	}
	der, err := s.Seal(ctx, "acme", serial, ca.FieldDER, []byte{0x30, 0x03, 0x01, 0x02, 0x03})
	if err != nil {
		t.Fatal(err)
	}
	enc := func(b []byte) string { return ca.SealedPrefix + base64.RawURLEncoding.EncodeToString(b) }
	good := ca.Record{Serial: serial, Issuer: "acme", Kind: ca.KindSigner, Subject: enc(subj), DER: der, Status: ca.StatusGood}
	swapped := good
	swapped.Subject, swapped.DER = enc(der), subj
	malformed := good
	malformed.Subject = ca.SealedPrefix + "!!"
	for _, c := range []struct {
		name string
		r    ca.Record
		ok   bool
	}{
		{"as sealed", good, true},
		{"subject and DER swapped", swapped, false},
		{"malformed subject", malformed, false},
	} {
		inner := ca.NewMemStore()
		if err := inner.Insert(ctx, c.r); err != nil {
			t.Fatal(err)
		}
		got, err := ca.SealedStore(inner, s).Get(ctx, serial)
		if c.ok && (err != nil || got.Subject != "CN=Ada Lovelace,O=acme" || len(got.DER) != 5) {
			t.Errorf("%s: Get = %+v, %v", c.name, got, err)
		}
		if !c.ok && !errors.Is(err, ca.ErrSealed) {
			t.Errorf("%s: Get = %+v, %v; want ErrSealed", c.name, got, err)
		}
	}
}

// TestSealedStoreFailsClosed: when no key can be had, nothing is stored
// and nothing sealed is handed out.
func TestSealedStoreFailsClosed(t *testing.T) {
	ctx := context.Background()
	down := errors.New("key custody unavailable")
	var fail bool
	kek := dataseal.NewAESKEK("1", bytes.Repeat([]byte{3}, 32))
	s := ca.NewRecordSealer(func(context.Context, string) (dataseal.KEK, error) {
		if fail {
			return nil, down
		}
		return kek, nil
	})
	inner := ca.NewMemStore()
	sealed := ca.SealedStore(inner, s)
	r := ca.Record{Serial: big.NewInt(5), Issuer: "acme", Kind: ca.KindSigner, Key: ca.KeyRef{ID: "k"}, Subject: "CN=Ada,O=acme", DER: []byte{0x30, 0}, Status: ca.StatusGood}
	if err := sealed.Insert(ctx, r); err != nil {
		t.Fatal(err)
	}
	fail = true
	if err := sealed.Insert(ctx, ca.Record{Serial: big.NewInt(6), Issuer: "acme", Kind: ca.KindSigner, Subject: "CN=Bob,O=acme", Status: ca.StatusGood}); !errors.Is(err, down) {
		t.Errorf("Insert without a key: %v, want the key's error", err)
	}
	if _, err := inner.Get(ctx, big.NewInt(6)); !errors.Is(err, ca.ErrNotFound) {
		t.Errorf("a record was stored although it could not be sealed: %v", err)
	}
	if _, err := sealed.Get(ctx, r.Serial); !errors.Is(err, down) {
		t.Errorf("Get without a key: %v, want the key's error", err)
	}
	if _, err := sealed.ByKey(ctx, "k", ""); !errors.Is(err, down) {
		t.Errorf("ByKey without a key: %v, want the key's error", err)
	}
	// Status is readable from the inner store without a key (OCSP).
	if got, err := inner.Get(ctx, r.Serial); err != nil || got.Status != ca.StatusGood {
		t.Errorf("inner Get = %+v, %v", got, err)
	}
	// A certificate that names no one needs no key.
	ocsp := ca.Record{Serial: big.NewInt(7), Issuer: "acme", Kind: ca.KindOCSP, Subject: "CN=Signet OCSP Responder acme,O=Signet", Status: ca.StatusGood}
	if err := sealed.Insert(ctx, ocsp); err != nil {
		t.Errorf("Insert of an OCSP responder's record without a key: %v", err)
	}
	if got, err := sealed.Get(ctx, ocsp.Serial); err != nil || got.Subject != ocsp.Subject {
		t.Errorf("Get of an OCSP responder's record without a key = %+v, %v", got, err)
	}
}

// TestKindNamesPerson: only signer certificates name a person.
func TestKindNamesPerson(t *testing.T) {
	for _, c := range []struct {
		k    ca.Kind
		want bool
	}{{ca.KindSigner, true}, {ca.KindRoot, false}, {ca.KindIssuing, false}, {ca.KindOCSP, false}, {ca.KindTSA, false}} {
		if got := c.k.NamesPerson(); got != c.want {
			t.Errorf("%s.NamesPerson() = %v, want %v", c.k, got, c.want)
		}
	}
}

// TestAuditSubjectOfSigner: the certificate.issued and
// certificate.revoked events of a signer certificate carry its subject
// as a sensitive attribute: the leaf holds no clear name, the sealed
// values beside it do. An OCSP responder's subject stays a detail.
func TestAuditSubjectOfSigner(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, cert, done, err := f.a.IssueEphemeral(ctx, alice, evidence)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if _, err := f.a.Revoke(ctx, cert.SerialNumber, ca.ReasonSuperseded, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.IssueOCSPResponder(ctx, "acme", newKey(t).Public(), ca.KeyRef{ID: "ocsp-key", Version: "1"}, 0); err != nil {
		t.Fatal(err)
	}
	n, err := f.logs.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := f.logs.Records(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	serial := fmt.Sprintf("%x", cert.SerialNumber)
	var signerEvents, ocspEvents int
	for _, rec := range recs {
		leaf := string(rec.Leaf)
		switch {
		case strings.Contains(leaf, `"certificate_serial":"`+serial+`"`):
			signerEvents++
			if strings.Contains(leaf, alice.Name) || strings.Contains(leaf, alice.Email) {
				t.Errorf("%s leaf holds the signer in clear: %s", rec.Type, leaf)
			}
			if !strings.Contains(leaf, `"sensitive":{"subject":`) {
				t.Errorf("%s leaf lacks the sensitive subject: %s", rec.Type, leaf)
			}
			clear, err := auditlog.Unseal(ctx, f.logKeys, rec)
			if err != nil || clear["sensitive.subject"] != cert.Subject.String() {
				t.Errorf("%s: Unseal = %v, %v; want the subject %q", rec.Type, clear, err, cert.Subject.String())
			}
		case rec.Type == string(auditlog.CertificateIssued) && strings.Contains(leaf, `"kind":"ocsp"`):
			ocspEvents++
			if !strings.Contains(leaf, `"subject":"CN=Signet OCSP Responder acme,O=Signet"`) {
				t.Errorf("OCSP responder's leaf lacks its subject in the details: %s", leaf)
			}
		}
	}
	if signerEvents != 2 || ocspEvents != 1 {
		t.Errorf("found %d signer and %d OCSP responder events, want 2 and 1", signerEvents, ocspEvents)
	}
	for _, e := range f.tap.events {
		if _, ok := e.Details["subject"]; ok && e.Subject.CertificateSerial == serial {
			t.Errorf("%s event has the signer's subject in its details", e.Type)
		}
	}
}
