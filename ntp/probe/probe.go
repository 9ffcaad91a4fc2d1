package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	beevik "github.com/beevik/ntp"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/internal/hostname"
)

// Limits on Options, so that one run stays bounded in time and traffic.
const (
	MaxTargets  = 100
	MaxCount    = 16
	MaxTimeout  = time.Minute
	MaxInterval = 10 * time.Second
)

// Target is one server to query.
type Target struct {
	Input string // as given
	Host  string // IP literal or host name
	Port  uint16
}

// ParseTargets parses HOST[:PORT] arguments (host name, IPv4, IPv6,
// [IPv6]:port) with hostname.SplitAddress, the tree's one address parser;
// port is the default port. It reports every bad argument.
func ParseTargets(args []string, port uint16) ([]Target, error) {
	if len(args) == 0 {
		return nil, errors.New("want at least one HOST[:PORT]")
	}
	if len(args) > MaxTargets {
		return nil, fmt.Errorf("%d servers: want at most %d", len(args), MaxTargets)
	}
	var errs []error
	ts := make([]Target, 0, len(args))
	for _, a := range args {
		h, p, err := hostname.SplitAddress(a, port)
		if err != nil {
			errs = append(errs, fmt.Errorf("server %q: %w", a, err))
			continue
		}
		ts = append(ts, Target{Input: a, Host: h, Port: p})
	}
	return ts, errors.Join(errs...)
}

// Options configure Probe. Start from DefaultOptions.
type Options struct {
	Timeout  time.Duration // per request (and per name lookup)
	Count    int           // requests per server; the smallest delay wins
	Interval time.Duration // pause between a server's requests
	// Resolver looks up host names; nil is net.DefaultResolver.
	Resolver *net.Resolver
	Thresholds
}

// DefaultOptions returns one request per server with a 2 s timeout, warning
// above 10 ms and critical above 100 ms of |offset|, no root-distance limits.
func DefaultOptions() Options {
	return Options{
		Timeout:    2 * time.Second,
		Count:      1,
		Interval:   200 * time.Millisecond,
		Thresholds: Thresholds{WarnOffset: 10 * time.Millisecond, CritOffset: 100 * time.Millisecond},
	}
}

// Validate reports every problem in o.
func (o Options) Validate() error {
	var errs []error
	if o.Timeout <= 0 || o.Timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("--timeout %v: want > 0 and ≤ %v", o.Timeout, MaxTimeout))
	}
	if o.Count < 1 || o.Count > MaxCount {
		errs = append(errs, fmt.Errorf("--count %d: want 1 … %d", o.Count, MaxCount))
	}
	if o.Interval < 0 || o.Interval > MaxInterval {
		errs = append(errs, fmt.Errorf("--interval %v: want 0 … %v", o.Interval, MaxInterval))
	}
	if err := o.Thresholds.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Report is the outcome of one run.
type Report struct {
	Status     Status
	Results    []Result // in the order of the targets
	Thresholds Thresholds
}

// Probe queries every target concurrently (Count requests each, Interval
// apart) and judges the results. It returns when every target is done:
// at most about Count × (Timeout + Interval) plus one name lookup (bounded
// by Timeout). Cancelling ctx stops between requests; a request in flight
// ends at its timeout.
func Probe(ctx context.Context, targets []Target, o Options) (Report, error) {
	if err := o.Validate(); err != nil {
		return Report{}, err
	}
	rs := make([]Result, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { rs[i] = probeOne(ctx, t, o) })
	}
	wg.Wait()
	for i := range rs {
		rs[i].Status, rs[i].Reason = Judge(rs[i], o.Thresholds)
	}
	return Report{Status: Overall(rs), Results: rs, Thresholds: o.Thresholds}, nil
}

// probeOne resolves t and queries it o.Count times.
func probeOne(ctx context.Context, t Target, o Options) Result {
	r := Result{Target: t.Input}
	addr, err := resolve(ctx, o.Resolver, t.Host, o.Timeout)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	ap := netip.AddrPortFrom(addr, t.Port)
	r.Address = ap.String()
	var best *beevik.Response
	for i := range o.Count {
		if i > 0 && !sleep(ctx, o.Interval) {
			break
		}
		if ctx.Err() != nil {
			break
		}
		r.Sent++
		resp, err := query(r.Address, o.Timeout)
		if err != nil {
			r.Err = queryError(err, o.Timeout)
			continue
		}
		r.Replies++
		if better(resp, best) {
			best = resp
		}
	}
	if ctx.Err() != nil && best == nil {
		r.Err = fmt.Sprintf("cancelled: %v", ctx.Err())
	}
	if best != nil {
		r.Err = ""
		r.Reply = replyOf(best)
	}
	return r
}

// query sends one NTPv4 request to addr with beevik/ntp. Network bytes must
// not crash the probe: replies beevik v1.6.0 would panic on are refused
// before it parses them (guard), and any other panic in it becomes an error.
func query(addr string, timeout time.Duration) (resp *beevik.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, fmt.Errorf("malformed reply: beevik/ntp panicked: %v", p)
		}
	}()
	return beevik.QueryWithOptions(addr, beevik.QueryOptions{Version: 4, Timeout: timeout,
		Extensions: []beevik.Extension{guard{}}})
}

// guard is a beevik Extension that refuses replies beevik v1.6.0 cannot
// parse safely: its toInterval shifts by −(int8) of the poll and precision
// fields, a negative shift (panic) when either is −128.
type guard struct{}

func (guard) ProcessQuery(*bytes.Buffer) error { return nil }

func (guard) ProcessResponse(b []byte) error {
	if len(b) >= 4 && (int8(b[2]) == math.MinInt8 || int8(b[3]) == math.MinInt8) {
		return errors.New("malformed reply: poll or precision −128")
	}
	return nil
}

// better reports whether a should replace b as the reply kept: a reply
// that passes Validate beats one that does not, then the smaller delay
// wins.
func better(a, b *beevik.Response) bool {
	if b == nil {
		return true
	}
	av, bv := a.Validate() == nil, b.Validate() == nil
	if av != bv {
		return av
	}
	return a.RTT < b.RTT
}

func replyOf(p *beevik.Response) *Reply {
	r := &Reply{
		Offset:         p.ClockOffset,
		Delay:          p.RTT,
		Version:        p.Version,
		Stratum:        p.Stratum,
		Leap:           clock.Leap(p.Leap),
		RefID:          p.ReferenceID,
		RootDelay:      p.RootDelay,
		RootDispersion: p.RootDispersion,
		RootDistance:   p.RootDistance,
		Precision:      p.Precision,
	}
	if err := p.Validate(); err != nil {
		r.Invalid = err.Error()
	}
	return r
}

// queryError says briefly why a query failed: beevik's errors carry the
// socket addresses, which the result already names.
func queryError(err error, timeout time.Duration) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("timeout (%v)", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "port unreachable (ICMP)"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable (ICMP)"
	}
	return err.Error()
}

// resolve returns host's address: the literal itself, or the first
// address the resolver gives (in its RFC 6724 order), within timeout.
func resolve(ctx context.Context, res *net.Resolver, host string, timeout time.Duration) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if res == nil {
		res = net.DefaultResolver
	}
	as, err := res.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(as) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %s: no address", host)
	}
	return as[0].Unmap(), nil
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
