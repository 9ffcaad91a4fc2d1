package driver

import (
	"context"
	"errors"
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
	"github.com/gnomon-time/gnomon/ntp/client"
	"github.com/gnomon-time/gnomon/ntp/upstream"
)

// Clock is what the driver disciplines: steerable by the engine and able to
// convert the kernel's CLOCK_REALTIME packet stamps (clock.Virtual,
// system.Steered).
type Clock interface {
	clock.Steerable
	FromRealtime(t time.Time) time.Time
}

// Config configures a Driver.
type Config struct {
	// Engine configures the discipline engine (its Sink receives events).
	Engine engine.Config
	// Upstream configures the NTP client I/O; each server's selection
	// options (Prefer, NoSelect, Trust, Require) go to the engine.
	Upstream upstream.Config
	// Queue bounds the samples waiting for the discipline goroutine
	// (default 256).
	Queue int
}

// Stats are the driver's own counters.
type Stats struct {
	// Samples handed to the engine.
	Samples uint64
	// Dropped: samples lost because the queue to the discipline goroutine
	// was full.
	Dropped uint64
	// Straddled: samples discarded because they were taken across a step
	// of the clock (or before it).
	Straddled uint64
	// Restarts of all associations after steps.
	Restarts uint64
}

// Driver runs an Engine fed by an Upstream. Build it with New and call Run
// once.
type Driver struct {
	e     *engine.Engine
	up    *upstream.Upstream
	cache *upstream.Cache
	clk   Clock
	log   *slog.Logger
	ch    chan fwd
	ids   map[string]int
	reps  []*reporter

	// gen is the restart generation upstream's goroutine is known to be
	// in: the forwarder stamps samples with it. want is the generation the
	// discipline goroutine asked for (owned by it).
	gen       atomic.Uint64
	want      uint64
	stepped   time.Duration // Engine.Stepped at the last check
	restartOK bool          // the restart for want was queued

	samples, dropped, straddled, restarts atomic.Uint64
	names                                 bool // some server is a host name
}

type fwd struct {
	src int
	gen uint64
	s   filter.Sample
}

// New builds the engine, its sources and the upstream poller. It does no
// I/O. The engine publishes to cell at once (local or unsynchronised).
func New(cfg Config, clk Clock, cell *clock.StateCell, log *slog.Logger) (*Driver, error) {
	if clk == nil || cell == nil {
		return nil, errors.New("driver: nil clock or state cell")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 256
	}
	e, err := engine.New(cfg.Engine, clk, cell)
	if err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	// restartOK: no step yet, so no restart is owed.
	d := &Driver{e: e, clk: clk, log: log, ch: make(chan fwd, cfg.Queue), ids: map[string]int{}, restartOK: true}
	ids := make([]string, 0, len(cfg.Upstream.Servers))
	for i := range cfg.Upstream.Servers {
		ids = append(ids, cfg.Upstream.Servers[i].ID())
	}
	d.cache = upstream.NewCache(ids, (*forwarder)(d))
	for i := range cfg.Upstream.Servers {
		sc := &cfg.Upstream.Servers[i]
		r := &reporter{cache: d.cache, id: sc.ID()}
		esc := engine.SourceConfig{ID: sc.ID(), Options: selection.Options{
			Prefer: sc.Prefer, NoSelect: sc.NoSelect, Trust: sc.Trust, Require: sc.Require}}
		// The reference ID served with this source as the peer comes from
		// its address; a host name's address is learnt when upstream has
		// resolved it (watchAddrs).
		if ap, err := netip.ParseAddrPort(sc.Address); err == nil {
			esc.Addr = ap.Addr()
		} else if a, err := netip.ParseAddr(sc.Address); err == nil {
			esc.Addr = a
		} else {
			d.names = true
		}
		idx, err := e.AddSource(esc, r)
		if err != nil {
			return nil, fmt.Errorf("driver: %w", err)
		}
		d.ids[sc.ID()] = idx
		d.reps = append(d.reps, r)
	}
	if len(cfg.Upstream.Servers) > 0 {
		d.up, err = upstream.New(cfg.Upstream, clk, d.cache, log)
		if err != nil {
			return nil, fmt.Errorf("driver: %w", err)
		}
	}
	return d, nil
}

// Engine returns the engine (its State and Status are safe from any
// goroutine; nothing else is).
func (d *Driver) Engine() *engine.Engine { return d.e }

// Status returns the latest engine status snapshot.
func (d *Driver) Status() *engine.Status { return d.e.Status() }

// Upstream returns the poller, nil without NTP servers. Its control and
// Status methods are safe from any goroutine.
func (d *Driver) Upstream() *upstream.Upstream { return d.up }

// Stats returns the driver's counters.
func (d *Driver) Stats() Stats {
	return Stats{Samples: d.samples.Load(), Dropped: d.dropped.Load(),
		Straddled: d.straddled.Load(), Restarts: d.restarts.Load()}
}

// Run polls and disciplines until ctx ends (then it returns nil), or
// returns the error that stopped the poller or the engine.
func (d *Driver) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	if d.up != nil {
		g.Go(func() error { return d.up.Run(gctx) })
	}
	g.Go(func() error { return d.loop(gctx) })
	if d.names {
		g.Go(func() error { d.watchAddrs(gctx); return nil })
	}
	return g.Wait()
}

