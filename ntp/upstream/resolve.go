package upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// resolution is the result of one lookup for a source.
type resolution struct {
	s    *source
	addr netip.AddrPort
	err  error
}

// resolveAll resolves every server at start: IP literals directly, names
// concurrently, each lookup bounded by ResolveTimeout. Names that fail are
// logged and retried in the background with backoff.
func (u *Upstream) resolveAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range u.srcs {
		if ip, err := netip.ParseAddr(s.host); err == nil {
			s.addr = netip.AddrPortFrom(ip.Unmap(), s.port)
			continue
		}
		wg.Go(func() {
			addr, err := u.lookup(ctx, s)
			if err == nil {
				s.addr = addr
				u.log.Info("upstream server resolved", "source", s.id, "name", s.host, "addr", addr.String())
				return
			}
			s.resolveErr = err.Error()
			if ctx.Err() != nil {
				return
			}
			u.log.Warn("upstream server did not resolve; retrying in the background",
				"source", s.id, "name", s.host, "error", err, "retry_in", u.cfg.ResolveRetry)
		})
	}
	wg.Wait()
	for _, s := range u.srcs {
		if !s.addr.IsValid() && ctx.Err() == nil {
			u.g.Go(func() error { u.retryResolve(ctx, s); return nil })
		}
	}
}

// lookup resolves s.host once and returns the first address.
func (u *Upstream) lookup(ctx context.Context, s *source) (netip.AddrPort, error) {
	ctx, cancel := context.WithTimeout(ctx, u.cfg.ResolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", s.host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("resolve %q: %w", s.host, err)
	}
	if len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("resolve %q: %w", s.host, errors.New("no addresses"))
	}
	return netip.AddrPortFrom(ips[0].Unmap(), s.port), nil
}

// retryResolve retries a failed name with doubling delays until it
// resolves or ctx ends, then hands the address to the owner. It does not
// touch s: the owner applies the result.
func (u *Upstream) retryResolve(ctx context.Context, s *source) {
	delay := u.cfg.ResolveRetry
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		addr, err := u.lookup(ctx, s)
		r := resolution{s: s, addr: addr, err: err}
		if err != nil && ctx.Err() == nil {
			// Tell the owner (for Status), then back off.
			select {
			case u.resolved <- r:
			default: // the owner is behind; the next attempt reports again
			}
			delay = min(2*delay, u.cfg.ResolveRetryMax)
			t.Reset(delay)
			continue
		}
		if err == nil {
			select {
			case u.resolved <- r:
			case <-ctx.Done():
			}
		}
		return
	}
}

// applyResolution runs on the owner with a background lookup's result.
func (u *Upstream) applyResolution(ctx context.Context, r resolution) {
	s := r.s
	if r.err != nil {
		s.resolveErr = r.err.Error()
		u.log.Debug("upstream server still does not resolve", "source", s.id, "name", s.host, "error", r.err)
		return
	}
	s.resolveErr = ""
	s.addr = r.addr
	u.log.Info("upstream server resolved", "source", s.id, "name", s.host, "addr", r.addr.String())
	if err := u.attach(ctx, s); err != nil {
		s.attachErr = err.Error()
		u.log.Error("upstream source not polled", "source", s.id, "addr", s.addr.String(), "error", err)
	}
}
