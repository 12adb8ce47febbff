package postgres_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/keys"
	keyspostgres "github.com/signet-pki/signet/keys/postgres"
	"github.com/signet-pki/signet/keys/soft"
	"github.com/signet-pki/signet/keys/soft/vaulttest"
)

func newVault(t *testing.T, pool *pgxpool.Pool) *keyspostgres.Vault {
	t.Helper()
	v, err := keyspostgres.NewVault(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVault runs the vault suite on a fresh PostgreSQL database.
func TestVault(t *testing.T) {
	vaulttest.Run(t, func(t *testing.T) soft.Vault { return newVault(t, pgtest.Pool(t, database(t))) })
}

func masterKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, soft.MasterKeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// node is one Signet process: a pool, the soft backend over the
// PostgreSQL vault and a key manager over the PostgreSQL metadata.
type node struct {
	backend *soft.Backend
	keys    *keys.Manager
}

func newNode(t *testing.T, url string, mk []byte) *node {
	t.Helper()
	ctx := t.Context()
	pool := pgtest.Pool(t, url)
	b, err := soft.NewContext(ctx, soft.Config{Vault: newVault(t, pool), MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	log, err := auditlog.New(ctx, auditlog.Config{Storage: auditlog.NewMemStore(), Keys: tk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Shutdown(context.Background()) })
	m, err := keys.New(ctx, keys.Config{Store: newStore(t, pool), Backends: []keys.Backend{b}, Recorder: log})
	if err != nil {
		t.Fatal(err)
	}
	return &node{backend: b, keys: m}
}

// TestSoftBackendTwoNodes: a soft backend over the PostgreSQL vault
// generates, signs and destroys; a second node on another pool with the
// same master key signs with the same key (found through the shared key
// metadata); a wrong master key is refused at start-up.
func TestSoftBackendTwoNodes(t *testing.T) {
	ctx := context.Background()
	url := database(t)
	mk := masterKey(t)
	a := newNode(t, url, mk)
	b := newNode(t, url, bytes.Clone(mk))

	k, err := a.keys.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning, Algorithm: keys.ECDSAP256, Label: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("document"))
	pub := k.Versions[0].Public.(*ecdsa.PublicKey)
	for name, n := range map[string]*node{"a": a, "b": b} {
		s, ref, err := n.keys.Signer(ctx, k.ID, keys.PurposeDocumentSigning)
		if err != nil {
			t.Fatalf("node %s: %v", name, err)
		}
		sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil || ref.KeyID != k.ID || !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatalf("node %s: signature with %s/v%d does not verify under the key's public key (%v)", name, ref.KeyID, ref.Version, err)
		}
	}

	// Destroyed on one node, the material is gone for the other.
	h, _, err := a.backend.Generate(ctx, keys.Ed25519, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.backend.Signer(ctx, h); err != nil {
		t.Fatalf("node b cannot load a key node a generated: %v", err)
	}
	if err := a.backend.Destroy(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, err := b.backend.Signer(ctx, h); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("node b after node a destroyed the key: %v, want ErrKeyNotFound", err)
	}
	if err := b.backend.Destroy(ctx, h); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("second destroy: %v, want ErrKeyNotFound", err)
	}

	// A node started with another master key is refused.
	pool := pgtest.Pool(t, url)
	if _, err := soft.NewContext(ctx, soft.Config{Vault: newVault(t, pool), MasterKey: masterKey(t)}); !errors.Is(err, soft.ErrWrongMasterKey) {
		t.Fatalf("wrong master key: %v, want ErrWrongMasterKey", err)
	}
}

// TestMasterKeyRules: with neither SIGNET_MASTER_KEY nor a key file, a
// master key is created only while the vault is empty; once keys are
// sealed in the database, a node without the key is refused.
func TestMasterKeyRules(t *testing.T) {
	ctx := context.Background()
	url := database(t)
	v := newVault(t, pgtest.Pool(t, url))
	dir := t.TempDir()
	first := filepath.Join(dir, "first.key")
	mk, err := soft.LoadMasterKeyVault(ctx, first, "", v, rand.Reader)
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	if _, err := soft.NewContext(ctx, soft.Config{Vault: v, MasterKey: mk}); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.key")
	if _, err := soft.LoadMasterKeyVault(ctx, other, "", newVault(t, pgtest.Pool(t, url)), rand.Reader); !errors.Is(err, soft.ErrNoMasterKey) {
		t.Fatalf("second node without the key: %v, want ErrNoMasterKey", err)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Fatalf("a refused start wrote a key file: %v", err)
	}
	again, err := soft.LoadMasterKeyVault(ctx, first, "", v, rand.Reader)
	if err != nil || !bytes.Equal(again, mk) {
		t.Fatalf("reload: %v, same key %v", err, bytes.Equal(again, mk))
	}
}

// TestNoKeyMaterialInDatabase: after a key is imported, a key generated
// and the master key used, no column of any table holds the private key
// (its seed, its 64-byte form or its PKCS #8 encoding) or the master key,
// in any encoding secretscan knows; the public key is there, so the scan
// does read the key's rows.
func TestNoKeyMaterialInDatabase(t *testing.T) {
	ctx := context.Background()
	url := database(t)
	mk := masterKey(t)
	n := newNode(t, url, mk)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	secrets := [][]byte{priv.Seed(), priv, pkcs8, mk}
	if _, err := n.keys.Import(ctx, keys.CreateRequest{Purpose: keys.PurposeAuditCheckpoint, Algorithm: keys.Ed25519, Label: "note"}, priv); err != nil {
		t.Fatal(err)
	}
	if _, err := n.keys.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping}); err != nil {
		t.Fatal(err)
	}
	dump := pgtest.Dump(t, url)
	for i, s := range secrets {
		for _, f := range secretscan.Forms(string(s)) {
			if bytes.Contains(dump, f) {
				t.Errorf("the database holds secret %d (as %.12q…)", i, f)
			}
		}
	}
	pub := priv.Public().(ed25519.PublicKey)
	if !bytes.Contains(dump, fmt.Appendf(nil, "%x", []byte(pub))) {
		t.Fatal("the dump lacks the public key: the scan read nothing")
	}
	var sealed int
	if err := pgtest.Pool(t, url).QueryRow(ctx, `SELECT count(*) FROM soft_keys WHERE handle LIKE 'soft-%'`).Scan(&sealed); err != nil || sealed != 2 {
		t.Fatalf("%d sealed keys in soft_keys (%v), want 2", sealed, err)
	}
}
