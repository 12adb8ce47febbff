package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
)

// localTransport answers HTTP requests by calling a handler of this
// process in the calling goroutine: the service's own clients of its
// built-in PKI endpoints (signature time-stamps from the built-in TSA) go
// through the same request and response handling as remote clients, but
// not through a socket, a connection's goroutines and HTTP framing.
type localTransport struct{ h http.Handler }

func (t localTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	in := r.Clone(r.Context())
	in.RemoteAddr = "local"
	in.RequestURI = r.URL.RequestURI()
	if in.Body == nil {
		in.Body = http.NoBody
	}
	w := &localResponse{header: http.Header{}}
	if err := serveLocal(t.h, w, in); err != nil {
		return nil, err
	}
	if r.Body != nil {
		r.Body.Close()
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.header,
		Body:          io.NopCloser(&w.body),
		ContentLength: int64(w.body.Len()),
		Request:       r,
	}, nil
}

// ownPKI sends the requests for the PKI's addresses (hosts: the
// listener's, and pki_url's, which several nodes share) to its handler in
// process (local) and the others to next: the service's own
// fetches of its CRLs and OCSP responses for validation data are not a
// client's of the listener and take nothing from its limits. They ask for
// responses produced now (Cache-Control: no-cache), not pre-produced
// ones: a signature's validation data should postdate it.
type ownPKI struct {
	hosts []string
	local localTransport
	next  http.RoundTripper
}

func (t ownPKI) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" && slices.Contains(t.hosts, r.URL.Host) {
		r = r.Clone(r.Context())
		r.Header.Set("Cache-Control", "no-cache")
		return t.local.RoundTrip(r)
	}
	return t.next.RoundTrip(r)
}

// localResponse collects a handler's response.
type localResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *localResponse) Header() http.Header { return w.header }

func (w *localResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *localResponse) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// serveLocal calls h, turning a panic into an error as http.Server would
// turn it into a closed connection, so that a failing handler fails the
// request rather than the process.
func serveLocal(h http.Handler, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("server: local handler for %s panicked: %v", r.URL.Path, v)
		}
	}()
	h.ServeHTTP(w, r)
	return nil
}
