package evidence

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/pades"
)

// verify runs Verify on a bundle at the given validation time.
func verify(t *testing.T, fx *fixture, bundle []byte, at time.Time) *Report {
	t.Helper()
	rep, err := Verify(bytes.NewReader(bundle), int64(len(bundle)), VerifyOptions{Roots: fx.pki.roots, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

// describe lists a report's failed checks and findings for a message.
func describe(rep *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s\n", rep.Indication, rep.SubIndication)
	for _, c := range rep.Checks {
		if c.Status != pades.Passed {
			fmt.Fprintf(&b, "  check %s: %s: %s\n", c.Name, c.Status, c.Detail)
		}
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "  finding %s (%s) %s: %s\n", f.Code, f.Indication, f.Path, f.Detail)
	}
	return b.String()
}

func TestVerifyValidBundle(t *testing.T) {
	fx := mainFixture(t)
	rep := verify(t, fx, fx.bundle, time.Now())
	if !rep.Valid() || len(rep.Findings) != 0 {
		t.Fatalf("the bundle of a three-recipient envelope is not VALID:\n%s", describe(rep))
	}
	if rep.EnvelopeID != testEnvelope || rep.Tenant != testTenant {
		t.Errorf("envelope %q tenant %q", rep.EnvelopeID, rep.Tenant)
	}
	for _, want := range []string{"archive", "manifest-signature", "manifest-timestamp", "seal-certificate", "manifest-files", "envelope",
		"document doc-1", "document doc-2", "certificate-of-completion", "log-key", "checkpoint", "events", "anchors", "consistency", "story"} {
		found := false
		for _, c := range rep.Checks {
			if c.Name == want {
				found = c.Status == pades.Passed
			}
		}
		if !found {
			t.Errorf("check %q did not pass:\n%s", want, describe(rep))
		}
	}
	if len(rep.Documents) != 3 {
		t.Errorf("%d PDF reports, want the two final documents and the certificate of completion", len(rep.Documents))
	}
	if r := rep.Documents[PathDocuments+testDocument+"/final.pdf"]; r == nil || len(r.Signatures) != 5 {
		t.Errorf("final PDF report %+v: want 3 signatures, the seal and a document time-stamp", r)
	}
	if rep.Timestamp == nil || rep.Timestamp.RenewalDue == nil || !rep.Timestamp.RenewalDue.Equal(fx.pki.tsaCert.NotAfter.UTC()) {
		t.Errorf("time-stamp %+v: want renewal due at the TSA certificate's end %s", rep.Timestamp, fx.pki.tsaCert.NotAfter)
	}
}

// TestVerifyTampering: every tampering is detected and named. Each is
// done twice where it makes sense: by an outsider, who cannot sign a new
// manifest (the manifest names the changed file), and by whoever holds
// the seal key and writes a new, validly signed manifest (the deeper
// checks name it).
func TestVerifyTampering(t *testing.T) {
	fx := mainFixture(t)
	final := PathDocuments + testDocument + "/final.pdf"
	eventOf := func(key string) string { return fmt.Sprintf("%s%d.json", PathEvents, fx.indexes[key]) }
	proofOf := func(key string) string { return fmt.Sprintf("%s%d.tlog-proof", PathEvents, fx.indexes[key]) }
	altered := bytes.Replace(fx.file(eventOf("key-r2-0")), []byte(`"certificate_serial":"`), []byte(`"certificate_serial":"1`), 1)
	if bytes.Equal(altered, fx.file(eventOf("key-r2-0"))) {
		t.Fatal("the key.used event has no certificate serial to alter")
	}
	resigned, err := auditlog.SignTreeHead(mustHead(t, fx.file(PathCheckpoint)), fx.otherKey)
	if err != nil {
		t.Fatal(err)
	}
	drop := func(paths ...string) []File {
		var out []File
		for _, f := range fx.files {
			keep := true
			for _, p := range paths {
				keep = keep && f.Path != p
			}
			if keep {
				out = append(out, f)
			}
		}
		return out
	}
	foreign := append(fx.with(fmt.Sprintf("%s%d.json", PathEvents, fx.foreignIndex), fx.foreign),
		File{Path: fmt.Sprintf("%s%d.tlog-proof", PathEvents, fx.foreignIndex), Data: fx.foreignProof})
	manifestChanged := func() []byte {
		m := readZip(t, fx.bundle, PathManifest)
		sum := sha256Hex(fx.file(final))
		changed := bytes.Replace(m, []byte(sum), []byte(sha256Hex(fx.other)), 1)
		if bytes.Equal(changed, m) {
			t.Fatal("manifest entry not found")
		}
		return rezip(t, fx.bundle, map[string][]byte{PathManifest: changed, final: fx.other})
	}

	tests := []struct {
		name    string
		bundle  func() []byte
		want    []string
		outcome string
	}{
		{"replaced PDF, same manifest", func() []byte { return rezip(t, fx.bundle, map[string][]byte{final: fx.other}) }, []string{"file-modified"}, Invalid},
		{"replaced PDF, manifest signed again", func() []byte { return fx.write(t, fx.with(final, fx.other)) }, []string{"document-hash", "signature-missing"}, Invalid},
		{"final PDF of another document", func() []byte { return fx.write(t, fx.with(final, fx.file(PathCertificate))) }, []string{"document-hash", "document-not-prefix", "signature-missing"}, Invalid},
		{"dropped event, same manifest", func() []byte { return rezip(t, fx.bundle, map[string][]byte{eventOf("signed-r2-0"): nil}) }, []string{"file-missing", "story-not-signed"}, Invalid},
		{"dropped event, manifest signed again", func() []byte { return fx.write(t, drop(eventOf("signed-r2-0"), proofOf("signed-r2-0"))) }, []string{"story-not-signed", "signature-unmatched"}, Invalid},
		{"dropped transition event", func() []byte { return fx.write(t, drop(eventOf("sent"), proofOf("sent"))) }, []string{"event-missing", "story-not-sent"}, Invalid},
		{"altered event, same manifest", func() []byte { return rezip(t, fx.bundle, map[string][]byte{eventOf("key-r2-0"): altered}) }, []string{"file-modified", "event-receipt"}, Invalid},
		{"altered event, manifest signed again", func() []byte { return fx.write(t, fx.with(eventOf("key-r2-0"), altered)) }, []string{"event-receipt", "signature-certificate"}, Invalid},
		{"swapped checkpoint", func() []byte { return fx.write(t, fx.with(PathCheckpoint, fx.later)) }, []string{"receipt-checkpoint", "anchor-invalid"}, Invalid},
		{"re-signed checkpoint", func() []byte { return fx.write(t, fx.with(PathCheckpoint, resigned)) }, []string{"checkpoint-signature"}, Invalid},
		{"checkpoint and events under another log key", func() []byte {
			return fx.write(t, fx.with(PathLogKey, []byte(fx.otherKey.Name()+"+00000000+AAAA\n")))
		}, []string{"log-key"}, Invalid},
		{"stripped anchor", func() []byte {
			return fx.write(t, drop(PathAnchors+"0.tst", PathAnchors+"1.cosignature", PathAnchorIndex))
		}, []string{"anchor-missing"}, Indeterminate},
		{"anchor listed but removed", func() []byte { return fx.write(t, drop(PathAnchors+"0.tst")) }, []string{"anchor-file-missing"}, Invalid},
		{"changed manifest entry", manifestChanged, []string{"manifest-signature"}, Invalid},
		{"event of another envelope inserted", func() []byte { return fx.write(t, foreign) }, []string{"event-foreign-envelope"}, Invalid},
		{"event of another envelope inserted, same manifest", func() []byte {
			return rezip(t, fx.bundle, map[string][]byte{fmt.Sprintf("%s%d.json", PathEvents, fx.foreignIndex): fx.foreign})
		}, []string{"file-unlisted", "event-foreign-envelope"}, Invalid},
		{"extra file", func() []byte { return rezip(t, fx.bundle, map[string][]byte{"notes.txt": []byte("hi")}) }, []string{"file-unlisted"}, Invalid},
		{"no consistency proof to the latest checkpoint", func() []byte { return fx.write(t, drop(PathLatestCheckpoint, PathConsistency)) }, []string{"consistency-missing"}, Indeterminate},
		{"latest checkpoint of another history", func() []byte {
			return fx.write(t, fx.with(PathConsistency, []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")))
		}, []string{"consistency"}, Invalid},
		{"certificate of completion missing", func() []byte { return fx.write(t, drop(PathCertificate)) }, []string{"certificate-missing"}, Invalid},
		{"duplicate entry", func() []byte { return recompress(t, fx.bundle, eventOf("auth-r1")) }, []string{"archive-duplicate"}, Invalid},
		{"compressed, same content", func() []byte { return deflateAll(t, fx.bundle) }, nil, Valid},
		{"unsafe path", func() []byte { return rezip(t, fx.bundle, map[string][]byte{"../evil": []byte("x")}) }, []string{"archive-unsafe-path"}, Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := verify(t, fx, tc.bundle(), time.Now())
			if rep.Indication != tc.outcome {
				t.Errorf("indication %s, want %s", rep.Indication, tc.outcome)
			}
			for _, code := range tc.want {
				if !rep.Has(code) {
					t.Errorf("finding %q not named", code)
				}
			}
			if t.Failed() {
				t.Log(describe(rep))
			}
		})
	}
}

// TestVerifyStoryContradictions: events that contradict the documents'
// signatures in time or order are named, though every proof holds.
func TestVerifyStoryContradictions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    fixtureOptions
		want string
	}{
		{"signed an hour before authenticating", fixtureOptions{Recipients: 2, Documents: 1, TSAYears: 30, JumpBefore: 2}, "signature-time"},
		{"key used after the signature", fixtureOptions{Recipients: 2, Documents: 1, TSAYears: 30, KeyUsedAfter: 2}, "story-order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := sharedFixtureWith(t, tc.o)
			rep := verify(t, fx, fx.bundle, time.Now())
			if rep.Indication != Invalid || !rep.Has(tc.want) {
				t.Fatalf("want INVALID naming %s:\n%s", tc.want, describe(rep))
			}
			for _, c := range rep.Checks {
				if c.Name != "story" && c.Status != pades.Passed {
					t.Errorf("check %s: %s (%s): only the story should fail", c.Name, c.Status, c.Detail)
				}
			}
		})
	}
}

