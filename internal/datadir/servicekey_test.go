package datadir_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/keys/soft"
)

// fixedMaster is a master key whose derived secrets were recorded before
// the service key existed.
const fixedMaster = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// secrets returns the service's derived secrets of d, and whether a value
// sealed by the identity sealer of the single-process code before the
// service key (nonce || ciphertext || tag of "x", associated data "ad")
// opens.
func secrets(t *testing.T, d *datadir.Dir) (codes, recovery, idem string, sealedOpens bool) {
	t.Helper()
	ctx := context.Background()
	a, err := d.RecipientCodeKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.RecoveryCodeKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.IdempotencyHashKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.IdentitySealer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := hex.DecodeString("7994ad88aed9a959069e8bfe523c4c59fcfaef864f2712f6f5a2d0c775")
	pt, err := s.Open(old, []byte("ad"))
	return hex.EncodeToString(a), hex.EncodeToString(b), hex.EncodeToString(c), err == nil && string(pt) == "x"
}

// The secrets a single-process data directory derives from its master
// key are byte for byte those it derived before the service key, and the
// api role, holding only the exported service key, gets the same.
func TestServiceSecretsUnchangedAndShared(t *testing.T) {
	const (
		wantCodes    = "c4a02fa471f2d35a9322c449ce1af33a97179124c4e15c82e2b2258d0f4e8c0d"
		wantRecovery = "a4e409d37b4353acc1c595e39873683d26a8b896ba247e14f0bc5401d68c539c"
		wantIdem     = "03d3195ab3d4c0748c7d9254ccc7759074950381e251e912725180a148070e94"
	)
	single := open(t, t.TempDir(), datadir.Options{MasterKey: fixedMaster})
	codes, recovery, idem, opens := secrets(t, single)
	if codes != wantCodes || recovery != wantRecovery || idem != wantIdem || !opens {
		t.Fatalf("single-process secrets changed: %s %s %s, old sealed value opens: %v", codes, recovery, idem, opens)
	}
	out := filepath.Join(t.TempDir(), "service.key")
	if err := single.ExportServiceKey(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("exported service key: %v, mode %v", err, st.Mode())
	}
	if err := single.ExportServiceKey(context.Background(), out); err == nil {
		t.Fatal("export overwrote an existing file")
	}
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}

	// The api role: a backend that is not the soft store of this
	// directory, the service key from the environment or the file.
	other := soft.MasterKeySize
	mk := make([]byte, other)
	rand.Read(mk)
	backend, err := soft.New(soft.Config{Dir: t.TempDir(), MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		env  string
		file bool
	}{{"environment", string(text), false}, {"file", "", true}} {
		dir := t.TempDir()
		if tt.file {
			if err := os.WriteFile(filepath.Join(dir, datadir.ServiceKeyFile), text, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		api := open(t, dir, datadir.Options{Backend: backend, ServiceKey: tt.env})
		c, r, i, o := secrets(t, api)
		if c != wantCodes || r != wantRecovery || i != wantIdem || !o {
			t.Fatalf("%s: api role's secrets differ from the single process's", tt.name)
		}
		if _, err := api.KeyBackend(context.Background()); err == nil {
			t.Fatalf("%s: the api role opened the software key backend", tt.name)
		}
		if err := api.ExportServiceKey(context.Background(), filepath.Join(dir, "again")); err == nil {
			t.Fatalf("%s: the api role exported a service key", tt.name)
		}
		if _, err := os.Stat(filepath.Join(dir, datadir.MasterKey)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: the api role made a master key file: %v", tt.name, err)
		}
		b, err := api.Backend(context.Background())
		if err != nil || b != backend {
			t.Fatalf("%s: Backend is not the configured one: %v", tt.name, err)
		}
	}
}

func TestServiceKeyRefusals(t *testing.T) {
	backend, err := soft.New(soft.Config{Dir: t.TempDir(), MasterKey: make([]byte, soft.MasterKeySize)})
	if err != nil {
		t.Fatal(err)
	}
	good := datadir.DeriveServiceKey(make([]byte, 32)).Encode()
	for _, tt := range []struct {
		name, env, file string
		mode            os.FileMode
		want            string
	}{
		{"missing", "", "", 0, "needs the service key"},
		{"not a service key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "", 0, "not a service key"},
		{"truncated", good[:len(good)-4], "", 0, "damaged"},
		{"file readable by others", "", good, 0o644, "mode"},
	} {
		dir := t.TempDir()
		if tt.file != "" {
			p := filepath.Join(dir, datadir.ServiceKeyFile)
			if err := os.WriteFile(p, []byte(tt.file), tt.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, tt.mode)
		}
		d := open(t, dir, datadir.Options{Backend: backend, ServiceKey: tt.env})
		_, err := d.RecipientCodeKey(context.Background())
		if err == nil || !errors.Is(err, datadir.ErrSecret) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want a secret error mentioning %q", tt.name, err, tt.want)
		}
	}
	k, err := datadir.ParseServiceKey(good)
	if err != nil || !k.Equal(datadir.DeriveServiceKey(make([]byte, 32))) {
		t.Fatalf("round trip: %v", err)
	}
	if s := k.String() + k.GoString(); strings.Contains(s, good[len("signet-service-key-v1:"):][:10]) {
		t.Fatal("the service key prints its secrets")
	}
}
