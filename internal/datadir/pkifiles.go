package datadir

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
	"strings"

	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
)

// PKIFiles is the [pki.Store] of `signet pki serve` and the other pki
// commands: which key each role uses, and the base URL written into
// certificates, in pki.json; each role's current certificate in
// pki/ROLE.pem ("ca/acme" in pki/ca-acme.pem). Role keys live in the key
// manager. Roles are "ca/NAME" (root, platform, tenants), "ocsp/NAME"
// (delegated responder of CA NAME) and "tsa". (`signet serve` keeps the
// same in signet.db, see pki/sqlite.)
type PKIFiles struct {
	d     *Dir
	keys  *keys.Manager
	state pkiState
}

type pkiState struct {
	BaseURL string              `json:"base_url"`
	Roles   map[string]*pkiRole `json:"roles"`
}

type pkiRole struct {
	KeyID  string `json:"key_id"`
	Tenant string `json:"tenant,omitempty"`
}

var _ pki.Store = (*PKIFiles)(nil)

// PKIFiles takes the PKI lock (pki.lock; [ErrInUse] if another pki
// command holds it, so that two never write at once), opens the key
// manager and loads pki.json. Close releases the lock.
func (d *Dir) PKIFiles(ctx context.Context) (*PKIFiles, error) {
	if d.closed {
		return nil, errClosed
	}
	if d.pkiFiles != nil {
		return d.pkiFiles, nil
	}
	if _, err := d.mkdir(PKIDir); err != nil {
		return nil, err
	}
	if err := d.lock(PKILock, "another signet pki command"); err != nil {
		return nil, err
	}
	m, err := d.Keys(ctx)
	if err != nil {
		return nil, err
	}
	p := &PKIFiles{d: d, keys: m, state: pkiState{Roles: map[string]*pkiRole{}}}
	b, err := os.ReadFile(d.File(PKIState))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("datadir: %w", err)
	default:
		if err := json.Unmarshal(b, &p.state); err != nil {
			return nil, fmt.Errorf("datadir: %s: %w", d.File(PKIState), err)
		}
		if p.state.Roles == nil {
			p.state.Roles = map[string]*pkiRole{}
		}
	}
	d.pkiFiles = p
	return p, nil
}

// BaseURL returns the URL written into certificates ("" before the first
// run).
func (p *PKIFiles) BaseURL() string { return p.state.BaseURL }

// SetBaseURL sets the base URL if none is set yet (it is saved with the
// first role key) and returns the one in force.
func (p *PKIFiles) SetBaseURL(u string) string {
	if p.state.BaseURL == "" {
		p.state.BaseURL = u
	}
	return p.state.BaseURL
}

// RoleKey returns the key id and tenant of role, and whether the role
// exists.
func (p *PKIFiles) RoleKey(role string) (keyID, tenant string, ok bool) {
	r, ok := p.state.Roles[role]
	if !ok {
		return "", "", false
	}
	return r.KeyID, r.Tenant, true
}

// Tenants returns the issuing CAs of tenants recorded so far, by name,
// with their tenant.
func (p *PKIFiles) Tenants() map[string]string {
	out := map[string]string{}
	for role, r := range p.state.Roles {
		if name, ok := strings.CutPrefix(role, "ca/"); ok && name != ca.RootName {
			out[name] = r.Tenant
		}
	}
	return out
}

func (p *PKIFiles) save() error {
	b, err := json.MarshalIndent(p.state, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(p.d.File(PKIState), append(b, '\n'), 0o600)
}

// rolePath maps "ca/acme" to DIR/pki/ca-acme.pem.
func (p *PKIFiles) rolePath(role string) string {
	return filepath.Join(p.d.File(PKIDir), strings.ReplaceAll(role, "/", "-")+".pem")
}

// Key implements [pki.Store]: the role's signer (its key's active
// version), the key created with the role's purpose on first use.
func (p *PKIFiles) Key(ctx context.Context, role pki.Role) (crypto.Signer, ca.KeyRef, error) {
	r, ok := p.state.Roles[role.Name]
	if !ok {
		k, err := p.keys.Create(ctx, keys.CreateRequest{Purpose: role.Purpose, Algorithm: role.Algorithm, Tenant: role.Tenant, Label: "pki " + role.Name})
		if err != nil {
			return nil, ca.KeyRef{}, err
		}
		r = &pkiRole{KeyID: k.ID, Tenant: role.Tenant}
		p.state.Roles[role.Name] = r
		if err := p.save(); err != nil {
			return nil, ca.KeyRef{}, err
		}
	}
	s, ref, err := p.keys.Signer(ctx, r.KeyID, role.Purpose, role.SignerOptions()...)
	if err != nil {
		return nil, ca.KeyRef{}, fmt.Errorf("key for %s: %w", role.Name, err)
	}
	return s, ca.KeyRef{ID: ref.KeyID, Version: strconv.Itoa(ref.Version)}, nil
}

// Certificate implements [pki.Store]: nil, nil when the role has none.
func (p *PKIFiles) Certificate(ctx context.Context, role string) (*x509.Certificate, error) {
	b, err := os.ReadFile(p.rolePath(role))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no certificate", p.rolePath(role))
	}
	return x509.ParseCertificate(blk.Bytes)
}

// SetCertificate implements [pki.Store]. One process at a time writes
// the files (the PKI lock), so the comparison and the write need no more.
func (p *PKIFiles) SetCertificate(ctx context.Context, role string, old, c *x509.Certificate) error {
	if _, ok := p.state.Roles[role]; !ok {
		return fmt.Errorf("datadir: certificate of %s: the role has no key", role)
	}
	cur, err := p.Certificate(ctx, role)
	if err != nil {
		return err
	}
	if !cur.Equal(old) {
		return fmt.Errorf("datadir: certificate of %s: %w", role, pki.ErrCertificateChanged)
	}
	return writeFileAtomic(p.rolePath(role), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600)
}
