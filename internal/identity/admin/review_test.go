package admin_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/admin"
)

// reviewEnv is a tenant with an administrator, a sender with TOTP and a
// session, a user whose name and e-mail are spreadsheet formulas, and two
// service accounts.
func reviewEnv(t *testing.T) (e *env, ada, bob, eve string) {
	e = newEnv(t)
	ada = e.bootstrap()
	bob, _ = e.createUser(ada, "bob@example.org", authz.RoleSender)
	w := e.do(ada, "POST", "/v1/users", admin.CreateUserRequest{Email: "-2+3@example.org", Name: `=HYPERLINK("http://evil.example","x")`})
	want(t, "create eve", w, http.StatusCreated)
	eve = decode[struct {
		User admin.User `json:"user"`
	}](t, w).User.ID
	ctx := t.Context()
	if err := e.store.SetTOTP(ctx, tenant, identity.TOTPEnrolment{UserID: bob, SealedSecret: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AcceptTOTPStep(ctx, tenant, bob, 42, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	s := identity.Session{Hash: [32]byte{1}, UserID: bob, Tenant: tenant, CreatedAt: e.clock.Now(), LastSeen: e.clock.Now(),
		ExpiresAt: e.clock.Now().Add(time.Hour), IdleTimeout: time.Minute, CSRFHash: [32]byte{2}}
	if err := e.store.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	if err := e.store.TouchSession(ctx, s.Hash, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.keys = []admin.ReviewKey{
		{ID: "key-2", Name: "old", Roles: []string{authz.RoleSender}, Owner: ada, CreatedAt: e.clock.Now().Add(-time.Hour),
			RevokedAt: e.clock.Now().Add(-time.Minute)},
		{ID: "key-1", Name: "@SUM(1+1)", Roles: []string{authz.RoleSender}, Actions: []string{"envelope.send", "envelope.read"},
			Owner: ada, CreatedAt: e.clock.Now().Add(-time.Hour), ExpiresAt: e.clock.Now().Add(24 * time.Hour),
			LastUsedAt: e.clock.Now().Add(-time.Second)},
	}
	return e, ada, bob, eve
}

func find(rv admin.Review, id string) admin.ReviewPrincipal {
	for _, p := range rv.Principals {
		if p.ID == id {
			return p
		}
	}
	return admin.ReviewPrincipal{}
}

func TestReview(t *testing.T) {
	e, ada, bob, eve := reviewEnv(t)
	rv, err := e.svc.Review(t.Context(), tenant, e.keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(rv.Principals) != 5 || rv.Principals[3].ID != "key-1" || rv.Principals[4].ID != "key-2" {
		t.Fatalf("principals %+v", rv.Principals)
	}
	a, b, k1, k2 := find(rv, ada), find(rv, bob), find(rv, "key-1"), find(rv, "key-2")
	if !slices.Equal(a.Roles, []string{authz.RoleTenantAdmin}) || len(a.Grants) != 2 || a.MFA.Status != admin.MFANone || !a.HasPassword {
		t.Fatalf("ada %+v", a)
	}
	var breakGlass, standing int
	for _, g := range a.Grants {
		if g.BreakGlass && g.ElevationID != "" && g.Active && g.Effective {
			breakGlass++
		}
		// The first administrator's standing grant is active by its
		// times but gives nothing under the default policy.
		if g.ElevationID == "" && g.Active && !g.Effective {
			standing++
		}
	}
	if breakGlass != 1 || standing != 1 {
		t.Fatalf("ada's grants %+v, want one effective break-glass elevation and one ineffective standing grant", a.Grants)
	}
	if !slices.Equal(b.Roles, []string{authz.RoleSender}) || !b.MFA.TOTP || b.MFA.Status != admin.MFATOTP ||
		!b.LastUsed.Equal(e.clock.Now()) || b.Grants[0].GrantedBy != ada || b.HasPassword {
		t.Fatalf("bob %+v", b)
	}
	if k1.Kind != admin.KindServiceAccount || k1.Status != "active" || k1.Owner != ada || !slices.Equal(k1.Roles, []string{authz.RoleSender}) ||
		k1.MFA.Status != admin.MFANotApplicable || !k1.LastUsed.Equal(e.clock.Now().Add(-time.Second)) {
		t.Fatalf("key-1 %+v", k1)
	}
	if k2.Status != "revoked" || len(k2.Roles) != 0 || k2.Grants[0].Active {
		t.Fatalf("key-2 %+v", k2)
	}

	// CSV: RFC 4180 records that read back, formulas neutralized.
	var buf bytes.Buffer
	if err := rv.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\r\n") {
		t.Fatal("CSV lines do not end in CRLF")
	}
	cr := csv.NewReader(bytes.NewReader(buf.Bytes()))
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], admin.CSVHeader) {
		t.Fatalf("header %q", recs[0])
	}
	col := func(name string) int { return slices.Index(admin.CSVHeader, name) }
	// One record per grant: ada 2, bob 1, eve none (1), key-1 1, key-2 1.
	if len(recs) != 1+2+1+1+1+1 {
		t.Fatalf("%d records", len(recs))
	}
	var eveRec, keyRec []string
	for _, r := range recs[1:] {
		switch r[col("id")] {
		case eve:
			eveRec = r
		case "key-1":
			keyRec = r
		case bob:
			if r[col("mfa")] != "totp" || r[col("grant_role")] != "sender" || r[col("grant_active")] != "true" || r[col("granted_by")] != ada {
				t.Fatalf("bob's record %q", r)
			}
		}
	}
	if eveRec[col("name")] != `'=HYPERLINK("http://evil.example","x")` || eveRec[col("email")] != "'-2+3@example.org" {
		t.Fatalf("eve's record %q: formulas not neutralized", eveRec)
	}
	if keyRec[col("name")] != "'@SUM(1+1)" || keyRec[col("actions")] != "envelope.send envelope.read" || keyRec[col("kind")] != "service-account" {
		t.Fatalf("key-1's record %q", keyRec)
	}
	for _, r := range recs[1:] {
		for i, c := range r {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Fatalf("cell %s %q starts a formula", admin.CSVHeader[i], c)
			}
		}
	}

	// JSON reads back to the same review.
	buf.Reset()
	if err := rv.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back admin.Review
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rv) {
		t.Fatalf("JSON read back\n%+v\nwant\n%+v", back, rv)
	}
}

