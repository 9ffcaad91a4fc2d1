package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
)

// Clock is what a Runner disciplines: steerable by the engine and able to
// convert the kernel's CLOCK_REALTIME packet stamps (clock.Virtual,
// system.Steered, clock.Unsteered).
type Clock interface {
	clock.Steerable
	FromRealtime(t time.Time) time.Time
}

// Config configures a Runner.
type Config struct {
	// Engine configures the discipline engine (its Sink receives events).
	Engine engine.Config
	// Queue bounds the samples waiting for the discipline goroutine
	// (default 256).
	Queue int
}

// DefaultQueue is the default bound of the sample queue.
const DefaultQueue = 256

// restartTimeout bounds one Restart call of a source.
const restartTimeout = 10 * time.Second

// Stats are the Runner's own counters.
type Stats struct {
	// Samples handed to the engine.
	Samples uint64
	// Dropped: samples lost because the queue to the discipline goroutine
	// was full.
	Dropped uint64
	// Straddled: samples discarded because they were taken across a step
	// of the clock (or before it).
	Straddled uint64
	// Restarts of sources after steps.
	Restarts uint64
}

// Runner runs one discipline engine and the sources plugged into it: the
// engine's one owner goroutine (the discipline loop) and each source's Run.
// Build it with New and call Run once. A daemon that disciplines several
// clocks (a PHC from PPS, the system clock from that PHC) runs one Runner
// per clock, chained through a source that measures one clock against the
// other.
type Runner struct {
	e    *engine.Engine
	clk  Clock
	log  *slog.Logger
	ch   chan fwd
	cmds chan func() // control commands, run on the discipline goroutine
	// stopped is closed when the discipline goroutine has returned.
	stopped chan struct{}
	srcs    []*plugged
	refs    []*guard // by engine index

	stepped time.Duration // Engine.Stepped at the last check (loop goroutine)

	samples, dropped, straddled, restarts atomic.Uint64
}

// plugged is one Source in a Runner: the Sink it was given.
type plugged struct {
	r    *Runner
	src  Source
	base int // engine index of its first reference
	n    int
	name string // its type and first reference's ID, for logs and errors
	// gen is the restart generation the source is known to be in: Sample
	// stamps samples with it. want is the generation the discipline
	// goroutine asked for, and restartOK says the restart for want has
	// been started (both owned by the loop).
	gen       atomic.Uint64
	want      uint64
	restartOK bool
}

type fwd struct {
	p   *plugged
	idx int // engine index
	gen uint64
	s   engine.Sample
}

// New builds the engine and registers every reference of srcs with it; a
// Fallback source (the local reference) becomes the engine's fallback. It
// does no I/O. The engine publishes to cell at once (local or
// unsynchronised); from then on it is the only publisher of cell.
func New(cfg Config, clk Clock, cell *clock.StateCell, log *slog.Logger, srcs ...Source) (*Runner, error) {
	if clk == nil || cell == nil {
		return nil, errors.New("source runner: nil clock or state cell")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	for _, s := range srcs {
		f, ok := s.(Fallback)
		if !ok {
			continue
		}
		if cfg.Engine.Local != nil {
			return nil, errors.New("source runner: more than one local reference")
		}
		l := f.Fallback()
		cfg.Engine.Local = &l
	}
	e, err := engine.New(cfg.Engine, clk, cell)
	if err != nil {
		return nil, fmt.Errorf("source runner: %w", err)
	}
	r := &Runner{e: e, clk: clk, log: log, ch: make(chan fwd, cfg.Queue), cmds: make(chan func()), stopped: make(chan struct{})}
	for _, s := range srcs {
		p := &plugged{r: r, src: s, base: len(r.refs), restartOK: true, name: fmt.Sprintf("%T", s)}
		for _, ref := range s.Refs() {
			if ref.Reporter == nil {
				return nil, fmt.Errorf("source runner: source %q: nil reporter", ref.Config.ID)
			}
			g := &guard{rep: ref.Reporter}
			if _, err := e.AddSource(ref.Config, g); err != nil {
				return nil, fmt.Errorf("source runner: %w", err)
			}
			r.refs = append(r.refs, g)
			if p.n == 0 {
				p.name = fmt.Sprintf("%T %s", s, ref.Config.ID)
			}
			p.n++
		}
		r.srcs = append(r.srcs, p)
	}
	return r, nil
}

// Engine returns the engine (its State, Status and Served are safe from
// any goroutine; nothing else is).
func (r *Runner) Engine() *engine.Engine { return r.e }

// Status returns the latest engine status snapshot.
func (r *Runner) Status() *engine.Status { return r.e.Status() }

// Stats returns the Runner's counters.
func (r *Runner) Stats() Stats {
	return Stats{Samples: r.samples.Load(), Dropped: r.dropped.Load(),
		Straddled: r.straddled.Load(), Restarts: r.restarts.Load()}
}

// Run runs every source and the discipline loop until ctx ends (then it
// returns nil), or returns the error that stopped a source or the engine.
func (r *Runner) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range r.srcs {
		g.Go(func() error {
			if err := p.src.Run(gctx, p); err != nil {
				return fmt.Errorf("source %s: %w", p.name, err)
			}
			return nil
		})
	}
	g.Go(func() error { return r.loop(gctx) })
	return g.Wait()
}

