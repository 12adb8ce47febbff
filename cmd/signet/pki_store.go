package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
	casqlite "github.com/signet-pki/signet/pki/ca/sqlite"
)

// pkiData is the PKI's part of a data directory, beside the key store's
// files (master.key, keys/, keys.db, audit.*):
//
//	DIR/pki.db         certificate records and CRL numbers
//	DIR/pki.json       which key and certificate file each role uses
//	DIR/pki/ROLE.pem   each role's current certificate
//	DIR/pki.lock       held while a pki command runs
//
// Roles are "ca/NAME" (root, platform, tenants), "ocsp/NAME" (delegated
// responder of CA NAME) and "tsa".
type pkiData struct {
	dir   string
	state pkiState
	keys  *keys.Manager
	log   *auditlog.Log
	store *casqlite.Store
	close func() error
}

type pkiState struct {
	BaseURL string              `json:"base_url"`
	Roles   map[string]*pkiRole `json:"roles"`
}

type pkiRole struct {
	KeyID  string `json:"key_id"`
	Tenant string `json:"tenant,omitempty"`
}

// openPKIData opens (creating if needed) the data directory and takes its
// lock, so that two pki commands never write it at once.
func openPKIData(ctx context.Context, dir string, env *environment) (*pkiData, error) {
	if err := os.MkdirAll(filepath.Join(dir, "pki"), 0o700); err != nil {
		return nil, usageErrorf("%v", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "pki.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, failf("data directory %s is in use by another signet pki command", dir)
	}
	closers := []func() error{lock.Close}
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	fail := func(err error) (*pkiData, error) { closeAll(); return nil, err }

	ks, err := openKeyStore(ctx, dir, env)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, ks.close)
	m, log := ks.m, ks.log
	store, err := casqlite.Open(ctx, filepath.Join(dir, "pki.db"))
	if err != nil {
		return fail(err)
	}
	closers = append(closers, store.Close)
	d := &pkiData{dir: dir, keys: m, log: log, store: store, close: closeAll, state: pkiState{Roles: map[string]*pkiRole{}}}
	b, err := os.ReadFile(filepath.Join(dir, "pki.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fail(err)
	default:
		if err := json.Unmarshal(b, &d.state); err != nil {
			return fail(fmt.Errorf("pki.json: %w", err))
		}
	}
	return d, nil
}

func (d *pkiData) saveState() error {
	b, err := json.MarshalIndent(d.state, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(d.dir, "pki.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(d.dir, "pki.json"))
}

// rolePath maps "ca/acme" to DIR/pki/ca-acme.pem.
func (d *pkiData) rolePath(role string) string {
	b := []byte(role)
	for i := range b {
		if b[i] == '/' {
			b[i] = '-'
		}
	}
	return filepath.Join(d.dir, "pki", string(b)+".pem")
}

func (d *pkiData) loadCert(role string) (*x509.Certificate, error) {
	b, err := os.ReadFile(d.rolePath(role))
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no certificate", d.rolePath(role))
	}
	return x509.ParseCertificate(blk.Bytes)
}

func (d *pkiData) saveCert(role string, c *x509.Certificate) error {
	p := d.rolePath(role)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

var _ pki.Store = (*pkiData)(nil)

// Key implements [pki.Store]: the role's signer (its key's active
// version), the key created with the role's purpose on first use.
func (d *pkiData) Key(ctx context.Context, role pki.Role) (crypto.Signer, ca.KeyRef, error) {
	r, ok := d.state.Roles[role.Name]
	if !ok {
		k, err := d.keys.Create(ctx, keys.CreateRequest{Purpose: role.Purpose, Algorithm: role.Algorithm, Tenant: role.Tenant, Label: "pki " + role.Name})
		if err != nil {
			return nil, ca.KeyRef{}, err
		}
		r = &pkiRole{KeyID: k.ID, Tenant: role.Tenant}
		d.state.Roles[role.Name] = r
		if err := d.saveState(); err != nil {
			return nil, ca.KeyRef{}, err
		}
	}
	s, ref, err := d.keys.Signer(ctx, r.KeyID, role.Purpose, role.SignerOptions()...)
	if err != nil {
		return nil, ca.KeyRef{}, fmt.Errorf("key for %s: %w", role.Name, err)
	}
	return s, ca.KeyRef{ID: ref.KeyID, Version: strconv.Itoa(ref.Version)}, nil
}

// Certificate implements [pki.Store].
func (d *pkiData) Certificate(ctx context.Context, role string) (*x509.Certificate, error) {
	c, err := d.loadCert(role)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return c, err
}

// SetCertificate implements [pki.Store].
func (d *pkiData) SetCertificate(ctx context.Context, role string, c *x509.Certificate) error {
	return d.saveCert(role, c)
}