// TestVerifyWitness: a cosignature is checked when the witness's key is
// given, counted otherwise; a forged one is named.
func TestVerifyWitness(t *testing.T) {
	fx := mainFixture(t)
	forged := bytes.Clone(fx.cosignature)
	forged[len(forged)-5] ^= 'A' ^ 'B'
	for _, tc := range []struct {
		name      string
		bundle    []byte
		witnesses []string
		detail    string
		finding   string
	}{
		{"key given", fx.bundle, []string{fx.witness}, "1 witness cosignature(s) checked, 0 unchecked", ""},
		{"key not given", fx.bundle, nil, "0 witness cosignature(s) checked, 1 unchecked", ""},
		{"malformed key given", fx.bundle, []string{"not a key"}, "1 witness key(s) given are not cosigner keys", ""},
		{"forged cosignature", fx.write(t, fx.with(PathAnchors+"1.cosignature", forged)), []string{fx.witness}, "", "anchor-invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Verify(bytes.NewReader(tc.bundle), int64(len(tc.bundle)), VerifyOptions{Roots: fx.pki.roots, Witnesses: tc.witnesses})
			if err != nil {
				t.Fatal(err)
			}
			if tc.finding != "" {
				if rep.Indication != Invalid || !rep.Has(tc.finding) {
					t.Fatalf("want %s:\n%s", tc.finding, describe(rep))
				}
				return
			}
			if !rep.Valid() {
				t.Fatalf("not VALID:\n%s", describe(rep))
			}
			for _, c := range rep.Checks {
				if c.Name == "anchors" && !strings.Contains(c.Detail, tc.detail) {
					t.Errorf("anchors: %q, want %q", c.Detail, tc.detail)
				}
			}
		})
	}
}

