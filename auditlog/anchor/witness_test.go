package anchor_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/auditlog/anchor/witnesstest"
)

const (
	testOrigin  = "signet.test/audit"
	witnessName = "witness.test/w1"
)

var witnessNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// witnessSetup is a test witness trusting a log, served over HTTP.
type witnessSetup struct {
	log     *testLog
	witness *witnesstest.Witness
	key     anchor.CosignerKey
	priv    ed25519.PrivateKey
	srv     *httptest.Server
}

// newWitnessSetup starts a witness trusting a fresh log. wrap, if not nil,
// wraps the witness handler (to make it misbehave).
func newWitnessSetup(t *testing.T, wrap func(ws *witnessSetup, h http.Handler) http.Handler) *witnessSetup {
	t.Helper()
	ws := &witnessSetup{log: newTestLog(t, testOrigin)}
	_, ws.priv = newEd25519(t)
	ws.witness = witnesstest.New(witnessName, ws.priv)
	ws.witness.Now = func() time.Time { return witnessNow }
	if err := ws.witness.AddLog(testOrigin, ws.log.vkey); err != nil {
		t.Fatal(err)
	}
	key, err := anchor.ParseCosignerKey(ws.witness.VerifierKey())
	if err != nil {
		t.Fatalf("ParseCosignerKey(%q): %v", ws.witness.VerifierKey(), err)
	}
	ws.key = key
	var h http.Handler = ws.witness
	if wrap != nil {
		h = wrap(ws, h)
	}
	ws.srv = httptest.NewServer(h)
	t.Cleanup(ws.srv.Close)
	return ws
}

// client returns a witness client for log l.
func (ws *witnessSetup) client(l *testLog) *anchor.Witness {
	return &anchor.Witness{
		Key:       ws.key,
		URL:       ws.srv.URL + "/witness",
		ProofFrom: l.proofFrom,
		Now:       func() time.Time { return witnessNow },
	}
}

// publish grows l to size n and submits the new checkpoint with c, given the
// previous checkpoint prev.
func publish(t *testing.T, c *anchor.Witness, l *testLog, prev auditlog.Checkpoint, n int64) (auditlog.Checkpoint, []auditlog.Anchor, error) {
	t.Helper()
	l.grow(t, n)
	cp := l.checkpoint(t)
	as, err := c.Anchor(context.Background(), cp, prev, l.proof(t, prev.Size))
	return cp, as, err
}

func TestWitnessHappyPath(t *testing.T) {
	ws := newWitnessSetup(t, nil)
	c := ws.client(ws.log)
	var prev auditlog.Checkpoint
	for _, n := range []int64{1, 3, 3, 8, 9, 64, 100} {
		cp, as, err := publish(t, c, ws.log, prev, n)
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if len(as) != 1 || as[0].Kind != anchor.KindWitness || as[0].Name != witnessName || as[0].Size != n {
			t.Fatalf("size %d: anchors %+v", n, as)
		}
		if err := anchor.VerifyCosignatureAnchor(as[0], cp, ws.key); err != nil {
			t.Fatalf("size %d: VerifyCosignatureAnchor: %v", n, err)
		}
		cs, err := anchor.ParseCosignature(string(as[0].Data))
		if err != nil || !cs.Time().Equal(witnessNow) {
			t.Fatalf("size %d: cosignature time %v, %v; want %v", n, cs.Time(), err, witnessNow)
		}
		if got := ws.witness.Size(testOrigin); got != n {
			t.Fatalf("witness at size %d, want %d", got, n)
		}
		prev = cp
	}
	// The client knew the witness's size all along: one request each.
	if got := ws.witness.Requests(); got != 7 {
		t.Errorf("witness served %d requests, want 7", got)
	}
}

