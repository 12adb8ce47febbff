package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/internal/workflow"
)

// TestMigrationRenamesEmailOTP: version 201 renames the recipients'
// stored level email_otp (the API's name before the other levels) to
// email_code, and gives existing rows the empty phone and access-code
// hash and no link-only consent.
func TestMigrationRenamesEmailOTP(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "signet.db")
	p, err := sqldb.OpenPool(ctx, path, migrations[:1], 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Writer().ExecContext(ctx, `INSERT INTO workflow_envelopes (id, tenant, status, subject, message, expires_ns, reminder_ns,
		created_by, created_ns, updated_ns, reason, version) VALUES ('env_1', 't1', 'sent', 's', '', 2, 0, 'k', 1, 1, '', 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Writer().ExecContext(ctx, `INSERT INTO workflow_recipients (envelope_id, position, id, role, name, email, auth,
		routing_order, status, signed, decline_reason) VALUES ('env_1', 0, 'r1', 'signer', 'A', 'a@example.com', 'email_otp', 1, 'active', '', '')`); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	e, err := s.Envelope(ctx, "env_1")
	if err != nil {
		t.Fatal(err)
	}
	if r := e.Recipients[0]; r.Auth != workflow.AuthEmailCode || r.Phone != "" || r.AccessCodeHash != "" || e.AllowLinkOnly {
		t.Fatalf("after migration 201: envelope allow_link_only %v, recipient %+v", e.AllowLinkOnly, r)
	}
}
