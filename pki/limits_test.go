package pki_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ocsp"
	"github.com/signet-pki/signet/tsa"
)

// serve runs h on a PKI listener with limits l over a real socket and
// returns its base URL.
func serve(t *testing.T, h http.Handler, l pki.Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := pki.HTTPServer(h, l)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}

// clientFrom returns an HTTP client whose connections come from the
// loopback address ip, another client for the listener.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// tsq returns a time-stamp query for a digest of n, asking for the
// certificates.
func tsq(t *testing.T, n int) (der, digest []byte) {
	t.Helper()
	sum := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(n)))
	der, err := (&tsa.Request{Hash: crypto.SHA256, Digest: sum[:], Nonce: big.NewInt(int64(n) + 1), CertReq: true}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return der, sum[:]
}

// ocspq returns an OCSP request for the TSA's certificate, issued by the
// platform CA.
func ocspq(t *testing.T, p *pki.PKI) []byte {
	t.Helper()
	id, err := ocsp.NewCertID(p.Cert("ca/platform"), p.Cert("tsa").SerialNumber, crypto.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	der, err := (&ocsp.Request{CertIDs: []ocsp.CertID{id}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

type reply struct {
	status     int
	retryAfter string
	ctype      string
	body       []byte
}

func do(t *testing.T, c *http.Client, method, url, ctype string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), b}
}

// checkProblem checks that r is an RFC 9457 problem of status.
func checkProblem(t *testing.T, r reply, status int) {
	t.Helper()
	var p struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
	}
	if r.status != status || r.ctype != "application/problem+json" || json.Unmarshal(r.body, &p) != nil || p.Status != status || p.Type == "" {
		t.Errorf("got %d %q %s, want a %d problem", r.status, r.ctype, r.body, status)
	}
}

// TestRateLimits: over real HTTP, each client has its own budget per
// endpoint class: requests beyond it get 429 with Retry-After; the
// budgets of /tsa, /ocsp and the static endpoints are separate; another
// client is not affected.
func TestRateLimits(t *testing.T) {
	e := newEnv(t)
	p := e.start(t)
	const slow = 0.0001 // per second: no refill during the test
	url := serve(t, p, pki.Limits{
		TSA:         pki.Rate{PerSecond: slow, Burst: 3},
		OCSP:        pki.Rate{PerSecond: slow, Burst: 4},
		Static:      pki.Rate{PerSecond: slow, Burst: 5},
		MaxInFlight: 4, MaxClients: 100,
	})
	a := &http.Client{}
	cases := []struct {
		name, method, path, ctype string
		body                      []byte
		budget                    int
	}{
		{"tsa", http.MethodPost, "/tsa", tsa.ContentTypeQuery, func() []byte { q, _ := tsq(t, 1); return q }(), 3},
		{"ocsp", http.MethodPost, "/ocsp", ocsp.ContentTypeRequest, ocspq(t, p), 4},
		{"static", http.MethodGet, "/ca/root.crt", "", nil, 5},
	}
	for _, c := range cases {
		for i := range c.budget + 3 {
			r := do(t, a, c.method, url+c.path, c.ctype, bytes.NewReader(c.body))
			if i < c.budget {
				if r.status != http.StatusOK {
					t.Fatalf("%s request %d of a budget of %d: %d %s", c.name, i+1, c.budget, r.status, r.body)
				}
				continue
			}
			checkProblem(t, r, http.StatusTooManyRequests)
			if n, err := strconv.Atoi(r.retryAfter); err != nil || n < 1 {
				t.Errorf("%s: 429 with Retry-After %q", c.name, r.retryAfter)
			}
		}
	}
	// Another client has budgets of its own.
	b := clientFrom("127.0.0.2")
	for _, c := range cases {
		if r := do(t, b, c.method, url+c.path, c.ctype, bytes.NewReader(c.body)); r.status != http.StatusOK {
			t.Errorf("%s: another client got %d", c.name, r.status)
		}
	}
	// The archive TSA draws on the same budget as the TSA: after one /tsa
	// request, two more of the three.
	q := cases[0].body
	for i := range 3 {
		r := do(t, b, http.MethodPost, url+pki.ArchiveTSAPath, tsa.ContentTypeQuery, bytes.NewReader(q))
		if i < 2 && r.status != http.StatusOK {
			t.Fatalf("archive TSA request %d: %d %s", i+1, r.status, r.body)
		}
		if i == 2 {
			checkProblem(t, r, http.StatusTooManyRequests)
		}
	}
}

// TestInFlightBound: a /tsa or /ocsp request beyond MaxInFlight at once
// is answered 503 with Retry-After; static requests are not counted.
func TestInFlightBound(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/tsa" {
			entered <- struct{}{}
			<-release
		}
	})
	url := serve(t, h, pki.Limits{MaxInFlight: 1, MaxClients: 10})
	done := make(chan int)
	go func() {
		resp, err := http.Post(url+"/tsa", tsa.ContentTypeQuery, strings.NewReader("q"))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-entered
	r := do(t, &http.Client{}, http.MethodPost, url+"/ocsp", ocsp.ContentTypeRequest, strings.NewReader("q"))
	checkProblem(t, r, http.StatusServiceUnavailable)
	if r.retryAfter != "1" {
		t.Errorf("503 with Retry-After %q", r.retryAfter)
	}
	if r := do(t, &http.Client{}, http.MethodGet, url+"/ca/root.crt", "", nil); r.status != http.StatusOK {
		t.Errorf("a static request while signing is full: %d", r.status)
	}
	close(release)
	if s := <-done; s != http.StatusOK {
		t.Errorf("the request in flight ended with %d", s)
	}
	if r := do(t, &http.Client{}, http.MethodPost, url+"/ocsp", ocsp.ContentTypeRequest, strings.NewReader("q")); r.status != http.StatusOK {
		t.Errorf("after the request in flight ended: %d", r.status)
	}
}

