package webhook

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

type vectors struct {
	Symmetric []struct {
		Secret, ID, Payload, Signature string
		Timestamp                      int64
	}
	Asymmetric []struct {
		Seed, ID, Payload, Signature string
		Timestamp                    int64
	}
	Invalid []string
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Symmetric) == 0 || len(v.Asymmetric) == 0 {
		t.Fatal("no vectors")
	}
	return v
}

func TestSignatureVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Symmetric {
		sec, err := ParseSecret(c.Secret)
		if err != nil {
			t.Fatal(err)
		}
		ts := time.Unix(c.Timestamp, 0)
		if got := SignV1(sec, c.ID, ts, []byte(c.Payload)); got != c.Signature {
			t.Errorf("v1 = %s, want %s", got, c.Signature)
		}
		h := http.Header{}
		h.Set(HeaderID, c.ID)
		h.Set(HeaderTimestamp, strconv.FormatInt(c.Timestamp, 10))
		h.Set(HeaderSignature, c.Signature)
		ver := Verifier{Secrets: []Secret{sec}, Now: func() time.Time { return ts.Add(time.Minute) }}
		if _, _, err := ver.Verify(h, []byte(c.Payload)); err != nil {
			t.Errorf("vector does not verify: %v", err)
		}
		for _, bad := range v.Invalid {
			h.Set(HeaderSignature, bad)
			if _, _, err := ver.Verify(h, []byte(c.Payload)); !errors.Is(err, ErrVerification) {
				t.Errorf("invalid signature %q accepted", bad)
			}
		}
		// Several signatures, one valid: accepted (rotation overlap).
		h.Set(HeaderSignature, strings.Join(append(v.Invalid[:1:1], c.Signature), " "))
		if _, _, err := ver.Verify(h, []byte(c.Payload)); err != nil {
			t.Errorf("multi-signature header: %v", err)
		}
	}
	for _, c := range v.Asymmetric {
		seed, err := base64.StdEncoding.DecodeString(c.Seed)
		if err != nil {
			t.Fatal(err)
		}
		key := ed25519.NewKeyFromSeed(seed)
		ts := time.Unix(c.Timestamp, 0)
		if got := SignV1a(key, c.ID, ts, []byte(c.Payload)); got != c.Signature {
			t.Errorf("v1a = %s, want %s", got, c.Signature)
		}
		pub, err := ParsePublicKey(PublicKeyString(key.Public().(ed25519.PublicKey)))
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set(HeaderID, c.ID)
		h.Set(HeaderTimestamp, strconv.FormatInt(c.Timestamp, 10))
		h.Set(HeaderSignature, c.Signature)
		ver := Verifier{Keys: []ed25519.PublicKey{pub}, Now: func() time.Time { return ts }}
		if _, _, err := ver.Verify(h, []byte(c.Payload)); err != nil {
			t.Errorf("v1a vector does not verify: %v", err)
		}
		if _, _, err := ver.Verify(h, []byte(c.Payload+" ")); err == nil {
			t.Error("v1a accepted a changed body")
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	sec, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"envelope.sent"}`)
	good := Signer{Secrets: []Secret{sec}}.Headers("msg_1", now, body)
	ver := Verifier{Secrets: []Secret{sec}, Now: func() time.Time { return now }}
	if _, _, err := ver.Verify(good, body); err != nil {
		t.Fatalf("good message: %v", err)
	}
	tests := []struct {
		name string
		mod  func(h http.Header) http.Header
		now  time.Time
	}{
		{"missing id", func(h http.Header) http.Header { h.Del(HeaderID); return h }, now},
		{"missing timestamp", func(h http.Header) http.Header { h.Del(HeaderTimestamp); return h }, now},
		{"missing signature", func(h http.Header) http.Header { h.Del(HeaderSignature); return h }, now},
		{"other id", func(h http.Header) http.Header { h.Set(HeaderID, "msg_2"); return h }, now},
		{"old timestamp", func(h http.Header) http.Header { return h }, now.Add(DefaultTolerance + time.Second)},
		{"future timestamp", func(h http.Header) http.Header { return h }, now.Add(-DefaultTolerance - time.Second)},
		{"garbage timestamp", func(h http.Header) http.Header { h.Set(HeaderTimestamp, "x"); return h }, now},
		{"long header", func(h http.Header) http.Header {
			h.Set(HeaderSignature, strings.Repeat("v1,AAAA ", 1000)+h.Get(HeaderSignature))
			return h
		}, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.mod(good.Clone())
			v := ver
			v.Now = func() time.Time { return tt.now }
			if _, _, err := v.Verify(h, body); !errors.Is(err, ErrVerification) {
				t.Errorf("accepted: %v", err)
			}
		})
	}
}

func TestSecretRotationBothSign(t *testing.T) {
	old, _ := NewSecret()
	cur, _ := NewSecret()
	now := time.Now()
	body := []byte("{}")
	h := Signer{Secrets: []Secret{cur, old}}.Headers("msg_r", now, body)
	if n := len(strings.Fields(h.Get(HeaderSignature))); n != 2 {
		t.Fatalf("%d signatures, want 2", n)
	}
	for _, s := range []Secret{old, cur} {
		if _, _, err := (Verifier{Secrets: []Secret{s}}).Verify(h, body); err != nil {
			t.Errorf("a receiver holding one secret rejects: %v", err)
		}
	}
	other, _ := NewSecret()
	if _, _, err := (Verifier{Secrets: []Secret{other}}).Verify(h, body); err == nil {
		t.Error("a third secret verifies")
	}
}

func TestParseSecret(t *testing.T) {
	s, _ := NewSecret()
	if !strings.HasPrefix(s.String(), "whsec_") {
		t.Fatal(s.String())
	}
	back, err := ParseSecret(s.String())
	if err != nil || string(back) != string(s) {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"whsec_", "whsec_!!", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 8)),
		"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65))} {
		if _, err := ParseSecret(bad); err == nil {
			t.Errorf("ParseSecret(%q) accepted", bad)
		}
	}
}

func FuzzVerify(f *testing.F) {
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		f.Fatal(err)
	}
	for _, c := range v.Symmetric {
		f.Add(c.ID, strconv.FormatInt(c.Timestamp, 10), c.Signature, []byte(c.Payload))
	}
	for _, s := range v.Invalid {
		f.Add("msg", "1614265330", s, []byte("{}"))
	}
	sec, _ := ParseSecret(v.Symmetric[0].Secret)
	ver := Verifier{Secrets: []Secret{sec}, Keys: []ed25519.PublicKey{make([]byte, 32)},
		Now: func() time.Time { return time.Unix(1614265330, 0) }}
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		gotID, _, err := ver.Verify(h, body)
		if err == nil && gotID != h.Get(HeaderID) {
			t.Fatal("id changed")
		}
	})
}
