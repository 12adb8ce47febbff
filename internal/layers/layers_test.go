package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// pending lists the imports that break a rule today and are being removed,
// each with the reason it still exists. The table only shrinks: an entry
// that no longer matches an import fails TestModule.
var pending = map[edge]string{}

// goCmd returns the go command of the toolchain running the test.
func goCmd(t *testing.T) string {
	t.Helper()
	//lint:ignore SA1019 the toolchain running this test is the one to ask
	if root := runtime.GOROOT(); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command in GOROOT or PATH: %v", err)
	}
	return p
}

// goList runs the go command with args in the module root and returns its
// standard output.
func goList(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(goCmd(t), args...)
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// listed is the part of `go list -json` output the test reads.
type listed struct {
	ImportPath string
	Imports    []string
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// modulePackages returns the module's packages with their non-test imports
// inside the module, all module-relative, and the module path.
func modulePackages(t *testing.T) (map[string][]string, string) {
	t.Helper()
	out := goList(t, "list", "-e", "-json=ImportPath,Imports,Module,Error", "./...")
	var all []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		if p.Module == nil {
			t.Fatalf("go list: %s has no module", p.ImportPath)
		}
		all = append(all, p)
	}
	if len(all) == 0 {
		t.Fatal("go list ./... printed no package")
	}
	mod := all[0].Module.Path
	pkgs := map[string][]string{}
	for _, p := range all {
		rel, ok := relative(mod, p.ImportPath)
		if !ok {
			t.Fatalf("go list ./...: %s is outside module %s", p.ImportPath, mod)
		}
		var imps []string
		for _, imp := range p.Imports {
			if r, ok := relative(mod, imp); ok {
				imps = append(imps, r)
			}
		}
		pkgs[rel] = imps
	}
	return pkgs, mod
}

// relative returns p relative to module mod, and whether p is in mod.
func relative(mod, p string) (string, bool) {
	if p == mod {
		return ".", true
	}
	r, ok := strings.CutPrefix(p, mod+"/")
	return r, ok
}

// TestModule checks every package of the module against the layer rules.
func TestModule(t *testing.T) {
	pkgs, mod := modulePackages(t)
	for _, want := range []string{"cmd/signet", "internal/pdf", "keys", "pki/ca", "internal/server"} {
		if _, ok := pkgs[want]; !ok {
			t.Fatalf("go list ./... lacks %s; the test is not reading the module", want)
		}
	}
	var linked []string
	for _, p := range strings.Fields(string(goList(t, "list", "-deps", "-f", "{{.ImportPath}}", "./cmd/signet"))) {
		if r, ok := relative(mod, p); ok {
			linked = append(linked, r)
		}
	}
	if len(linked) < 10 {
		t.Fatalf("go list -deps ./cmd/signet names only %d module packages: %v", len(linked), linked)
	}
	for _, v := range check(pkgs, linked, pending) {
		t.Error(v)
	}
}

// TestCheck proves that each rule fails on a synthetic import graph, with
// the message that names it, and that the allowed imports pass.
func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		pkgs    map[string][]string
		linked  []string
		pending map[edge]string
		want    []string // violation messages
	}{
		{
			name: "allowed",
			pkgs: map[string][]string{
				"pades":                   {"cms", "tsa", "ltv", "internal/pdf"},
				"keys":                    {"auditlog"},
				"keys/sqlite":             {"keys", "internal/sqldb"},
				"keys/remote":             {"keys"},
				"auditlog/sqlite":         {"auditlog", "auditlog/internal/batch", "internal/sqldb"},
				"pki/ca":                  {"keys", "auditlog", "tsa"},
				"pki":                     {"pki/ca", "pki/ocsp", "keys"},
				"internal/api/sqlite":     {"internal/api", "internal/sqldb"},
				"internal/workflow":       {"internal/api", "internal/accounts", "internal/blob", "pades"},
				"internal/signing":        {"internal/workflow", "internal/mail", "pki/ca"},
				"internal/server":         {"internal/server/sub", "internal/datadir", "internal/signing"},
				"internal/server/sub":     {"internal/server"},
				"cmd/signet":              {"internal/server", "pki", "keyref"},
				"bench/load":              {"internal/server", "internal/apiclient", "internal/mail/mailtest"},
				"e2e":                     {"internal/testpki"},
				"internal/apiclient":      {"internal/mail", "internal/signing"},
				"keys/storetest":          {"keys", "internal/testpki"},
				"keys/atrest":             {"keys", "keys/dataseal", "auditlog"},
				"keys/atrest/sqlite":      {"keys/atrest", "internal/sqldb"},
				"keys/atrest/postgres":    {"keys/atrest", "internal/pgdb"},
				"keys/atrest/storetest":   {"keys/atrest"},
				"internal/pdf/pdftest":    {"internal/pdf"},
				"auditlog/internal/batch": {"auditlog"},
			},
			linked: []string{"internal/server", "pades", "internal/mail"},
		},
		{
			name: "layer 1",
			pkgs: map[string][]string{"cms": {"keys"}},
			want: []string{`cms imports keys, breaking the rule "` + ruleLayer1 + `"`},
		},
		{
			name: "layer 2",
			pkgs: map[string][]string{"internal/sqldb": {"pki/ca"}},
			want: []string{`internal/sqldb imports pki/ca, breaking the rule "` + ruleLayer2 + `"`},
		},
		{
			name: "keys at rest are custody, below the service that uses them",
			pkgs: map[string][]string{"keys/atrest": {"internal/workflow"}},
			want: []string{`keys/atrest imports internal/workflow, breaking the rule "` + ruleLayer2 + `"`},
		},
		{
			name: "audit log without keys",
			pkgs: map[string][]string{"auditlog/anchor": {"keys/soft"}},
			want: []string{`auditlog/anchor imports keys/soft, breaking the rule "` + ruleAuditKeys + `"`},
		},
		{
			name: "custody without keyref",
			pkgs: map[string][]string{"keys": {"keyref"}},
			want: []string{`keys imports keyref, breaking the rule "` + ruleKeysKeyref + `"`},
		},
		{
			name: "remote backend without backends",
			pkgs: map[string][]string{"keys/remote": {"keys", "keys/soft"}},
			want: []string{`keys/remote imports keys/soft, breaking the rule "` + ruleRemote + `"`},
		},
		{
			name: "layer 3",
			pkgs: map[string][]string{"pki/ocsp": {"internal/api"}},
			want: []string{`pki/ocsp imports internal/api, breaking the rule "` + ruleLayer3 + `"`},
		},
		{
			name: "layer 4",
			pkgs: map[string][]string{"internal/blob": {"cmd/signet"}},
			want: []string{`internal/blob imports cmd/signet, breaking the rule "` + ruleLayer4 + `"`},
		},
		{
			name: "layer 4 order upward",
			pkgs: map[string][]string{"internal/api": {"internal/accounts"}},
			want: []string{`internal/api imports internal/accounts, breaking the rule "` + ruleOrder + `"`},
		},
		{
			name: "layer 4 order: authorization below accounts",
			pkgs: map[string][]string{"internal/authz": {"internal/accounts"}, "internal/accounts": {"internal/authz"}},
			want: []string{`internal/authz imports internal/accounts, breaking the rule "` + ruleOrder + `"`},
		},
		{
			name: "layer 4 order identity below accounts",
			pkgs: map[string][]string{"internal/accounts": {"internal/identity/password"}, "internal/identity/totp": {"internal/api"}, "internal/identity": {"internal/accounts"}},
			want: []string{`internal/identity imports internal/accounts, breaking the rule "` + ruleOrder + `"`},
		},
		{
			name: "layer 4 order same rank",
			pkgs: map[string][]string{"internal/mail": {"internal/blob/sub"}},
			want: []string{`internal/mail imports internal/blob/sub, breaking the rule "` + ruleOrder + `"`},
		},
		{
			name: "only the binary imports the server",
			pkgs: map[string][]string{"internal/pgtest": {}, "pki": {"internal/server"}},
			want: []string{`pki imports internal/server, breaking the rule "` + ruleServer + `"`},
		},
		{
			name: "test support",
			pkgs: map[string][]string{"cmd/signet": {"internal/mail/mailtest"}},
			want: []string{`cmd/signet imports internal/mail/mailtest, breaking the rule "` + ruleTestSupport + `"`},
		},
		{
			name: "storetest is test support",
			pkgs: map[string][]string{"pki/ca": {"pki/ca/storetest"}},
			want: []string{`pki/ca imports pki/ca/storetest, breaking the rule "` + ruleTestSupport + `"`},
		},
		{
			name:   "linked test support",
			pkgs:   map[string][]string{"cmd/signet": {"internal/blob"}},
			linked: []string{"internal/blob", "internal/testpki"},
			want:   []string{`cmd/signet imports internal/testpki, breaking the rule "` + ruleLinked + `"`},
		},
		{
			name: "unclassified",
			pkgs: map[string][]string{"util": {}, "cms": {"util"}},
			want: []string{"classify package util in internal/layers"},
		},
		{
			name:    "pending tolerated",
			pkgs:    map[string][]string{"keys": {"keyref"}},
			pending: map[edge]string{{"keys", "keyref"}: "being moved"},
		},
		{
			name:    "pending stale",
			pkgs:    map[string][]string{"keys": {"auditlog"}},
			pending: map[edge]string{{"keys", "keyref"}: "being moved"},
			want:    []string{"pending exception keys -> keyref (being moved) no longer matches an import: delete it from pending in internal/layers"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range check(tt.pkgs, tt.linked, tt.pending) {
				got = append(got, v.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestArchitectureNamesEveryPackage checks that docs/ARCHITECTURE.md, which
// describes every package, names each one of the module (in backquotes).
func TestArchitectureNamesEveryPackage(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	pkgs, _ := modulePackages(t)
	for p := range pkgs {
		if !bytes.Contains(doc, []byte("`"+p+"`")) {
			t.Errorf("docs/ARCHITECTURE.md does not describe package %s (name it as `%s`)", p, p)
		}
	}
}
