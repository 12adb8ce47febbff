package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/auditlog"
	auditpostgres "github.com/signet-pki/signet/auditlog/postgres"
	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/mail/mailtest"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

// node is a `signet serve` process of a PostgreSQL deployment, with an
// API client for it.
type node struct {
	*serveProc
	api *apiclient.Client
}

// cluster is a PostgreSQL deployment: a database, the master key every
// node shares, one SMTP mailbox.
type cluster struct {
	t          *testing.T
	owner, app string
	masterKey  string
	env        []string
	box        *mailtest.Server
	// pkiURL is the PKI address every node writes into certificates: in
	// production a load balancer's; here the first node's listener.
	pkiURL string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	owner, app := pgtest.NewDatabase(t)
	mk := make([]byte, 32)
	rand.Read(mk)
	box, err := mailtest.New(mailtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	return &cluster{t: t, owner: owner, app: app, box: box, masterKey: base64.StdEncoding.EncodeToString(mk), env: processEnv(
		"SIGNET_MASTER_KEY="+base64.StdEncoding.EncodeToString(mk),
		databaseURLEnv+"="+app, databaseAdminURLEnv+"="+owner)}
}

// start starts a node with its own data directory and ports.
func (c *cluster) start(name string) *node {
	t := c.t
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "signet.json")
	pkiListen := freeAddr(t)
	if c.pkiURL == "" {
		c.pkiURL = "http://" + pkiListen
	}
	b, _ := json.Marshal(map[string]any{
		"pki_listen":  pkiListen,
		"pki_url":     c.pkiURL,
		"smtp":        map[string]any{"addr": c.box.Addr(), "from": "signet@cluster.invalid"},
		"rate_limits": map[string]any{}, // the test's clients share one address
	})
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, c.env, filepath.Join(dir, "data"), freeAddr(t), "--config", cfg)
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(filepath.Join(dir, "data", "pki", "root.pem"))
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("root.pem: %v", err)
	}
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}}
	return &node{serveProc: p, api: &apiclient.Client{Base: "https://" + p.addr, HTTP: hc}}
}

// on returns client c pointed at node n, with c's credentials.
func on(n *node, c *apiclient.Client) *apiclient.Client {
	cc := *c
	cc.Base, cc.HTTP = n.api.Base, n.api.HTTP
	return &cc
}