// watchAddrs copies the addresses upstream resolved for host names into
// the reporters: every 2 s until every name has one, then every 64 s
// (upstream does not re-resolve a name today, but may).
func (d *Driver) watchAddrs(ctx context.Context) {
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
		st, err := d.up.Status(sctx)
		cancel()
		all := err == nil
		if err == nil {
			for _, s := range st.Sources {
				i, ok := d.ids[s.ID]
				if !ok {
					continue
				}
				if s.Addr.IsValid() {
					a := s.Addr.Addr().Unmap()
					d.reps[i].addr.Store(&a)
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

// loop is the discipline goroutine.
func (d *Driver) loop(ctx context.Context) error {
	d.stepped = d.e.Stepped()
	tickAt, err := d.e.Tick()
	if err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		d.afterEngine(ctx)
		if wait := tickAt.Sub(d.clk.Now()); wait > 0 {
			timer.Reset(wait)
		} else {
			timer.Reset(0)
		}
		select {
		case <-ctx.Done():
			return nil
		case m := <-d.ch:
			if err := d.sample(m); err != nil {
				return err
			}
			// Drain what else is queued before ticking.
		drain:
			for range cap(d.ch) {
				select {
				case m := <-d.ch:
					if err := d.sample(m); err != nil {
						return err
					}
				default:
					break drain
				}
			}
		case <-timer.C:
		}
		if !d.clk.Now().Before(tickAt) {
			if tickAt, err = d.e.Tick(); err != nil {
				return fmt.Errorf("driver: %w", err)
			}
		}
	}
}

// sample hands one forwarded sample to the engine unless it predates the
// latest restart.
func (d *Driver) sample(m fwd) error {
	if m.gen < d.want {
		d.straddled.Add(1)
		return nil
	}
	d.reps[m.src].fresh()
	d.samples.Add(1)
	if err := d.e.Sample(m.src, engine.Sample{Local: m.s.Time, Offset: m.s.Offset,
		Delay: m.s.Delay, Dispersion: m.s.Dispersion}); err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	// A step inside Sample must be seen before the next queued sample.
	d.afterEngine(context.Background())
	return nil
}

// afterEngine notices steps and restarts the associations.
func (d *Driver) afterEngine(ctx context.Context) {
	if s := d.e.Stepped(); s != d.stepped {
		d.stepped = s
		d.want++
		d.restartOK = false
		for _, r := range d.reps {
			r.reset()
		}
	}
	if d.restartOK || d.up == nil {
		if d.up == nil {
			d.gen.Store(d.want)
		}
		return
	}
	// Queue the restart; a full control queue is retried at the next
	// wake-up (the reporters stay unusable meanwhile).
	if err := d.up.RestartAll(); err != nil {
		d.log.Debug("restart upstream associations after a step", slog.Any("error", err))
		return
	}
	d.restartOK = true
	d.restarts.Add(1)
	want := d.want
	go func() {
		// Status is served after the restart (FIFO control queue): from
		// then on every sample is on the new timescale.
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := d.up.Status(sctx); err != nil {
			return
		}
		for {
			g := d.gen.Load()
			if g >= want || d.gen.CompareAndSwap(g, want) {
				return
			}
		}
	}()
}

// forwarder is the Sink behind the Cache: it runs on upstream's goroutine
// and never blocks.
type forwarder Driver

// OnSample implements upstream.Sink.
func (f *forwarder) OnSample(id string, s filter.Sample, _ client.Estimate) {
	d := (*Driver)(f)
	idx, ok := d.ids[id]
	if !ok {
		return
	}
	select {
	case d.ch <- fwd{src: idx, gen: d.gen.Load(), s: s}:
	default:
		d.dropped.Add(1)
	}
}

// OnState implements upstream.Sink: the Cache keeps the estimate; the
// engine reads it at its next selection (every tick).
func (f *forwarder) OnState(string, time.Time, client.Estimate) {}

// reporter is an engine source backed by the Cache. Its stale flag is
// owned by the discipline goroutine.
type reporter struct {
	cache *upstream.Cache
	id    string
	stale bool                       // reset by a step; cleared by the next fresh sample
	addr  atomic.Pointer[netip.Addr] // resolved address of a host name (watchAddrs)
}

func (r *reporter) reset() { r.stale = true }
func (r *reporter) fresh() { r.stale = false }

// ResetSamples implements engine.Resetter; the driver restarts the
// associations (see afterEngine).
func (r *reporter) ResetSamples() { r.stale = true }

// Report implements engine.Reporter.
func (r *reporter) Report(now time.Time) engine.Report {
	e, ok := r.cache.Estimate(r.id, now)
	if !ok {
		return engine.Report{}
	}
	rep := engine.Report{
		Usable: e.Usable && !r.stale, Offset: e.Offset, SampleTime: e.SampleTime,
		Delay: e.Delay, Dispersion: e.Dispersion, Jitter: e.Jitter,
		Leap: e.Leap, Stratum: e.Stratum, RefID: e.RefID,
		RootDelay: e.RootDelay, RootDispersion: e.RootDispersion,
		Reach: e.Reach, Poll: e.Poll, Samples: e.Samples,
	}
	if a := r.addr.Load(); a != nil {
		rep.Addr = *a
	}
	return rep
}

// SourceCounters are one source's poll counters (from its client core).
type SourceCounters struct {
	ID       string
	Polls    uint64 // requests sent
	Timeouts uint64 // requests unanswered at the next poll
}

// SourceCounters asks the poller for every source's counters (a Status
// round trip to upstream's goroutine, bounded by ctx). It returns nil
// without NTP servers, or when the poller does not answer in time.
func (d *Driver) SourceCounters(ctx context.Context) []SourceCounters {
	if d.up == nil {
		return nil
	}
	st, err := d.up.Status(ctx)
	if err != nil {
		return nil
	}
	out := make([]SourceCounters, len(st.Sources))
	for i, s := range st.Sources {
		out[i] = SourceCounters{ID: s.ID, Polls: s.Stats.Sent, Timeouts: s.Stats.Timeouts}
	}
	return out
}