func TestWitnessForkRefused(t *testing.T) {
	ws := newWitnessSetup(t, nil)
	honest := ws.client(ws.log)
	cp5, _, err := publish(t, honest, ws.log, auditlog.Checkpoint{}, 5)
	if err != nil {
		t.Fatal(err)
	}

	// A fork signed with the log's own key: same first 3 leaves, then
	// different ones.
	forked := ws.log.fork(t, 3)
	forked.add(t, []byte("rewritten event 3"))
	forked.grow(t, 9)
	fc := ws.client(forked)
	_, _, err = publish(t, fc, forked, auditlog.Checkpoint{}, 9)
	var refused *anchor.RefusedError
	if !errors.As(err, &refused) || refused.Status != http.StatusUnprocessableEntity || !errors.Is(err, anchor.ErrWitnessRefused) {
		t.Fatalf("forked checkpoint: got %v, want 422 refusal", err)
	}

	// A fork at the witness's own size: a different root for size 5.
	forked5 := ws.log.fork(t, 4)
	forked5.add(t, []byte("rewritten event 4"))
	_, _, err = publish(t, ws.client(forked5), forked5, cp5, 5)
	var conflict *anchor.ConflictError
	if !errors.As(err, &conflict) || conflict.Size != 5 || !errors.Is(err, anchor.ErrWitnessConflict) {
		t.Fatalf("same-size fork: got %v, want 409 conflict at 5", err)
	}
	if got := ws.witness.Size(testOrigin); got != 5 {
		t.Errorf("witness moved to %d after refusing forks", got)
	}
	if got := len(ws.witness.Refused()); got != 2 {
		t.Errorf("witness kept %d refused requests as evidence, want 2", got)
	}
	// The honest log continues.
	if _, _, err := publish(t, honest, ws.log, cp5, 12); err != nil {
		t.Fatalf("honest log after forks: %v", err)
	}
}

func TestWitnessStaleOldRecovers(t *testing.T) {
	ws := newWitnessSetup(t, nil)
	a := ws.client(ws.log)
	cp4, _, err := publish(t, a, ws.log, auditlog.Checkpoint{}, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Another publisher of the same log moves the witness to 8.
	b := ws.client(ws.log)
	_, _, err = publish(t, b, ws.log, auditlog.Checkpoint{}, 8)
	if err != nil {
		t.Fatalf("second publisher from unknown size: %v", err)
	}
	// a still believes the witness is at 4 and sends a proof from 4.
	var asked [][2]int64
	a.ProofFrom = func(ctx context.Context, old, n int64) (tlog.TreeProof, error) {
		asked = append(asked, [2]int64{old, n})
		return ws.log.proofFrom(ctx, old, n)
	}
	cp12, as, err := publish(t, a, ws.log, cp4, 12)
	if err != nil {
		t.Fatalf("stale old size: %v", err)
	}
	if len(asked) != 1 || asked[0] != [2]int64{8, 12} {
		t.Errorf("ProofFrom calls %v, want [[8 12]]", asked)
	}
	if err := anchor.VerifyCosignatureAnchor(as[0], cp12, ws.key); err != nil {
		t.Fatal(err)
	}
	// The witness now refuses to go back: a rolled-back log gets 409.
	old := ws.log.fork(t, 10)
	_, _, err = publish(t, ws.client(old), old, cp4, 10)
	var conflict *anchor.ConflictError
	if !errors.As(err, &conflict) || conflict.Size != 12 {
		t.Fatalf("rollback to 10: got %v, want conflict at 12", err)
	}
}

func TestWitnessRefusals(t *testing.T) {
	ws := newWitnessSetup(t, nil)
	stranger := newTestLog(t, "stranger.test/log")
	impostor := newTestLog(t, testOrigin) // right origin, wrong key
	for _, tc := range []struct {
		name   string
		log    *testLog
		status int
	}{
		{"unknown origin", stranger, http.StatusNotFound},
		{"untrusted log key", impostor, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, as, err := publish(t, ws.client(tc.log), tc.log, auditlog.Checkpoint{}, 3)
			var refused *anchor.RefusedError
			if !errors.As(err, &refused) || refused.Status != tc.status || as != nil {
				t.Fatalf("got %v, %v; want HTTP %d", as, err, tc.status)
			}
		})
	}
}

// cosignLine signs body as the witness would, at ts.
func cosignLine(name string, keyID uint32, priv ed25519.PrivateKey, ts uint64, body []byte) string {
	sig := ed25519.Sign(priv, anchor.CosignedMessage(body, ts))
	return anchor.Cosignature{Name: name, KeyID: keyID, Timestamp: ts, Signature: sig}.String()
}

// answering returns a wrapper that lets the real witness process the
// request, then replaces a 200 answer by answer(checkpoint body).
func answering(answer func(ws *witnessSetup, body []byte) string) func(*witnessSetup, http.Handler) http.Handler {
	return func(ws *witnessSetup, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := io.ReadAll(r.Body)
			rec := httptest.NewRecorder()
			r.Body = io.NopCloser(bytes.NewReader(req))
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK {
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
			parsed, err := witnesstest.ParseRequest(req)
			if err != nil {
				panic(err)
			}
			body, _, _ := strings.Cut(string(parsed.Note), "\n\n")
			fmt.Fprint(w, answer(ws, []byte(body+"\n")))
		})
	}
}

