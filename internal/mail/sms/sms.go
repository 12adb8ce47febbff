// Package sms sends text messages (recipients' one-time codes) through an
// HTTP SMS gateway.
//
// # Protocol
//
// [Gateway.SendSMS] POSTs one JSON object to the configured URL:
//
//	POST <url>
//	Authorization: Bearer <token>
//	Content-Type: application/json
//
//	{"to": "+41791234567", "text": "..."}
//
// Any 2xx answer means the gateway accepted the message. A 5xx answer is
// retried, up to [Config.Attempts] attempts in all, with a doubling pause
// between them; any other answer (a 4xx, a redirect, which is not
// followed), a timeout or a transport error is not retried, since the
// gateway may already have sent the message. Each attempt is bounded by
// [Config.Timeout].
//
// # Privacy
//
// A message carries a secret (a one-time code). Nothing in this package
// logs; errors name the gateway's status code or the transport failure,
// never the text, the token, the URL or the gateway's answer (which may
// echo the request).
package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Defaults and bounds of [Config].
const (
	DefaultTimeout  = 10 * time.Second
	MaxTimeout      = time.Minute
	DefaultAttempts = 3
	MaxAttempts     = 5
	DefaultBackoff  = 500 * time.Millisecond
	// MaxTextLen bounds a message's text in bytes (ten concatenated SMS).
	MaxTextLen = 1600
	// maxAnswer is how much of an answer is read (and discarded).
	maxAnswer = 4 << 10
)

// ErrInvalidMessage means a message cannot be sent as given: a number not
// in E.164 form, or an empty or overlong text.
var ErrInvalidMessage = errors.New("sms: invalid message")

// A StatusError is a gateway's refusal: the HTTP status of its last
// answer, after Attempts attempts.
type StatusError struct {
	Status   int
	Attempts int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("sms: the gateway answered %d (%s) after %d attempt(s)", e.Status, http.StatusText(e.Status), e.Attempts)
}

// e164 is "+" and 7 to 15 digits, the first not 0 (ITU-T E.164).
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Config configures a [Gateway].
type Config struct {
	// URL is the gateway's endpoint: https, or http to a loopback host
	// only (a gateway on the same machine, or a test).
	URL string
	// Token is the bearer token sent in the Authorization header.
	Token string
	// Timeout bounds each attempt, from connecting to reading the answer
	// (default [DefaultTimeout], at most [MaxTimeout]).
	Timeout time.Duration
	// Attempts is how many times a message is tried while the gateway
	// answers 5xx (default [DefaultAttempts], at most [MaxAttempts]).
	Attempts int
	// Backoff is the pause before the second attempt, doubled before
	// each further one (default [DefaultBackoff]).
	Backoff time.Duration
	// Transport carries the requests (nil: a transport of the gateway's
	// own, with dial, TLS-handshake and header timeouts).
	Transport http.RoundTripper
}

// Validate reports whether the configuration is usable.
func (c *Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "" || err != nil || u.Host == "" || u.User != nil || u.Fragment != "":
		return errors.New("sms: the gateway URL must be an absolute http(s) URL without credentials")
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return errors.New("sms: the gateway URL must be https (http only to a loopback host)")
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("sms: the gateway URL must be https")
	case c.Token == "" || strings.ContainsFunc(c.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return errors.New("sms: the gateway token must be set, without spaces or control characters")
	case c.Timeout < 0 || c.Timeout > MaxTimeout:
		return fmt.Errorf("sms: the timeout must be between 0 (default) and %v", MaxTimeout)
	case c.Attempts < 0 || c.Attempts > MaxAttempts:
		return fmt.Errorf("sms: attempts must be between 0 (default) and %d", MaxAttempts)
	case c.Backoff < 0 || c.Backoff > MaxTimeout:
		return fmt.Errorf("sms: the backoff must be between 0 (default) and %v", MaxTimeout)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// A Gateway sends text messages through an HTTP SMS gateway. It is safe
// for concurrent use.
type Gateway struct {
	cfg    Config
	client *http.Client
}

// New returns a gateway client for cfg.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Attempts == 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = DefaultBackoff
	}
	tr := cfg.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   cfg.Timeout,
			ResponseHeaderTimeout: cfg.Timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		}
	}
	return &Gateway{cfg: cfg, client: &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		// A redirect is an answer, not followed: the token and the text
		// go to the configured URL only.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// SendSMS sends text to the E.164 number to. It returns nil once the
// gateway accepted the message (2xx); a *[StatusError] if it refused it
// (after retries of 5xx answers); [ErrInvalidMessage] for a bad number or
// text, before any request. The text MUST be treated as secret: it is
// never logged or part of an error.
func (g *Gateway) SendSMS(ctx context.Context, to, text string) error {
	if !e164.MatchString(to) {
		return fmt.Errorf("%w: the number is not in E.164 form", ErrInvalidMessage)
	}
	if text == "" || len(text) > MaxTextLen {
		return fmt.Errorf("%w: the text must be 1 to %d bytes", ErrInvalidMessage, MaxTextLen)
	}
	body, err := json.Marshal(struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}{to, text})
	if err != nil {
		return fmt.Errorf("sms: encode: %w", err)
	}
	pause := g.cfg.Backoff
	for attempt := 1; ; attempt++ {
		status, err := g.post(ctx, body)
		if err != nil {
			return err
		}
		switch {
		case status >= 200 && status < 300:
			return nil
		case status < 500 || attempt == g.cfg.Attempts:
			return &StatusError{Status: status, Attempts: attempt}
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("sms: gave up after %d attempt(s): %w", attempt, ctx.Err())
		case <-t.C:
		}
		pause *= 2
	}
}

// post makes one attempt and returns the answer's status.
func (g *Gateway) post(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("sms: cannot build the request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.cfg.Token)
	resp, err := g.client.Do(req)
	if err != nil {
		// A *url.Error names the URL; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("sms: gateway request: %w", err)
	}
	defer resp.Body.Close()
	// Drain a bounded part of the answer, so the connection can be
	// reused; its content is never used (it may echo the text).
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	return resp.StatusCode, nil
}
