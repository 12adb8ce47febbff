package webhook

import (
	"context"
	"errors"
	"time"
)

// Errors of the stores.
var (
	// ErrNoRecord: no such endpoint or delivery for this tenant.
	ErrNoRecord = errors.New("webhook: no such record")
	// ErrLostClaim: the delivery's claim expired and another worker took
	// it; the attempt is not recorded.
	ErrLostClaim = errors.New("webhook: delivery claim lost")
)

// An Endpoint is a tenant's registered receiver. Its secrets are held
// sealed: Secret (the current one) and, until PreviousUntil during a
// rotation, PreviousSecret.
type Endpoint struct {
	ID             string
	Tenant         string
	URL            string
	Events         []string // empty: every event
	Enabled        bool
	Failing        bool
	Secret         []byte // sealed
	PreviousSecret []byte // sealed; nil without a rotation in progress
	PreviousUntil  time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Delivery states.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusDead      = "dead" // dead-lettered after the retry schedule
)

// A Delivery is one message for one endpoint.
type Delivery struct {
	EndpointID  string
	MessageID   string
	Tenant      string
	Type        string
	Status      string
	Attempts    int
	NextAttempt time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// An Attempt is one try of a delivery.
type Attempt struct {
	EndpointID string
	MessageID  string
	N          int // 1 for the first attempt
	At         time.Time
	StatusCode int // 0 when no response came
	Latency    time.Duration
	Error      string // empty on success; never the response body
	Response   string // the first bytes of the response body
}

// A Claimed delivery is leased to one worker: everything needed to send
// it.
type Claimed struct {
	Delivery
	Claim    string // the lease's token
	Endpoint Endpoint
	Payload  []byte
}

// An Outcome is how an attempt ends a delivery's turn.
type Outcome struct {
	Status      string    // StatusPending (retry at NextAttempt), StatusDelivered or StatusDead
	NextAttempt time.Time // for StatusPending
}

// A Store holds endpoints, the outbox and the delivery log. Reads and
// writes of endpoints and deliveries are scoped by tenant: another
// tenant's row is [ErrNoRecord].
type Store interface {
	// InsertEndpoint stores a new endpoint.
	InsertEndpoint(ctx context.Context, e *Endpoint) error
	// Endpoint returns tenant's endpoint id.
	Endpoint(ctx context.Context, tenant, id string) (*Endpoint, error)
	// Endpoints returns tenant's endpoints, oldest first, at most limit.
	Endpoints(ctx context.Context, tenant string, limit int) ([]*Endpoint, error)
	// UpdateEndpoint replaces tenant's endpoint e.ID.
	UpdateEndpoint(ctx context.Context, e *Endpoint) error
	// DeleteEndpoint deletes tenant's endpoint id with its deliveries.
	DeleteEndpoint(ctx context.Context, tenant, id string) error

	// Enqueue writes msgs to the outbox in a transaction of its own: one
	// pending delivery per matching enabled endpoint of the message's
	// tenant (a message no endpoint wants is not kept). Stores of state
	// changes call the driver's InsertMessages inside their own
	// transaction instead.
	Enqueue(ctx context.Context, msgs []Message) error
	// Claim leases to a new claim token, until until, at most limit
	// pending deliveries due at now and not leased to another worker,
	// earliest first. Two workers never hold one delivery at once.
	Claim(ctx context.Context, now, until time.Time, limit int) ([]Claimed, error)
	// Record stores attempt a of a delivery claimed under claim and
	// applies o; it marks the endpoint failing when o dead-letters the
	// delivery and not failing when o delivers it. A claim that expired
	// and was taken over is [ErrLostClaim].
	Record(ctx context.Context, claim string, a Attempt, o Outcome) error
	// Deliveries returns the deliveries of tenant's endpoint, newest
	// first (by message id, which begins with the message's creation
	// time), at most limit, each with its attempts (oldest first).
	Deliveries(ctx context.Context, tenant, endpoint string, limit int) ([]Delivery, map[string][]Attempt, error)
	// Retry makes tenant's delivery (endpoint, message) pending again,
	// due at now.
	Retry(ctx context.Context, tenant, endpoint, message string, now time.Time) error
	// Prune deletes delivered and dead deliveries last updated before
	// before, with their attempts and messages no delivery refers to.
	Prune(ctx context.Context, before time.Time) (int, error)
	// Backlog returns how many deliveries wait to be sent or retried.
	Backlog(ctx context.Context) (int, error)

	// SigningKey returns tenant's sealed Ed25519 key, or [ErrNoRecord].
	SigningKey(ctx context.Context, tenant string) ([]byte, error)
	// InsertSigningKey stores tenant's sealed key unless one exists, and
	// returns the stored one (so that concurrent creators agree).
	InsertSigningKey(ctx context.Context, tenant string, sealed []byte, now time.Time) ([]byte, error)
}

// Wants reports whether an endpoint subscribed to events (empty: all)
// receives an event of type t.
func Wants(events []string, t string) bool {
	if len(events) == 0 {
		return true
	}
	for _, e := range events {
		if e == t {
			return true
		}
	}
	return false
}

// EncodeEvents and DecodeEvents convert an endpoint's event list to and
// from the stores' column (space-separated).
func EncodeEvents(events []string) string {
	out := ""
	for i, e := range events {
		if i > 0 {
			out += " "
		}
		out += e
	}
	return out
}

// DecodeEvents is the inverse of [EncodeEvents].
func DecodeEvents(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
