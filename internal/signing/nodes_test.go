package signing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/workflow"
)

// Several Signet nodes over one database: the tests build two nodes over
// one env's stores, audit log, PKI and mailer, sharing one Locker, and
// send each recipient request to either.

// sharedLocks is the Locker the nodes of a test share, as they share the
// database's locks in production: one mutex per key. It counts the locks
// taken by key.
type sharedLocks struct {
	mu    sync.Mutex
	m     map[string]*sync.Mutex
	taken map[string]int
}

func newSharedLocks() *sharedLocks {
	return &sharedLocks{m: map[string]*sync.Mutex{}, taken: map[string]int{}}
}

func (l *sharedLocks) Lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	m := l.m[key]
	if m == nil {
		m = new(sync.Mutex)
		l.m[key] = m
	}
	l.taken[key]++
	l.mu.Unlock()
	m.Lock()
	return sync.OnceFunc(m.Unlock), nil
}

func (l *sharedLocks) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.taken[key]
}

// twoNodes returns an env whose nodes share one sharedLocks, its first
// node and a second one.
func twoNodes(t *testing.T) (*env, [2]*node, *sharedLocks) {
	t.Helper()
	locks := newSharedLocks()
	e := newEnvLocks(t, locks)
	return e, [2]*node{{wf: e.wf, svc: e.svc, notifier: e.notifier, api: e.api}, e.node()}, locks
}

// sessionVia has the recipient at addr ask for a code with link on node
// from and verify it on node to, and returns the session token.
func (e *env) sessionVia(from, to *node, addr, link string) string {
	e.t.Helper()
	if w := serve(from.api, "POST", "/v1/recipient/code", "Link "+link, ""); w.Code != http.StatusAccepted {
		e.t.Fatalf("code: %d %s", w.Code, w.Body)
	}
	w := serve(to.api, "POST", "/v1/recipient/verify", "Link "+link, `{"code":"`+e.lastCode(addr)+`"}`)
	var v struct{ Session string }
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &v) != nil || v.Session == "" {
		e.t.Fatalf("verify: %d %s", w.Code, w.Body)
	}
	return v.Session
}

// subjects returns the subjects of the messages to addr.
func (e *env) subjects(addr string) []string {
	var out []string
	for _, m := range e.mailbox.To(addr) {
		out = append(out, m.Subject)
	}
	return out
}

