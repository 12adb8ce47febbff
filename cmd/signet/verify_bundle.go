package main

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/signet-pki/signet/evidence"
)

// zipMagic starts a ZIP file's first local header: an evidence bundle.
const zipMagic = "PK\x03\x04"

// isZip reports whether r starts like a ZIP file.
func isZip(r io.ReaderAt) bool {
	var b [4]byte
	_, err := r.ReadAt(b[:], 0)
	return err == nil && string(b[:]) == zipMagic
}

// bundleFlags are the flags of `signet verify` that a bundle uses.
type bundleFlags struct {
	roots  *x509.CertPool
	asJSON bool
	// logKey is a note verifier key, or a file holding one.
	logKey string
	// now is the validation time; nil means now.
	now func() time.Time
}

// verifyBundle checks the evidence bundle name (size bytes in r) offline
// and prints one line per check and finding, then the indication (or
// the report as JSON). Exit 0 when VALID, 1 when INVALID or
// INDETERMINATE, 2 when the file is not a bundle.
func verifyBundle(env *environment, r io.ReaderAt, size int64, name string, fl bundleFlags) error {
	opts := evidence.VerifyOptions{Roots: fl.roots, Now: fl.now}
	if fl.logKey != "" {
		key := fl.logKey
		if b, err := os.ReadFile(key); err == nil {
			key = string(b)
		} else if !strings.Contains(key, "+") {
			return usageErrorf("--log-key: %v", err)
		}
		opts.LogKey = strings.TrimSpace(key)
	}
	rep, err := evidence.Verify(r, size, opts)
	if err != nil {
		return usageErrorf("%s: %v", name, err)
	}
	if fl.asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printBundleReport(env.stdout, name, rep)
	}
	if !rep.Valid() {
		return &cliError{code: exitFailed, msg: fmt.Sprintf("%s: %s", name, rep.Indication)}
	}
	return nil
}

// printBundleReport writes one line per check and finding, then the
// indication.
func printBundleReport(w io.Writer, name string, rep *evidence.Report) {
	fmt.Fprintf(w, "%s: evidence bundle of envelope %s (tenant %s), validated at %s\n", name, rep.EnvelopeID, rep.Tenant, rep.ValidationTime.Format(time.RFC3339))
	for _, c := range rep.Checks {
		detail := ""
		if c.Detail != "" {
			detail = ": " + c.Detail
		}
		fmt.Fprintf(w, "  - %-26s %s%s\n", c.Name, c.Status, detail)
	}
	for _, f := range rep.Findings {
		where := ""
		if f.Path != "" {
			where = " [" + f.Path + "]"
		}
		fmt.Fprintf(w, "  ! %-26s %s%s: %s\n", f.Code, f.Indication, where, f.Detail)
	}
	if ts := rep.Timestamp; ts != nil && ts.RenewalDue != nil {
		fmt.Fprintf(w, "  latest time-stamp: %s by %s; renew by %s\n", ts.Time.Format(time.RFC3339), ts.Authority, ts.RenewalDue.Format("2006-01-02"))
	}
	ind := rep.Indication
	if rep.SubIndication != "" {
		ind += " (" + rep.SubIndication + ")"
	}
	fmt.Fprintf(w, "%s\n", ind)
}
