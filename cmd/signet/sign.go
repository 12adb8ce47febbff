package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/signet-pki/signet/keyref"
	"github.com/signet-pki/signet/ltv"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/tsa"
)

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func cmdSign(args []string, env *environment) error {
	fs := newFlagSet("sign", env)
	var tsas listFlag
	key := fs.String("key", "", "signing key: a PKCS#12 file (.p12/.pfx), a PEM/DER private key (with --cert), or a pkcs11: URI")
	cert := fs.String("cert", "", "signer certificate (PEM or DER) for keys that hold none")
	chain := fs.String("chain", "", "intermediate certificates (PEM) to embed")
	passEnv := fs.String("pass-env", "", "read the key's password from this environment variable (default: prompt)")
	fs.Var(&tsas, "tsa", "RFC 3161 time-stamp authority URL (repeatable, tried in order); implies --level B-T")
	level := fs.String("level", "", "PAdES level: B-B, B-T, B-LT or B-LTA (default B-T with --tsa, else B-B)")
	hashName := fs.String("hash", "sha256", "digest algorithm: sha256, sha384 or sha512")
	pss := fs.Bool("pss", false, "use RSASSA-PSS for RSA keys")
	certify := fs.Int("certify", 0, "make a certification signature with DocMDP permissions P (1, 2 or 3)")
	reason := fs.String("reason", "", "reason for signing")
	location := fs.String("location", "", "location of signing")
	contact := fs.String("contact", "", "signer's contact information")
	name := fs.String("name", "", "signer name written to the signature dictionary")
	field := fs.String("field", "", "name of the new signature field (default SignatureN)")
	visible := fs.String("visible", "", "visible signature: PAGE,X,Y,W,H in points")
	tsaTimeout := fs.Duration("tsa-timeout", 10*time.Second, "time allowed to each time-stamp authority")
	tsaRoots := fs.String("tsa-trust", "", "PEM roots the time-stamp authority must chain to (default: the token's own signature is checked, not its chain)")
	contentsSize := fs.Int("contents-size", 0, "bytes reserved for the CMS signature (default: estimated)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageErrorf("sign needs IN.pdf and OUT.pdf")
	}
	in, out := pos[0], pos[1]
	if *key == "" {
		return usageErrorf("sign needs --key")
	}
	opts := pades.Options{
		Certify: *certify, Reason: *reason, Location: *location, ContactInfo: *contact,
		Name: *name, FieldName: *field, PSS: *pss, ContentsSize: *contentsSize,
	}
	switch strings.ToLower(*hashName) {
	case "sha256", "sha-256":
		opts.Hash = crypto.SHA256
	case "sha384", "sha-384":
		opts.Hash = crypto.SHA384
	case "sha512", "sha-512":
		opts.Hash = crypto.SHA512
	default:
		return usageErrorf("unknown --hash %q (want sha256, sha384 or sha512)", *hashName)
	}
	switch {
	case *level == "" && len(tsas) > 0:
		opts.Level = pades.LevelBT
	case *level == "":
		opts.Level = pades.LevelBB
	default:
		l, err := pades.ParseLevel(*level)
		if err != nil {
			return usageErrorf("%v", err)
		}
		opts.Level = l
	}
	switch opts.Level {
	case pades.LevelBB:
		if len(tsas) > 0 {
			return usageErrorf("--tsa asks for a time-stamp but --level is B-B")
		}
	default:
		if len(tsas) == 0 {
			return usageErrorf("--level %s needs at least one --tsa URL", opts.Level)
		}
		if opts.Level != pades.LevelBT {
			opts.Fetcher = &ltv.Fetcher{Timeout: *tsaTimeout}
		}
	}
	if *certify < 0 || *certify > 3 {
		return usageErrorf("--certify takes 1, 2 or 3")
	}
	if *visible != "" {
		v, err := parseVisible(*visible)
		if err != nil {
			return err
		}
		opts.Visible = v
	}
	if len(tsas) > 0 {
		c := &tsa.Client{URLs: tsas, Timeout: *tsaTimeout}
		if *tsaRoots != "" {
			p, err := loadPool(*tsaRoots)
			if err != nil {
				return err
			}
			c.Roots = p
		}
		opts.Timestamper = c
	}

	k, err := keyref.Open(*key, keyref.Options{
		CertFile: *cert, ChainFile: *chain,
		Password: passwordSource(*passEnv, *key, env),
		PKCS11:   pkcs11Opener(env),
		Store:    keyStoreRef(env),
	})
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer k.Close()
	opts.Signer, opts.Certificates = k.Signer, k.Chain

	src, err := os.Open(in)
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return usageErrorf("%v", err)
	}
	if !st.Mode().IsRegular() {
		return usageErrorf("%s is not a regular file", in)
	}
	err = writeAtomically(out, func(f *os.File) error {
		return pades.Sign(context.Background(), f, src, st.Size(), opts)
	})
	if err != nil {
		if errors.Is(err, tsa.ErrNoToken) || errors.Is(err, pades.ErrNoValidationData) {
			return failf("%s: %v", in, err)
		}
		return usageErrorf("%s: %v", in, err)
	}
	fmt.Fprintf(env.stdout, "signed %s -> %s (PAdES-%s, %s)\n", in, out, opts.Level, k.Chain[0].Subject.CommonName)
	return nil
}

// writeAtomically writes path through a temporary file in the same
// directory, synced and renamed into place only when write succeeds, so
// that path is never created half-written.
func writeAtomically(path string, write func(*os.File) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}

// passwordSource returns the password callback: from an environment
// variable if named, else a prompt on the terminal.
func passwordSource(envVar, keyPath string, env *environment) func() ([]byte, error) {
	return func() ([]byte, error) {
		if envVar != "" {
			v := env.getenv(envVar)
			if v == "" {
				return nil, fmt.Errorf("environment variable %s is empty or unset", envVar)
			}
			return []byte(v), nil
		}
		fd := int(os.Stdin.Fd())
		if !term.IsTerminal(fd) {
			return nil, fmt.Errorf("%s needs a password: use --pass-env VAR or run in a terminal", filepath.Base(keyPath))
		}
		fmt.Fprintf(env.stderr, "Password for %s: ", filepath.Base(keyPath))
		p, err := term.ReadPassword(fd)
		fmt.Fprintln(env.stderr)
		return p, err
	}
}

func parseVisible(s string) (*pades.Visible, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 5 {
		return nil, usageErrorf("--visible wants PAGE,X,Y,W,H")
	}
	page, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || page < 1 {
		return nil, usageErrorf("--visible: bad page number %q", parts[0])
	}
	var f [4]float64
	for i := range f {
		f[i], err = strconv.ParseFloat(strings.TrimSpace(parts[i+1]), 64)
		if err != nil {
			return nil, usageErrorf("--visible: bad number %q", parts[i+1])
		}
	}
	if f[2] <= 0 || f[3] <= 0 {
		return nil, usageErrorf("--visible: width and height must be positive")
	}
	return &pades.Visible{Page: page, X: f[0], Y: f[1], W: f[2], H: f[3]}, nil
}
