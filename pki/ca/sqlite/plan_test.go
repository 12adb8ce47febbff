package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestInsertUsesIndexes checks with EXPLAIN QUERY PLAN that numbering a
// new certificate reads an index, not every certificate issued so far.
func TestInsertUsesIndexes(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "ca.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []string{
		"SELECT coalesce(max(issued_seq), 0) + 1 FROM ca_certificates",
		"SELECT coalesce(max(revoked_seq), 0) + 1 FROM ca_certificates",
	} {
		rows, err := s.pool.Reader().Query("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		joined := strings.Join(plan, "; ")
		if !strings.Contains(joined, "USING COVERING INDEX") {
			t.Errorf("%s: plan %q scans the table", q, joined)
		}
	}
}
