package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki/ca"
)

const keysUsage = `Usage:
  signet keys list [--tenant T] [--data DIR]
  signet keys create --purpose P [--alg A] [--tenant T] [--label L]
                     [--rotate-after 720h] [--usage-limit N] [--data DIR]
  signet keys show ID [--data DIR]
  signet keys rotate ID [--data DIR]
  signet keys revoke ID [--version N] --reason keyCompromise
                     [--compromise-time RFC3339] [--data DIR]
  signet keys export-public ID [--version N] [--data DIR]
  signet keys export-service-key --out FILE [--data DIR]
  signet keys rotate-kek --tenant T [--data DIR]
  signet keys rewrap [--tenant T] [--data DIR]

DIR defaults to ./signet-data; only create makes a new key store there, the
others refuse a DIR without one. A deployment on PostgreSQL is named by
--database-url URL (or $SIGNET_DATABASE_URL) or by --config FILE, the
configuration file of signet serve; its master key comes from
$SIGNET_MASTER_KEY or DIR/master.key as on the nodes. Every operation is
recorded in the audit log.
No command prints private key material. export-service-key writes the
secrets the api role of a split deployment needs instead of the master key
(signet serve --role api), derived from the master key; keep it as secret.
rotate-kek gives a tenant's key of its data keys at rest a new version;
rewrap re-wraps every data key (of one tenant, or of all) under its
tenant key's active version, without touching any document, after which
older versions may be destroyed.
`

// cmdKeys runs "signet keys SUBCOMMAND".
func cmdKeys(args []string, env *environment) error {
	subs := map[string]func([]string, *environment) error{
		"list":               keysList,
		"create":             keysCreate,
		"show":               keysShow,
		"rotate":             keysRotate,
		"revoke":             keysRevoke,
		"export-public":      keysExportPublic,
		"export-service-key": keysExportServiceKey,
		"rotate-kek":         keysRotateKEK,
		"rewrap":             keysRewrap,
	}
	if len(args) == 0 {
		fmt.Fprint(env.stderr, keysUsage)
		return usageErrorf("keys: missing subcommand")
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(env.stdout, keysUsage)
		return nil
	}
	sub, ok := subs[args[0]]
	if !ok {
		return usageErrorf("keys: unknown subcommand %q (want list, create, show, rotate, revoke, export-public, export-service-key, rotate-kek or rewrap)", args[0])
	}
	return sub(args[1:], env)
}

// keysFlags returns a flag set with the flags that name a deployment
// (--data, --database-url, --config).
func keysFlags(name string, env *environment) (*flag.FlagSet, *locationFlags) {
	fs := newFlagSet("keys "+name, env)
	return fs, registerLocation(fs)
}

// withStore opens the data directory, runs fn and closes it.
func withStore(lf *locationFlags, env *environment, fn func(context.Context, *keys.Manager) error) error {
	ctx := context.Background()
	loc, err := lf.resolve(env)
	if err != nil {
		return err
	}
	closeToken, err := loc.openToken(ctx, env)
	if err != nil {
		return err
	}
	defer closeToken()
	m, d, err := openKeys(ctx, loc, env)
	if err != nil {
		return err
	}
	err = fn(ctx, m)
	if cerr := d.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return keysError(err)
}

// withExistingStore is withStore for the subcommands that read or change
// keys that must already exist: a data directory without a key store (a
// mistyped --data) is an error, not a new key store under a new master key.
func withExistingStore(lf *locationFlags, env *environment, fn func(context.Context, *keys.Manager) error) error {
	loc, err := lf.resolve(env)
	if err != nil {
		return err
	}
	if loc.databaseURL == "" && !fileExists(datadir.File(loc.dir, datadir.KeysDB)) {
		return usageErrorf("no key store in %s (give --data DIR or --database-url URL)", loc.dir)
	}
	return withStore(lf, env, fn)
}