// TestNodesCompleteOnce: two signers of one parallel group, each with a
// link mailed by one node and a code verified on the other, sign at the
// same time on different nodes while both nodes' schedulers tick. The
// envelope completes once: one envelope.completed event, one seal on the
// document, one completion notice to each signer.
func TestNodesCompleteOnce(t *testing.T) {
	e, nodes, locks := twoNodes(t)
	ctx := context.Background()
	addrs := [2]string{"alice@example.com", "bob@example.com"}
	env := e.newEnvelope(1, signer("Alice Doe", addrs[0], 1), signer("Bob Roe", addrs[1], 1))
	var sessions [2]string
	for i, addr := range addrs {
		sessions[i] = e.sessionVia(nodes[i], nodes[1-i], addr, e.link(addr, 1))
		if w := serve(nodes[i].api, "POST", "/v1/recipient/consent", "Session "+sessions[i], `{"consent":true}`); w.Code != http.StatusOK {
			t.Fatalf("consent: %d %s", w.Code, w.Body)
		}
	}

	var results [2]signing.SignResult
	var status [2]int
	signed := make(chan struct{})
	var wg, signers sync.WaitGroup
	for i := range nodes {
		signers.Go(func() {
			w := serve(nodes[i].api, "POST", "/v1/recipient/sign", "Session "+sessions[i], "")
			status[i] = w.Code
			json.Unmarshal(w.Body.Bytes(), &results[i])
		})
	}
	tickErrs := make([][]error, 2)
	for i, n := range nodes {
		wg.Go(func() {
			for {
				if _, err := n.wf.Tick(ctx); err != nil {
					tickErrs[i] = append(tickErrs[i], err)
				}
				select {
				case <-signed:
					if _, err := n.wf.Tick(ctx); err != nil {
						tickErrs[i] = append(tickErrs[i], err)
					}
					return
				default:
				}
			}
		})
	}
	signers.Wait()
	close(signed)
	wg.Wait()
	if status != [2]int{http.StatusOK, http.StatusOK} {
		t.Fatalf("sign statuses %v", status)
	}
	if tickErrs[0] != nil || tickErrs[1] != nil {
		t.Fatalf("scheduler errors %v", tickErrs)
	}
	if results[0].Completed == results[1].Completed {
		t.Errorf("results %+v: exactly one signature should report the completion", results)
	}

	if n := e.audit.count(auditlog.EnvelopeCompleted, ""); n != 1 {
		t.Fatalf("%d envelope.completed events, want 1", n)
	}
	final, err := e.wf.Envelope(ctx, sender, env.ID)
	if err != nil || final.Status != workflow.StatusCompleted {
		t.Fatalf("envelope %s, %v", final.Status, err)
	}
	// The original, two signatures and the seal: one sealed version.
	blobs := 0
	e.blobs.Walk(ctx, func(string) error { blobs++; return nil })
	if blobs != 4 {
		t.Errorf("%d blobs, want 4 (original, two signatures, one seal)", blobs)
	}
	rd, size, err := e.blobs.Open(ctx, final.Documents[0].SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	rd.ReadAt(b, 0)
	rd.Close()
	rep := e.verifyPDF(b)
	approvals := 0
	for _, s := range rep.Signatures {
		if s.Kind == "approval" {
			approvals++
		}
	}
	if !rep.Valid || approvals != 3 {
		t.Errorf("valid %v with %d approval signatures, want the two signers' and one seal", rep.Valid, approvals)
	}
	for _, addr := range addrs {
		n := 0
		for _, s := range e.subjects(addr) {
			if strings.HasPrefix(s, "Completed: ") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s got %d completion notices, want 1", addr, n)
		}
	}
	for _, key := range []string{
		"envelope/" + env.ID, "document/" + env.Documents[0].DocumentID,
		"recipient/" + env.ID + "/" + env.Recipients[0].ID, "recipient/" + env.ID + "/" + env.Recipients[1].ID,
	} {
		if locks.count(key) == 0 {
			t.Errorf("lock %q never taken from the configured Locker", key)
		}
	}
}

// TestNodesRemindAndExpireOnce: both nodes' schedulers tick at once; each
// recipient gets one reminder e-mail per interval, and one notice when
// the envelope expires, which is recorded once.
func TestNodesRemindAndExpireOnce(t *testing.T) {
	e, nodes, _ := twoNodes(t)
	ctx := context.Background()
	addrs := []string{"alice@example.com", "bob@example.com"}
	var pdfFile bytes.Buffer
	if err := pdf.WriteSample(&pdfFile, pdf.SampleOptions{Pages: 1, Title: "Contract"}); err != nil {
		t.Fatal(err)
	}
	doc, err := e.wf.Upload(ctx, sender, "contract.pdf", &pdfFile)
	if err != nil {
		t.Fatal(err)
	}
	expires := e.clock.Now().Add(72 * time.Hour)
	env, err := e.wf.CreateEnvelope(ctx, sender, workflow.CreateRequest{
		Subject: "Employment contract", Documents: []string{doc.ID}, ReminderEveryHours: 24, ExpiresAt: &expires,
		Recipients: []workflow.RecipientInput{signer("Alice Doe", addrs[0], 1), signer("Bob Roe", addrs[1], 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[1].wf.Send(ctx, sender, env.ID); err != nil {
		t.Fatal(err)
	}
	tickBoth := func() {
		t.Helper()
		var errs [2]error
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Go(func() { _, errs[i] = n.wf.Tick(ctx) })
		}
		wg.Wait()
		if errs != [2]error{} {
			t.Fatalf("Tick: %v", errs)
		}
	}
	want := []string{"Please sign: Employment contract"}
	for range 2 {
		e.clock.Advance(25 * time.Hour)
		tickBoth()
		want = append(want, "Reminder: Please sign: Employment contract")
		for _, addr := range addrs {
			if got := e.subjects(addr); !equal(got, want) {
				t.Fatalf("%s received %q, want %q", addr, got, want)
			}
		}
	}
	e.clock.Advance(24 * time.Hour) // past the expiry
	tickBoth()
	want = append(want, "Ended: Employment contract")
	for _, addr := range addrs {
		if got := e.subjects(addr); !equal(got, want) {
			t.Fatalf("%s received %q, want %q", addr, got, want)
		}
	}
	if n := e.audit.count(auditlog.EnvelopeExpired, ""); n != 1 {
		t.Fatalf("%d envelope.expired events, want 1", n)
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// TestNodesLockoutCountsEveryNode: wrong codes sent at once, to both
// nodes, count toward one lockout schedule: each run of MaxFailures
// answers one lockout, and the link is revoked after the same 20 wrong
// codes as on one node.
func TestNodesLockoutCountsEveryNode(t *testing.T) {
	e, nodes, _ := twoNodes(t)
	ctx := context.Background()
	const addr = "alice@example.com"
	env := e.newEnvelope(1, signer("Alice Doe", addr, 1))
	link := e.link(addr, 1)
	lockouts := signing.DefaultLockouts()
	for run := range len(lockouts) + 1 {
		if w := serve(nodes[run%2].api, "POST", "/v1/recipient/code", "Link "+link, ""); w.Code != http.StatusAccepted {
			t.Fatalf("run %d: code: %d %s", run, w.Code, w.Body)
		}
		bad := "000000"
		if e.lastCode(addr) == bad {
			bad = "000001"
		}
		answers := map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range signing.DefaultMaxFailures {
			wg.Go(func() {
				w := serve(nodes[i%2].api, "POST", "/v1/recipient/verify", "Link "+link, `{"code":"`+bad+`"}`)
				mu.Lock()
				answers[w.Code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		last := http.StatusTooManyRequests
		if run == len(lockouts) {
			last = http.StatusGone
		}
		if answers[http.StatusUnauthorized] != signing.DefaultMaxFailures-1 || answers[last] != 1 {
			t.Fatalf("run %d: answers %v, want %d wrong codes and one %d", run, answers, signing.DefaultMaxFailures-1, last)
		}
		st, err := e.store.AuthState(ctx, env.ID, env.Recipients[0].ID)
		if err != nil || st.Lockouts != run+1 || st.Failures != 0 {
			t.Fatalf("run %d: stored state %+v, %v", run, st, err)
		}
		if run < len(lockouts) {
			e.clock.Advance(lockouts[run])
		}
	}
	total := (len(lockouts) + 1) * signing.DefaultMaxFailures
	if n := e.audit.count(auditlog.RecipientAuthenticated, auditlog.OutcomeFailure); n != total {
		t.Errorf("%d failed attempts recorded, want %d", n, total)
	}
	if n := len(e.audit.lockouts()); n != len(lockouts)+1 {
		t.Errorf("%d lockouts recorded, want %d", n, len(lockouts)+1)
	}
}

// TestNodesReissueEndsSessionsEverywhere: a session used on one node ends
// on every node when the sender re-issues the recipient's link on another.
func TestNodesReissueEndsSessionsEverywhere(t *testing.T) {
	e, nodes, _ := twoNodes(t)
	const addr = "alice@example.com"
	env := e.newEnvelope(1, signer("Alice Doe", addr, 1))
	ss := e.sessionVia(nodes[0], nodes[0], addr, e.link(addr, 1))
	for _, n := range nodes {
		if w := serve(n.api, "GET", "/v1/recipient/envelope", "Session "+ss, ""); w.Code != http.StatusOK {
			t.Fatalf("view before the re-issue: %d %s", w.Code, w.Body)
		}
	}
	if w := serve(nodes[0].api, "POST", "/v1/envelopes/"+env.ID+"/recipients/"+env.Recipients[0].ID+"/reissue", "Bearer sender", ""); w.Code != http.StatusOK {
		t.Fatalf("re-issue: %d %s", w.Code, w.Body)
	}
	for i, n := range nodes {
		if w := serve(n.api, "GET", "/v1/recipient/envelope", "Session "+ss, ""); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "invalid-session") {
			t.Fatalf("node %d: the old session after the re-issue: %d %s", i, w.Code, w.Body)
		}
	}
}
