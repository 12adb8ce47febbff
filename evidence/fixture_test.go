package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
	"golang.org/x/mod/sumdb/note"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/ltv"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/tsa"
)

const (
	testTenant   = "t-acme"
	testEnvelope = "env-1"
	testDocument = "doc-1"
	testOrigin   = "signet.test/audit"
)

var testPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 14, 1}

// testPKI is a long-lived root, a tenant issuing CA and a time-stamp
// authority served over HTTP, with an in-process validation fetcher that
// answers OCSP for every certificate they issue.
type testPKI struct {
	root, issuer *testpki.CA
	roots        *x509.CertPool
	tsaCert      *x509.Certificate
	tsaURL       string
	srv          *httptest.Server
	client       *tsa.Client
}

// newLongRoot creates a self-signed root valid for 40 years: long enough
// that the clock can be moved well past its authorities' lives.
func newLongRoot(t testing.TB) *testpki.CA {
	t.Helper()
	key, err := testpki.NewKey(testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "Evidence Test Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(40, 0, 0),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testpki.CA{Cert: cert, Key: key}
}

// newTestPKI builds the PKI; the TSA certificate lives tsaYears.
func newTestPKI(t testing.TB, tsaYears int) *testPKI {
	t.Helper()
	p := &testPKI{root: newLongRoot(t)}
	var err error
	if p.issuer, err = p.root.NewIntermediate("Tenant Issuing CA", testpki.ECDSAP256); err != nil {
		t.Fatal(err)
	}
	p.roots = x509.NewCertPool()
	p.roots.AddCert(p.root.Cert)
	cert, key, err := p.root.IssueTSA("Archive TSA", testpki.ECDSAP256, testpki.LeafOptions{NotAfter: time.Now().AddDate(tsaYears, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	p.tsaCert = cert
	p.srv = httptest.NewServer(&tsa.Server{Signer: key, Certificate: cert, Policy: testPolicy})
	p.tsaURL = p.srv.URL
	p.client = &tsa.Client{URLs: []string{p.srv.URL}}
	return p
}

// Collect implements pades.ValidationFetcher from the test CAs alone.
func (p *testPKI) Collect(_ context.Context, leaf *x509.Certificate, pool []*x509.Certificate) (*ltv.Data, error) {
	d := &ltv.Data{}
	cur := leaf
	for range 4 {
		var issuer *testpki.CA
		for _, ca := range []*testpki.CA{p.issuer, p.root} {
			if bytes.Equal(cur.RawIssuer, ca.Cert.RawSubject) {
				issuer = ca
				break
			}
		}
		if issuer == nil {
			return nil, fmt.Errorf("no issuer for %s", cur.Subject)
		}
		d.AddCert(cur)
		if cur.Equal(p.root.Cert) {
			return d, nil
		}
		now := time.Now()
		der, err := ocsp.CreateResponse(issuer.Cert, issuer.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: cur.SerialNumber, ThisUpdate: now, NextUpdate: now.Add(time.Hour)}, issuer.Key)
		if err != nil {
			return nil, err
		}
		d.OCSPs = append(d.OCSPs, der)
		cur = issuer.Cert
	}
	return d, nil
}

// memFile is an in-memory pades.File that also appends with Write.
type memFile struct{ b []byte }

func (f *memFile) Write(p []byte) (int, error) { f.b = append(f.b, p...); return len(p), nil }
func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(f.b)) {
		return 0, io.EOF
	}
	n := copy(p, f.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(f.b)) {
		f.b = append(f.b, make([]byte, end-int64(len(f.b)))...)
	}
	return copy(f.b[off:], p), nil
}

// fixture is a bundle of a completed envelope and what a test needs to
// tamper with it and write it again with a valid manifest signature.
type fixture struct {
	pki    *testPKI
	files  []File
	signer ManifestSigner
	bundle []byte
	// foreign are the leaf and receipt (to the bundle's checkpoint) of an
	// event of another envelope; foreignIndex its index.
	foreign, foreignProof []byte
	foreignIndex          int64
	// later is a checkpoint of a later size, signed by the log key.
	later []byte
	// otherKey signs checkpoints with another key of the same name.
	otherKey note.Signer
	// base is a PDF signed by the same PKI that is not the envelope's.
	other []byte
	// witness is the vkey of the witness that cosigned the checkpoint,
	// cosignature its anchor file.
	witness     string
	cosignature []byte
	// eventIDs by kind ("sent", "completed", "signed-<recipient>").
	eventIDs map[string]string
	// indexes of events by kind.
	indexes map[string]int64
}

var (
	fixtures   = map[string]*fixture{}
	fixturesMu sync.Mutex
)

// fixtureOptions shape a fixture's envelope.
type fixtureOptions struct {
	// Recipients sign every one of Documents documents (default 1).
	Recipients, Documents int
	// TSAYears is the life of the time-stamp authority's certificate.
	TSAYears int
	// JumpBefore, when positive, moves the audit log's clock an hour
	// forward just before that recipient (1-based) authenticates: their
	// authentication is then recorded an hour after the time-stamps of
	// their signatures.
	JumpBefore int
	// KeyUsedAfter, when positive, records that recipient's key.used
	// event after their signature.created event.
	KeyUsedAfter int
}

// sharedFixture returns the fixture of recipients recipients, one
// document and a TSA of tsaYears, built once per test binary.
func sharedFixture(t testing.TB, recipients, tsaYears int) *fixture {
	return sharedFixtureWith(t, fixtureOptions{Recipients: recipients, Documents: 1, TSAYears: tsaYears})
}

// mainFixture is the envelope of three recipients who sign two documents.
func mainFixture(t testing.TB) *fixture {
	return sharedFixtureWith(t, fixtureOptions{Recipients: 3, Documents: 2, TSAYears: 30})
}

// sharedFixtureWith returns the fixture of o, built once per test binary.
func sharedFixtureWith(t testing.TB, o fixtureOptions) *fixture {
	t.Helper()
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	k := fmt.Sprintf("%+v", o)
	if f := fixtures[k]; f != nil {
		return f
	}
	f := buildFixture(t, o)
	fixtures[k] = f
	return f
}

// buildFixture runs an envelope with the given signers and documents
// through the real components: an audit log in memory with a note-signed
// checkpoint and an RFC 3161 anchor, B-T signatures by certificates of the
// tenant CA, a B-LTA seal, a sealed certificate of completion, and writes
// the bundle.
func buildFixture(t testing.TB, o fixtureOptions) *fixture {
	t.Helper()
	ctx := context.Background()
	if o.Documents == 0 {
		o.Documents = 1
	}
	// Shared by every test of the binary: its TSA server and log stay up
	// until the process ends.
	p := newTestPKI(t, o.TSAYears)
	fx := &fixture{pki: p, eventIDs: map[string]string{}, indexes: map[string]int64{}}

	// The audit log, with a clock the builder can move forward.
	var skew atomic.Int64
	store := auditlog.NewMemStore()
	keys, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	log, err := auditlog.New(ctx, auditlog.Config{Storage: store, Keys: keys, Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	oskey, _, _ := note.GenerateKey(rand.Reader, testOrigin)
	fx.otherKey, _ = note.NewSigner(oskey)
	pub, err := auditlog.NewPublisher(store, auditlog.PublisherConfig{Origin: testOrigin, Signer: ns,
		Anchorers: []auditlog.Anchorer{&anchor.Timestamper{Client: &tsa.Client{URLs: []string{p.tsaURL}, Roots: p.roots}}}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	record := func(key string, e auditlog.Event) string {
		t.Helper()
		n++
		if e.ID == "" {
			e.ID = fmt.Sprintf("ev-%s-%d", e.Tenant, n)
		}
		if e.Outcome == "" {
			e.Outcome = auditlog.OutcomeSuccess
		}
		idx, err := log.Append(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if _, taken := fx.eventIDs[key]; key != "" && !taken {
			fx.eventIDs[key], fx.indexes[key] = e.ID, idx
		}
		return e.ID
	}
	sender := auditlog.Actor{Kind: auditlog.ActorUser, ID: "u-sender", AuthMethods: []string{"pwd", "otp"}, AuthStrength: "aal2"}
	noise := func(i int) {
		record("", auditlog.Event{Type: auditlog.EnvelopeCreated, Tenant: "t-other", Actor: auditlog.Actor{Kind: auditlog.ActorUser, ID: "u-x"}, Subject: auditlog.Subject{EnvelopeID: fmt.Sprint("env-x", i)}})
		record("foreign", auditlog.Event{Type: auditlog.EnvelopeCreated, Tenant: testTenant, Actor: sender, Subject: auditlog.Subject{EnvelopeID: "env-2"}})
	}

	orig, err := os.ReadFile("../testdata/pdf/classic.pdf")
	if err != nil {
		t.Fatal(err)
	}
	origSum := sha256Hex(orig)
	env := Envelope{ID: testEnvelope, Tenant: testTenant, Subject: "Employment contract", Status: "completed", Sender: "u-sender", CreatedAt: time.Now().UTC()}
	docs := make([][]byte, o.Documents)
	for d := range docs {
		docs[d] = orig
		env.Documents = append(env.Documents, Document{ID: docID(d), Name: fmt.Sprintf("contract-%d.pdf", d+1), OriginalSHA256: origSum})
	}
	transition := func(from, to, action string, a auditlog.Actor, id string) {
		env.Transitions = append(env.Transitions, Transition{From: from, To: to, Action: action, ActorKind: string(a.Kind), ActorID: a.ID, At: time.Now().UTC(), AuditEventID: id})
	}
	noise(0)
	transition("", "draft", "create", sender, record("created", auditlog.Event{Type: auditlog.EnvelopeCreated, Tenant: testTenant, Actor: sender, Subject: auditlog.Subject{EnvelopeID: testEnvelope}}))
	for d := range docs {
		record("", auditlog.Event{Type: auditlog.DocumentUploaded, Tenant: testTenant, Actor: sender, Subject: auditlog.Subject{EnvelopeID: testEnvelope, DocumentSHA256: origSum}, Details: map[string]string{"document_id": docID(d)}})
	}
	transition("draft", "sent", "send", sender, record("sent", auditlog.Event{Type: auditlog.EnvelopeSent, Tenant: testTenant, Actor: sender, Subject: auditlog.Subject{EnvelopeID: testEnvelope}, Details: map[string]string{"notified": "1"}}))
	sent := time.Now().UTC()
	env.SentAt = &sent

	started := false
	for i := 1; i <= o.Recipients; i++ {
		rid := fmt.Sprintf("r%d", i)
		ra := auditlog.Actor{Kind: auditlog.ActorRecipient, ID: rid, AuthMethods: []string{"otp"}, AuthStrength: "aal1"}
		noise(i)
		record("viewed-"+rid, auditlog.Event{Type: auditlog.RecipientViewed, Tenant: testTenant, Actor: ra, Subject: auditlog.Subject{EnvelopeID: testEnvelope}, Details: map[string]string{"recipient_id": rid}})
		// A failed attempt first: only a success counts.
		record("", auditlog.Event{Type: auditlog.RecipientAuthenticated, Tenant: testTenant, Actor: ra, Outcome: auditlog.OutcomeFailure, Reason: "wrong code",
			Subject: auditlog.Subject{EnvelopeID: testEnvelope, RecipientEmail: rid + "@example.com"}, Details: map[string]string{"recipient_id": rid, "method": "email_code"}})
		if i == o.JumpBefore {
			skew.Store(int64(time.Hour))
		}
		record("auth-"+rid, auditlog.Event{Type: auditlog.RecipientAuthenticated, Tenant: testTenant, Actor: ra,
			Subject: auditlog.Subject{EnvelopeID: testEnvelope, RecipientEmail: rid + "@example.com"}, Details: map[string]string{"recipient_id": rid, "method": "email_code"}})
		record("consent-"+rid, auditlog.Event{Type: auditlog.RecipientViewed, Tenant: testTenant, Actor: ra, Subject: auditlog.Subject{EnvelopeID: testEnvelope},
			Details: map[string]string{"recipient_id": rid, "event": "recipient.consented"}})
		for d := range docs {
			cert, key, err := p.issuer.IssueSigner("Recipient "+rid, testpki.ECDSAP256, testpki.LeafOptions{Email: rid + "@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			prev := sha256Hex(docs[d])
			keyUsed := func() {
				record(fmt.Sprintf("key-%s-%d", rid, d), auditlog.Event{Type: auditlog.KeyUsed, Tenant: testTenant, Actor: ra,
					Subject: auditlog.Subject{EnvelopeID: testEnvelope, DocumentSHA256: prev, CertificateSerial: cert.SerialNumber.Text(16)},
					Details: map[string]string{"purpose": "ephemeral-signer", "operation": "sign"}})
			}
			if i != o.KeyUsedAfter {
				keyUsed()
			}
			var out bytes.Buffer
			if err := pades.Sign(ctx, &out, bytes.NewReader(docs[d]), int64(len(docs[d])), pades.Options{
				Signer: key, Certificates: []*x509.Certificate{cert, p.issuer.Cert, p.root.Cert},
				Level: pades.LevelBT, Timestamper: p.client, Name: "Recipient " + rid, FieldName: "Signature-" + rid,
			}); err != nil {
				t.Fatal(err)
			}
			docs[d] = out.Bytes()
			id := record(fmt.Sprintf("signed-%s-%d", rid, d), auditlog.Event{Type: auditlog.SignatureCreated, Tenant: testTenant, Actor: ra,
				Subject: auditlog.Subject{EnvelopeID: testEnvelope, DocumentSHA256: sha256Hex(docs[d])},
				Details: map[string]string{"recipient_id": rid, "role": "signer", "document_id": docID(d), "previous_sha256": prev}})
			if i == o.KeyUsedAfter {
				keyUsed()
			}
			if !started {
				transition("sent", "in_progress", "start", ra, id)
				started = true
			}
		}
		done := time.Now().UTC()
		env.Recipients = append(env.Recipients, Recipient{ID: rid, Name: "Recipient " + rid, Email: rid + "@example.com", Role: "signer", Order: i, Auth: "email_code",
			Status: "completed", ConsentedAt: &done, CompletedAt: &done})
	}
	// The seal (B-LTA) and the completion.
	sealCert, sealKey, err := p.issuer.IssueSigner("Signet seal ("+testTenant+")", testpki.ECDSAP256, testpki.LeafOptions{Email: "seal@signet.invalid"})
	if err != nil {
		t.Fatal(err)
	}
	sealChain := []*x509.Certificate{sealCert, p.issuer.Cert, p.root.Cert}
	seal := func(in []byte) []byte {
		t.Helper()
		f := &memFile{}
		if err := pades.Sign(ctx, f, bytes.NewReader(in), int64(len(in)), pades.Options{Signer: sealKey, Certificates: sealChain,
			Level: pades.LevelBLTA, Timestamper: p.client, Fetcher: p, Name: sealCert.Subject.CommonName, Reason: "Sealed by Signet on completion"}); err != nil {
			t.Fatal(err)
		}
		return f.b
	}
	finals := make([][]byte, len(docs))
	for d := range docs {
		finals[d] = seal(docs[d])
		env.Documents[d].FinalSHA256 = sha256Hex(finals[d])
	}
	system := auditlog.Actor{Kind: auditlog.ActorSystem}
	transition("in_progress", "completed", "complete", system, record("completed", auditlog.Event{Type: auditlog.EnvelopeCompleted, Tenant: testTenant, Actor: system,
		Subject: auditlog.Subject{EnvelopeID: testEnvelope}, Details: map[string]string{"documents": fmt.Sprint(len(docs))}}))
	completed := time.Now().UTC()
	env.CompletedAt = &completed
	other, err := os.ReadFile("../testdata/pdf/mupdf.pdf")
	if err != nil {
		t.Fatal(err)
	}
	certificate := seal(other)
	fx.other = seal(orig)

	// Checkpoint, anchor, a later checkpoint and the consistency proof.
	cp, err := pub.Publish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	anchors, err := store.Anchors(ctx, cp.Size)
	if err != nil || len(anchors) != 1 {
		t.Fatalf("anchors %v, %v", anchors, err)
	}
	noise(99)
	latest, err := pub.Publish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fx.later = latest.Note
	proof, err := auditlog.ConsistencyProof(ctx, store, cp.Size, latest.Size)
	if err != nil {
		t.Fatal(err)
	}
	var proofText strings.Builder
	for _, h := range proof {
		proofText.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}

	envJSON, _ := json.MarshalIndent(env, "", "  ")
	files := []File{
		{Path: PathReadme, Data: []byte("How to check this bundle by hand.\n")},
		{Path: PathEnvelope, Data: envJSON},
	}
	for d := range docs {
		files = append(files, File{Path: PathDocuments + docID(d) + "/original.pdf", Data: orig}, File{Path: PathDocuments + docID(d) + "/final.pdf", Data: finals[d]})
	}
	files = append(files, File{Path: PathCertificate, Data: certificate})
	recs, err := store.EnvelopeRecords(ctx, testTenant, testEnvelope)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		rc, err := auditlog.NewReceipt(ctx, store, r.Index, cp)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Path: fmt.Sprintf("%s%d.json", PathEvents, r.Index), Data: r.Leaf},
			File{Path: fmt.Sprintf("%s%d.tlog-proof", PathEvents, r.Index), Data: rc.Marshal()})
	}
	// An event of another envelope, with a valid receipt.
	fr, err := store.RecordByID(ctx, fx.eventIDs["foreign"])
	if err != nil {
		t.Fatal(err)
	}
	frc, err := auditlog.NewReceipt(ctx, store, fr.Index, cp)
	if err != nil {
		t.Fatal(err)
	}
	fx.foreign, fx.foreignProof, fx.foreignIndex = fr.Leaf, frc.Marshal(), fr.Index
	// A witness cosigns the checkpoint (C2SP tlog-cosignature).
	wpub, wpriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	wkey, err := anchor.NewCosignerKey("witness.test/w1", wpub)
	if err != nil {
		t.Fatal(err)
	}
	fx.witness = wkey.String()
	body, _, _ := strings.Cut(string(cp.Note), "\n\n")
	ts := uint64(time.Now().Unix())
	cosig := anchor.Cosignature{Name: wkey.Name, KeyID: wkey.KeyID(), Timestamp: ts, Signature: ed25519.Sign(wpriv, anchor.CosignedMessage([]byte(body+"\n"), ts))}
	fx.cosignature = []byte(cosig.String() + "\n")
	index, _ := json.Marshal([]AnchorEntry{{File: "0.tst", Kind: anchors[0].Kind, Name: anchors[0].Name, Time: anchors[0].Time},
		{File: "1.cosignature", Kind: anchor.KindWitness, Name: wkey.Name, Time: cosig.Time()}})
	rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.Cert.Raw})
	files = append(files,
		File{Path: PathCheckpoint, Data: cp.Note},
		File{Path: PathAnchors + "0.tst", Data: anchors[0].Data},
		File{Path: PathAnchors + "1.cosignature", Data: fx.cosignature},
		File{Path: PathAnchorIndex, Data: index},
		File{Path: PathLatestCheckpoint, Data: latest.Note},
		File{Path: PathConsistency, Data: []byte(proofText.String())},
		File{Path: PathLogKey, Data: []byte(vkey + "\n")},
		File{Path: PathValidation + "certs/" + sha256Hex(p.tsaCert.Raw) + ".pem", Data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.tsaCert.Raw})},
		File{Path: PathRoot, Data: rootPEM},
	)
	fx.files = files
	fx.signer = CMSSigner{Signer: sealKey, Certificates: sealChain, Timestamper: p.client}
	fx.bundle = fx.write(t, files)
	return fx
}

// write writes files as a bundle with a valid manifest signature.
func (fx *fixture) write(t testing.TB, files []File) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(context.Background(), &buf, Manifest{EnvelopeID: testEnvelope, Tenant: testTenant, Created: time.Now().UTC()}, files, fx.signer); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// file returns the content of the file at path.
func (fx *fixture) file(path string) []byte {
	for _, f := range fx.files {
		if f.Path == path {
			return f.Data
		}
	}
	return nil
}

// with returns the files with path's content replaced (nil data drops
// it), or added at the end.
func (fx *fixture) with(path string, data []byte) []File {
	out := make([]File, 0, len(fx.files)+1)
	found := false
	for _, f := range fx.files {
		if f.Path == path {
			found = true
			if data == nil {
				continue
			}
			f = File{Path: path, Data: data}
		}
		out = append(out, f)
	}
	if !found && data != nil {
		out = append(out, File{Path: path, Data: data})
	}
	return out
}

// rezip copies a ZIP, replacing (or, with nil, dropping) the named
// entries and adding those not present; the manifest is not re-signed.
func rezip(t testing.TB, in []byte, change map[string][]byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	seen := map[string]bool{}
	put := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	for _, f := range zr.File {
		seen[f.Name] = true
		data, ok := change[f.Name]
		if !ok {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, _ = io.ReadAll(rc)
			rc.Close()
		} else if data == nil {
			continue
		}
		put(f.Name, data)
	}
	for name, data := range change {
		if !seen[name] && data != nil {
			put(name, data)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// readZip returns the content of one entry of a ZIP.
func readZip(t testing.TB, in []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, _ := io.ReadAll(rc)
			return b
		}
	}
	t.Fatalf("no %s in the ZIP", name)
	return nil
}

// deflateAll copies a ZIP with every entry deflated, and an entry named
// dup twice when dup is not empty.
func deflateAll(t testing.TB, in []byte) []byte { return recompress(t, in, "") }

func recompress(t testing.TB, in []byte, dup string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		n := 1
		if f.Name == dup {
			n = 2
		}
		for range n {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// otherVerifierKey returns a verifier key of the same name as the log's,
// for another key.
func (fx *fixture) otherVerifierKey(t testing.TB) string {
	t.Helper()
	_, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	return vkey
}

// docID names the envelope's document d (0-based); the first is
// testDocument.
func docID(d int) string { return fmt.Sprintf("doc-%d", d+1) }

// eventPath returns the bundle path of the event recorded under key.
func (fx *fixture) eventPath(key string) string { return eventPath(fx.indexes[key]) }
