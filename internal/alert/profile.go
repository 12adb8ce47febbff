package alert

import (
	"hash/fnv"
	"net/netip"
	"time"
)

// Bounds of one principal's profile.
const (
	maxNetworks = 32
	maxClients  = 16
	// hourCap: when a bucket reaches it, every bucket is halved.
	hourCap = 1 << 15
)

// A profile is what the engine learned of one principal: the hours of
// the week of its privileged actions, and the networks and clients it
// used (with when each was first seen).
type profile struct {
	hours    [168]uint16
	total    int
	networks *lru[netip.Prefix, time.Time]
	clients  *lru[uint64, time.Time]
}

func newProfile() *profile {
	return &profile{networks: newLRU[netip.Prefix, time.Time](maxNetworks), clients: newLRU[uint64, time.Time](maxClients)}
}

// hourOfWeek returns t's bucket: hours since Sunday 00:00 UTC.
func hourOfWeek(t time.Time) int {
	t = t.UTC()
	return int(t.Weekday())*24 + t.Hour()
}

// unusual reports whether an action at t is unusual for p: p has at
// least minHistory actions and t's hour with its neighbours holds less
// than maxShare of them.
func (p *profile) unusual(t time.Time, minHistory int, maxShare float64) bool {
	if minHistory < 0 || p.total < minHistory {
		return false
	}
	h := hourOfWeek(t)
	n := int(p.hours[(h+167)%168]) + int(p.hours[h]) + int(p.hours[(h+1)%168])
	return float64(n) < maxShare*float64(p.total)
}

// learnHour adds an action at t to the histogram.
func (p *profile) learnHour(t time.Time) {
	h := hourOfWeek(t)
	if p.hours[h] >= hourCap {
		p.total = 0
		for i := range p.hours {
			p.hours[i] /= 2
			p.total += int(p.hours[i])
		}
	}
	p.hours[h]++
	p.total++
}

// network returns the /24 (IPv4) or /48 (IPv6) holding ip.
func network(ip string) (netip.Prefix, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	return p, err == nil
}

// clientID returns the hash that stands for a user agent.
func clientID(ua string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(ua))
	return h.Sum64()
}

// seen learns that p used network n and client c at now, and reports
// for each whether it is new: first seen within fresh of now while p had
// used another before. A zero n or empty ua is not judged.
func (p *profile) seen(n netip.Prefix, ua string, now time.Time, fresh time.Duration) (newNet, newClient bool) {
	if n.IsValid() {
		newNet = firstSeen(p.networks, n, now, fresh)
	}
	if ua != "" {
		newClient = firstSeen(p.clients, clientID(ua), now, fresh)
	}
	return newNet, newClient
}

func firstSeen[K comparable](known *lru[K, time.Time], k K, now time.Time, fresh time.Duration) bool {
	had := known.len() > 0
	first, ok := known.get(k)
	if !ok {
		known.put(k, now)
		return had
	}
	if now.Sub(first) > fresh {
		return false
	}
	// Still within the window since its first use: new if anything else
	// was used before it.
	return known.len() > 1 && olderThan(known, first)
}

// olderThan reports whether known holds a first sighting before t.
func olderThan[K comparable](known *lru[K, time.Time], t time.Time) bool {
	for el := known.order.Front(); el != nil; el = el.Next() {
		if el.Value.(*entry[K, time.Time]).val.Before(t) {
			return true
		}
	}
	return false
}
