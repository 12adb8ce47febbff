package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestLocalTransport checks that a request served in process arrives as
// a server request would and that the handler's status, headers and body
// come back.
func TestLocalTransport(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/tsa" || r.RequestURI != "/tsa?x=1" || r.Header.Get("Content-Type") != "application/timestamp-query" {
			http.Error(w, "unexpected request "+r.Method+" "+r.RequestURI, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.WriteHeader(http.StatusAccepted)
		w.Write(append([]byte("echo:"), body...))
	})
	c := &http.Client{Transport: localTransport{h}}
	resp, err := c.Post("http://127.0.0.1:1/tsa?x=1", "application/timestamp-query", strings.NewReader("query"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Content-Type") != "application/timestamp-reply" || string(body) != "echo:query" || resp.ContentLength != int64(len(body)) {
		t.Fatalf("response %d %q %q (length %d)", resp.StatusCode, resp.Header.Get("Content-Type"), body, resp.ContentLength)
	}
}

// TestLocalTransportPanic: a panicking handler fails the request, not the
// process.
func TestLocalTransportPanic(t *testing.T) {
	c := &http.Client{Transport: localTransport{http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })}}
	if resp, err := c.Get("http://127.0.0.1:1/tsa"); err == nil || !strings.Contains(err.Error(), "panicked") {
		if resp != nil {
			resp.Body.Close()
		}
		t.Fatalf("Get = %v, %v; want a panic error", resp, err)
	}
}

// TestOwnPKI: requests for the PKI listener's address are answered in
// process and ask for fresh responses; others go to the next transport.
func TestOwnPKI(t *testing.T) {
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "local "+r.Header.Get("Cache-Control"))
	})
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("next " + r.URL.Host)), Request: r}, nil
	})
	c := &http.Client{Transport: ownPKI{[]string{"127.0.0.1:8480"}, localTransport{local}, next}}
	for url, want := range map[string]string{
		"http://127.0.0.1:8480/crl/acme.crl":  "local no-cache",
		"http://127.0.0.1:8481/crl/acme.crl":  "next 127.0.0.1:8481",
		"https://127.0.0.1:8480/crl/acme.crl": "next 127.0.0.1:8480",
		"http://tsa.example/tsa":              "next tsa.example",
	} {
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want {
			t.Errorf("%s: %q, want %q", url, b, want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