// auditRecords reads the deployment's audit log as the application role.
func (c *cluster) auditRecords() []auditlog.Record {
	c.t.Helper()
	ctx := context.Background()
	st, err := auditpostgres.Open(ctx, c.app)
	if err != nil {
		c.t.Fatal(err)
	}
	defer st.Close()
	n, err := st.Size(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	recs, err := st.Records(ctx, 0, n)
	if err != nil {
		c.t.Fatal(err)
	}
	return recs
}

// count returns how many of recs are of type typ about envelope id.
func count(t *testing.T, recs []auditlog.Record, typ, id string) int {
	t.Helper()
	n := 0
	for _, r := range recs {
		if r.Type != typ {
			continue
		}
		var m struct {
			Subject struct {
				EnvelopeID string `json:"envelope_id"`
			} `json:"subject"`
		}
		if err := json.Unmarshal(r.Leaf, &m); err != nil {
			t.Fatal(err)
		}
		if m.Subject.EnvelopeID == id {
			n++
		}
	}
	return n
}

func clusterPDF(t *testing.T, title string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := pdf.WriteSample(&b, pdf.SampleOptions{Pages: 1, Title: title}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestTwoNodesOnePostgres runs two `signet serve` processes on one
// PostgreSQL database: what is created on one node is served by the
// other, a recipient mailed by one node signs on the other, the envelope
// completes once; then one node is killed (SIGKILL) while recipients
// sign, the other finishes the envelope, and the audit log verifies.
func TestTwoNodesOnePostgres(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	a := c.start("a")
	b := c.start("b")
	if a.key == "" || b.key != "" {
		t.Fatalf("bootstrap key printed: by the first node %v, by the second %v (want the first only)", a.key != "", b.key != "")
	}
	admin := a.api.WithAuth("Bearer " + a.key)
	tn, err := admin.CreateTenant(ctx, "Two Nodes")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := on(b, admin).CreateKey(ctx, tn.ID, "sender", []string{"sender"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	senderA := a.api.WithAuth("Bearer " + secret)
	senderB := on(b, senderA)

	// Created on A, served by B. The document's text, its name, the
	// subject and the recipients' names and addresses are markers that
	// the database must not hold in clear.
	text, docName, subject := personal(t, "TEXT"), personal(t, "DOCNAME")+".pdf", personal(t, "SUBJECT")
	ada, bob := strings.ToLower(personal(t, "ada"))+"@example.com", strings.ToLower(personal(t, "bob"))+"@example.com"
	adaName, bobName := personal(t, "ADANAME"), personal(t, "BOBNAME")
	doc, err := senderA.Upload(ctx, docName, clusterPDF(t, "Two nodes "+text))
	if err != nil {
		t.Fatal(err)
	}
	env, err := senderA.CreateEnvelope(ctx, workflow.CreateRequest{Subject: subject, Documents: []string{doc.ID}, Recipients: []workflow.RecipientInput{
		{Role: workflow.RoleSigner, Name: adaName, Email: ada, Order: 1},
		{Role: workflow.RoleSigner, Name: bobName, Email: bob, Order: 2},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := senderB.Envelope(ctx, env.ID); err != nil || got.ID != env.ID || got.Status != workflow.StatusDraft {
		t.Fatalf("envelope on B: %+v, %v", got, err)
	}
	if _, err := senderB.Send(ctx, env.ID); err != nil {
		t.Fatal(err)
	}
	// Ada's link was mailed by B; she signs on A. Bob's is mailed by A;
	// he signs on B.
	mb := &apiclient.Mailbox{Inbox: c.box.Sent()}
	var links []string
	for _, s := range []struct {
		addr string
		at   *node
	}{{ada, a}, {bob, b}} {
		link, err := mb.Link(ctx, s.addr, 1)
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, link)
		rc, err := mb.Authenticate(ctx, s.at.api, s.addr, link)
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.Consent(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := rc.Sign(ctx); err != nil {
			t.Fatalf("%s signing: %v", s.addr, err)
		}
	}
	done := waitStatus(t, senderA, env.ID, workflow.StatusCompleted)
	signed, err := senderB.Content(ctx, env.ID, done.Documents[0].DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	checkSigned(t, signed, a, 2+1) // and the tenant's seal
	if !bytes.Contains(signed, []byte(text)) || got(t, senderB, env.ID).Recipients[0].Name != adaName {
		t.Fatal("the document or the envelope does not read back in clear")
	}

	// Six signers at once, half of them on B, which is killed while they
	// sign; whoever B dropped signs again on A.
	var rcpts []workflow.RecipientInput
	for i := range 6 {
		rcpts = append(rcpts, workflow.RecipientInput{Role: workflow.RoleSigner, Name: fmt.Sprintf("Signer %d", i), Email: fmt.Sprintf("s%d@example.com", i), Order: 1})
	}
	doc2, err := senderA.Upload(ctx, "kill.pdf", clusterPDF(t, "Kill a node"))
	if err != nil {
		t.Fatal(err)
	}
	env2, err := senderA.CreateEnvelope(ctx, workflow.CreateRequest{Subject: "Kill a node", Documents: []string{doc2.ID}, Recipients: rcpts})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := senderA.Send(ctx, env2.ID); err != nil {
		t.Fatal(err)
	}
	sessions := make([]*apiclient.Client, len(rcpts))
	for i, r := range rcpts {
		at := a
		if i%2 == 1 {
			at = b
		}
		link, err := mb.Link(ctx, r.Email, 1)
		if err != nil {
			t.Fatal(err)
		}
		if sessions[i], err = mb.Authenticate(ctx, at.api, r.Email, link); err == nil {
			err = sessions[i].Consent(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(sessions))
	for i, s := range sessions {
		wg.Go(func() { _, errs[i] = s.Sign(ctx) })
	}
	time.Sleep(30 * time.Millisecond)
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-b.done
	wg.Wait()
	dropped := 0
	for _, err := range errs {
		if err != nil {
			dropped++
		}
	}
	t.Logf("%d of %d sign calls died with the killed node", dropped, len(errs))
	for i, err := range errs {
		if err == nil {
			continue
		}
		// The call died with B: sign again on A. If B had signed before
		// it died, A says so.
		_, err = on(a, sessions[i]).Sign(ctx)
		var p *apiclient.Problem
		if err != nil && !(errors.As(err, &p) && p.Status == http.StatusConflict) {
			t.Fatalf("signer %d again on A: %v (first: %v)", i, err, errs[i])
		}
	}
	done2 := waitStatus(t, senderA, env2.ID, workflow.StatusCompleted)
	signed2, err := senderA.Content(ctx, env2.ID, done2.Documents[0].DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	checkSigned(t, signed2, a, len(rcpts)+1)
	a.stop()

	// The database holds no secret of the deployment in any encoding:
	// not the API keys, not the recipients' link tokens, not the master
	// key; and none of the personal data or document text above, which
	// it holds sealed.
	dump := pgtest.Dump(t, c.owner)
	if !bytes.Contains(dump, []byte(env.ID)) {
		t.Fatal("the dump lacks the envelope: the scan read nothing")
	}
	secrets := append([]string{a.key, secret, c.masterKey, text, docName, subject, ada, bob, adaName, bobName}, links...)
	for _, l := range links {
		secrets = append(secrets, tokenRE.FindString(l))
	}
	for i, sec := range secrets {
		for _, f := range secretscan.Forms(sec) {
			if bytes.Contains(dump, f) {
				t.Errorf("the database holds secret %d (as %.12q…)", i, f)
			}
		}
	}

	recs := c.auditRecords()
	for _, id := range []string{env.ID, env2.ID} {
		if n := count(t, recs, "envelope.completed", id); n != 1 {
			t.Errorf("envelope %s completed %d times in the audit log", id, n)
		}
	}
	if n := count(t, recs, "signature.created", env2.ID); n != len(rcpts) {
		t.Errorf("%d signatures recorded for the second envelope, want %d", n, len(rcpts))
	}
	// Each checkpoint was published by one node: one time-stamp each.
	st, err := auditpostgres.Open(ctx, c.app)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cps, err := st.Checkpoints(ctx)
	if err != nil || len(cps) == 0 {
		t.Fatalf("checkpoints: %d, %v", len(cps), err)
	}
	for _, cp := range cps {
		as, err := st.Anchors(ctx, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(as); n > 1 {
			t.Errorf("checkpoint %d has %d anchors: published twice?", cp.Size, n)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"audit", "verify", "--database-url", c.app, "--data", a.data}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "audit log OK") {
		t.Fatalf("audit verify: exit %d\n%s%s", code, out.String(), errb.String())
	}
}

// tokenRE finds the token in a signing link.
var tokenRE = regexp.MustCompile(`[A-Za-z0-9_-]{32,}`)

// waitStatus polls the envelope until it reaches status.
func waitStatus(t *testing.T, c *apiclient.Client, id string, status workflow.Status) workflow.Envelope {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		e, err := c.Envelope(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status == status {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("envelope %s is %s, want %s", id, e.Status, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkSigned verifies a completed document: every approval signature
// valid under the deployment's root.
func checkSigned(t *testing.T, b []byte, n *node, approvals int) {
	t.Helper()
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(filepath.Join(n.data, "pki", "root.pem"))
	pool.AppendCertsFromPEM(pem)
	rep, err := pades.Verify(bytes.NewReader(b), int64(len(b)), pades.VerifyOptions{Roots: pool})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, s := range rep.Signatures {
		if s.Kind == "approval" {
			got++
		}
	}
	if !rep.Valid || got != approvals {
		t.Fatalf("signed document: valid %v, %d approval signatures, want %d", rep.Valid, got, approvals)
	}
}

// TestServePostgresStartFailures: a node refuses, in one line that never
// shows the database URL, a role that could rewrite the audit log, a
// schema newer than it knows, an unreachable database, a missing master
// key and an invalid URL.
func TestServePostgresStartFailures(t *testing.T) {
	ctx := context.Background()
	owner, app := pgtest.NewDatabase(t)
	mk := make([]byte, 32)
	rand.Read(mk)
	key := "SIGNET_MASTER_KEY=" + base64.StdEncoding.EncodeToString(mk)
	// A first node migrates; the database is then current.
	p := startServe(t, processEnv(key, databaseURLEnv+"="+app, databaseAdminURLEnv+"="+owner), t.TempDir(), freeAddr(t), "--pki-listen", freeAddr(t))
	p.stop()

	newer, newerApp := pgtest.NewDatabase(t)
	p = startServe(t, processEnv(key, databaseURLEnv+"="+newerApp, databaseAdminURLEnv+"="+newer), t.TempDir(), freeAddr(t), "--pki-listen", freeAddr(t))
	p.stop()
	conn, err := pgx.Connect(ctx, newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (299, 'from a later release')`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	unreachable := "postgres://signet_app:s3cret-pw@" + freeAddr(t) + "/signet?sslmode=disable&connect_timeout=5"
	for _, c := range []struct {
		name string
		env  []string
		want string
	}{
		{"the owner as the service's role", processEnv(key, databaseURLEnv+"="+owner), "UPDATE"},
		{"the owner as both", processEnv(key, databaseURLEnv+"="+owner, databaseAdminURLEnv+"="+owner), "owner of the tables"},
		{"a newer schema", processEnv(key, databaseURLEnv+"="+newerApp), "newer"},
		{"unreachable", processEnv(key, databaseURLEnv+"="+unreachable), "database_url"},
		{"no master key", processEnv(databaseURLEnv + "=" + app), "master key"},
		{"not a URL", processEnv(key, databaseURLEnv+"=postgres://[::1"), "database_url is not a PostgreSQL connection string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			line := runServeFailing(t, c.env, "--data", t.TempDir(), "--listen", freeAddr(t), "--pki-listen", freeAddr(t))
			if !strings.Contains(line, c.want) {
				t.Errorf("got %q, want it to say %q", line, c.want)
			}
			for _, secret := range []string{"s3cret-pw", password(t, app), password(t, owner), "postgres://"} {
				if strings.Contains(line, secret) {
					t.Errorf("the error shows the connection string: %q", line)
				}
			}
		})
	}
}

// password returns the password in a postgres:// URL.
func password(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	pw, ok := p.User.Password()
	if !ok || pw == "" {
		t.Fatalf("no password in the test URL")
	}
	return pw
}

// personal returns a marker no database can hold by chance.
func personal(t *testing.T, label string) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return label + "-" + strings.ToUpper(hex.EncodeToString(b))
}

// got returns envelope id as c reads it.
func got(t *testing.T, c *apiclient.Client, id string) workflow.Envelope {
	t.Helper()
	e, err := c.Envelope(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
