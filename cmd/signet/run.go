package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `Signet signs PDF documents with PAdES signatures and verifies them offline.

Usage:
  signet serve [--data DIR] [--listen ADDR] [--pki-listen ADDR] [--config FILE]
               [--database-url URL]         run the signing service (HTTPS API)
  signet sign [flags] IN.pdf OUT.pdf        add a PAdES signature (B-B, B-T, B-LT, B-LTA)
  signet verify [--trust ROOTS.pem] [--json] [--at TIME] [--log-key KEY] FILE.pdf|BUNDLE.zip
                                            validate a PDF's signatures or an evidence bundle
  signet timestamp --tsa URL IN.pdf OUT.pdf  renew long-term validity (DSS + document time-stamp)
  signet quickstart [--dir DIR]             sign and verify a sample end to end
  signet evidence ENVELOPE_ID --out FILE [--server URL] [--trust ROOTS.pem]
                                            download an envelope's evidence bundle (SIGNET_API_KEY)
  signet audit verify|proof|verify-receipt|export|append
                                            check and query the audit log
  signet keys list|create|show|rotate|revoke|export-public
                                            manage keys in the data directory
  signet pki serve|issue-signer|revoke      run the internal CA, OCSP, CRLs and TSA
  signet migrate --from DIR --to URL        copy a data directory into PostgreSQL and verify it
  signet backup keygen|create|verify|restore
                                            encrypted backups of a data directory
  signet access review --tenant ID          export every principal with roles, grants, last use, MFA
  signet outbox [--to ADDRESS]              read the e-mails written without an SMTP server

Run "signet COMMAND -h" for a command's flags.
`

// command is one subcommand.
type command func(args []string, env *environment) error

// environment is what commands may touch besides their arguments.
type environment struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &environment{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	commands := map[string]command{
		"sign":       cmdSign,
		"verify":     cmdVerify,
		"quickstart": cmdQuickstart,
		"keys":       cmdKeys,
		"audit":      cmdAudit,
		"timestamp":  cmdTimestamp,
		"pki":        cmdPKI,
		"serve":      cmdServe,
		"migrate":    cmdMigrate,
		"access":     cmdAccess,
		"backup":     cmdBackup,
		"outbox":     cmdOutbox,
		"evidence":   cmdEvidence,
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	cmd, ok := commands[name]
	if !ok {
		printError(stderr, fmt.Errorf("unknown command %q (run signet help)", name))
		return exitUsage
	}
	err := cmd(args[1:], env)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		printError(stderr, err)
	}
	return exitCode(err)
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, env *environment) *flag.FlagSet {
	fs := flag.NewFlagSet("signet "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	return fs
}

// parseFlags parses flags that may come before or after the positional
// arguments, as users write "signet verify FILE --json".
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErrorf("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
