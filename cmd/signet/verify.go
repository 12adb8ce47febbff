package main

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/signet-pki/signet/keyref"
	"github.com/signet-pki/signet/pades"
)

func cmdVerify(args []string, env *environment) error {
	fs := newFlagSet("verify", env)
	trust := fs.String("trust", "", "PEM file of trusted root certificates")
	asJSON := fs.Bool("json", false, "print the report as JSON (docs/VERIFY-JSON.md)")
	at := fs.String("at", "", "validate as of this RFC 3339 time instead of now")
	logKey := fs.String("log-key", "", "an evidence bundle's audit log key (note verifier key, or a file holding it) to trust instead of the bundle's own")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("verify needs exactly one FILE.pdf or BUNDLE.zip")
	}
	opts := pades.VerifyOptions{}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageErrorf("--at %q is not an RFC 3339 time (e.g. 2036-01-02T15:04:05Z)", *at)
		}
		opts.Now = func() time.Time { return t }
	}
	if *trust != "" {
		p, err := loadPool(*trust)
		if err != nil {
			return err
		}
		opts.Roots = p
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return usageErrorf("%v", err)
	}
	if isZip(f) {
		return verifyBundle(env, f, st.Size(), pos[0], bundleFlags{roots: opts.Roots, asJSON: *asJSON, logKey: *logKey, now: opts.Now})
	}
	rep, err := pades.Verify(f, st.Size(), opts)
	if err != nil {
		return usageErrorf("%s: %v", pos[0], err)
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(env.stdout, pos[0], rep)
	}
	if len(rep.Signatures) == 0 {
		return &cliError{code: exitFailed, msg: pos[0] + ": no signatures found"}
	}
	if !rep.Valid {
		return &cliError{code: exitFailed, msg: pos[0] + ": not every signature is valid"}
	}
	return nil
}

func printReport(w io.Writer, name string, rep *pades.Report) {
	fmt.Fprintf(w, "%s: %d signature(s), %d revision(s), %d bytes\n", name, len(rep.Signatures), rep.Revisions, rep.Size)
	for i, s := range rep.Signatures {
		fmt.Fprintf(w, "\n#%d %q: %s signature, revision %d", i+1, s.Field, s.Kind, s.Revision)
		if s.CoversWholeFile {
			fmt.Fprint(w, " (covers the whole file)")
		}
		fmt.Fprintln(w)
		verdict := strings.ToUpper(s.Verdict)
		fmt.Fprintf(w, "  verdict:     %s (%s", verdict, s.Indication)
		if s.SubIndication != "" {
			fmt.Fprintf(w, "/%s", s.SubIndication)
		}
		fmt.Fprintln(w, ")")
		if s.Reason != "" {
			fmt.Fprintf(w, "  reason:      %s\n", s.Reason)
		}
		if s.Signer != nil {
			fmt.Fprintf(w, "  signer:      %s\n", s.Signer.Subject)
			fmt.Fprintf(w, "  issuer:      %s\n", s.Signer.Issuer)
		}
		if s.ClaimedTime != nil {
			fmt.Fprintf(w, "  claimed:     %s (the signer's claim, not proven)\n", s.ClaimedTime.Format(time.RFC3339))
		}
		if s.TimestampTime != nil {
			by := ""
			if s.TimestampAuthority != nil {
				by = " by " + s.TimestampAuthority.Subject
			}
			fmt.Fprintf(w, "  timestamp:   %s%s\n", s.TimestampTime.UTC().Format(time.RFC3339), by)
		}
		if s.DigestAlgorithm != "" {
			fmt.Fprintf(w, "  algorithms:  %s, %s (%s)\n", s.DigestAlgorithm, s.SignatureAlgorithm, s.SubFilter)
		}
		fmt.Fprintf(w, "  level:       %s\n", s.Level)
		if s.DocMDP > 0 {
			fmt.Fprintf(w, "  certified:   DocMDP P=%d\n", s.DocMDP)
		}
		for _, warn := range s.Warnings {
			fmt.Fprintf(w, "  warning:     %s (%s)\n", warn.Detail, warn.Name)
		}
		for _, c := range s.Checks {
			detail := ""
			if c.Detail != "" {
				detail = ": " + c.Detail
			}
			fmt.Fprintf(w, "  - %-22s %s%s\n", c.Name, c.Status, detail)
		}
		for _, m := range s.PermittedChanges {
			fmt.Fprintf(w, "  later, permitted: %s\n", m)
		}
		for _, m := range s.Modifications {
			fmt.Fprintf(w, "  later, NOT permitted: %s\n", m)
		}
	}
	printRenewal(w, rep.Renewal)
	if rep.Valid {
		fmt.Fprintln(w, "\nall signatures are valid")
	}
}

// printRenewal prints the state of the latest time-stamp, which proves the
// time of everything before it until its authority's certificate expires.
func printRenewal(w io.Writer, r *pades.Renewal) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "\nlatest time-stamp: %q, %s by %s\n", r.Field, r.Time.UTC().Format(time.RFC3339), r.Authority)
	if r.Needed {
		fmt.Fprintf(w, "renewal needed since %s: re-time-stamp with signet timestamp\n", r.NotAfter.UTC().Format(time.RFC3339))
		return
	}
	fmt.Fprintf(w, "archive time-stamp renewal due by %s\n", r.NotAfter.UTC().Format(time.RFC3339))
}

// loadPool reads PEM certificates into a pool.
func loadPool(path string) (*x509.CertPool, error) {
	certs, err := keyref.ReadCertificates(path)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p, nil
}
