//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
)

// eventLog is a keys.Recorder that keeps valid events in memory.
type eventLog struct {
	mu     sync.Mutex
	events []auditlog.Event
}

func (r *eventLog) Record(ctx context.Context, e auditlog.Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

// newManager returns a keys.Manager whose only backend is b.
func newManager(t testing.TB, b *Backend) *keys.Manager {
	t.Helper()
	m, err := keys.New(context.Background(), keys.Config{Store: keys.NewMemStore(), Backends: []keys.Backend{b}, Recorder: &eventLog{}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// objectsWithID counts the token objects whose CKA_ID is the hex handle.
func objectsWithID(t *testing.T, b *Backend, handle string) int {
	t.Helper()
	id, err := parseHandle(handle)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = b.with(context.Background(), "count", func(sh p11.SessionHandle) error {
		objs, err := b.findObjects(sh, 16, p11.NewAttribute(p11.CKA_ID, id))
		n = len(objs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTenantKEKThroughManager creates a tenant's key-encryption key in the
// token through keys.Manager and follows it through its life: wrap and
// unwrap, refusal of the wrong additional data and of every tampered part
// of a blob, rotation (the old version still unwraps, new blobs use the new
// version), destruction of the old version (its blobs stop opening and its
// object leaves the token) and crypto-shredding of the whole key.
func TestTenantKEKThroughManager(t *testing.T) {
	b := openTest(t, 0)
	m := newManager(t, b)
	ctx := context.Background()
	k, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping, Tenant: "tenant-a", Label: "tenant-a KEK"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if k.Backend != "pkcs11:"+testToken || k.Algorithm != keys.AES256 || k.Tenant != "tenant-a" {
		t.Fatalf("key %s: backend %q, algorithm %q, tenant %q", k.ID, k.Backend, k.Algorithm, k.Tenant)
	}
	v1 := k.Versions[0].Handle
	if objectsWithID(t, b, v1) != 1 {
		t.Fatalf("the token does not hold exactly one object for %s/v1", k.ID)
	}
	dataKey := make([]byte, 32)
	rand.Read(dataKey)
	aad := []byte("content:0123")
	blob1, err := m.Wrap(ctx, k.ID, dataKey, aad)
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	if bytes.Contains(blob1, dataKey) {
		t.Fatal("the wrapped blob contains the data key")
	}
	got, err := m.Unwrap(ctx, k.ID, blob1, aad)
	if err != nil || !bytes.Equal(got, dataKey) {
		t.Fatalf("Unwrap = %x, %v; want the data key", got, err)
	}
	if _, err := m.Unwrap(ctx, k.ID, blob1, []byte("content:0124")); !errors.Is(err, ErrUnwrap) {
		t.Errorf("Unwrap with other additional data: %v, want ErrUnwrap", err)
	}
	// The Manager's header is "SKW1" and the version (8 bytes); then the
	// token's IV (12), ciphertext (32) and tag (16).
	if len(blob1) != 8+gcmIVSize+len(dataKey)+gcmTagSize {
		t.Fatalf("blob of %d bytes", len(blob1))
	}
	for _, part := range []struct {
		name string
		at   int
	}{{"IV", 8}, {"IV end", 8 + gcmIVSize - 1}, {"ciphertext", 8 + gcmIVSize}, {"ciphertext end", 8 + gcmIVSize + 31}, {"tag", len(blob1) - gcmTagSize}, {"tag end", len(blob1) - 1}} {
		bad := bytes.Clone(blob1)
		bad[part.at] ^= 0x80
		if pt, err := m.Unwrap(ctx, k.ID, bad, aad); !errors.Is(err, ErrUnwrap) {
			t.Errorf("Unwrap with the %s flipped: %x, %v; want ErrUnwrap", part.name, pt, err)
		}
	}
	for _, n := range []int{len(blob1) - 1, 8 + gcmIVSize + gcmTagSize, 8 + gcmIVSize + gcmTagSize - 1, 9} {
		if _, err := m.Unwrap(ctx, k.ID, blob1[:n], aad); !errors.Is(err, ErrUnwrap) {
			t.Errorf("Unwrap of the blob cut to %d bytes: %v, want ErrUnwrap", n, err)
		}
	}

	ref, err := m.Rotate(ctx, k.ID)
	if err != nil || ref.Version != 2 {
		t.Fatalf("Rotate = %+v, %v", ref, err)
	}
	blob2, err := m.Wrap(ctx, k.ID, dataKey, aad)
	if err != nil {
		t.Fatalf("Wrap after rotation: %v", err)
	}
	if n, _, err := keys.ParseWrapped(blob2); err != nil || n != 2 {
		t.Fatalf("blob made after rotation names version %d (%v), want 2", n, err)
	}
	for i, blob := range [][]byte{blob1, blob2} {
		if got, err := m.Unwrap(ctx, k.ID, blob, aad); err != nil || !bytes.Equal(got, dataKey) {
			t.Errorf("Unwrap of the v%d blob after rotation: %x, %v", i+1, got, err)
		}
	}

	if err := m.Destroy(ctx, k.ID, 1); err != nil {
		t.Fatalf("Destroy v1: %v", err)
	}
	if _, err := m.Unwrap(ctx, k.ID, blob1, aad); err == nil {
		t.Error("the v1 blob still opens after v1 was destroyed")
	}
	if _, err := b.Unwrap(ctx, v1, blob1[8:], aad); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("the token still opens the v1 blob after Destroy: %v, want ErrKeyNotFound", err)
	}
	if n := objectsWithID(t, b, v1); n != 0 {
		t.Errorf("%d objects with the id of v1 left in the token", n)
	}
	if got, err := m.Unwrap(ctx, k.ID, blob2, aad); err != nil || !bytes.Equal(got, dataKey) {
		t.Errorf("Unwrap of the v2 blob after v1 was destroyed: %x, %v", got, err)
	}

	// Crypto-shredding: revoke and destroy every version.
	if _, err := m.Revoke(ctx, k.ID, 0, keys.ReasonCessationOfOperation, time.Time{}); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if err := m.Destroy(ctx, k.ID, 2); err != nil {
		t.Fatalf("Destroy v2: %v", err)
	}
	if _, err := m.Unwrap(ctx, k.ID, blob2, aad); err == nil {
		t.Error("the v2 blob still opens after the key was shredded")
	}
	after, err := m.Get(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range after.Versions {
		if v.State != keys.StateDestroyed {
			t.Errorf("v%d is %s after shredding", v.Number, v.State)
		}
		if n := objectsWithID(t, b, v.Handle); n != 0 {
			t.Errorf("%d objects of v%d left in the token", n, v.Number)
		}
	}
}

// TestKEKNotReadable checks that a key-encryption key generated in the
// token is an AES-256 secret key that is sensitive, never extractable,
// kept on the token and usable only to encrypt and decrypt, that the token
// refuses to reveal CKA_VALUE (CKR_ATTRIBUTE_SENSITIVE), and that OpenSC's
// pkcs11-tool can neither read it nor see another use.
func TestKEKNotReadable(t *testing.T) {
	b := openTest(t, 0)
	m := newManager(t, b)
	ctx := context.Background()
	k, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping, Tenant: "tenant-b"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	handle := k.Versions[0].Handle
	label := k.ID + "/v1"
	t.Cleanup(func() { b.Destroy(ctx, handle) })
	id, _ := parseHandle(handle)
	err = b.with(ctx, "inspect", func(sh p11.SessionHandle) error {
		objs, err := b.findObjects(sh, 16, p11.NewAttribute(p11.CKA_ID, id))
		if err != nil || len(objs) != 1 {
			return fmt.Errorf("objects with the key's id: %d, %v; want 1", len(objs), err)
		}
		want := []struct {
			attr uint
			name string
			want []byte
		}{
			{p11.CKA_CLASS, "CKA_CLASS", ulongBytes(p11.CKO_SECRET_KEY)},
			{p11.CKA_KEY_TYPE, "CKA_KEY_TYPE", ulongBytes(p11.CKK_AES)},
			{p11.CKA_VALUE_LEN, "CKA_VALUE_LEN", ulongBytes(32)},
			{p11.CKA_LABEL, "CKA_LABEL", []byte(label)},
			{p11.CKA_TOKEN, "CKA_TOKEN", []byte{1}},
			{p11.CKA_PRIVATE, "CKA_PRIVATE", []byte{1}},
			{p11.CKA_SENSITIVE, "CKA_SENSITIVE", []byte{1}},
			{p11.CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", []byte{1}},
			{p11.CKA_EXTRACTABLE, "CKA_EXTRACTABLE", []byte{0}},
			{p11.CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", []byte{1}},
			{p11.CKA_ENCRYPT, "CKA_ENCRYPT", []byte{1}},
			{p11.CKA_DECRYPT, "CKA_DECRYPT", []byte{1}},
			{p11.CKA_WRAP, "CKA_WRAP", []byte{0}},
			{p11.CKA_UNWRAP, "CKA_UNWRAP", []byte{0}},
			{p11.CKA_SIGN, "CKA_SIGN", []byte{0}},
			{p11.CKA_VERIFY, "CKA_VERIFY", []byte{0}},
			{p11.CKA_DERIVE, "CKA_DERIVE", []byte{0}},
		}
		for _, w := range want {
			a, err := b.mod.ctx.GetAttributeValue(sh, objs[0], []*p11.Attribute{p11.NewAttribute(w.attr, nil)})
			if err != nil {
				return fmt.Errorf("%s: %v", w.name, err)
			}
			if !bytes.Equal(a[0].Value, w.want) {
				t.Errorf("%s = %x, want %x", w.name, a[0].Value, w.want)
			}
		}
		a, err := b.mod.ctx.GetAttributeValue(sh, objs[0], []*p11.Attribute{p11.NewAttribute(p11.CKA_VALUE, nil)})
		if !errors.Is(err, p11.Error(p11.CKR_ATTRIBUTE_SENSITIVE)) {
			t.Errorf("C_GetAttributeValue(CKA_VALUE) returned %d attributes, %v; want CKR_ATTRIBUTE_SENSITIVE", len(a), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := pkcs11Tool("--read-object", "--type", "secrkey", "--id", handle, "-o", filepath.Join(t.TempDir(), "key"))
	if !strings.Contains(string(out), "CKR_ATTRIBUTE_SENSITIVE") {
		t.Errorf("pkcs11-tool --read-object --type secrkey did not meet CKR_ATTRIBUTE_SENSITIVE:\n%s", out)
	}
	out, err = pkcs11Tool("--list-objects", "--type", "secrkey", "--id", handle)
	if err != nil {
		t.Fatalf("pkcs11-tool --list-objects: %v\n%s", err, out)
	}
	for _, want := range []string{"AES length 32", "label:      " + label, "Usage:      encrypt, decrypt\n", "Access:     sensitive, always sensitive, never extractable, local"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("pkcs11-tool --list-objects does not show %q:\n%s", want, out)
		}
	}
	if _, _, err := b.Generate(ctx, keys.AES256, label); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second Generate with label %q: %v, want refusal", label, err)
	}
}

// ulongBytes is v as a CK_ULONG attribute value on this platform.
func ulongBytes(v uint) []byte { return p11.NewAttribute(0, v).Value }

// createKnownKey stores an AES-256 key of known value in the token, so that
// blobs can be checked against Go's AES-GCM. It returns its handle.
func createKnownKey(t *testing.T, b *Backend, value []byte) string {
	t.Helper()
	id := make([]byte, 16)
	rand.Read(id)
	err := b.with(context.Background(), "create test key", func(sh p11.SessionHandle) error {
		_, err := b.mod.ctx.CreateObject(sh, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_AES),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_ENCRYPT, true),
			p11.NewAttribute(p11.CKA_DECRYPT, true),
			p11.NewAttribute(p11.CKA_VALUE, value),
			p11.NewAttribute(p11.CKA_ID, id),
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h := fmt.Sprintf("%x", id)
	t.Cleanup(func() { b.Destroy(context.Background(), h) })
	return h
}

// TestWrapFormat checks the blob layout against Go's AES-GCM under a key of
// known value: what the token wraps opens with crypto/cipher (IV first,
// then ciphertext and a 16-byte tag, aad as additional data), and what
// crypto/cipher seals opens in the token. Two wraps of one value use two
// IVs.
func TestWrapFormat(t *testing.T) {
	b := openTest(t, 0)
	ctx := context.Background()
	value := make([]byte, 32)
	rand.Read(value)
	h := createKnownKey(t, b, value)
	blk, _ := aes.NewCipher(value)
	gcm, _ := cipher.NewGCM(blk)
	for _, tt := range []struct {
		name    string
		pt, aad []byte
	}{
		{"data key", bytes.Repeat([]byte{7}, 32), []byte("signet wrap v1\x00k1\x001\x00content:ab")},
		{"empty aad", []byte("x"), nil},
		{"empty plaintext", nil, []byte("aad")},
		{"largest", make([]byte, MaxWrapSize), []byte("aad")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			blob, err := b.Wrap(ctx, h, tt.pt, tt.aad)
			if err != nil {
				t.Fatalf("Wrap: %v", err)
			}
			if len(blob) != gcmIVSize+len(tt.pt)+gcmTagSize {
				t.Fatalf("blob of %d bytes for %d of plaintext", len(blob), len(tt.pt))
			}
			got, err := gcm.Open(nil, blob[:gcmIVSize], blob[gcmIVSize:], tt.aad)
			if err != nil || !bytes.Equal(got, tt.pt) {
				t.Fatalf("crypto/cipher cannot open the token's blob: %v", err)
			}
			again, err := b.Wrap(ctx, h, tt.pt, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(again[:gcmIVSize], blob[:gcmIVSize]) {
				t.Error("two wraps used the same IV")
			}
			iv := make([]byte, gcmIVSize)
			rand.Read(iv)
			sealed := gcm.Seal(iv, iv, tt.pt, tt.aad)
			got, err = b.Unwrap(ctx, h, sealed, tt.aad)
			if err != nil || !bytes.Equal(got, tt.pt) {
				t.Fatalf("the token cannot open crypto/cipher's blob: %v", err)
			}
		})
	}
	if _, err := b.Wrap(ctx, h, make([]byte, MaxWrapSize+1), nil); err == nil {
		t.Error("Wrap accepted more than MaxWrapSize bytes")
	}
}

// TestWrapRefusals checks that malformed blobs, unknown handles and keys of
// the wrong kind fail with the documented errors, not panics.
func TestWrapRefusals(t *testing.T) {
	b := openTest(t, 0)
	ctx := context.Background()
	h, pub, err := b.Generate(ctx, keys.AES256, "refusals")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Destroy(ctx, h) })
	if pub != nil {
		t.Errorf("Generate(AES256) returned a public key %T", pub)
	}
	good, err := b.Wrap(ctx, h, []byte("0123456789abcdef0123456789abcdef"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[string][]byte{
		"nil":              nil,
		"IV only":          good[:gcmIVSize],
		"one byte short":   good[:gcmIVSize+gcmTagSize-1],
		"IV and tag only":  good[:gcmIVSize+gcmTagSize],
		"zeros":            make([]byte, len(good)),
		"longer than any":  make([]byte, gcmIVSize+MaxWrapSize+gcmTagSize+1),
		"extra byte":       append(bytes.Clone(good), 0),
		"other key's blob": nil, // filled below
	}
	other, _, err := b.Generate(ctx, keys.AES256, "refusals-other")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Destroy(ctx, other) })
	if blobs["other key's blob"], err = b.Wrap(ctx, other, []byte("0123456789abcdef0123456789abcdef"), []byte("ad")); err != nil {
		t.Fatal(err)
	}
	for name, blob := range blobs {
		if pt, err := b.Unwrap(ctx, h, blob, []byte("ad")); !errors.Is(err, ErrUnwrap) || pt != nil {
			t.Errorf("Unwrap(%s) = %x, %v; want ErrUnwrap", name, pt, err)
		}
	}
	ec, _, err := b.Generate(ctx, keys.ECDSAP256, "refusals-ec")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Destroy(ctx, ec) })
	for _, handle := range []string{"", "zz", strings.Repeat("ab", 65), "00112233445566778899aabbccddeeff", ec} {
		if _, err := b.Wrap(ctx, handle, []byte("k"), nil); !errors.Is(err, keys.ErrKeyNotFound) {
			t.Errorf("Wrap(%q): %v, want ErrKeyNotFound", handle, err)
		}
		if _, err := b.Unwrap(ctx, handle, good, []byte("ad")); !errors.Is(err, keys.ErrKeyNotFound) {
			t.Errorf("Unwrap(%q): %v, want ErrKeyNotFound", handle, err)
		}
	}
	if _, err := b.Signer(ctx, h); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("Signer on an AES key: %v, want ErrKeyNotFound", err)
	}
	// A failed unwrap leaves the backend working.
	if _, err := b.Unwrap(ctx, h, good, []byte("ad")); err != nil {
		t.Errorf("Unwrap after the refusals: %v", err)
	}
}

// TestConcurrentWrap wraps and unwraps from many goroutines through a pool
// of two sessions, with wrong additional data mixed in.
func TestConcurrentWrap(t *testing.T) {
	b := openTest(t, 2)
	ctx := context.Background()
	h, _, err := b.Generate(ctx, keys.AES256, "concurrent-wrap")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Destroy(ctx, h) })
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				dk := fmt.Appendf(nil, "data key %d/%d", g, i)
				aad := fmt.Appendf(nil, "object %d/%d", g, i)
				blob, err := b.Wrap(ctx, h, dk, aad)
				if err == nil {
					var got []byte
					if got, err = b.Unwrap(ctx, h, blob, aad); err == nil && !bytes.Equal(got, dk) {
						err = errors.New("round trip changed the data key")
					}
				}
				if err == nil && i%5 == 0 {
					if _, werr := b.Unwrap(ctx, h, blob, []byte("other")); !errors.Is(werr, ErrUnwrap) {
						err = fmt.Errorf("wrong aad: %v", werr)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(b.pool.open); n > 2 {
		t.Errorf("%d sessions open, MaxSessions is 2", n)
	}
}

// TestUnwrapFailureClassification checks how Unwrap tells a blob that
// does not open from a token that fails: the return values that mean a bad
// blob say so; generic failures count as the blob's fault only when a
// probe round trip under the key works; other failures, and a closed
// backend, are the token's.
func TestUnwrapFailureClassification(t *testing.T) {
	b := openTest(t, 0)
	ctx := context.Background()
	h, _, err := b.Generate(ctx, keys.AES256, "classify")
	if err != nil {
		t.Fatal(err)
	}
	live, _ := parseHandle(h)
	gone, _ := parseHandle("00112233445566778899aabbccddeeff")
	tests := []struct {
		name string
		id   []byte
		err  error
		want bool
	}{
		{"CKR_ENCRYPTED_DATA_INVALID", gone, p11.Error(p11.CKR_ENCRYPTED_DATA_INVALID), true},
		{"CKR_ENCRYPTED_DATA_LEN_RANGE", gone, p11.Error(p11.CKR_ENCRYPTED_DATA_LEN_RANGE), true},
		{"CKR_AEAD_DECRYPT_FAILED", gone, p11.Error(ckrAEADDecryptFailed), true},
		{"general error, token works", live, p11.Error(p11.CKR_GENERAL_ERROR), true},
		{"function failed, token works", live, p11.Error(p11.CKR_FUNCTION_FAILED), true},
		{"general error, probe fails", gone, p11.Error(p11.CKR_GENERAL_ERROR), false},
		{"device error", live, p11.Error(p11.CKR_DEVICE_ERROR), false},
		{"session lost", live, p11.Error(p11.CKR_SESSION_HANDLE_INVALID), false},
		{"not a PKCS#11 error", live, errors.New("other"), false},
	}
	for _, tt := range tests {
		if got := b.blobAtFault(ctx, tt.id, tt.err); got != tt.want {
			t.Errorf("%s: blobAtFault = %t, want %t", tt.name, got, tt.want)
		}
	}
	blob, err := b.Wrap(ctx, h, []byte("dk"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Destroy(ctx, h); err != nil {
		t.Fatal(err)
	}
	closed, err := Open(ctx, Config{Module: softhsmModule, TokenLabel: testToken, PIN: testPIN})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if _, err := closed.Unwrap(ctx, h, blob, nil); !errors.Is(err, keys.ErrBackendUnavailable) || errors.Is(err, ErrUnwrap) {
		t.Errorf("Unwrap on a closed backend: %v, want ErrBackendUnavailable only", err)
	}
}

// TestSecretHandleCache checks the cache of AES keys' object handles: a
// cached handle that names another object (as it may once its key is
// destroyed elsewhere and the handle reused) is not used by Wrap, and
// Unwrap, which tries it, falls back to a search; a key destroyed behind
// the Backend's back is reported missing; the cache is bounded.
func TestSecretHandleCache(t *testing.T) {
	b := openTest(t, 0)
	ctx := context.Background()
	ha, _, err := b.Generate(ctx, keys.AES256, "cache-a")
	if err != nil {
		t.Fatal(err)
	}
	hb, _, err := b.Generate(ctx, keys.AES256, "cache-b")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Destroy(ctx, hb) })
	if _, err := b.Wrap(ctx, hb, []byte("warm"), nil); err != nil {
		t.Fatal(err)
	}
	objB, ok := b.secrets.get(hb)
	if !ok {
		t.Fatal("Wrap did not cache the key's handle")
	}
	b.secrets.put(ha, objB) // a stale entry: a's handle now names b's object
	blob, err := b.Wrap(ctx, ha, []byte("data key"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Unwrap(ctx, hb, blob, []byte("ad")); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("a blob wrapped with key a opens with key b (%v): the stale handle was used", err)
	}
	if got, err := b.Unwrap(ctx, ha, blob, []byte("ad")); err != nil || string(got) != "data key" {
		t.Fatalf("Unwrap with key a: %q, %v", got, err)
	}
	if o, _ := b.secrets.get(ha); o == objB {
		t.Error("the stale entry was kept")
	}
	// Unwrap trusts the cache, and searches when the cached handle fails.
	b.secrets.put(ha, objB)
	if got, err := b.Unwrap(ctx, ha, blob, []byte("ad")); err != nil || string(got) != "data key" {
		t.Fatalf("Unwrap with a stale cached handle: %q, %v", got, err)
	}
	if o, _ := b.secrets.get(ha); o == objB {
		t.Error("the stale entry was kept after Unwrap")
	}
	// Destroyed behind the Backend's back: the cached handle is stale.
	id, _ := parseHandle(ha)
	err = b.with(ctx, "destroy elsewhere", func(sh p11.SessionHandle) error {
		objs, err := b.findObjects(sh, 2, p11.NewAttribute(p11.CKA_ID, id))
		if err != nil || len(objs) != 1 {
			return fmt.Errorf("%d objects, %v", len(objs), err)
		}
		return b.mod.ctx.DestroyObject(sh, objs[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Wrap(ctx, ha, []byte("x"), nil); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("Wrap with a key destroyed elsewhere: %v, want ErrKeyNotFound", err)
	}
	var c secretCache
	for i := range maxCachedSecrets + 100 {
		c.put(fmt.Sprint(i), p11.ObjectHandle(i))
	}
	if len(c.m) > maxCachedSecrets {
		t.Errorf("the cache holds %d handles, at most %d", len(c.m), maxCachedSecrets)
	}
}