func TestWitnessBadCosignatureRejected(t *testing.T) {
	ts := uint64(witnessNow.Unix())
	_, otherPriv := newEd25519(t)
	for _, tc := range []struct {
		name   string
		answer func(ws *witnessSetup, body []byte) string
		is     error
	}{
		{"signs another tree", func(ws *witnessSetup, body []byte) string {
			other := bytes.Replace(body, []byte("\n"), []byte("x\n"), 1) // another origin
			return cosignLine(witnessName, ws.key.KeyID(), ws.priv, ts, other) + "\n"
		}, anchor.ErrBadCosignature},
		{"signs another time than it claims", func(ws *witnessSetup, body []byte) string {
			c, _ := anchor.ParseCosignature(cosignLine(witnessName, ws.key.KeyID(), ws.priv, ts, body))
			c.Timestamp--
			return c.String() + "\n"
		}, anchor.ErrBadCosignature},
		{"flipped signature bit", func(ws *witnessSetup, body []byte) string {
			c, _ := anchor.ParseCosignature(cosignLine(witnessName, ws.key.KeyID(), ws.priv, ts, body))
			c.Signature[10] ^= 1
			return c.String() + "\n"
		}, anchor.ErrBadCosignature},
		{"signed with another key under the witness's key ID", func(ws *witnessSetup, body []byte) string {
			return cosignLine(witnessName, ws.key.KeyID(), otherPriv, ts, body) + "\n"
		}, anchor.ErrBadCosignature},
		{"only another witness's cosignature", func(ws *witnessSetup, body []byte) string {
			return cosignLine("other.test/w", 0x01020304, otherPriv, ts, body) + "\n"
		}, anchor.ErrBadCosignature},
		{"one good, one bad line", func(ws *witnessSetup, body []byte) string {
			good := cosignLine(witnessName, ws.key.KeyID(), ws.priv, ts, body)
			bad := cosignLine(witnessName, ws.key.KeyID(), ws.priv, ts+1, []byte("forged\n1\n"+base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"))
			return good + "\n" + bad + "\n"
		}, anchor.ErrBadCosignature},
		{"dated a day ahead", func(ws *witnessSetup, body []byte) string {
			return cosignLine(witnessName, ws.key.KeyID(), ws.priv, ts+86400, body) + "\n"
		}, anchor.ErrBadCosignature},
		{"truncated cosignature", func(ws *witnessSetup, body []byte) string {
			raw := binary.BigEndian.AppendUint32(nil, ws.key.KeyID())
			raw = append(raw, 1, 2, 3)
			return "— " + witnessName + " " + base64.StdEncoding.EncodeToString(raw) + "\n"
		}, anchor.ErrBadCosignature},
		{"not signature lines", func(*witnessSetup, []byte) string { return "OK\n" }, anchor.ErrMalformed},
		{"empty", func(*witnessSetup, []byte) string { return "" }, anchor.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := newWitnessSetup(t, answering(tc.answer))
			_, as, err := publish(t, ws.client(ws.log), ws.log, auditlog.Checkpoint{}, 6)
			if !errors.Is(err, tc.is) || as != nil {
				t.Fatalf("got %v, %v; want %v", as, err, tc.is)
			}
		})
	}
	// The wrapper passes an honest answer through unchanged.
	ws := newWitnessSetup(t, answering(func(ws *witnessSetup, body []byte) string {
		return cosignLine("other.test/w", 0x01020304, otherPriv, ts, body) + "\n" +
			cosignLine(witnessName, ws.key.KeyID(), ws.priv, ts, body) + "\n"
	}))
	if _, _, err := publish(t, ws.client(ws.log), ws.log, auditlog.Checkpoint{}, 6); err != nil {
		t.Fatalf("honest answer with an extra unknown cosignature: %v", err)
	}
}

func TestWitnessMalformedConflict(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body string
	}{
		{"wrong content type", "text/plain", "5\n"},
		{"no newline", anchor.ContentTypeSize, "5"},
		{"leading zero", anchor.ContentTypeSize, "05\n"},
		{"negative", anchor.ContentTypeSize, "-1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(http.StatusConflict)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			l := newTestLog(t, testOrigin).grow(t, 3)
			_, pk := newEd25519(t)
			key, _ := anchor.NewCosignerKey(witnessName, pk.Public().(ed25519.PublicKey))
			c := &anchor.Witness{Key: key, URL: srv.URL, ProofFrom: l.proofFrom}
			_, err := c.Anchor(context.Background(), l.checkpoint(t), auditlog.Checkpoint{}, nil)
			if !errors.Is(err, anchor.ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

// newHTTPServer serves h for the test and returns its URL.
func newHTTPServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
