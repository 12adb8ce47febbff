package auditlog_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestCheckpointFormat(t *testing.T) {
	h := tlog.RecordHash([]byte("x"))
	th := auditlog.TreeHead{Origin: "signet.local/audit", Size: 42, Hash: h}
	body := th.Marshal()
	if want := "signet.local/audit\n42\n" + h.String() + "\n"; string(body) != want {
		t.Fatalf("Marshal = %q, want %q", body, want)
	}
	bad := []string{
		"", "o\n1\n", "o\n01\n" + h.String() + "\n", "o\n-1\n" + h.String() + "\n", "\n1\n" + h.String() + "\n",
		"o\n1\nAAAA\n", "o\n1\n" + h.String(), "o\n1\n" + h.String() + "\n\n", "o\n1 \n" + h.String() + "\n",
	}
	for _, b := range bad {
		if _, err := auditlog.ParseTreeHead([]byte(b)); !errors.Is(err, auditlog.ErrMalformed) {
			t.Errorf("ParseTreeHead(%q) = %v, want ErrMalformed", b, err)
		}
	}
	signer, verifier := newKey(t)
	msg, err := auditlog.SignTreeHead(th, signer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := auditlog.OpenCheckpoint(msg, verifier, "signet.local/audit")
	if err != nil || got.Size != 42 || got.Hash != h {
		t.Fatalf("OpenCheckpoint = %+v, %v", got, err)
	}
	if _, err := auditlog.OpenCheckpoint(msg, verifier, "elsewhere"); err == nil {
		t.Errorf("origin mismatch accepted")
	}
	_, other := newKey(t)
	if _, err := auditlog.OpenCheckpoint(msg, other, ""); !errors.Is(err, auditlog.ErrBadSignature) {
		t.Errorf("OpenCheckpoint with another key: %v", err)
	}
	forged := bytes.Replace(msg, []byte("\n42\n"), []byte("\n43\n"), 1)
	if _, err := auditlog.OpenCheckpoint(forged, verifier, ""); !errors.Is(err, auditlog.ErrBadSignature) {
		t.Errorf("OpenCheckpoint of an altered body: %v", err)
	}
}

// TestReceipt builds receipts for every event and verifies them offline,
// also with transparency-dev/merkle, and checks what must fail.
func TestReceipt(t *testing.T) {
	ctx := context.Background()
	s := auditlog.NewMemStore()
	signer, verifier := newKey(t)
	l := newLog(t, s, auditlog.Config{})
	var ids []string
	for i := 0; i < 13; i++ {
		idx, err := l.Append(ctx, event(i))
		if err != nil {
			t.Fatal(err)
		}
		recs, _ := s.Records(ctx, idx, idx+1)
		ids = append(ids, recs[0].ID)
	}
	pub, _ := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: origin, Signer: signer})
	if _, err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		r, rec, err := auditlog.ReceiptByID(ctx, s, id)
		if err != nil {
			t.Fatal(err)
		}
		text := r.Marshal()
		if !strings.HasPrefix(string(text), "c2sp.org/tlog-proof@v1\nindex ") {
			t.Fatalf("receipt starts %q", text[:40])
		}
		th, got, err := auditlog.VerifyReceipt(text, verifier, rec.Leaf)
		if err != nil || got.Index != int64(i) || th.Size != 13 {
			t.Fatalf("VerifyReceipt(%d) = %+v, %v", i, got, err)
		}
		h := rfc6962.DefaultHasher
		if err := proof.VerifyInclusion(h, uint64(i), 13, h.HashLeaf(rec.Leaf), hashes(got.Proof), th.Hash[:]); err != nil {
			t.Fatalf("merkle rejects receipt %d: %v", i, err)
		}
		back, err := auditlog.ParseReceipt(text)
		if err != nil || !bytes.Equal(back.Marshal(), text) {
			t.Fatalf("receipt does not round-trip: %v", err)
		}
		other := bytes.Replace(rec.Leaf, []byte(`"success"`), []byte(`"failure"`), 1)
		if _, _, err := auditlog.VerifyReceipt(text, verifier, other); err == nil {
			t.Fatalf("receipt verified another leaf")
		}
	}
	_, other := newKey(t)
	r, rec, _ := auditlog.ReceiptByID(ctx, s, ids[4])
	if _, _, err := auditlog.VerifyReceipt(r.Marshal(), other, rec.Leaf); !errors.Is(err, auditlog.ErrBadSignature) {
		t.Errorf("receipt verified with another key: %v", err)
	}
	r.Index = 5
	if _, _, err := auditlog.VerifyReceipt(r.Marshal(), verifier, rec.Leaf); err == nil {
		t.Errorf("receipt verified at another index")
	}
	r.Extra = []byte("context")
	if back, err := auditlog.ParseReceipt(r.Marshal()); err != nil || string(back.Extra) != "context" {
		t.Errorf("extra line: %v", err)
	}
	l.Append(ctx, event(99))
	recs, _ := s.Records(ctx, 13, 14)
	if _, _, err := auditlog.ReceiptByID(ctx, s, recs[0].ID); !errors.Is(err, auditlog.ErrNotFound) {
		t.Errorf("receipt for an event no checkpoint covers: %v", err)
	}
}

// FuzzParseCheckpoint: whatever parses re-encodes to the same bytes.
func FuzzParseCheckpoint(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		th, err := auditlog.ParseTreeHead(in)
		if err != nil {
			return
		}
		if out := th.Marshal(); !bytes.Equal(out, in) {
			t.Fatalf("round trip %q -> %q", in, out)
		}
	})
}

// FuzzParseReceipt: whatever parses re-encodes to the same bytes.
func FuzzParseReceipt(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := auditlog.ParseReceipt(in)
		if err != nil {
			return
		}
		if out := r.Marshal(); !bytes.Equal(out, in) {
			t.Fatalf("round trip %q -> %q", in, out)
		}
	})
}

// FuzzOpenCheckpoint: signed-note parsing never panics, and a note that
// opens has a body that re-encodes to its text.
func FuzzOpenCheckpoint(f *testing.F) {
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{1}, 64)), origin)
	if err != nil {
		f.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	f.Fuzz(func(t *testing.T, in []byte) {
		th, err := auditlog.OpenCheckpoint(in, verifier, "")
		if err != nil {
			return
		}
		msg, err := auditlog.SignTreeHead(th, signer)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(msg, in) { // Ed25519 is deterministic
			t.Fatalf("re-signed note differs:\n%q\n%q", msg, in)
		}
	})
}
