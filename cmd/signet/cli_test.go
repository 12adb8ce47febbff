package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/pdfsigtest"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/pades"
)

// signetRun runs the CLI in-process and returns exit code, stdout, stderr.
func signetRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

type cliFixture struct {
	dir, root, key, cert, expKey, expCert, otherCert string
}

func newFixture(t *testing.T) *cliFixture {
	t.Helper()
	dir := t.TempDir()
	f := &cliFixture{dir: dir}
	p := func(n string) string { return filepath.Join(dir, n) }
	root, err := testpki.NewRoot("CLI Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := root.IssueSigner("CLI Signer", testpki.ECDSAP256, testpki.LeafOptions{Email: "cli@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	exp, expKey, err := root.IssueSigner("Expired Signer", testpki.ECDSAP256, testpki.LeafOptions{
		NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := root.IssueSigner("Other Signer", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.root, f.key, f.cert = p("root.pem"), p("key.pem"), p("cert.pem")
	f.expKey, f.expCert, f.otherCert = p("exp-key.pem"), p("exp.pem"), p("other.pem")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(testpki.WritePEM(f.root, root.Cert))
	must(testpki.WritePEM(f.cert, cert))
	must(testpki.WriteKeyPEM(f.key, key))
	must(testpki.WritePEM(f.expCert, exp))
	must(testpki.WriteKeyPEM(f.expKey, expKey))
	must(testpki.WritePEM(f.otherCert, other))
	return f
}

func sample(name string) string { return filepath.Join("..", "..", "testdata", "pdf", name) }

// TestSignVerifyCLI signs at B-B and B-T through the command line and
// verifies, in text and JSON.
func TestSignVerifyCLI(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(f.dir, "out.pdf")
	code, stdout, stderr := signetRun(t, "sign", "--key", f.key, "--cert", f.cert, "--reason", "test", sample("classic.pdf"), out)
	if code != 0 {
		t.Fatalf("sign: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "PAdES-B-B") {
		t.Errorf("sign output %q does not name the level", stdout)
	}
	// A signed document is readable by its owner only.
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v (want 0600)", out, st, err)
	}
	code, stdout, stderr = signetRun(t, "verify", "--trust", f.root, out)
	if code != 0 || !strings.Contains(stdout, "VALID") {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = signetRun(t, "verify", out, "--json", "--trust", f.root)
	var rep struct {
		Valid      bool `json:"valid"`
		Signatures []struct {
			Verdict, Level, Indication string
			Signer                     struct{ Subject string }
		} `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 0 {
		t.Fatalf("verify --json: exit %d, %v\n%s", code, err, stdout)
	}
	if !rep.Valid || rep.Signatures[0].Verdict != "valid" || rep.Signatures[0].Level != "PAdES-B-B" || !strings.Contains(rep.Signatures[0].Signer.Subject, "CLI Signer") {
		t.Errorf("json report: %+v", rep)
	}
	// Without trust anchors the signature is indeterminate: exit 1.
	if code, _, _ := signetRun(t, "verify", out); code != 1 {
		t.Errorf("verify without --trust: exit %d, want 1", code)
	}
}

// TestBadInputCLI: each bad input exits 2 with one line naming the
// problem, and OUT is never created (nor a temporary file left behind).
func TestBadInputCLI(t *testing.T) {
	f := newFixture(t)
	certified := filepath.Join(f.dir, "certified.pdf")
	if code, _, stderr := signetRun(t, "sign", "--key", f.key, "--cert", f.cert, "--certify", "1", sample("classic.pdf"), certified); code != 0 {
		t.Fatalf("certify: %s", stderr)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"not a pdf", []string{"--key", f.key, "--cert", f.cert, sample("notpdf.pdf")}, "not a PDF"},
		{"truncated", []string{"--key", f.key, "--cert", f.cert, sample("truncated.pdf")}, "truncated"},
		{"broken xref", []string{"--key", f.key, "--cert", f.cert, sample("broken-xref.pdf")}, "broken cross-reference"},
		{"encrypted", []string{"--key", f.key, "--cert", f.cert, sample("encrypted.pdf")}, "encrypted"},
		{"certified P=1", []string{"--key", f.key, "--cert", f.cert, certified}, "DocMDP P=1"},
		{"key/cert mismatch", []string{"--key", f.key, "--cert", f.otherCert, sample("classic.pdf")}, "does not match"},
		{"expired signer", []string{"--key", f.expKey, "--cert", f.expCert, sample("classic.pdf")}, "not valid at the signing time"},
		{"missing input", []string{"--key", f.key, "--cert", f.cert, filepath.Join(f.dir, "nope.pdf")}, "no such file"},
		{"B-T without TSA", []string{"--key", f.key, "--cert", f.cert, "--level", "B-T", sample("classic.pdf")}, "needs at least one --tsa"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			outDir := t.TempDir()
			out := filepath.Join(outDir, "out.pdf")
			code, _, stderr := signetRun(t, append(append([]string{"sign"}, c.args...), out)...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q: want one line containing %q", stderr, c.want)
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Errorf("left files behind: %v", entries)
			}
		})
	}
	t.Run("tsa unreachable", func(t *testing.T) {
		outDir := t.TempDir()
		code, _, stderr := signetRun(t, "sign", "--key", f.key, "--cert", f.cert, "--tsa", "http://127.0.0.1:1/", "--tsa-timeout", "1s", sample("classic.pdf"), filepath.Join(outDir, "out.pdf"))
		if code != 1 || !strings.Contains(stderr, "time-stamp") {
			t.Errorf("exit %d, stderr %q; want 1 naming the time-stamp", code, stderr)
		}
		if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
			t.Errorf("left files behind: %v", entries)
		}
	})
	t.Run("verify not a pdf", func(t *testing.T) {
		if code, _, _ := signetRun(t, "verify", sample("notpdf.pdf")); code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
	})
}

// TestPKCS12CLI signs with a PKCS#12 file written by OpenSSL 3, password
// from the environment.
func TestPKCS12CLI(t *testing.T) {
	f := newFixture(t)
	p12 := filepath.Join(f.dir, "id.p12")
	out, err := exec.Command("openssl", "pkcs12", "-export", "-inkey", f.key, "-in", f.cert, "-out", p12, "-passout", "pass:s3cret").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkcs12: %v\n%s", err, out)
	}
	t.Setenv("SIGNET_TEST_P12_PASS", "s3cret")
	signed := filepath.Join(f.dir, "p12.pdf")
	if code, _, stderr := signetRun(t, "sign", "--key", p12, "--pass-env", "SIGNET_TEST_P12_PASS", sample("xrefstream.pdf"), signed); code != 0 {
		t.Fatalf("sign with p12: %s", stderr)
	}
	if code, _, _ := signetRun(t, "verify", "--trust", f.root, signed); code != 0 {
		t.Errorf("verify: exit %d", code)
	}
	t.Setenv("SIGNET_TEST_P12_PASS", "hunter2-bad")
	code, _, stderr := signetRun(t, "sign", "--key", p12, "--pass-env", "SIGNET_TEST_P12_PASS", sample("xrefstream.pdf"), filepath.Join(f.dir, "x.pdf"))
	if code != 2 || !strings.Contains(stderr, "password") || strings.Contains(stderr, "hunter2-bad") {
		t.Errorf("wrong password: exit %d, %q", code, stderr)
	}
}

// TestQuickstart runs the newcomer's command end to end: a server in
// process, two signers, the sealed B-LTA document and its root.
func TestQuickstart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qs") // created by quickstart
	code, stdout, stderr := signetRun(t, "quickstart", "--dir", dir)
	if code != 0 {
		t.Fatalf("quickstart: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, n := range []string{"root.pem", "signed.pdf", "evidence.zip"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("missing %s", n)
		}
		if !strings.Contains(stdout, filepath.Join(dir, n)) {
			t.Errorf("output does not name %s", n)
		}
	}
	for _, want := range []string{"Alice Example", "Bob Example", "PAdES-B-LTA", "one-time code"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("quickstart output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "sk_") {
		t.Errorf("quickstart printed an API key:\n%s", stdout)
	}
	// What quickstart writes is owner-only: the signed document and its
	// trust anchor in a 0700 directory.
	for p, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "signed.pdf"): 0o600, filepath.Join(dir, "root.pem"): 0o600, filepath.Join(dir, "evidence.zip"): 0o600} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v, %v (want %04o)", p, st, err, want)
		}
	}
	// The signers' links and codes came from the outbox: at least a link
	// and a code per signer, owner-only, sealed (no .eml file in clear).
	outbox := filepath.Join(dir, "data", "outbox")
	if st, err := os.Stat(outbox); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("outbox: %v, %v (want a 0700 directory)", st, err)
	}
	if clear, _ := filepath.Glob(filepath.Join(outbox, "*.eml")); len(clear) != 0 {
		t.Errorf("outbox holds messages in clear: %v", clear)
	}
	mails, _ := filepath.Glob(filepath.Join(outbox, "*.sealed"))
	if len(mails) < 2*len(quickstartSigners) {
		t.Errorf("outbox holds %d messages, want at least %d", len(mails), 2*len(quickstartSigners))
	}
	for _, m := range mails {
		if st, err := os.Stat(m); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v (want 0600)", m, st, err)
		}
	}
	// Nothing of the messages is in clear; signet outbox opens them.
	for _, m := range mails {
		if b, _ := os.ReadFile(m); bytes.Contains(b, []byte("@example.com")) || bytes.Contains(b, []byte("code is")) {
			t.Errorf("%s holds a message in clear", m)
		}
	}
	code, out, errOut := signetRun(t, "outbox", "--data", filepath.Join(dir, "data"), "--to", quickstartSigners[0].email)
	if code != 0 || !strings.Contains(out, "To: "+quickstartSigners[0].email) || !strings.Contains(out, "code is") || strings.Contains(out, quickstartSigners[1].email) {
		t.Errorf("signet outbox --to %s: exit %d\n%s%s", quickstartSigners[0].email, code, out, errOut)
	}
	if code, out, _ := signetRun(t, "verify", "--trust", filepath.Join(dir, "root.pem"), filepath.Join(dir, "signed.pdf")); code != 0 {
		t.Errorf("verify of the quickstart output: exit %d\n%s", code, out)
	}
	// Years later: the seal's document time-stamp, from the archive TSA,
	// is the latest and is validated at the clock given; it holds ten
	// years on and needs renewal once its certificate has expired.
	now := time.Now()
	for _, c := range []struct {
		name   string
		at     time.Time
		code   int
		text   string
		needed bool
	}{
		{"in ten years", now.AddDate(10, 0, 0), 0, "archive time-stamp renewal due by ", false},
		{"in sixteen years", now.AddDate(16, 0, 0), 1, "renewal needed since ", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			at := c.at.UTC().Format(time.RFC3339)
			code, out, _ := signetRun(t, "verify", "--at", at, "--trust", filepath.Join(dir, "root.pem"), filepath.Join(dir, "signed.pdf"))
			if code != c.code || !strings.Contains(out, c.text) {
				t.Errorf("verify --at %s: exit %d, want %d and %q\n%s", at, code, c.code, c.text, out)
			}
			code, out, _ = signetRun(t, "verify", "--json", "--at", at, "--trust", filepath.Join(dir, "root.pem"), filepath.Join(dir, "signed.pdf"))
			var rep pades.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil || code != c.code {
				t.Fatalf("verify --json --at %s: exit %d, %v", at, code, err)
			}
			r := rep.Renewal
			if r == nil || r.Needed != c.needed || !strings.Contains(r.Authority, "Signet Archive Time-Stamping Authority") || !strings.HasPrefix(r.Field, "DocumentTimestamp") {
				t.Fatalf("renewal %+v, want the archive TSA's document time-stamp, needed %v", r, c.needed)
			}
			for _, s := range rep.Signatures {
				want := pades.TotalPassed
				if c.needed {
					want = pades.Indeterminate
				}
				if s.Indication != want || (c.needed && s.SubIndication != pades.OutOfBoundsNoPOE) {
					t.Errorf("%s: %s/%s (%s), want %s", s.Field, s.Indication, s.SubIndication, s.Reason, want)
				}
			}
		})
	}
	if code, _, stderr := signetRun(t, "verify", "--at", "next year", "--trust", filepath.Join(dir, "root.pem"), filepath.Join(dir, "signed.pdf")); code != 2 || !strings.Contains(stderr, "--at") {
		t.Errorf("verify --at 'next year': exit %d, %q; want 2 naming --at", code, stderr)
	}
}

// TestVerifyPdfsigOutsideFieldsCLI verifies a file signed by poppler's
// `pdfsig -add-signature` whose field is in the page's /Annots and not in
// the empty AcroForm /Fields: signet verify finds it, calls it valid as
// pdfsig does, and says in text and JSON that the form does not list it.
func TestVerifyPdfsigOutsideFieldsCLI(t *testing.T) {
	nss := pdfsigtest.New(t)
	signed := nss.AddSignature(t, sample("emptyform.pdf"), "Sig1")
	if out := nss.Report(t, signed); !strings.Contains(out, "Signature Validation: Signature is Valid.") {
		t.Fatalf("pdfsig does not validate its own signature:\n%s", out)
	}
	code, stdout, stderr := signetRun(t, "verify", "--trust", nss.RootPEM, signed)
	if code != 0 || !strings.Contains(stdout, `#1 "Sig1"`) || !strings.Contains(stdout, "VALID") ||
		!strings.Contains(stdout, "warning:     the signature field is not listed in the AcroForm /Fields") {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = signetRun(t, "verify", "--json", "--trust", nss.RootPEM, signed)
	var rep struct {
		Valid      bool `json:"valid"`
		Signatures []struct {
			Field    string `json:"field"`
			Verdict  string `json:"verdict"`
			Warnings []struct {
				Name   string `json:"name"`
				Detail string `json:"detail"`
			} `json:"warnings"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 0 {
		t.Fatalf("verify --json: exit %d, %v\n%s", code, err, stdout)
	}
	if !rep.Valid || len(rep.Signatures) != 1 || rep.Signatures[0].Field != "Sig1" || rep.Signatures[0].Verdict != "valid" ||
		len(rep.Signatures[0].Warnings) != 1 || rep.Signatures[0].Warnings[0].Name != "field-not-in-form" {
		t.Errorf("json report: %+v", rep)
	}
}
