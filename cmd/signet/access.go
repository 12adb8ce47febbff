package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/identity/admin"
)

const accessUsage = `usage: signet access review --tenant ID [--format csv|json] [--data DIR | --database-url URL | --config FILE]

Prints the tenant's access review: every user and service account with its
roles, grants (by whom, when, until, from which elevation), last use and
MFA status, as CSV (RFC 4180) or JSON. It reads the deployment's stores
directly, as an operator with access to them; the same review is served
to holders of access.review at GET /v1/access-review.
`

// cmdAccess runs `signet access SUBCOMMAND`.
func cmdAccess(args []string, env *environment) error {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, accessUsage)
		return usageErrorf("access: missing subcommand")
	}
	switch args[0] {
	case "-h", "--help":
		fmt.Fprint(env.stdout, accessUsage)
		return nil
	case "review":
		return cmdAccessReview(args[1:], env)
	}
	return usageErrorf("access: unknown subcommand %q (want review)", args[0])
}

func cmdAccessReview(args []string, env *environment) error {
	fs := newFlagSet("access review", env)
	lf := registerLocation(fs)
	tenant := fs.String("tenant", "", "the tenant `ID` to review")
	format := fs.String("format", "csv", "output format: csv or json")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 0:
		return usageErrorf("access review: unexpected argument %q", pos[0])
	case *tenant == "":
		return usageErrorf("access review: --tenant is required")
	case *format != "csv" && *format != "json":
		return usageErrorf("access review: --format is csv or json")
	}
	loc, err := lf.resolve(env)
	if err != nil {
		return err
	}
	d, err := openData(loc, env)
	if err != nil {
		return err
	}
	defer d.Close()
	ctx := context.Background()
	st, err := d.Services(ctx)
	if err != nil {
		return dataError(err)
	}
	if _, err := st.Tenants.Tenant(ctx, *tenant); err != nil {
		return failf("access review: tenant %q: %v", *tenant, err)
	}
	keys, err := st.APIKeys.Keys(ctx, *tenant)
	if err != nil {
		return failf("access review: %v", err)
	}
	svc, err := admin.New(admin.Config{Store: st.Identity, Recorder: readOnly{},
		Passkeys: func(ctx context.Context, tenant, userID string) (int, error) {
			ps, err := st.Identity.PasskeysOf(ctx, tenant, userID)
			return len(ps), err
		}})
	if err != nil {
		return failf("%v", err)
	}
	rv, err := svc.Review(ctx, *tenant, accounts.ReviewKeys(keys))
	if err != nil {
		return failf("%v", err)
	}
	if *format == "json" {
		err = rv.WriteJSON(env.stdout)
	} else {
		err = rv.WriteCSV(env.stdout)
	}
	if err != nil {
		return failf("access review: %v", err)
	}
	return nil
}

// readOnly is the audit recorder of a command that changes nothing: it
// refuses every event, so that an unexpected change fails closed.
type readOnly struct{}

func (readOnly) Record(context.Context, auditlog.Event) error {
	return errors.New("access review: this command records nothing and changes nothing")
}
