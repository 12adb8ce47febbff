package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/identity"
)

func passkey(tenant, userID, credID string, at time.Time) identity.Passkey {
	return identity.Passkey{
		CredentialID: []byte(credID), Tenant: tenant, UserID: userID,
		PublicKey:  append([]byte{0xa5, 0x01, 0x02, 0x03, 0x26}, []byte("cose key of "+credID)...),
		AAGUID:     [16]byte{0xea, 0x9b, 0x8d, 0x66, 0x4d, 0x01, 0x1d, 0x21, 0x3c, 0xe4, 0xb6, 0xb4, 0x8c, 0xb5, 0x75, 0xd4},
		Transports: []string{"internal", "hybrid"}, BackupEligible: true, BackupState: true,
		Name: "Laptop – Ünïcode", CreatedAt: at,
	}
}

func samePasskey(a, b identity.Passkey) bool {
	return bytes.Equal(a.CredentialID, b.CredentialID) && a.Tenant == b.Tenant && a.UserID == b.UserID &&
		bytes.Equal(a.PublicKey, b.PublicKey) && a.SignCount == b.SignCount && a.AAGUID == b.AAGUID &&
		slices.Equal(a.Transports, b.Transports) && a.BackupEligible == b.BackupEligible && a.BackupState == b.BackupState &&
		a.Name == b.Name && a.CreatedAt.Equal(b.CreatedAt) && a.LastUsedAt.Equal(b.LastUsedAt)
}

// testPasskeys: passkeys are stored whole, listed per user oldest first,
// found by credential id with their own tenant, unique across tenants,
// scoped by tenant for listing and deletion, and only for active users.
func testPasskeys(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"), user("t-1", "u-2"), user("t-2", "u-3"))

	// Binary credential ids (every byte value) survive the drivers.
	binID := make([]byte, identity.MaxCredentialID)
	for i := range binID {
		binID[i] = byte(i)
	}
	second := passkey("t-1", "u-1", string(binID), base.Add(time.Minute))
	second.SignCount, second.Transports, second.BackupEligible, second.BackupState = 4_000_000_000, nil, false, false
	second.AAGUID, second.Name = [16]byte{}, ""
	first := passkey("t-1", "u-1", "cred-a", base)
	is(t, "add second", s.AddPasskey(ctx, second), nil)
	is(t, "add first", s.AddPasskey(ctx, first), nil)
	is(t, "add other user's", s.AddPasskey(ctx, passkey("t-1", "u-2", "cred-b", base)), nil)

	got, err := db.B.PasskeysOf(ctx, "t-1", "u-1")
	if err != nil || len(got) != 2 || !samePasskey(got[0], first) || !samePasskey(got[1], second) {
		t.Fatalf("passkeys of u-1: %+v, %v", got, err)
	}
	p, err := db.B.PasskeyByCredentialID(ctx, binID)
	if err != nil || !samePasskey(p, second) {
		t.Fatalf("by credential id: %+v, %v", p, err)
	}
	if p, err := s.PasskeyByCredentialID(ctx, []byte("cred-b")); err != nil || p.Tenant != "t-1" || p.UserID != "u-2" {
		t.Fatalf("by credential id: %+v, %v", p, err)
	}
	_, err = s.PasskeyByCredentialID(ctx, []byte("cred-unknown"))
	is(t, "unknown credential", err, identity.ErrNotFound)

	// A credential id is unique across users and tenants.
	is(t, "same id, other user", s.AddPasskey(ctx, passkey("t-1", "u-2", "cred-a", base)), identity.ErrExists)
	is(t, "same id, other tenant", s.AddPasskey(ctx, passkey("t-2", "u-3", "cred-a", base)), identity.ErrExists)

	// Tenant scoping: the user's id in another tenant names nothing.
	if ps, err := s.PasskeysOf(ctx, "t-2", "u-1"); err != nil || len(ps) != 0 {
		t.Fatalf("passkeys of u-1 in t-2: %+v, %v", ps, err)
	}
	is(t, "add for a user of another tenant", s.AddPasskey(ctx, passkey("t-2", "u-1", "cred-x", base)), identity.ErrNotFound)
	is(t, "delete from another tenant", s.DeletePasskey(ctx, "t-2", "u-1", []byte("cred-a")), identity.ErrNotFound)
	is(t, "delete as another user", s.DeletePasskey(ctx, "t-1", "u-2", []byte("cred-a")), identity.ErrNotFound)

	is(t, "delete", db.B.DeletePasskey(ctx, "t-1", "u-1", []byte("cred-a")), nil)
	is(t, "delete again", s.DeletePasskey(ctx, "t-1", "u-1", []byte("cred-a")), identity.ErrNotFound)
	if ps, _ := s.PasskeysOf(ctx, "t-1", "u-1"); len(ps) != 1 || !samePasskey(ps[0], second) {
		t.Fatalf("after delete: %+v", ps)
	}
	// The deleted id may be registered again.
	is(t, "re-add", s.AddPasskey(ctx, first), nil)

	is(t, "unknown user", s.AddPasskey(ctx, passkey("t-1", "u-none", "cred-n", base)), identity.ErrNotFound)
	if _, err := s.DisableUser(ctx, "t-1", "u-2", base); err != nil {
		t.Fatal(err)
	}
	is(t, "disabled user", s.AddPasskey(ctx, passkey("t-1", "u-2", "cred-d", base)), identity.ErrDisabled)

	for name, mut := range map[string]func(*identity.Passkey){
		"no credential id":    func(p *identity.Passkey) { p.CredentialID = nil },
		"long credential id":  func(p *identity.Passkey) { p.CredentialID = make([]byte, identity.MaxCredentialID+1) },
		"no public key":       func(p *identity.Passkey) { p.PublicKey = nil },
		"long public key":     func(p *identity.Passkey) { p.PublicKey = make([]byte, identity.MaxPublicKey+1) },
		"no tenant":           func(p *identity.Passkey) { p.Tenant = "" },
		"no user":             func(p *identity.Passkey) { p.UserID = "" },
		"long name":           func(p *identity.Passkey) { p.Name = strings.Repeat("n", identity.MaxName+1) },
		"name not UTF-8":      func(p *identity.Passkey) { p.Name = "\xff" },
		"comma in transport":  func(p *identity.Passkey) { p.Transports = []string{"usb,nfc"} },
		"empty transport":     func(p *identity.Passkey) { p.Transports = []string{""} },
		"too many transports": func(p *identity.Passkey) { p.Transports = slices.Repeat([]string{"usb"}, identity.MaxTransports+1) },
		"backup state alone":  func(p *identity.Passkey) { p.BackupEligible = false },
		"no creation time":    func(p *identity.Passkey) { p.CreatedAt = time.Time{} },
	} {
		p := passkey("t-1", "u-1", "cred-invalid", base)
		mut(&p)
		is(t, name, s.AddPasskey(ctx, p), identity.ErrInvalid)
	}
	if _, err := s.PasskeyByCredentialID(ctx, []byte("cred-invalid")); err == nil {
		t.Fatal("an invalid passkey was stored")
	}
}

