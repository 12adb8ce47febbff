package keyadmin

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki/ca"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// fakes of the key manager, the CA's records and the CA.
type fakeKeys map[string]*keys.Key

func (f fakeKeys) List(ctx context.Context, tenant string) ([]*keys.Key, error) {
	var out []*keys.Key
	for _, k := range f {
		if k.Tenant == tenant {
			out = append(out, k)
		}
	}
	return out, nil
}

func (f fakeKeys) Get(ctx context.Context, id string) (*keys.Key, error) {
	if k, ok := f[id]; ok {
		return k, nil
	}
	return nil, keys.ErrNotFound
}

func (f fakeKeys) Rotate(ctx context.Context, id string) (keys.KeyVersionRef, error) {
	k := f[id]
	a := k.Active()
	a.State = keys.StateVerifyOnly
	n := len(k.Versions) + 1
	k.Versions = append(k.Versions, keys.Version{Number: n, State: keys.StateActive, Created: t0})
	return keys.KeyVersionRef{KeyID: id, Version: n}, nil
}

type fakeRecords struct{ recs []ca.Record }

func (f *fakeRecords) Get(ctx context.Context, serial *big.Int) (ca.Record, error) {
	for _, r := range f.recs {
		if r.Serial.Cmp(serial) == 0 {
			return r, nil
		}
	}
	return ca.Record{}, ca.ErrNotFound
}

