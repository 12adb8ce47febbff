package authz

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchitectureTable checks that the action × role table in
// docs/ARCHITECTURE.md says what the code does: one row per action, a ✓
// exactly where a built-in role holds the action, and the step-up column.
func TestArchitectureTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- authz-table -->\n")
	table, _, ok2 := strings.Cut(rest, "<!-- /authz-table -->")
	if !ok || !ok2 {
		t.Fatal("docs/ARCHITECTURE.md has no authz-table markers")
	}
	lines := strings.Split(strings.TrimSpace(table), "\n")
	header := cells(lines[0])
	roles := BuiltinRoles()
	if len(header) != len(roles)+2 || header[0] != "Action" || header[len(header)-1] != "step-up" {
		t.Fatalf("header %q", header)
	}
	for i, r := range roles {
		if header[i+1] != r.Name {
			t.Errorf("column %d is %q, want %q", i+1, header[i+1], r.Name)
		}
	}
	var seen []Action
	for _, l := range lines[2:] {
		c := cells(l)
		if len(c) != len(header) {
			t.Errorf("row %q has %d cells", l, len(c))
			continue
		}
		a, err := ParseAction(strings.Trim(c[0], "`"))
		if err != nil {
			t.Error(err)
			continue
		}
		seen = append(seen, a)
		for i, r := range roles {
			if got, want := c[i+1] == "✓", r.Has(a); got != want {
				t.Errorf("%s × %s: table says %v, code %v", a, r.Name, got, want)
			}
		}
		if got, want := c[len(c)-1], stepUpColumn(a); got != want {
			t.Errorf("%s step-up: table says %q, code %q", a, got, want)
		}
	}
	if got, want := len(seen), len(AllActions()); got != want {
		t.Errorf("table has %d actions, want %d (%v)", got, want, seen)
	}
}

func stepUpColumn(a Action) string {
	switch {
	case Request{Action: a}.Risky():
		return "always"
	case Request{Action: a, HighAssurance: true}.Risky():
		return "high-assurance"
	case Request{Action: a, Bulk: true}.Risky():
		return "bulk"
	}
	return ""
}

func cells(line string) []string {
	parts := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}
