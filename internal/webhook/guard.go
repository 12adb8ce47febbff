package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenURL is wrapped by every refusal of the SSRF guard.
var ErrForbiddenURL = errors.New("webhook: forbidden URL")

// A Resolver looks up the addresses of a host; *net.Resolver implements
// it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// A Guard decides which URLs and addresses the service may connect to.
// The zero Guard allows https to public addresses only.
type Guard struct {
	// AllowPrivateNetworks lifts the address checks (tests and
	// on-premises receivers).
	AllowPrivateNetworks bool
	// AllowHTTP accepts http URLs besides https.
	AllowHTTP bool
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
}

// forbidden lists the ranges no delivery may reach.
var forbidden = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",         // "this network", unspecified
		"10.0.0.0/8",        // private
		"100.64.0.0/10",     // CGNAT
		"127.0.0.0/8",       // loopback
		"169.254.0.0/16",    // link-local, cloud metadata
		"172.16.0.0/12",     // private
		"192.0.0.0/24",      // IETF protocol assignments
		"192.168.0.0/16",    // private
		"198.18.0.0/15",     // benchmarking
		"224.0.0.0/4",       // multicast
		"240.0.0.0/4",       // reserved, broadcast
		"::/128",            // unspecified
		"::1/128",           // loopback
		"64:ff9b::/96",      // NAT64 of any IPv4 address
		"100::/64",          // discard
		"2001:db8::/32",     // documentation
		"fc00::/7",          // unique local
		"fe80::/10",         // link-local
		"fec0::/10",         // site-local (deprecated)
		"ff00::/8",          // multicast
		"2002::/16",         // 6to4, embeds any IPv4 address
		"2001::/32",         // Teredo, embeds any IPv4 address
		"::ffff:0:0:0/96",   // IPv4-translated
		"fd00:ec2::254/128", // AWS metadata over IPv6 (inside fc00::/7 too)
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// CheckAddr returns an error when the guard forbids connecting to a.
func (g *Guard) CheckAddr(a netip.Addr) error {
	if g.AllowPrivateNetworks {
		return nil
	}
	if !a.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrForbiddenURL)
	}
	a = a.Unmap().WithZone("")
	for _, p := range forbidden {
		if p.Contains(a) {
			return fmt.Errorf("%w: address %s is in %s", ErrForbiddenURL, a, p)
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() {
		return fmt.Errorf("%w: address %s is not public", ErrForbiddenURL, a)
	}
	return nil
}

// maxURL bounds an endpoint URL.
const maxURL = 2048

// CheckURL parses raw and checks its scheme and every address its host
// resolves to. It returns the parsed URL.
func (g *Guard) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	if len(raw) > maxURL {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrForbiddenURL, maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%w: not an absolute URL", ErrForbiddenURL)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !g.AllowHTTP {
			return nil, fmt.Errorf("%w: http is not allowed, use https", ErrForbiddenURL)
		}
	default:
		return nil, fmt.Errorf("%w: scheme %q", ErrForbiddenURL, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: credentials in the URL", ErrForbiddenURL)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("%w: fragment in the URL", ErrForbiddenURL)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("%w: no host", ErrForbiddenURL)
	}
	if p := u.Port(); p != "" {
		if n, perr := parsePort(p); perr != nil || n == 0 {
			return nil, fmt.Errorf("%w: bad port", ErrForbiddenURL)
		}
	}
	if g.AllowPrivateNetworks {
		return u, nil
	}
	if a, perr := netip.ParseAddr(host); perr == nil {
		return u, g.CheckAddr(a)
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") || strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".localhost") {
		return nil, fmt.Errorf("%w: localhost", ErrForbiddenURL)
	}
	addrs, err := g.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("%w: host %s does not resolve", ErrForbiddenURL, host)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: host %s has no address", ErrForbiddenURL, host)
	}
	for _, a := range addrs {
		if err := g.CheckAddr(a); err != nil {
			return nil, fmt.Errorf("host %s: %w", host, err)
		}
	}
	return u, nil
}

func parsePort(p string) (int, error) {
	n := 0
	if len(p) > 5 {
		return 0, errors.New("long")
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, errors.New("digit")
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0, errors.New("range")
	}
	return n, nil
}

func (g *Guard) resolver() Resolver {
	if g.Resolver != nil {
		return g.Resolver
	}
	return net.DefaultResolver
}

// control is a net.Dialer Control function refusing forbidden addresses:
// it sees the address actually dialled, after name resolution.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: dialled address %q", ErrForbiddenURL, address)
	}
	return g.CheckAddr(ap.Addr())
}

// Client timeouts and limits of deliveries.
const (
	dialTimeout     = 5 * time.Second
	deliveryTimeout = 15 * time.Second
)

// Client returns an HTTP client whose connections pass the guard at
// connect time, that follows no redirect and gives up after a short
// timeout.
func (g *Guard) Client() *http.Client {
	resolver := g.resolver()
	dialer := &net.Dialer{Timeout: dialTimeout, Control: g.control}
	tr := &http.Transport{
		Proxy: nil, // a proxy would hide the dialled address from the guard
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if _, perr := netip.ParseAddr(host); perr != nil && g.Resolver != nil {
				// A custom resolver (tests) answers for names: dial what it says.
				addrs, lerr := resolver.LookupNetIP(ctx, "ip", host)
				if lerr != nil {
					return nil, lerr
				}
				var last error = fmt.Errorf("%w: host %s has no address", ErrForbiddenURL, host)
				for _, a := range addrs {
					c, derr := dialer.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
					if derr == nil {
						return c, nil
					}
					last = derr
				}
				return nil, last
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   dialTimeout,
		ResponseHeaderTimeout: deliveryTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   deliveryTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
