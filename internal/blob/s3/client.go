package s3

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// emptyHash is the SHA-256 of an empty payload.
const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// maxResponse bounds the bodies of responses read whole (errors, listings,
// multipart results).
const maxResponse = 4 << 20

// errNoSuchKey marks a 404 answer.
var errNoSuchKey = errors.New("no such key")

// client speaks the S3 REST protocol with path-style URLs and AWS
// Signature Version 4.
type client struct {
	endpoint  *url.URL
	region    string
	bucket    string
	accessKey string
	secretKey string
	http      *http.Client
	now       func() time.Time // signing clock: the real one, S3 refuses skew
}

// request is one S3 call.
type request struct {
	method string
	key    string     // "" for the bucket itself
	query  url.Values // sub-resources and parameters
	header http.Header
	body   []byte
}

// do sends req and returns the response, whose body the caller closes. A
// status other than 2xx is returned as an error (wrapping errNoSuchKey for
// 404) with the body closed.
func (c *client) do(ctx context.Context, req request) (*http.Response, error) {
	u := *c.endpoint
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + c.bucket
	if req.key != "" {
		u.Path += "/" + req.key
	}
	u.RawPath = ""
	u.RawQuery = canonicalQuery(req.query)
	var body io.Reader = http.NoBody
	if len(req.body) > 0 {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for k, v := range req.header {
		hr.Header[k] = v
	}
	payload := emptyHash
	if len(req.body) > 0 {
		sum := sha256.Sum256(req.body)
		payload = hex.EncodeToString(sum[:])
	}
	c.sign(hr, u.EscapedPath(), payload, c.now().UTC())
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	var e struct {
		Code    string
		Message string
	}
	_ = xml.Unmarshal(b, &e)
	if resp.StatusCode == http.StatusNotFound && (e.Code == "" || e.Code == "NoSuchKey") {
		return nil, fmt.Errorf("%s %s: %w", req.method, req.key, errNoSuchKey)
	}
	return nil, fmt.Errorf("%s %s: status %d %s %s", req.method, req.key, resp.StatusCode, e.Code, e.Message)
}

// doRead is do for calls whose answer is read whole (bounded) and closed.
func (c *client) doRead(ctx context.Context, req request) (http.Header, []byte, error) {
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err == nil && len(b) > maxResponse {
		err = errors.New("response too large")
	}
	return resp.Header, b, err
}

// sign adds AWS Signature Version 4 headers to r for the escaped path
// and a payload of the given SHA-256 (hex).
func (c *client) sign(r *http.Request, path, payload string, now time.Time) {
	date := now.Format("20060102T150405Z")
	day := date[:8]
	r.Header.Set("X-Amz-Date", date)
	r.Header.Set("X-Amz-Content-Sha256", payload)
	names := []string{"host"}
	headers := map[string]string{"host": r.URL.Host}
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") || lk == "range" || lk == "content-type" {
			names = append(names, lk)
			headers[lk] = strings.Join(v, ",")
		}
	}
	sort.Strings(names)
	var canon strings.Builder
	for _, n := range names {
		canon.WriteString(n + ":" + strings.TrimSpace(headers[n]) + "\n")
	}
	signed := strings.Join(names, ";")
	creq := strings.Join([]string{r.Method, path, r.URL.RawQuery, canon.String(), signed, payload}, "\n")
	scope := day + "/" + c.region + "/s3/aws4_request"
	h := sha256.Sum256([]byte(creq))
	sts := "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + hex.EncodeToString(h[:])
	key := hmacSHA256([]byte("AWS4"+c.secretKey), day)
	key = hmacSHA256(key, c.region)
	key = hmacSHA256(key, "s3")
	key = hmacSHA256(key, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(key, sts))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+c.accessKey+"/"+scope+
		", SignedHeaders="+signed+", Signature="+sig)
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// canonicalQuery encodes q sorted by key, as SigV4 wants it and as the
// request sends it.
func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, escape(k)+"="+escape(v))
		}
	}
	return strings.Join(parts, "&")
}

// escape percent-encodes everything but RFC 3986's unreserved characters.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
