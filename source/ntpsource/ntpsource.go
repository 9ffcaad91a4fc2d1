package ntpsource

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/internal/hostname"
	"github.com/gnomon-time/gnomon/ntp/client"
	"github.com/gnomon-time/gnomon/ntp/upstream"
	"github.com/gnomon-time/gnomon/report"
	"github.com/gnomon-time/gnomon/source"
)

// Source is the upstream NTP servers as one source.Source: one reference
// per server.
type Source struct {
	up    *upstream.Upstream
	cache *upstream.Cache
	ids   map[string]int // server ID → reference index
	reps  []*reporter
	refs  []source.Ref
	out   source.Sink // set by Run before the poller starts
	names bool        // some server is a host name
}

// New builds the poller for cfg's servers reading and converting stamps to
// clk (the disciplined clock). It does no I/O.
func New(cfg upstream.Config, clk clock.Served, log *slog.Logger) (*Source, error) {
	s := &Source{ids: make(map[string]int, len(cfg.Servers))}
	ids := make([]string, 0, len(cfg.Servers))
	for i := range cfg.Servers {
		ids = append(ids, cfg.Servers[i].ID())
	}
	s.cache = upstream.NewCache(ids, (*forwarder)(s))
	for i := range cfg.Servers {
		sc := &cfg.Servers[i]
		r := &reporter{cache: s.cache, id: sc.ID()}
		esc := engine.SourceConfig{ID: sc.ID(), TimeSource: clock.TimeSourceNTP, Options: selection.Options{
			Prefer: sc.Prefer, NoSelect: sc.NoSelect, Trust: sc.Trust, Require: sc.Require}}
		// The reference ID served with this source as the peer comes from
		// its address; a host name's address is learnt when upstream has
		// resolved it (watchAddrs).
		if a, ok := hostname.AddrOf(sc.Address, upstream.DefaultPort); ok {
			esc.Addr = a
		} else {
			s.names = true
		}
		s.ids[sc.ID()] = i
		s.reps = append(s.reps, r)
		s.refs = append(s.refs, source.Ref{Config: esc, Reporter: r})
	}
	up, err := upstream.New(cfg, clk, s.cache, log)
	if err != nil {
		return nil, fmt.Errorf("ntp source: %w", err)
	}
	s.up = up
	return s, nil
}

// Refs implements source.Source: one reference per server, in the
// configuration's order.
func (s *Source) Refs() []source.Ref { return s.refs }

// Run implements source.Source: it polls until ctx ends.
func (s *Source) Run(ctx context.Context, out source.Sink) error {
	s.out = out
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.up.Run(gctx) })
	if s.names {
		g.Go(func() error { s.watchAddrs(gctx); return nil })
	}
	return g.Wait()
}

// Restart implements source.Restarter: every association restarts (empty
// clock filter, a poll at once), and Restart returns when a Status request
// queued after the restart has been served (upstream's control queue is
// FIFO): every sample delivered afterwards is on the new timescale.
func (s *Source) Restart(ctx context.Context) error {
	if err := s.up.RestartAll(); err != nil {
		return err
	}
	_, err := s.up.Status(ctx)
	return err
}

// watchAddrs copies the addresses upstream resolved for host names into
// the reporters: every 2 s until every name has one, then every 64 s
// (upstream does not re-resolve a name today, but may).
func (s *Source) watchAddrs(ctx context.Context) {
	wait := 2 * time.Second
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := s.up.Status(sctx)
		cancel()
		all := err == nil
		if err == nil {
			for _, src := range st.Sources {
				i, ok := s.ids[src.ID]
				if !ok {
					continue
				}
				if src.Addr.IsValid() {
					a := src.Addr.Addr().Unmap()
					s.reps[i].addr.Store(&a)
				} else {
					all = false
				}
			}
		}
		if all {
			wait = 64 * time.Second
		}
		t.Reset(wait)
	}
}

// Counters implements source.Counted: it asks the poller for every server's counters (a Status round
// trip to upstream's goroutine, bounded by ctx). It returns nil when the
// poller does not answer in time.
func (s *Source) Counters(ctx context.Context) []source.Counters {
	st, err := s.up.Status(ctx)
	if err != nil {
		return nil
	}
	out := make([]source.Counters, len(st.Sources))
	for i, src := range st.Sources {
		out[i] = source.Counters{ID: src.ID, Polls: src.Stats.Sent, Timeouts: src.Stats.Timeouts,
			Replies: make([]report.ReplyCount, client.NumVerdicts)}
		for v := range client.NumVerdicts {
			out[i].Replies[v] = report.ReplyCount{Verdict: v.String(), Count: src.Stats.Verdicts[v]}
		}
	}
	return out
}

// forwarder is the Sink behind the Cache: it runs on upstream's goroutine
// and hands accepted samples to the Runner, which never blocks.
type forwarder Source

// OnSample implements upstream.Sink.
func (f *forwarder) OnSample(id string, smp filter.Sample, _ client.Estimate) {
	s := (*Source)(f)
	i, ok := s.ids[id]
	if !ok || s.out == nil {
		return
	}
	s.out.Sample(i, Sample(smp))
}

// OnState implements upstream.Sink: the Cache keeps the estimate; the
// engine reads it at its next selection (every tick).
func (f *forwarder) OnState(string, time.Time, client.Estimate) {}

// reporter is one server as the engine sees it, backed by the Cache.
type reporter struct {
	cache *upstream.Cache
	id    string
	addr  atomic.Pointer[netip.Addr] // resolved address of a host name (watchAddrs)
}

// Report implements engine.Reporter.
func (r *reporter) Report(now time.Time) engine.Report {
	e, ok := r.cache.Estimate(r.id, now)
	if !ok {
		return engine.Report{}
	}
	rep := Report(e)
	if a := r.addr.Load(); a != nil {
		rep.Addr = *a
	}
	return rep
}

// Report maps an ntp/client estimate to the engine's report (the one
// mapping, used here and by the simulator).
func Report(e client.Estimate) engine.Report {
	return engine.Report{
		Usable: e.Usable, Offset: e.Offset, SampleTime: e.SampleTime,
		Delay: e.Delay, Dispersion: e.Dispersion, Jitter: e.Jitter,
		Leap: e.Leap, Stratum: e.Stratum, RefID: e.RefID,
		RootDelay: e.RootDelay, RootDispersion: e.RootDispersion,
		Reach: e.Reach, Poll: e.Poll, Samples: e.Samples,
	}
}

// Sample maps an accepted ntp/client sample to the engine's sample.
func Sample(smp filter.Sample) engine.Sample {
	return engine.Sample{Local: smp.Time, Offset: smp.Offset, Delay: smp.Delay, Dispersion: smp.Dispersion}
}
