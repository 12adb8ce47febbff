package anchor_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
)

func TestCosignerKey(t *testing.T) {
	pub, _ := newEd25519(t)
	k, err := anchor.NewCosignerKey("witness.test/k", pub)
	if err != nil {
		t.Fatal(err)
	}
	// The key ID is SHA-256(name ‖ "\n" ‖ 0x04 ‖ key)[:4], recomputed here.
	sum := sha256.Sum256(append([]byte("witness.test/k\n\x04"), pub...))
	if want := binary.BigEndian.Uint32(sum[:4]); k.KeyID() != want {
		t.Fatalf("KeyID %08x, want %08x", k.KeyID(), want)
	}
	back, err := anchor.ParseCosignerKey(k.String())
	if err != nil || back.String() != k.String() {
		t.Fatalf("ParseCosignerKey(String()) = %v, %v", back, err)
	}
	vkey := k.String()
	name, rest, _ := strings.Cut(vkey, "+")
	id, key64, _ := strings.Cut(rest, "+")
	raw, _ := base64.StdEncoding.DecodeString(key64)
	note := append([]byte{0x01}, raw[1:]...) // a signed-note Ed25519 key, not a cosigner key
	for _, tc := range []struct{ name, vkey string }{
		{"empty", ""},
		{"no key", name + "+" + id},
		{"short id", name + "+" + id[1:] + "+" + key64},
		{"wrong id", name + "+00000000+" + key64},
		{"note key type", name + "+" + id + "+" + base64.StdEncoding.EncodeToString(note)},
		{"short key", name + "+" + id + "+" + base64.StdEncoding.EncodeToString(raw[:20])},
		{"space in name", "a b+" + id + "+" + key64},
		{"bad base64", name + "+" + id + "+" + key64[1:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := anchor.ParseCosignerKey(tc.vkey); !errors.Is(err, anchor.ErrMalformed) {
				t.Fatalf("ParseCosignerKey(%q) = %v, want ErrMalformed", tc.vkey, err)
			}
		})
	}
	if _, err := anchor.NewCosignerKey("", pub); !errors.Is(err, anchor.ErrMalformed) {
		t.Errorf("empty name: %v", err)
	}
	if _, err := anchor.NewCosignerKey("a+b", pub); !errors.Is(err, anchor.ErrMalformed) {
		t.Errorf("plus in name: %v", err)
	}
}

// TestCosignatureSpecExample checks parsing against the example line of
// C2SP tlog-cosignature.
func TestCosignatureSpecExample(t *testing.T) {
	const line = "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
	c, err := anchor.ParseCosignature(line)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "witness.example.com/w1" || c.KeyID != 0x8d66cf3f || c.Timestamp != 1679315147 || len(c.Signature) != 64 {
		t.Fatalf("parsed %+v", c)
	}
	if c.String() != line {
		t.Fatalf("String() = %q", c.String())
	}
	if got := c.Time(); !got.Equal(time.Unix(1679315147, 0)) {
		t.Errorf("Time() = %v", got)
	}
	want := "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
	if got := anchor.CosignedMessage([]byte("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"), 1679315147); string(got) != want {
		t.Errorf("CosignedMessage = %q, want %q", got, want)
	}
}

func TestParseCosignatureRejects(t *testing.T) {
	raw := make([]byte, 76)
	good := base64.StdEncoding.EncodeToString(raw)
	big := append([]byte(nil), raw...)
	big[4] = 0x80 // timestamp >= 2^63
	for _, tc := range []struct{ name, line string }{
		{"ok", "— w " + good},
		{"hyphen", "- w " + good},
		{"no name", "— " + good},
		{"empty name", "—  " + good},
		{"short", "— w " + base64.StdEncoding.EncodeToString(raw[:75])},
		{"long", "— w " + base64.StdEncoding.EncodeToString(append(raw, 0))},
		{"timestamp over 2^63-1", "— w " + base64.StdEncoding.EncodeToString(big)},
		{"newline", "— w " + good + "\n"},
		{"unpadded", "— w " + strings.TrimRight(good, "=")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := anchor.ParseCosignature(tc.line)
			if (err == nil) != (tc.name == "ok") {
				t.Fatalf("ParseCosignature(%q) = %v", tc.line, err)
			}
			if err != nil && !errors.Is(err, anchor.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestVerifyCosignatureAnchor(t *testing.T) {
	pub, priv := newEd25519(t)
	key, _ := anchor.NewCosignerKey("witness.test/v", pub)
	otherPub, _ := newEd25519(t)
	other, _ := anchor.NewCosignerKey("witness.test/v", otherPub)
	l := newTestLog(t, testOrigin)
	cp := l.grow(t, 11).checkpoint(t)
	next := l.grow(t, 12).checkpoint(t)
	line := cosignLine(key.Name, key.KeyID(), priv, 1700000000, []byte(body(cp)))
	a := auditlog.Anchor{Size: 11, Kind: anchor.KindWitness, Name: key.Name, Data: []byte(line)}

	for _, tc := range []struct {
		name string
		a    auditlog.Anchor
		cp   auditlog.Checkpoint
		key  anchor.CosignerKey
		is   error
	}{
		{"valid", a, cp, key, nil},
		{"other key", a, cp, other, anchor.ErrBadCosignature},
		{"other checkpoint", withSize(a, 12), next, key, anchor.ErrBadCosignature},
		{"wrong kind", withKind(a, anchor.KindRFC3161), cp, key, anchor.ErrKind},
		{"renamed", withName(a, "witness.test/x"), cp, key, anchor.ErrBadCosignature},
		{"garbage", withData(a, "— witness.test/v AAAA"), cp, key, anchor.ErrMalformed},
		{"size mismatch", a, next, key, errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := anchor.VerifyCosignatureAnchor(tc.a, tc.cp, tc.key)
			switch {
			case tc.is == nil && err != nil:
				t.Fatalf("unexpected %v", err)
			case tc.is == errAny && err == nil, tc.is != nil && tc.is != errAny && !errors.Is(err, tc.is):
				t.Fatalf("got %v, want %v", err, tc.is)
			}
		})
	}
}

func withName(a auditlog.Anchor, n string) auditlog.Anchor { a.Name = n; return a }
func withData(a auditlog.Anchor, d string) auditlog.Anchor { a.Data = []byte(d); return a }
