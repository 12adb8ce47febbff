package layers

import (
	"fmt"
	"sort"
	"strings"
)

// The rules, worded as the failure messages print them. doc.go explains them.
const (
	ruleLayer1      = "layer 1 (standards) imports no Signet package outside layer 1"
	ruleLayer2      = "layer 2 (custody and evidence) imports layers 1-2 only"
	ruleAuditKeys   = "auditlog/... does not import keys/... (the log records what custody did; it holds no keys)"
	ruleKeysKeyref  = "keys/... does not import keyref (custody does not read the command line's key references)"
	ruleRemote      = "keys/remote imports no key backend (keys/soft, keys/pkcs11): the api role's backend carries calls to the signer, never key material"
	ruleLayer3      = "layer 3 (PKI) imports layers 1-3 only"
	ruleLayer4      = "layer 4 (service) imports layers 1-4 only"
	ruleOrder       = "layer 4 order api < authz < identity < (accounts, access) < (blob, mail, webhook) < workflow < signing < (datadir, apiclient, evidence, verify, archive, auditview, keyadmin, web, metrics, alert) < server: a service package imports only earlier ones and its own sub-packages"
	ruleServer      = "nothing but cmd/signet, bench/ and e2e imports internal/server"
	ruleTestSupport = "test support is imported only by tests, test support, bench/ and e2e"
	ruleLinked      = "the release binary links no test support (go list -deps ./cmd/signet)"
)

// Classes that are not numbered layers.
const (
	testSupport = 10 // imported only by tests, test support and tools
	tool        = 11 // bench/..., e2e: may import anything
)

// A class is where a package sits: its layer and, in layer 4, its group
// (the service package it belongs to) and the group's rank in the order.
type class struct {
	layer int
	group string
	rank  int
}

// under reports whether p is root or one of its sub-packages.
func under(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }

// The packages of each layer, by module-relative root; sub-packages belong
// to their root's layer.
var (
	layer1 = []string{"internal/pdf", "cms", "tsa", "ltv", "pades", "keyref"}
	layer2 = []string{"internal/sqldb", "internal/tokenbucket", "internal/pgdb", "internal/cluster", "auditlog", "keys", "evidence"}
	layer3 = []string{"pki"}
	// layer4 lists the service groups in import order: a group imports
	// only groups of a lower rank. blob and mail share a rank, as do
	// accounts and access.
	layer4 = []struct {
		root string
		rank int
	}{
		{"internal/api", 0},
		{"internal/authz", 1},
		{"internal/identity", 2},
		{"internal/accounts", 3},
		{"internal/access", 3},
		{"internal/blob", 4},
		{"internal/mail", 4},
		{"internal/webhook", 4},
		{"internal/workflow", 5},
		{"internal/signing", 6},
		{"internal/datadir", 7},
		{"internal/apiclient", 7},
		{"internal/evidence", 7},
		{"internal/verify", 7},
		{"internal/archive", 7},
		{"internal/auditview", 7},
		{"internal/keyadmin", 7},
		{"internal/web", 7},
		{"internal/metrics", 7},
		{"internal/alert", 7},
		{"internal/transfer", 8},
		{"internal/backup", 8},
		{"internal/server", 8},
	}
	layer5 = []string{"cmd/signet"}
	// testSupportRoots lists test support; any package whose last element
	// is storetest is test support too.
	testSupportRoots = []string{
		"internal/web/webtest",
		"internal/testpki", "internal/pgtest", "internal/authz/authztest", "internal/pdfsigtest", "internal/cluster/clustertest",
		"internal/secretscan", "internal/pdf/pdftest", "internal/mail/mailtest", "internal/identity/passkey/passkeytest",
		"auditlog/anchor/witnesstest", "keys/soft/vaulttest", "keys/atrest/atresttest", "keys/pkcs11/softhsmtest",
		"auditlog/internal/logbench", "internal/layers", "internal/identity/oidc/oidctest",
	}
	toolRoots = []string{"bench", "e2e"}
)