func mustHead(t *testing.T, cp []byte) auditlog.TreeHead {
	t.Helper()
	th, err := auditlog.ParseCheckpointUnverified(cp)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// TestVerifyTime: the manifest's time-stamp is the bundle's latest and is
// validated at the validation time: VALID ten years on while its
// authority lives, INDETERMINATE past its end, naming the renewal date.
func TestVerifyTime(t *testing.T) {
	fx := mainFixture(t)
	later := time.Now().AddDate(10, 0, 0)
	if rep := verify(t, fx, fx.bundle, later); !rep.Valid() {
		t.Fatalf("ten years on, the bundle is not VALID:\n%s", describe(rep))
	}
	past := fx.pki.tsaCert.NotAfter.Add(24 * time.Hour)
	rep := verify(t, fx, fx.bundle, past)
	if rep.Indication != Indeterminate || rep.SubIndication != pades.OutOfBoundsNoPOE || !rep.Has("manifest-timestamp-expired") {
		t.Fatalf("past the time-stamp authority's end: want INDETERMINATE/%s with manifest-timestamp-expired:\n%s", pades.OutOfBoundsNoPOE, describe(rep))
	}
	due := fx.pki.tsaCert.NotAfter.UTC().Format("2006-01-02")
	for _, f := range rep.Findings {
		if f.Code == "manifest-timestamp-expired" && !strings.Contains(f.Detail, due) {
			t.Errorf("the finding does not name the renewal date %s: %s", due, f.Detail)
		}
	}
	if rep.Timestamp == nil || rep.Timestamp.RenewalDue == nil || rep.Timestamp.RenewalDue.Format("2006-01-02") != due {
		t.Errorf("timestamp %+v: want renewal due %s", rep.Timestamp, due)
	}
	// A short-lived authority: ten years on, the bundle needed renewal.
	short := sharedFixture(t, 1, 2)
	rep = verify(t, short, short.bundle, later)
	if rep.Indication != Indeterminate || !rep.Has("manifest-timestamp-expired") {
		t.Fatalf("a two-year authority ten years on: want INDETERMINATE:\n%s", describe(rep))
	}
	if rep := verify(t, short, short.bundle, time.Now()); !rep.Valid() {
		t.Fatalf("a one-recipient bundle is not VALID today:\n%s", describe(rep))
	}
}

// TestVerifyNoTrust: without roots nothing is contradicted, but nothing is
// trusted either.
func TestVerifyNoTrust(t *testing.T) {
	fx := mainFixture(t)
	rep, err := Verify(bytes.NewReader(fx.bundle), int64(len(fx.bundle)), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indication != Indeterminate || rep.SubIndication != pades.NoCertificateChainFound {
		t.Fatalf("without roots: want INDETERMINATE/%s:\n%s", pades.NoCertificateChainFound, describe(rep))
	}
	for _, f := range rep.Findings {
		if f.Indication == Invalid {
			t.Errorf("without roots, finding %s is INVALID: %s", f.Code, f.Detail)
		}
	}
}

// failingTransport counts and refuses every HTTP request.
type failingTransport struct{ calls atomic.Int64 }

func (f *failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	f.calls.Add(1)
	return nil, errors.New("no network during verification")
}

// TestVerifyOffline: verification needs nothing outside the ZIP: no
// network (every HTTP request fails and is counted), no account of any
// signer (the verifier is given none; the signers' keys are gone), and a
// caller-given log key works like the bundle's.
func TestVerifyOffline(t *testing.T) {
	fx := mainFixture(t)
	ft := &failingTransport{}
	saved := http.DefaultTransport
	http.DefaultTransport = ft
	defer func() { http.DefaultTransport = saved }()
	key := strings.TrimSpace(string(fx.file(PathLogKey)))
	rep, err := Verify(bytes.NewReader(fx.bundle), int64(len(fx.bundle)), VerifyOptions{Roots: fx.pki.roots, LogKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid() {
		t.Fatalf("offline, with no account: not VALID:\n%s", describe(rep))
	}
	if n := ft.calls.Load(); n != 0 {
		t.Fatalf("Verify made %d HTTP requests", n)
	}
	// A log key the caller trusts that the bundle's checkpoint is not
	// signed with.
	rep, err = Verify(bytes.NewReader(fx.bundle), int64(len(fx.bundle)), VerifyOptions{Roots: fx.pki.roots, LogKey: fx.otherVerifierKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indication != Invalid || !rep.Has("checkpoint-signature") || !rep.Has("event-receipt") {
		t.Fatalf("another trusted log key: want checkpoint-signature and event-receipt:\n%s", describe(rep))
	}
}

// TestVerifyRefusesUnsafeArchives: what is not a bundle, or exceeds the
// bounds, is refused unread.
func TestVerifyRefusesUnsafeArchives(t *testing.T) {
	fx := sharedFixture(t, 1, 2)
	bomb := rezip(t, fx.bundle, map[string][]byte{"zeros.bin": make([]byte, 8<<20)})
	tests := []struct {
		name string
		in   []byte
		opts VerifyOptions
		is   error
	}{
		{"not a ZIP", []byte("%PDF-1.7\n"), VerifyOptions{}, ErrNotBundle},
		{"empty", nil, VerifyOptions{}, ErrNotBundle},
		{"truncated", fx.bundle[:len(fx.bundle)/2], VerifyOptions{}, ErrNotBundle},
		{"no manifest", rezip(t, fx.bundle, map[string][]byte{PathManifest: nil}), VerifyOptions{}, ErrNotBundle},
		{"too many entries", fx.bundle, VerifyOptions{MaxEntries: 5}, ErrLimit},
		{"file too large", fx.bundle, VerifyOptions{MaxFileSize: 1000}, ErrLimit},
		{"too large in total", fx.bundle, VerifyOptions{MaxTotalSize: 10000}, ErrLimit},
		{"compression bomb", deflateAll(t, bomb), VerifyOptions{}, ErrLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Verify(bytes.NewReader(tc.in), int64(len(tc.in)), tc.opts)
			if !errors.Is(err, tc.is) || rep != nil {
				t.Fatalf("got %v, %v; want %v", rep, err, tc.is)
			}
		})
	}
}

// TestVerifyMemoryFlat: a large file is hashed as it streams, never held
// (the bound is generous; the file is 32 MiB and incompressible).
func TestVerifyMemoryFlat(t *testing.T) {
	fx := sharedFixture(t, 1, 30)
	big := make([]byte, 32<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	bundle := fx.write(t, fx.with(PathValidation+"large.bin", big))
	big = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rep := verify(t, fx, bundle, time.Now())
	runtime.ReadMemStats(&after)
	if !rep.Valid() {
		t.Fatalf("not VALID:\n%s", describe(rep))
	}
	t.Logf("allocated %d KiB", (after.TotalAlloc-before.TotalAlloc)>>10)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 12<<20 {
		t.Fatalf("Verify allocated %d MiB for a bundle holding a 32 MiB file", grew>>20)
	}
}
