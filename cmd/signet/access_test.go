package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/identity"
)

// TestAccessReview: `signet access review` exports every principal of a
// tenant — the quickstart's service account and a user with a grant and
// a confirmed TOTP — as CSV and as JSON, and refuses a missing or unknown
// tenant.
func TestAccessReview(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qs")
	if code, stdout, stderr := signetRun(t, "quickstart", "--dir", dir); code != 0 {
		t.Fatalf("quickstart: exit %d\n%s%s", code, stdout, stderr)
	}
	data := filepath.Join(dir, "data")
	ctx := context.Background()
	d, err := datadir.Open(data, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tenants, err := st.Tenants.Tenants(ctx)
	if err != nil || len(tenants) != 1 {
		t.Fatalf("tenants %v, %v", tenants, err)
	}
	tn := tenants[0].ID
	at := time.Now().UTC().Truncate(time.Second)
	id := st.Identity
	for _, err := range []error{
		id.CreateUser(ctx, identity.User{ID: "u-ann", Tenant: tn, Email: "ann@example.org", Name: "=HYPERLINK(\"x\")",
			Status: identity.StatusActive, CreatedAt: at}),
		id.SetTOTP(ctx, tn, identity.TOTPEnrolment{UserID: "u-ann", SealedSecret: []byte{1}}),
		id.AcceptTOTPStep(ctx, tn, "u-ann", 1, at),
		id.AddGrant(ctx, identity.Grant{ID: "g-1", Tenant: tn, UserID: "u-ann", Role: "sender", GrantedBy: "u-boss", GrantedAt: at}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	d.Close()

	code, stdout, stderr := signetRun(t, "access", "review", "--data", data, "--tenant", tn)
	if code != 0 {
		t.Fatalf("review: exit %d\n%s", code, stderr)
	}
	records, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, stdout)
	}
	col := func(name string) int { return slices.Index(records[0], name) }
	var user, key []string
	for _, r := range records[1:] {
		switch r[col("kind")] {
		case "user":
			user = r
		case "service-account":
			key = r
		}
	}
	if user == nil || key == nil {
		t.Fatalf("review lacks the user or the service account:\n%s", stdout)
	}
	if user[col("id")] != "u-ann" || user[col("grant_role")] != "sender" || user[col("granted_by")] != "u-boss" ||
		user[col("totp")] != "true" || !strings.HasPrefix(user[col("name")], "'=") {
		t.Errorf("user row %q", user)
	}
	if key[col("actions")] == "" {
		t.Errorf("service account row without actions: %q", key)
	}

	code, stdout, stderr = signetRun(t, "access", "review", "--data", data, "--tenant", tn, "--format", "json")
	if code != 0 {
		t.Fatalf("review json: exit %d\n%s", code, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || !strings.Contains(stdout, "u-ann") {
		t.Fatalf("JSON review: %v\n%s", err, stdout)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"access", "review", "--data", data}, 2, "--tenant is required"},
		{[]string{"access", "review", "--data", data, "--tenant", "t-nobody"}, 1, `tenant "t-nobody"`},
		{[]string{"access", "review", "--data", data, "--tenant", tn, "--format", "xml"}, 2, "csv or json"},
		{[]string{"access", "audit"}, 2, "unknown subcommand"},
	} {
		code, _, stderr := signetRun(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming %q in one line", c.args, code, stderr, c.code, c.want)
		}
	}
}
