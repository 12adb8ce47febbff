package auditlog

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"time"
)

// monotonicClock returns strictly increasing times even when the wall
// clock steps back: a later event never carries an earlier time.
type monotonicClock struct {
	now  func() time.Time
	last time.Time
}

func (c *monotonicClock) next() time.Time {
	t := c.now().UTC().Round(0)
	if !t.After(c.last) {
		t = c.last.Add(time.Nanosecond)
	}
	c.last = t
	return t
}

// newUUIDv7 returns a UUID version 7 (RFC 9562, Section 5.7): 48 bits of
// Unix milliseconds, then random bits.
func newUUIDv7(now time.Time, r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var u [16]byte
	if _, err := io.ReadFull(r, u[6:]); err != nil {
		return "", err
	}
	ms := uint64(now.UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