// classify returns the class of the module-relative package p, or false if
// p falls in no layer.
func classify(p string) (class, bool) {
	if p == "storetest" || strings.HasSuffix(p, "/storetest") || strings.Contains(p, "/storetest/") {
		return class{layer: testSupport}, true
	}
	for _, r := range testSupportRoots {
		if under(p, r) {
			return class{layer: testSupport}, true
		}
	}
	for _, r := range toolRoots {
		if under(p, r) {
			return class{layer: tool}, true
		}
	}
	for _, l := range []struct {
		n     int
		roots []string
	}{{1, layer1}, {2, layer2}, {3, layer3}, {5, layer5}} {
		for _, r := range l.roots {
			if under(p, r) {
				return class{layer: l.n, group: r}, true
			}
		}
	}
	for _, g := range layer4 {
		if under(p, g.root) {
			return class{layer: 4, group: g.root, rank: g.rank}, true
		}
	}
	return class{}, false
}

// An edge is one import: From imports To (module-relative paths).
type edge struct{ From, To string }

// A violation is one broken rule.
type violation struct {
	Rule     string
	From, To string
}

func (v violation) String() string {
	if v.To == "" {
		return v.Rule
	}
	return fmt.Sprintf("%s imports %s, breaking the rule %q", v.From, v.To, v.Rule)
}

// rule returns the rule that the import from → to breaks, or "" if the
// import is allowed. Both packages are classified.
func rule(from, to string, cf, ct class) string {
	switch {
	case cf.layer == tool:
		return ""
	case ct.layer == testSupport:
		if cf.layer == testSupport {
			return ""
		}
		return ruleTestSupport
	case cf.layer == testSupport:
		return ""
	case under(to, "internal/server") && cf.layer != 5 && !under(from, "internal/server"):
		return ruleServer
	}
	switch cf.layer {
	case 1:
		if ct.layer != 1 {
			return ruleLayer1
		}
	case 2:
		switch {
		case ct.layer > 2:
			return ruleLayer2
		case under(from, "auditlog") && under(to, "keys"):
			return ruleAuditKeys
		case under(from, "keys") && under(to, "keyref"):
			return ruleKeysKeyref
		case under(from, "keys/remote") && (under(to, "keys/soft") || under(to, "keys/pkcs11")):
			return ruleRemote
		}
	case 3:
		if ct.layer > 3 {
			return ruleLayer3
		}
	case 4:
		switch {
		case ct.layer > 4:
			return ruleLayer4
		case ct.layer == 4 && ct.group != cf.group && ct.rank >= cf.rank:
			return ruleOrder
		}
	}
	return ""
}

// check applies the rules to pkgs (each module-relative package with its
// non-test imports inside the module) and to linked (the module packages
// that `go list -deps ./cmd/signet` prints). A violation listed in pending
// is tolerated; a pending entry that matches no violation is one itself.
// The result is sorted.
func check(pkgs map[string][]string, linked []string, pending map[edge]string) []violation {
	var out []violation
	seen := map[edge]bool{}
	add := func(v violation) {
		e := edge{v.From, v.To}
		if _, ok := pending[e]; ok {
			seen[e] = true
			return
		}
		out = append(out, v)
	}
	for p, imps := range pkgs {
		cf, ok := classify(p)
		if !ok {
			out = append(out, violation{Rule: fmt.Sprintf("classify package %s in internal/layers", p), From: p})
			continue
		}
		for _, imp := range imps {
			ct, ok := classify(imp)
			if !ok {
				continue // reported as a package of its own
			}
			if r := rule(p, imp, cf, ct); r != "" {
				add(violation{Rule: r, From: p, To: imp})
			}
		}
	}
	for _, p := range linked {
		if c, ok := classify(p); ok && c.layer == testSupport {
			add(violation{Rule: ruleLinked, From: "cmd/signet", To: p})
		}
	}
	for e, reason := range pending {
		if !seen[e] {
			out = append(out, violation{From: e.From, Rule: fmt.Sprintf(
				"pending exception %s -> %s (%s) no longer matches an import: delete it from pending in internal/layers",
				e.From, e.To, reason)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
