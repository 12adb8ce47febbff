package ca_test

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/signet-pki/signet/pki/ca"
)

// TestUnknownIssuerHook: an issuer another process created is registered
// by the unknown-issuer hook on first use, by Issuer and by issuance; a
// name the hook does not register stays unknown, a failing hook fails the
// lookup, and a registered issuer does not call the hook.
func TestUnknownIssuerHook(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// globex is issued (in the shared record store) but not registered,
	// as by another process.
	globexKey := newKey(t)
	globexCert, err := f.a.IssueIssuing(ctx, ca.IssuingRequest{Name: "globex", Tenant: "globex", Signer: globexKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Issuer("globex"); !errors.Is(err, ca.ErrUnknownIssuer) {
		t.Fatalf("IssueIssuing registered the issuer: %v", err)
	}
	var asked []string
	var fail error
	f.a.OnUnknownIssuer(func(ctx context.Context, name string) error {
		asked = append(asked, name)
		if fail != nil {
			return fail
		}
		if name == "globex" {
			return f.a.Register(&ca.Issuer{Name: "globex", Tenant: "globex", Certificate: globexCert, Signer: globexKey})
		}
		return nil
	})

	fail = errors.New("store down")
	if _, err := f.a.Issuer("globex"); !errors.Is(err, fail) {
		t.Errorf("lookup with a failing hook: %v", err)
	}
	fail = nil
	bob := ca.Identity{Name: "Bob Example", Email: "bob@example.com", Tenant: "globex"}
	cert, err := f.a.IssueSigner(ctx, bob, evidence, newKey(t).Public(), ca.KeyRef{})
	if err != nil {
		t.Fatalf("signer of a tenant whose CA the hook loads: %v", err)
	}
	if err := cert.CheckSignatureFrom(globexCert); err != nil {
		t.Error(err)
	}
	if _, err := f.a.Issuer("globex"); err != nil {
		t.Error(err)
	}
	if _, err := f.a.Issuer("acme"); err != nil {
		t.Error(err)
	}
	if _, err := f.a.IssueOCSPResponder(ctx, "nobody", newKey(t).Public(), ca.KeyRef{}, 0); !errors.Is(err, ca.ErrUnknownIssuer) {
		t.Errorf("an issuer the hook does not know: %v", err)
	}
	if _, err := f.a.Issuer("not a name"); !errors.Is(err, ca.ErrUnknownIssuer) {
		t.Errorf("an invalid name: %v", err)
	}
	want := []string{"globex", "globex", "nobody"}
	if len(asked) != len(want) || asked[0] != want[0] || asked[1] != want[1] || asked[2] != want[2] {
		t.Errorf("hook asked for %q, want %q", asked, want)
	}
}

// TestIssueWithoutRegistering: IssueRoot and IssueIssuing record their
// certificates and leave the issuers in use unchanged.
func TestIssueWithoutRegistering(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	root, err := f.a.IssueRoot(ctx, newKey(t), ca.KeyRef{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	acme, err := f.a.IssueIssuing(ctx, ca.IssuingRequest{Name: "acme", Tenant: "acme", Signer: newKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*x509.Certificate{ca.RootName: root, "acme": acme} {
		if _, err := f.store.Get(ctx, c.SerialNumber); err != nil {
			t.Errorf("%s: not recorded: %v", name, err)
		}
		if iss, err := f.a.Issuer(name); err != nil || iss.Certificate.Equal(c) {
			t.Errorf("%s: the new certificate was registered (%v)", name, err)
		}
	}
	if err := acme.CheckSignatureFrom(f.root.Certificate); err != nil {
		t.Errorf("IssueIssuing did not use the root in use: %v", err)
	}
}

// TestRenewerAddReplaces: adding an item of a name already watched
// replaces it; it is renewed once per check.
func TestRenewerAddReplaces(t *testing.T) {
	r := &ca.Renewer{}
	var first, second int
	for _, n := range []*int{&first, &second} {
		r.Add(ca.Renewable{Name: "tsa", Current: func() *x509.Certificate { return nil }, Renew: func(context.Context) error { *n++; return nil }})
	}
	if err := r.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if first != 0 || second != 1 {
		t.Errorf("renewals: first item %d, second %d; want 0, 1", first, second)
	}
}