// keysError maps key manager errors to exit codes: the caller's mistakes
// exit 2, refusals and failures exit 1.
func keysError(err error) error {
	if err == nil {
		return nil
	}
	var ce *cliError
	if errors.As(err, &ce) {
		return err
	}
	switch {
	case errors.Is(err, keys.ErrNotFound), errors.Is(err, keys.ErrAlgorithm), errors.Is(err, keys.ErrPurpose):
		return usageErrorf("%v", err)
	}
	return failf("%v", err)
}

// oneID returns the single positional argument.
func oneID(pos []string) (string, error) {
	if len(pos) != 1 {
		return "", usageErrorf("want one key id, got %d arguments", len(pos))
	}
	return pos[0], nil
}

func keysList(args []string, env *environment) error {
	fs, data := keysFlags("list", env)
	tenant := fs.String("tenant", "*", "list only the keys of `TENANT` (\"\" for platform keys)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("keys list takes no arguments")
	}
	return withExistingStore(data, env, func(ctx context.Context, m *keys.Manager) error {
		ks, err := m.List(ctx, *tenant)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPURPOSE\tALGORITHM\tTENANT\tACTIVE\tVERSIONS\tLABEL")
		for _, k := range ks {
			active := "-"
			if v := k.Active(); v != nil {
				active = "v" + strconv.Itoa(v.Number)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", k.ID, k.Purpose, k.Algorithm, orDash(k.Tenant), active, len(k.Versions), k.Label)
		}
		return tw.Flush()
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func keysCreate(args []string, env *environment) error {
	fs, data := keysFlags("create", env)
	purpose := fs.String("purpose", "", "key `PURPOSE`: "+purposeNames())
	alg := fs.String("alg", "", "`ALGORITHM` (default: the purpose's first)")
	tenant := fs.String("tenant", "", "owner `TENANT` (empty for platform keys)")
	label := fs.String("label", "", "human `LABEL`")
	rotateAfter := fs.Duration("rotate-after", 0, "rotate automatically after this `AGE` (e.g. 720h; 0 = never)")
	usageLimit := fs.Int64("usage-limit", 0, "rotate automatically after `N` operations (0 = no limit)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("keys create takes no arguments")
	}
	if *purpose == "" {
		return usageErrorf("keys create: --purpose is required (%s)", purposeNames())
	}
	if !keys.Purpose(*purpose).Valid() {
		return usageErrorf("keys create: unknown purpose %q (want %s)", *purpose, purposeNames())
	}
	if *rotateAfter < 0 || *usageLimit < 0 {
		return usageErrorf("keys create: --rotate-after and --usage-limit must not be negative")
	}
	return withStore(data, env, func(ctx context.Context, m *keys.Manager) error {
		k, err := m.Create(ctx, keys.CreateRequest{
			Purpose: keys.Purpose(*purpose), Algorithm: keys.Algorithm(*alg), Tenant: *tenant,
			Label: *label, RotateAfter: *rotateAfter, UsageLimit: *usageLimit,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%s\n", k.ID)
		return nil
	})
}

func purposeNames() string {
	var s []string
	for _, p := range keys.Purposes() {
		s = append(s, string(p))
	}
	return strings.Join(s, ", ")
}

func keysShow(args []string, env *environment) error {
	fs, data := keysFlags("show", env)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos)
	if err != nil {
		return err
	}
	return withExistingStore(data, env, func(ctx context.Context, m *keys.Manager) error {
		k, err := m.Get(ctx, id)
		if err != nil {
			return err
		}
		printKey(env.stdout, k)
		return nil
	})
}

// printKey writes k's metadata: ids, states and public-key fingerprints,
// never handles or material.
func printKey(w io.Writer, k *keys.Key) {
	fmt.Fprintf(w, "id:           %s\n", k.ID)
	fmt.Fprintf(w, "purpose:      %s\n", k.Purpose)
	fmt.Fprintf(w, "algorithm:    %s\n", k.Algorithm)
	fmt.Fprintf(w, "backend:      %s\n", k.Backend)
	fmt.Fprintf(w, "tenant:       %s\n", orDash(k.Tenant))
	fmt.Fprintf(w, "label:        %s\n", k.Label)
	fmt.Fprintf(w, "created:      %s\n", k.Created.Format(time.RFC3339))
	rotate := "never"
	if k.RotateAfter > 0 {
		rotate = k.RotateAfter.String()
	}
	fmt.Fprintf(w, "rotate-after: %s\n", rotate)
	limit := "none"
	if k.UsageLimit > 0 {
		limit = strconv.FormatInt(k.UsageLimit, 10)
	}
	fmt.Fprintf(w, "usage-limit:  %s\n", limit)
	for _, v := range k.Versions {
		fmt.Fprintf(w, "version %d:    %s, created %s, used %d times", v.Number, v.State, v.Created.Format(time.RFC3339), v.Usage)
		if r := v.Revocation; r != nil {
			fmt.Fprintf(w, ", revoked %s (%s", r.Time.Format(time.RFC3339), r.Reason)
			if !r.CompromiseTime.IsZero() {
				fmt.Fprintf(w, ", compromised %s", r.CompromiseTime.Format(time.RFC3339))
			}
			fmt.Fprint(w, ")")
		}
		if !v.Destroyed.IsZero() {
			fmt.Fprintf(w, ", destroyed %s", v.Destroyed.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
	}
}

func keysRotate(args []string, env *environment) error {
	fs, data := keysFlags("rotate", env)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos)
	if err != nil {
		return err
	}
	return withExistingStore(data, env, func(ctx context.Context, m *keys.Manager) error {
		ref, err := m.Rotate(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "rotated %s: version %d is active\n", id, ref.Version)
		return nil
	})
}

func keysRevoke(args []string, env *environment) error {
	fs, data := keysFlags("revoke", env)
	version := fs.Int("version", 0, "revoke only version `N` (default: every version)")
	reasonName := fs.String("reason", "", "RFC 5280 `REASON`, e.g. keyCompromise, superseded, cessationOfOperation")
	compromise := fs.String("compromise-time", "", "when the key was compromised (`RFC3339`)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos)
	if err != nil {
		return err
	}
	if *reasonName == "" {
		return usageErrorf("keys revoke: --reason is required")
	}
	reason, err := keys.ParseRevocationReason(*reasonName)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if *version < 0 {
		return usageErrorf("keys revoke: --version must be positive")
	}
	var ct time.Time
	if *compromise != "" {
		if ct, err = time.Parse(time.RFC3339, *compromise); err != nil {
			return usageErrorf("keys revoke: --compromise-time: %v", err)
		}
	}
	revoke := func(ctx context.Context, m *keys.Manager) error {
		refs, err := m.Revoke(ctx, id, *version, reason, ct)
		for _, r := range refs {
			fmt.Fprintf(env.stdout, "revoked %s (%s)\n", r, reason)
		}
		if errors.Is(err, keys.ErrState) {
			return usageErrorf("%v", err)
		}
		return err
	}
	if data.databaseURL() != "" || !fileExists(datadir.File(data.dirFlag, datadir.PKIState)) {
		return withExistingStore(data, env, revoke)
	}
	// The data directory runs a PKI: revoking the key revokes its
	// certificates too, so CRLs and OCSP reflect it.
	ctx := context.Background()
	pd, err := openPKIData(ctx, data.dirFlag, env)
	if err != nil {
		return err
	}
	defer pd.close()
	a, err := ca.New(ca.Config{Store: pd.store, Recorder: pd.log, BaseURL: pd.roles.BaseURL()})
	if err != nil {
		return err
	}
	pd.keys.OnRevoke(a.KeyRevocationHook())
	return keysError(revoke(ctx, pd.keys))
}

func keysExportPublic(args []string, env *environment) error {
	fs, data := keysFlags("export-public", env)
	version := fs.Int("version", 0, "export version `N` (default: the active one)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos)
	if err != nil {
		return err
	}
	return withExistingStore(data, env, func(ctx context.Context, m *keys.Manager) error {
		pub, _, err := m.PublicKey(ctx, id, *version)
		if errors.Is(err, keys.ErrState) {
			return usageErrorf("%v (give --version)", err)
		}
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return err
		}
		return pem.Encode(env.stdout, &pem.Block{Type: "PUBLIC KEY", Bytes: der})
	})
}