func (f *fakeRecords) ByKey(ctx context.Context, id, version string) ([]ca.Record, error) {
	var out []ca.Record
	for _, r := range f.recs {
		if r.Key.ID == id && r.Key.Version == version {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeRecords) Revoke(ctx context.Context, serial *big.Int, reason ca.Reason, invalid time.Time) (ca.Record, error) {
	for i, r := range f.recs {
		if r.Serial.Cmp(serial) == 0 {
			if r.Status == ca.StatusRevoked {
				return r, ca.ErrAlreadyRevoked
			}
			f.recs[i].Status, f.recs[i].Reason, f.recs[i].RevokedAt = ca.StatusRevoked, reason, t0
			return f.recs[i], nil
		}
	}
	return ca.Record{}, ca.ErrNotFound
}

func rec(serial int64, issuer string, kind ca.Kind, key, version string, notAfter time.Time) ca.Record {
	return ca.Record{Serial: big.NewInt(serial), Issuer: issuer, Kind: kind, Key: ca.KeyRef{ID: key, Version: version},
		Subject: "CN=x", NotBefore: t0.AddDate(-1, 0, 0), NotAfter: notAfter, Status: ca.StatusGood}
}

func fixture() (*Service, fakeKeys, *fakeRecords) {
	ks := fakeKeys{
		"ca1":   {ID: "ca1", Tenant: "t1", Purpose: keys.PurposeIssuingCA, Versions: []keys.Version{{Number: 1, State: keys.StateActive, Created: t0}}},
		"seal1": {ID: "seal1", Tenant: "t1", Purpose: keys.PurposePlatformSeal, Versions: []keys.Version{{Number: 1, State: keys.StateActive, Created: t0}}},
		"kek1":  {ID: "kek1", Tenant: "t1", Purpose: keys.PurposeDataKeyWrapping, Versions: []keys.Version{{Number: 1, State: keys.StateActive, Created: t0}}},
		"seal2": {ID: "seal2", Tenant: "t2", Purpose: keys.PurposePlatformSeal, Versions: []keys.Version{{Number: 1, State: keys.StateActive, Created: t0}}},
	}
	rs := &fakeRecords{recs: []ca.Record{
		rec(1, "root", ca.KindRoot, "root", "1", t0.AddDate(20, 0, 0)),
		rec(2, "root", ca.KindIssuing, "ca1", "1", t0.AddDate(-1, 0, 0)), // expired
		rec(3, "root", ca.KindIssuing, "ca1", "1", t0.AddDate(5, 0, 0)),  // current
		rec(4, "t1", ca.KindSigner, "seal1", "1", t0.AddDate(1, 0, 0)),
		rec(5, "t1", ca.KindSigner, "seal1", "1", t0.AddDate(1, 0, 0)),
		rec(6, "t1", ca.KindSigner, "", "", t0.AddDate(1, 0, 0)), // a signer's
		rec(7, "t2", ca.KindSigner, "", "", t0.AddDate(1, 0, 0)), // another tenant's signer
		rec(8, "platform", ca.KindTSA, "tsa", "1", t0.AddDate(1, 0, 0)),
	}}
	inUse := map[int64][2]string{3: {"ca/t1", ""}, 8: {"tsa", "platform"}}
	s, err := New(Config{Keys: ks, Certificates: rs, Revoker: rs, Now: func() time.Time { return t0 },
		RotateKEK: func(ctx context.Context, tenant string) (keys.KeyVersionRef, error) { return ks.Rotate(ctx, "kek1") },
		InUse: func(tenant string, serial *big.Int) (string, bool) {
			u := inUse[serial.Int64()]
			return u[0], u[1] == "platform"
		}})
	if err != nil {
		panic(err)
	}
	return s, ks, rs
}

// TestList: one entry per version, the CA's certificates newest first
// with active, retired and expired statuses; another tenant's keys never.
func TestList(t *testing.T) {
	s, _, _ := fixture()
	ks, err := s.List(context.Background(), "t1")
	if err != nil || len(ks) != 3 {
		t.Fatalf("List = %+v, %v", ks, err)
	}
	if ks[0].ID != "ca1" || ks[1].ID != "seal1" || ks[2].ID != "kek1" {
		t.Fatalf("order %s %s %s", ks[0].ID, ks[1].ID, ks[2].ID)
	}
	if c := ks[0].Certificates; len(c) != 2 || c[0].Serial != "3" || c[0].Status != StatusActive || c[1].Status != StatusExpired || ks[0].Rotatable {
		t.Errorf("CA key: %+v", ks[0])
	}
	if c := ks[1].Certificates; len(c) != 2 || c[0].Serial != "5" || c[0].Status != StatusActive || c[1].Status != StatusRetired || !ks[1].Rotatable {
		t.Errorf("seal key: %+v", ks[1])
	}
	if ks[2].Certificate != nil || ks[2].Status != StatusActive || !ks[2].Rotatable {
		t.Errorf("KEK: %+v", ks[2])
	}
	if _, err := s.List(context.Background(), ""); !isKind(err, api.KindForbidden) {
		t.Errorf("the platform: %v", err)
	}
}

// TestRotate: the seal key and the KEK rotate; the CA key and another
// tenant's key do not.
func TestRotate(t *testing.T) {
	s, _, _ := fixture()
	ctx := context.Background()
	for _, id := range []string{"seal1", "kek1"} {
		vs, err := s.Rotate(ctx, "t1", id)
		if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[0].Status != StatusActive || vs[1].Status != StatusRetired {
			t.Errorf("Rotate(%s) = %+v, %v", id, vs, err)
		}
	}
	for _, c := range []struct {
		id   string
		kind api.Kind
	}{{"ca1", api.KindConflict}, {"seal2", api.KindNotFound}, {"nope", api.KindNotFound}} {
		if _, err := s.Rotate(ctx, "t1", c.id); !isKind(err, c.kind) {
			t.Errorf("Rotate(%s): %v", c.id, err)
		}
	}
}

// TestRevoke: what the service needs is refused (409), what is not the
// tenant's is not found, the rest is revoked once.
func TestRevoke(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		serial int64
		kind   api.Kind // 0: revoked
		typ    string
	}{
		{1, api.KindConflict, "certificate-in-use"}, // the root
		{8, api.KindConflict, "certificate-in-use"}, // the current TSA certificate
		{3, api.KindConflict, "certificate-in-use"}, // the tenant CA's current certificate
		{5, api.KindConflict, "certificate-in-use"}, // the seal key's active version's
		{7, api.KindNotFound, "certificate-not-found"},
		{99, api.KindNotFound, "certificate-not-found"},
		{6, 0, ""},
		{2, 0, ""}, // the CA's old certificate, certifying its key
	}
	s, _, _ := fixture()
	for _, tt := range tests {
		c, err := s.Revoke(ctx, "t1", big.NewInt(tt.serial), ca.ReasonKeyCompromise)
		if tt.kind == 0 {
			if err != nil || c.Status != StatusRevoked || c.RevocationReason != "keyCompromise" {
				t.Errorf("Revoke(%d) = %+v, %v", tt.serial, c, err)
			}
			if _, err := s.Revoke(ctx, "t1", big.NewInt(tt.serial), ca.ReasonKeyCompromise); !isType(err, "certificate-revoked") {
				t.Errorf("Revoke(%d) again: %v", tt.serial, err)
			}
			continue
		}
		if !isKind(err, tt.kind) || !isType(err, tt.typ) {
			t.Errorf("Revoke(%d): %v, want %s", tt.serial, err, tt.typ)
		}
	}
	// Once the seal key is rotated, its old certificates may go.
	if _, err := s.Rotate(ctx, "t1", "seal1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, "t1", big.NewInt(5), ca.ReasonSuperseded); err != nil {
		t.Errorf("revoking the retired seal version's certificate: %v", err)
	}
}

func TestParseSerial(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64 // 0: refused
	}{{"1f", 31}, {"1F", 31}, {"0", 0}, {"", 0}, {"-1", 0}, {"xyz", 0}, {"{serial}", 0}, {string(make([]byte, 41)), 0}} {
		n, err := ParseSerial(c.in)
		if (c.want == 0) != (err != nil) || c.want != 0 && n.Int64() != c.want {
			t.Errorf("ParseSerial(%q) = %v, %v", c.in, n, err)
		}
	}
}

func isKind(err error, k api.Kind) bool {
	var e *api.Error
	return errors.As(err, &e) && e.Kind == k
}

func isType(err error, typ string) bool {
	var e *api.Error
	return errors.As(err, &e) && e.Type == typ
}

// FuzzParseSerial: any path segment either parses to a positive serial of
// at most 20 octets that prints back to the same hex, or is refused with
// a 422 problem.
func FuzzParseSerial(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSerial(s)
		if err != nil {
			if !isKind(err, api.KindInvalid) {
				t.Fatalf("ParseSerial(%q): %v, want a 422 problem", s, err)
			}
			return
		}
		if n.Sign() <= 0 || n.BitLen() > 160 {
			t.Fatalf("ParseSerial(%q) = %v", s, n)
		}
		if m, err := ParseSerial(n.Text(16)); err != nil || m.Cmp(n) != 0 {
			t.Fatalf("ParseSerial(%q) does not round-trip: %v, %v", s, m, err)
		}
	})
}
