package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/keys/dataseal"
)

// sealed is a value sealed under an object's key at rest.
type sealed struct {
	ad  dataseal.AD
	val []byte
}

// sealObjects opens the keys at rest of the deployment, seals one value
// for each object of each tenant, and closes it.
func sealObjects(t *testing.T, o datadir.Options, dir string, objects map[string]int) []sealed {
	t.Helper()
	ctx := context.Background()
	d, err := datadir.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := d.AtRest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []sealed
	for tenant, n := range objects {
		for i := range n {
			ad := dataseal.AD{Tenant: tenant, Object: fmt.Sprintf("document:%d", i), Field: "content"}
			kek, err := s.ObjectKEK(ctx, ad.Tenant, ad.Object, true)
			if err != nil {
				t.Fatal(err)
			}
			v, err := dataseal.Seal(ctx, kek, ad, []byte("text of "+ad.Object), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, sealed{ad, v})
		}
	}
	return out
}

// destroyOldAndOpen destroys version 1 of every tenant key that has a
// version 2, then checks that every value still opens.
func destroyOldAndOpen(t *testing.T, o datadir.Options, dir string, values []sealed) {
	t.Helper()
	ctx := context.Background()
	d, err := datadir.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m, err := d.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := m.List(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	destroyed := 0
	for _, k := range ks {
		if k.Label == "tenant data keys" && len(k.Versions) == 2 {
			if err := m.Destroy(ctx, k.ID, 1); err != nil {
				t.Fatal(err)
			}
			destroyed++
		}
	}
	if destroyed == 0 {
		t.Fatal("no rotated tenant key")
	}
	s, err := d.AtRest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		kek, err := s.ObjectKEK(ctx, v.ad.Tenant, v.ad.Object, false)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := dataseal.Open(ctx, kek, v.ad, v.val); err != nil || string(got) != "text of "+v.ad.Object {
			t.Fatalf("%s/%s after rewrap and destroy: %q %v", v.ad.Tenant, v.ad.Object, got, err)
		}
	}
}

// TestKeysRewrapCLI: keys rotate-kek gives a tenant's key a new version,
// keys rewrap re-wraps that tenant's data keys (and only those not yet
// under the active version) and says how many; afterwards the old
// version can be destroyed and every value opens. Bad invocations exit 2.
func TestKeysRewrapCLI(t *testing.T) {
	dir := t.TempDir()
	c := &keysCLI{t: t, data: filepath.Join(dir, "data")}
	for _, args := range [][]string{
		{"rewrap"},                       // no key store yet
		{"rotate-kek", "--tenant", "t1"}, // no key store yet
	} {
		if code, _, _ := c.keys(args[0], args[1:]...); code != exitUsage {
			t.Fatalf("keys %v without a key store: exit %d, want %d", args, code, exitUsage)
		}
	}
	values := sealObjects(t, datadir.Options{}, c.data, map[string]int{"t1": 3, "t2": 1})
	for _, args := range [][]string{
		{"rotate-kek"},
		{"rotate-kek", "--tenant", ""},
		{"rotate-kek", "--tenant", "t1", "extra"},
		{"rotate-kek", "--tenant", "nobody"},
		{"rewrap", "extra"},
		{"rewrap", "--bogus"},
	} {
		if code, _, errb := c.keys(args[0], args[1:]...); code != exitUsage {
			t.Errorf("keys %v: exit %d, want %d (%s)", args, code, exitUsage, errb)
		}
	}
	if out := c.mustKeys("rewrap"); out != "re-wrapped 0 data keys\n" {
		t.Fatalf("rewrap before any rotation: %q", out)
	}
	if out := c.mustKeys("rotate-kek", "--tenant", "t1"); !strings.Contains(out, "/v2 is active") {
		t.Fatalf("rotate-kek: %q", out)
	}
	if out := c.mustKeys("rewrap", "--tenant", "t2"); out != "re-wrapped 0 data keys\n" {
		t.Fatalf("rewrap of t2: %q", out)
	}
	if out := c.mustKeys("rewrap", "--tenant", "t1"); out != "re-wrapped 3 data keys\n" {
		t.Fatalf("rewrap of t1: %q", out)
	}
	c.mustKeys("rotate-kek", "--tenant", "t2")
	if out := c.mustKeys("rewrap"); out != "re-wrapped 1 data keys\n" {
		t.Fatalf("rewrap of every tenant: %q", out)
	}
	destroyOldAndOpen(t, datadir.Options{}, c.data, values)
}

// TestKeysRewrapCLIPostgres: the same on a deployment on PostgreSQL,
// named by --database-url.
func TestKeysRewrapCLIPostgres(t *testing.T) {
	owner, app := pgtest.NewDatabase(t)
	mk := make([]byte, 32)
	if _, err := rand.Read(mk); err != nil {
		t.Fatal(err)
	}
	master := base64.StdEncoding.EncodeToString(mk)
	node := filepath.Join(t.TempDir(), "node")
	o := datadir.Options{MasterKey: master, DatabaseURL: app, DatabaseAdminURL: owner}
	values := sealObjects(t, o, node, map[string]int{"t1": 2})
	var out, errb bytes.Buffer
	env := &environment{stdout: &out, stderr: &errb, getenv: func(k string) string {
		if k == "SIGNET_MASTER_KEY" {
			return master
		}
		return ""
	}}
	if err := cmdKeys([]string{"rotate-kek", "--tenant", "t1", "--data", node, "--database-url", app}, env); err != nil {
		t.Fatalf("rotate-kek: %v", err)
	}
	out.Reset()
	if err := cmdKeys([]string{"rewrap", "--data", node, "--database-url", app}, env); err != nil {
		t.Fatalf("rewrap: %v", err)
	}
	if out.String() != "re-wrapped 2 data keys\n" {
		t.Fatalf("rewrap printed %q", out.String())
	}
	if strings.Contains(out.String()+errb.String(), app) {
		t.Fatal("a command printed the database URL")
	}
	destroyOldAndOpen(t, o, node, values)
}
