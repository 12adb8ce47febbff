package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/signet-pki/signet/ltv"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/tsa"
)

// cmdTimestamp renews the long-term validity of a signed document: it adds
// the validation data of every signature and time-stamp, then a new
// document time-stamp and its own validation data (archive renewal).
func cmdTimestamp(args []string, env *environment) error {
	fs := newFlagSet("timestamp", env)
	var tsas listFlag
	fs.Var(&tsas, "tsa", "RFC 3161 time-stamp authority URL (repeatable, tried in order)")
	timeout := fs.Duration("timeout", 10*time.Second, "time allowed to each time-stamp authority, OCSP responder or CRL server")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageErrorf("timestamp needs IN.pdf and OUT.pdf")
	}
	if len(tsas) == 0 {
		return usageErrorf("timestamp needs at least one --tsa URL")
	}
	in, out := pos[0], pos[1]
	src, err := os.Open(in)
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer src.Close()
	opts := pades.LTVOptions{
		Fetcher:     &ltv.Fetcher{Timeout: *timeout},
		Timestamper: &tsa.Client{URLs: tsas, Timeout: *timeout},
	}
	err = writeAtomically(out, func(f *os.File) error {
		n, err := io.Copy(f, src)
		if err != nil {
			return err
		}
		_, err = pades.Archive(context.Background(), f, n, opts)
		return err
	})
	if err != nil {
		if errors.Is(err, tsa.ErrNoToken) || errors.Is(err, pades.ErrNoValidationData) {
			return failf("%s: %v", in, err)
		}
		return usageErrorf("%s: %v", in, err)
	}
	fmt.Fprintf(env.stdout, "added validation data and a document time-stamp: %s -> %s\n", in, out)
	return nil
}