// TestBodyBounds: bodies longer than a TSA or OCSP request can be are
// refused with 413, declared or not.
func TestBodyBounds(t *testing.T) {
	e := newEnv(t)
	url := serve(t, e.start(t), pki.DefaultLimits)
	for _, c := range []struct {
		path, ctype string
		max         int
	}{
		{"/tsa", tsa.ContentTypeQuery, tsa.MaxRequestSize},
		{"/ocsp", ocsp.ContentTypeRequest, ocsp.MaxRequestSize},
		{"/ca/root.crt", "", 0},
	} {
		big := bytes.Repeat([]byte{0x30}, c.max+1)
		checkProblem(t, do(t, &http.Client{}, http.MethodPost, url+c.path, c.ctype, bytes.NewReader(big)), http.StatusRequestEntityTooLarge)
		if c.max == 0 {
			continue
		}
		// Without a declared length (chunked), the endpoint stops reading
		// at its bound.
		r := do(t, &http.Client{}, http.MethodPost, url+c.path, c.ctype, io.MultiReader(bytes.NewReader(big)))
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: a chunked body of %d bytes got %d", c.path, len(big), r.status)
		}
	}
}

// TestSlowBody: the listener's server bounds the time to read a request:
// a client that sends its body one byte at a time is cut off.
func TestSlowBody(t *testing.T) {
	e := newEnv(t)
	hs := pki.HTTPServer(e.start(t), pki.DefaultLimits)
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.WriteTimeout <= 0 || hs.IdleTimeout <= 0 || hs.MaxHeaderBytes <= 0 {
		t.Fatalf("unbounded server: %+v", hs)
	}
	hs.ReadTimeout = 300 * time.Millisecond // the test's own, shorter than the default
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	defer hs.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /tsa HTTP/1.1\r\nHost: pki\r\nContent-Type: %s\r\nContent-Length: 100\r\n\r\n0", tsa.ContentTypeQuery)
	// The server answers or closes well before this deadline; without a
	// read timeout it would wait for the body for ever.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadAll(bufio.NewReader(conn))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server still waits for a slow body")
	}
}