// TestReviewRoute: the route answers the same review as Review, in
// either format, to a principal with access.review only.
func TestReviewRoute(t *testing.T) {
	e, ada, bob, _ := reviewEnv(t)
	rv, err := e.svc.Review(t.Context(), tenant, e.keys)
	if err != nil {
		t.Fatal(err)
	}
	var csvWant bytes.Buffer
	if err := rv.WriteCSV(&csvWant); err != nil {
		t.Fatal(err)
	}
	w := e.do(ada, "GET", "/v1/access-review?format=csv", nil)
	want(t, "csv", w, http.StatusOK)
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || w.Body.String() != csvWant.String() {
		t.Fatalf("csv %s:\n%s\nwant\n%s", ct, w.Body, csvWant.String())
	}
	w = e.do(ada, "GET", "/v1/access-review", nil)
	want(t, "json", w, http.StatusOK)
	if got := decode[admin.Review](t, w); !reflect.DeepEqual(got, rv) {
		t.Fatalf("json %+v", got)
	}
	want(t, "xml", e.do(ada, "GET", "/v1/access-review?format=xml", nil), http.StatusUnprocessableEntity)
	want(t, "by a sender", e.do(bob, "GET", "/v1/access-review", nil), http.StatusForbidden)
}

// TestReviewPasskeys: with a passkey counter, the MFA status counts
// passkeys.
func TestReviewPasskeys(t *testing.T) {
	e, ada, bob, _ := reviewEnv(t)
	svc, err := admin.New(admin.Config{Store: e.store, Recorder: e.rec, Now: e.clock.Now,
		Passkeys: func(_ context.Context, _, user string) (int, error) {
			if user == ada {
				return 2, nil
			}
			return 0, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	rv, err := svc.Review(t.Context(), tenant, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := find(rv, ada), find(rv, bob)
	if a.MFA.Status != admin.MFAPasskey || a.MFA.Passkeys == nil || *a.MFA.Passkeys != 2 {
		t.Fatalf("ada's MFA %+v", a.MFA)
	}
	if b.MFA.Status != admin.MFATOTP || b.MFA.Passkeys == nil || *b.MFA.Passkeys != 0 {
		t.Fatalf("bob's MFA %+v", b.MFA)
	}
}