// testPasskeyCounter: UpdatePasskeyUse is a compare-and-set on the sign
// count that refuses a count not above a non-zero stored one (a cloned
// authenticator) and accepts anything over a zero one.
func testPasskeyCounter(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	mustCreate(t, s, user("t-1", "u-1"))
	is(t, "add", s.AddPasskey(ctx, passkey("t-1", "u-1", "cred", base)), nil)
	id := []byte("cred")
	at := base.Add(time.Hour)
	for i, c := range []struct {
		count uint32
		want  error
	}{
		{0, nil}, // an authenticator without a counter
		{0, nil},
		{5, nil},
		{5, identity.ErrConflict}, // replayed or cloned
		{4, identity.ErrConflict},
		{0, identity.ErrConflict}, // a counter cannot go back to zero
		{6, nil},
		{1<<32 - 1, nil},
		{1<<32 - 1, identity.ErrConflict},
	} {
		s := []identity.Store{db.A, db.B}[i%2]
		is(t, fmt.Sprintf("use %d with count %d", i, c.count), s.UpdatePasskeyUse(ctx, id, c.count, at.Add(time.Duration(i)*time.Second)), c.want)
	}
	p, err := db.B.PasskeyByCredentialID(ctx, id)
	if err != nil || p.SignCount != 1<<32-1 || !p.LastUsedAt.Equal(at.Add(7*time.Second)) {
		t.Fatalf("after uses: count %d, last used %v, %v", p.SignCount, p.LastUsedAt, err)
	}
	is(t, "unknown credential", s.UpdatePasskeyUse(ctx, []byte("cred-none"), 1, at), identity.ErrNotFound)
}

// testPasskeyCounterRaces: of several uses of one counter value racing on
// the two nodes, exactly one is accepted; racing distinct values leave the
// highest accepted one stored, and every value was accepted at most once.
func testPasskeyCounterRaces(t *testing.T, db DB) {
	ctx := t.Context()
	mustCreate(t, db.A, user("t-1", "u-1"))
	is(t, "add", db.A.AddPasskey(ctx, passkey("t-1", "u-1", "cred", base)), nil)
	id := []byte("cred")
	const n = 8
	for round := range 3 {
		count := uint32(10 + round) // the first round starts over a stored zero
		if won := race(t, db, n, identity.ErrConflict, func(s identity.Store, _ int) error {
			return s.UpdatePasskeyUse(ctx, id, count, base)
		}); won != 1 {
			t.Fatalf("count %d accepted %d times", count, won)
		}
	}
	var mu sync.Mutex
	var accepted []uint32
	race(t, db, n, identity.ErrConflict, func(s identity.Store, i int) error {
		c := uint32(100 + i)
		err := s.UpdatePasskeyUse(ctx, id, c, base)
		if err == nil {
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
		}
		return err
	})
	p, err := db.B.PasskeyByCredentialID(ctx, id)
	if err != nil || len(accepted) == 0 || p.SignCount != slices.Max(accepted) {
		t.Fatalf("stored count %d, accepted %v, %v", p.SignCount, accepted, err)
	}
}

// testPasskeyLimits: a user holds at most identity.MaxPasskeys passkeys,
// even when they are added on both nodes at once.
func testPasskeyLimits(t *testing.T, db DB) {
	ctx := t.Context()
	mustCreate(t, db.A, user("t-1", "u-1"))
	won := race(t, db, identity.MaxPasskeys+8, identity.ErrLimit, func(s identity.Store, i int) error {
		return s.AddPasskey(ctx, passkey("t-1", "u-1", fmt.Sprint("cred-", i), base.Add(time.Duration(i)*time.Millisecond)))
	})
	if won != identity.MaxPasskeys {
		t.Fatalf("%d passkeys added, want %d", won, identity.MaxPasskeys)
	}
	ps, err := db.B.PasskeysOf(ctx, "t-1", "u-1")
	if err != nil || len(ps) != identity.MaxPasskeys {
		t.Fatalf("%d passkeys listed, %v", len(ps), err)
	}
}
