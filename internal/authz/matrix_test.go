package authz

import (
	"fmt"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/authz/authztest"
)

// A matrixCase is one cell of the generated matrix.
type matrixCase struct {
	kind       Kind
	action     Action
	role       string
	ownTenant  bool
	strong     bool
	standing   bool // a standing grant rather than an elevation
	riskyFacts bool // high-assurance envelope and bulk export
}

func (c matrixCase) String() string {
	return fmt.Sprintf("%s/%s/%s/own=%v/strong=%v/standing=%v/facts=%v",
		c.kind, c.action, c.role, c.ownTenant, c.strong, c.standing, c.riskyFacts)
}

// expected is the decision the matrix expects, computed from the literal
// tables above without calling into the package's rules.
func expected(c matrixCase) Effect {
	if authztest.In(authztest.Self, string(c.action)) {
		// The matrix's requests name another principal as the subject;
		// a user acts on their own account only (TestSelfService).
		return Deny
	}
	if !c.ownTenant || !authztest.In(authztest.Roles[string(c.action)], c.role) {
		return Deny
	}
	if c.standing && authztest.In(authztest.Privileged, c.role) {
		return Deny
	}
	risky := authztest.In(authztest.AlwaysStepUp, string(c.action)) ||
		c.riskyFacts && authztest.In(authztest.FactStepUp, string(c.action))
	switch {
	case risky && c.kind == KindServiceAccount:
		return Deny
	case risky && !c.strong:
		return StepUpRequired
	}
	return Allow
}

// TestMatrix runs every action × built-in role × own/other tenant ×
// with/without recent strong authentication (× user/service account ×
// standing grant/elevation × plain/high-assurance facts) through Decide and
// compares with the independently written expectation: zero unexpected
// allows, and every other effect as expected.
func TestMatrix(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	policy := TenantPolicy{Tenant: "t1"}
	var cells, allows, unexpectedAllows, mismatches int
	for _, kind := range []Kind{KindUser, KindServiceAccount} {
		for _, a := range AllActions() {
			for _, r := range BuiltinRoles() {
				for b := 0; b < 16; b++ {
					c := matrixCase{kind: kind, action: a, role: r.Name,
						ownTenant: b&1 != 0, strong: b&2 != 0, standing: b&4 != 0, riskyFacts: b&8 != 0}
					if c.kind == KindServiceAccount && !c.standing {
						continue // service accounts are not elevated
					}
					cells++
					got := Decide(matrixPrincipal(c, now), matrixRequest(c), policy, now)
					want := expected(c)
					if got.Effect == Allow {
						allows++
						if want != Allow {
							unexpectedAllows++
						}
					}
					if got.Effect != want {
						mismatches++
						t.Errorf("%v: got %v (%s), want %v", c, got.Effect, got.Reason, want)
					}
					if got.Effect == StepUpRequired && (got.StepUp.Window != DefaultStepUpWindow || len(got.StepUp.Methods) == 0) {
						t.Errorf("%v: step-up %+v", c, got.StepUp)
					}
					if got.Effect == Allow && got.Role != c.role {
						t.Errorf("%v: allowed by role %q", c, got.Role)
					}
				}
			}
		}
	}
	if unexpectedAllows != 0 {
		t.Errorf("%d unexpected allows", unexpectedAllows)
	}
	// The matrix must exercise both outcomes, or it proves nothing.
	if allows == 0 || allows == cells {
		t.Errorf("%d allows in %d cells", allows, cells)
	}
	t.Logf("%d cells, %d allows, %d mismatches", cells, allows, mismatches)
}

func matrixPrincipal(c matrixCase, now time.Time) Principal {
	p := Principal{Kind: c.kind, ID: "p1", Tenant: "t1"}
	g := Grant{Role: c.role, Tenant: "t1", GrantedBy: "admin"}
	if !c.standing {
		g.NotBefore = now.Add(-time.Hour)
		g.NotAfter = now.Add(time.Hour)
		g.Elevation = &Elevation{RequestedBy: "p1", ApprovedBy: "p2", Reason: "incident 7"}
	}
	p.Grants = []Grant{g}
	if c.kind == KindServiceAccount {
		p.KeyActions = AllActions()
	}
	p.StrongAuth = Authentication{Method: MethodPassword, At: now.Add(-time.Minute)}
	if c.strong {
		p.StrongAuth = Authentication{Method: MethodPasskey, At: now.Add(-time.Minute)}
	}
	return p
}

func matrixRequest(c matrixCase) Request {
	r := Request{Action: c.action, Tenant: "t2", Envelope: "e1", EnvelopeSender: "p9", Subject: "p9",
		HighAssurance: c.riskyFacts, Bulk: c.riskyFacts}
	if c.ownTenant {
		r.Tenant = "t1"
	}
	return r
}