// TestAnonymousUseAudit: 1000 time-stamps over the listener add a few
// key.used events that reserve, before them, at least the uses made;
// every token verifies with openssl; 100 identical OCSP requests sign
// once, even when they ask for a fresh response; and once the audit log fails, the TSA refuses as soon as the uses
// recorded before are spent.
func TestAnonymousUseAudit(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is required: ", err)
	}
	e := newEnv(t)
	p := e.start(t)
	url := serve(t, p, pki.Limits{MaxInFlight: 16, MaxClients: 10})
	dir := t.TempDir()

	const n = 1000
	type stamp struct {
		digest []byte
		resp   []byte
	}
	stamps := make([]stamp, n)
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				q, digest := tsq(t, i)
				resp, err := http.Post(url+"/tsa", tsa.ContentTypeQuery, bytes.NewReader(q))
				if err != nil {
					t.Error(err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("time-stamp %d: %d", i, resp.StatusCode)
				}
				stamps[i] = stamp{digest, body}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	events := e.rec.keyUsed(e.store.ids["tsa"])
	reserved := reservedUses(t, events)
	if len(events) > 20 {
		t.Errorf("%d time-stamps made %d key.used events", n, len(events))
	}
	if reserved < n {
		t.Fatalf("%d time-stamps, but the events reserve only %d uses", n, reserved)
	}

	// Every token verifies with openssl.
	root := writeCert(t, dir, "root.pem", p.Cert("ca/root").Raw)
	platform := writeCert(t, dir, "platform.pem", p.Cert("ca/platform").Raw)
	jobs = make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range jobs {
				f := filepath.Join(dir, strconv.Itoa(i)+".tsr")
				if err := os.WriteFile(f, stamps[i].resp, 0o600); err != nil {
					t.Error(err)
					continue
				}
				out, err := exec.Command("openssl", "ts", "-verify", "-in", f, "-digest", hex.EncodeToString(stamps[i].digest),
					"-CAfile", root, "-untrusted", platform).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "Verification: OK") {
					t.Errorf("openssl ts -verify of time-stamp %d: %v\n%s", i, err, out)
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	// 100 identical OCSP requests, asking for no cached response: one
	// signature, one event of one use.
	q := ocspq(t, p)
	for range 100 {
		req, err := http.NewRequest(http.MethodPost, url+"/ocsp", bytes.NewReader(q))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ocsp.ContentTypeRequest)
		req.Header.Set("Cache-Control", "no-cache")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("OCSP: %d", resp.StatusCode)
		}
	}
	if es := e.rec.keyUsed(e.store.ids["ocsp/platform"]); len(es) != 1 || es[0].Details["uses_reserved"] != "1" {
		t.Errorf("100 identical OCSP requests: %d key.used events (%v)", len(es), es)
	}

	// The audit log fails: the uses recorded before it did may still be
	// made, and then the TSA refuses, with a systemFailure.
	e.rec.fail.Store(true)
	left := reserved - n
	refused := false
	for i := range left + 1 {
		q, _ := tsq(t, n+i)
		r := do(t, &http.Client{}, http.MethodPost, url+"/tsa", tsa.ContentTypeQuery, bytes.NewReader(q))
		if r.status == http.StatusInternalServerError {
			refused = true
			break
		}
		if r.status != http.StatusOK {
			t.Fatalf("time-stamp with a failing audit log: %d", r.status)
		}
	}
	if !refused {
		t.Fatalf("the TSA made more than the %d uses recorded while the audit log failed", left)
	}
	q2, _ := tsq(t, 2*n)
	if r := do(t, &http.Client{}, http.MethodPost, url+"/tsa", tsa.ContentTypeQuery, bytes.NewReader(q2)); r.status != http.StatusInternalServerError {
		t.Errorf("after a refusal, the TSA answered %d", r.status)
	}
	e.rec.fail.Store(false)
	if r := do(t, &http.Client{}, http.MethodPost, url+"/tsa", tsa.ContentTypeQuery, bytes.NewReader(q2)); r.status != http.StatusOK {
		t.Errorf("with the audit log back, the TSA answered %d", r.status)
	}
}

// reservedUses checks that events are key.used events of signatures
// reserving blocks of uses, and sums the uses they reserve.
func reservedUses(t *testing.T, events []auditlog.Event) int {
	t.Helper()
	total := 0
	for _, ev := range events {
		n, err := strconv.Atoi(ev.Details["uses_reserved"])
		if ev.Details["operation"] != "sign" || ev.Outcome != auditlog.OutcomeSuccess || err != nil || n < 1 {
			t.Fatalf("unexpected key.used event: %+v", ev)
		}
		total += n
	}
	return total
}

func writeCert(t *testing.T, dir, name string, der []byte) string {
	t.Helper()
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
