package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Worker settings.
const (
	// claimLease is how long a claimed delivery is reserved to one
	// worker: longer than a delivery's timeout, so that a lease only
	// lapses when its worker died.
	claimLease = 2 * time.Minute
	// batchSize bounds the deliveries claimed at once.
	batchSize = 64
	// responsePrefix bounds the response bytes read and kept.
	responsePrefix = 256
	// pollInterval is the pause between passes that found nothing.
	pollInterval = time.Second
	// pruneInterval spaces the pruning of finished deliveries.
	pruneInterval = time.Hour
)

type stats struct {
	delivered, failed, dead atomic.Int64
}

// Stats are counters since the service started.
type Stats struct {
	Delivered, Failed, Dead int64
}

// Stats returns the delivery counters.
func (s *Service) Stats() Stats {
	return Stats{Delivered: s.stats.delivered.Load(), Failed: s.stats.failed.Load(), Dead: s.stats.dead.Load()}
}

// Run delivers the outbox until ctx ends: each pass claims due deliveries
// (a lease no other worker, on this node or another, can take while it
// lasts), sends them concurrently and records each attempt.
func (s *Service) Run(ctx context.Context) {
	lastPrune := time.Time{}
	for {
		n, err := s.DeliverOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("webhook delivery pass failed", "err", err)
		}
		if now := s.cfg.Now(); now.Sub(lastPrune) > pruneInterval {
			lastPrune = now
			if _, err := s.cfg.Store.Prune(ctx, now.Add(-s.cfg.Retention)); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("webhook prune failed", "err", err)
			}
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollInterval):
		}
	}
}

// DeliverOnce claims the deliveries due now (one batch), sends them and
// returns how many it attempted.
func (s *Service) DeliverOnce(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	batch, err := s.cfg.Store.Claim(ctx, now, now.Add(claimLease), batchSize)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range batch {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.deliver(ctx, &batch[i])
		})
	}
	wg.Wait()
	return len(batch), nil
}

func (s *Service) signer(ctx context.Context, c *Claimed, now time.Time) (Signer, error) {
	var sg Signer
	cur, err := s.open(ctx, c.Endpoint.Tenant, c.Endpoint.ID, "secret", c.Endpoint.Secret)
	if err != nil {
		return sg, err
	}
	sg.Secrets = []Secret{cur}
	if c.Endpoint.PreviousSecret != nil && now.Before(c.Endpoint.PreviousUntil) {
		prev, err := s.open(ctx, c.Endpoint.Tenant, c.Endpoint.ID, "previous_secret", c.Endpoint.PreviousSecret)
		if err != nil {
			return sg, err
		}
		sg.Secrets = append(sg.Secrets, prev)
	}
	if s.cfg.Asymmetric {
		if sg.Key, err = s.signingKey(ctx, c.Endpoint.Tenant); err != nil {
			return sg, err
		}
	}
	return sg, nil
}

// deliver makes one attempt of c and records it.
func (s *Service) deliver(ctx context.Context, c *Claimed) {
	start := s.cfg.Now()
	a := Attempt{EndpointID: c.EndpointID, MessageID: c.MessageID, At: start}
	code, resp, err := s.send(ctx, c, start)
	a.Latency = s.cfg.Now().Sub(start)
	a.StatusCode, a.Response = code, resp
	var o Outcome
	if err == nil {
		o.Status = StatusDelivered
		s.stats.delivered.Add(1)
	} else {
		a.Error = err.Error()
		n := c.Attempts // attempts made before this one
		if n >= len(s.cfg.Schedule) {
			o.Status = StatusDead
			s.stats.dead.Add(1)
		} else {
			o.Status = StatusPending
			o.NextAttempt = start.Add(jitter(s.cfg.Schedule[n]))
		}
		s.stats.failed.Add(1)
	}
	if s.cfg.OnAttempt != nil {
		s.cfg.OnAttempt(err)
	}
	if ctx.Err() != nil && err != nil {
		// Stopping: leave the claim to lapse; the delivery is retried.
		return
	}
	if rerr := s.cfg.Store.Record(context.WithoutCancel(ctx), c.Claim, a, o); rerr != nil {
		s.cfg.Logger.Warn("webhook attempt not recorded", "endpoint", c.EndpointID, "message", c.MessageID, "err", rerr)
	}
}

// jitter spreads d by ±20%.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d*8/10 + time.Duration(rand.Int64N(int64(d)*4/10+1))
}

// deliveryError is an attempt's failure as recorded: a short class, never
// the response body or a secret.
type deliveryError string

func (e deliveryError) Error() string { return string(e) }

// send posts c's payload; it returns the status code, the first bytes of
// the response and nil for a 2xx answer.
func (s *Service) send(ctx context.Context, c *Claimed, now time.Time) (int, string, error) {
	if !s.guard.AllowHTTP && !bytes.HasPrefix([]byte(c.Endpoint.URL), []byte("https:")) {
		return 0, "", deliveryError("refused: http is not allowed")
	}
	sg, err := s.signer(ctx, c, now)
	if err != nil {
		s.cfg.Logger.Error("webhook signing failed", "endpoint", c.EndpointID, "err", err)
		return 0, "", deliveryError("internal: cannot sign")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint.URL, bytes.NewReader(c.Payload))
	if err != nil {
		return 0, "", deliveryError("invalid URL")
	}
	for k, v := range sg.Headers(c.MessageID, now, c.Payload) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Signet-Webhooks/1")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", classify(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, responsePrefix))
	prefix := printable(b)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, prefix, nil
	}
	return resp.StatusCode, prefix, deliveryError("status " + strconv.Itoa(resp.StatusCode))
}

// classify names a transport failure without echoing the URL.
func classify(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, ErrForbiddenURL):
		return deliveryError("refused: forbidden address")
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return deliveryError("timeout")
	case errors.Is(err, context.Canceled):
		return deliveryError("canceled")
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return deliveryError("connection failed: " + oe.Op)
	}
	return deliveryError("transport error")
}

// printable keeps the valid UTF-8 of b without control characters.
func printable(b []byte) string {
	out := make([]rune, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		if r == utf8.RuneError || (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			continue
		}
		out = append(out, r)
	}
	return string(out)
}
