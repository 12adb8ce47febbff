package backup

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/sqldb"
)

// ErrCheck is wrapped by errors about a backup that decrypts and matches
// its manifest but whose contents fail a check: a database that is not
// intact, or an audit log that does not verify.
var ErrCheck = errors.New("backup: check failed")

// check runs the checks of a backup extracted into dir (blobs may be
// missing): PRAGMA integrity_check on every database snapshot, then the
// audit log's verification, of dir's audit.db or, for a PostgreSQL
// deployment, of auditCopy, the SQLite copy of the snapshot's audit
// tables (extract checked the tables' framing and counts). It fills s.
func check(ctx context.Context, dir, auditCopy string, x *extraction, s *Summary) error {
	for _, e := range x.m.Entries {
		if e.Type != typeDatabase {
			continue
		}
		if err := integrity(ctx, filepath.Join(dir, filepath.FromSlash(e.Path))); err != nil {
			return fmt.Errorf("%w: database %s: %w", ErrCheck, e.Path, err)
		}
	}
	auditDB := filepath.Join(dir, datadir.AuditDB)
	if x.m.Postgres != nil {
		if err := auditTablesHeld(x.m.Postgres); err != nil {
			return err
		}
		auditDB = auditCopy
	} else if _, ok := x.seen[datadir.AuditDB]; !ok {
		return fmt.Errorf("%w: the backup holds no audit log (%s)", ErrCheck, datadir.AuditDB)
	}
	res, err := verifyAudit(ctx, dir, auditDB)
	if err != nil {
		return fmt.Errorf("%w: audit log: %w", ErrCheck, err)
	}
	s.AuditEvents, s.Checkpoints = res.Size, res.Checkpoints
	return nil
}

// integrity runs PRAGMA integrity_check on the SQLite database at path.
func integrity(ctx context.Context, path string) error {
	db, err := sqldb.OpenReadDB(ctx, path, 1)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" && len(problems) < 3 {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check: %s", strings.Join(problems, "; "))
	}
	return nil
}

// verifyAudit verifies the audit log auditDB (an SQLite audit log: a data
// directory's audit.db, or the copy of a PostgreSQL snapshot's audit
// tables) with the files of the data directory dir as
// `signet audit verify --data DIR` does: every record and checkpoint
// under the verifier keys of audit.pub (the current one and retired
// ones), the latest write-once copy of checkpoints/ as the reference
// (no rollback, no fork) and compared with the log's checkpoints, the
// RFC 3161 anchors against pki/root.pem. (Witness cosignatures need the
// witnesses' keys, which the data directory does not hold: `signet audit
// verify --witness` checks them.)
func verifyAudit(ctx context.Context, dir, auditDB string) (*auditlog.VerifyResult, error) {
	st, err := auditsqlite.Open(auditDB)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return verifyAuditStore(ctx, dir, st)
}

// auditStore is an audit log's storage with its checkpoints.
type auditStore interface {
	auditlog.Storage
	Checkpoints(ctx context.Context) ([]auditlog.Checkpoint, error)
}

// verifyAuditStore verifies the audit log st with the files of the data
// directory dir, as [verifyAudit] does.
func verifyAuditStore(ctx context.Context, dir string, st auditStore) (*auditlog.VerifyResult, error) {
	b, err := os.ReadFile(filepath.Join(dir, datadir.AuditPub))
	if err != nil {
		return nil, fmt.Errorf("checkpoint verifier keys: %w", err)
	}
	vs, err := auditlog.ParseVerifiers(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", datadir.AuditPub, err)
	}
	opts := auditlog.VerifyOptions{Verifier: vs[0], Retired: vs[1:]}
	var sink *anchor.FileSink
	if fi, err := os.Stat(filepath.Join(dir, datadir.CheckpointsDir)); err == nil && fi.IsDir() {
		sink = &anchor.FileSink{Dir: filepath.Join(dir, datadir.CheckpointsDir)}
		if latest, err := sink.Latest(ctx); err == nil {
			opts.Reference = &latest
		}
	}
	var roots *x509.CertPool
	if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(datadir.RootCert))); err == nil {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s holds no certificate", datadir.RootCert)
		}
	}
	// The data directory holds no witness keys: cosignatures pass.
	opts.CheckAnchor = anchor.Checker(roots, nil, nil)
	res, err := auditlog.Verify(ctx, st, opts)
	var te *auditlog.TamperError
	if errors.As(err, &te) {
		return nil, fmt.Errorf("tampered: %s at index %d: %s", te.Kind, te.Index, te.Detail)
	}
	if err != nil {
		return nil, err
	}
	if sink != nil {
		cps, err := st.Checkpoints(ctx)
		if err != nil {
			return nil, err
		}
		if err := anchor.VerifySink(ctx, sink, cps); err != nil {
			return nil, fmt.Errorf("disagrees with the write-once copies: %w", err)
		}
	}
	return res, nil
}