// loop is the discipline goroutine: it alone calls the engine's Sample and
// Tick, and so it alone steers the clock and publishes the SyncState.
func (r *Runner) loop(ctx context.Context) error {
	defer close(r.stopped)
	r.stepped = r.e.Stepped()
	tickAt, err := r.e.Tick()
	if err != nil {
		return fmt.Errorf("source runner: %w", err)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		r.afterEngine(ctx)
		if wait := tickAt.Sub(r.clk.Now()); wait > 0 {
			timer.Reset(wait)
		} else {
			timer.Reset(0)
		}
		select {
		case <-ctx.Done():
			return nil
		case m := <-r.ch:
			if err := r.sample(ctx, m); err != nil {
				return err
			}
			// Drain what else is queued before ticking.
		drain:
			for range cap(r.ch) {
				select {
				case m := <-r.ch:
					if err := r.sample(ctx, m); err != nil {
						return err
					}
				default:
					break drain
				}
			}
		case f := <-r.cmds:
			f()
			r.afterEngine(ctx)
		case <-timer.C:
		}
		if !r.clk.Now().Before(tickAt) {
			if tickAt, err = r.e.Tick(); err != nil {
				return fmt.Errorf("source runner: %w", err)
			}
		}
	}
}

// sample hands one forwarded sample to the engine unless it predates the
// latest restart of its source.
func (r *Runner) sample(ctx context.Context, m fwd) error {
	if m.gen < m.p.want {
		r.straddled.Add(1)
		return nil
	}
	r.refs[m.idx].stale = false
	r.samples.Add(1)
	if err := r.e.Sample(m.idx, m.s); err != nil {
		return fmt.Errorf("source runner: %w", err)
	}
	// A step inside Sample must be seen before the next queued sample.
	r.afterEngine(ctx)
	return nil
}

// afterEngine notices steps and restarts the sources.
func (r *Runner) afterEngine(ctx context.Context) {
	if s := r.e.Stepped(); s != r.stepped {
		r.stepped = s
		r.newTimescale()
	}
	for _, p := range r.srcs {
		if p.restartOK {
			continue
		}
		p.restartOK = true
		rs, ok := p.src.(Restarter)
		if !ok {
			p.gen.Store(p.want)
			continue
		}
		r.restarts.Add(1)
		go r.restart(ctx, p, rs, p.want)
	}
}

// newTimescale makes every reference unusable until its first fresh
// sample and restarts every source (afterEngine does it): what they
// measured, and what is in flight, is on the clock's old timescale (a
// step, or a disruption of its counter). Loop goroutine only.
func (r *Runner) newTimescale() {
	for _, g := range r.refs {
		g.stale = true
	}
	for _, p := range r.srcs {
		p.want++
		p.restartOK = false
	}
}

// restart restarts one source (retrying while it refuses, until ctx ends)
// and then moves its generation to want: from then on its samples are on
// the new timescale.
func (r *Runner) restart(ctx context.Context, p *plugged, rs Restarter, want uint64) {
	for {
		rctx, cancel := context.WithTimeout(ctx, restartTimeout)
		err := rs.Restart(rctx)
		cancel()
		if err == nil {
			break
		}
		r.log.Debug("restart source after a step", slog.String("source", p.name), slog.Any("error", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	for {
		g := p.gen.Load()
		if g >= want || p.gen.CompareAndSwap(g, want) {
			return
		}
	}
}

// Sample implements Sink for one plugged source: it runs on the source's
// goroutines and never blocks.
func (p *plugged) Sample(ref int, s engine.Sample) {
	if ref < 0 || ref >= p.n {
		return
	}
	select {
	case p.r.ch <- fwd{p: p, idx: p.base + ref, gen: p.gen.Load(), s: s}:
	default:
		p.r.dropped.Add(1)
	}
}

// guard stands between the engine and a reference's Reporter: from a step
// until the reference's first fresh sample its estimate is not usable. Its
// stale flag is owned by the discipline goroutine.
type guard struct {
	rep   engine.Reporter
	stale bool
}

// ResetSamples implements engine.Resetter: the reference is unusable until
// its next fresh sample, and a Reporter that keeps samples of its own
// clears them. The Runner restarts the source itself (see afterEngine),
// since every step, leaps included, changes Engine.Stepped.
func (g *guard) ResetSamples() {
	g.stale = true
	if r, ok := g.rep.(engine.Resetter); ok {
		r.ResetSamples()
	}
}

// Report implements engine.Reporter.
func (g *guard) Report(now time.Time) engine.Report {
	rep := g.rep.Report(now)
	if g.stale {
		rep.Usable = false
	}
	return rep
}
