package gnsssource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/refclock"
	"github.com/gnomon-time/gnomon/refclock/pair"
	"github.com/gnomon-time/gnomon/source"
)

// RefIDGPS is "GPS\0", the reference ID served while PPS paired with GNSS
// time of day is the system peer (chrony's and ntpd's usual refid).
const RefIDGPS = 0x47505300

// Config configures a Source. Start from DefaultConfig.
type Config struct {
	// ID names the reference in the engine, status and logs.
	ID string
	// RefID is the reference ID served while this is the system peer.
	RefID uint32
	// Options are the reference's selection options (prefer, trust…).
	Options selection.Options
	// Pair configures the pairing. Its Timescale is that of the clock the
	// samples are against: the device's when ToLocal is nil.
	Pair pair.Config
	// Precision is each sample's dispersion and the jitter floor: the
	// device's timestamping error (≈ 1 µs for kernel PPS through an
	// interrupt, tens of ns for a PHC's EXTTS).
	Precision time.Duration
	// Timeout: the reference is unusable once its last accepted edge is
	// older than this (a receiver that stopped talking, a pulled PPS
	// cable, a lost fix), so the engine selects another reference or
	// enters holdover.
	Timeout time.Duration
	// Realtime maps an edge's device timestamp to approximate
	// CLOCK_REALTIME, for the pairing's windows (ms accuracy suffices).
	// nil is the identity: kernel PPS stamps on CLOCK_REALTIME.
	Realtime func(edgeAt time.Time) time.Time
	// ToLocal maps an edge's device timestamp to the disciplined clock's
	// reading at the same instant, on the same timescale (Pair.Timescale).
	// nil is the identity: the device's clock is the disciplined clock (a
	// PHC engine fed by that PHC's EXTTS; kernel PPS disciplining the
	// system clock).
	ToLocal func(edgeAt time.Time) time.Time
	// Now reads CLOCK_REALTIME to close the pairing's windows; nil is
	// time.Now.
	Now func() time.Time
}

// DefaultConfig returns reference "GPS" with the NMEA pairing defaults,
// 1 µs precision and a 5 s timeout.
func DefaultConfig() Config {
	return Config{
		ID:        "GPS",
		RefID:     RefIDGPS,
		Pair:      pair.DefaultConfig(),
		Precision: time.Microsecond,
		Timeout:   5 * time.Second,
	}
}

// Validate reports every problem in c, each naming the field and its value.
func (c Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("gnss source: id is empty"))
	}
	if c.Precision <= 0 || c.Precision > time.Second {
		errs = append(errs, fmt.Errorf("gnss source: precision = %v: want in (0, 1s]", c.Precision))
	}
	if c.Timeout < 2*time.Second || c.Timeout > time.Hour {
		errs = append(errs, fmt.Errorf("gnss source: timeout = %v: want in [2s, 1h] (a pair takes about a second)", c.Timeout))
	}
	if err := c.Pair.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("gnss source: %w", err))
	}
	return errors.Join(errs...)
}

// Source is a PPS input paired with a GNSS receiver's time of day, as one
// source.Source with one reference. It implements source.Restarter.
type Source struct {
	cfg   Config
	edges refclock.EdgeSource
	tod   refclock.TimeOfDaySource
	log   *slog.Logger
	core  *Core
	refs  []source.Ref

	restart chan chan struct{} // Restart → Run's loop
	running atomic.Bool

	mu     sync.Mutex
	counts pair.Counts // copied from the Pairer after each decision
}

// New builds the source; it does no I/O. log may be nil.
func New(cfg Config, edges refclock.EdgeSource, tod refclock.TimeOfDaySource, log *slog.Logger) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if edges == nil || tod == nil {
		return nil, errors.New("gnss source: needs an edge source and a time-of-day source")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Source{cfg: cfg, edges: edges, tod: tod, log: log.With("source", cfg.ID),
		restart: make(chan chan struct{})}
	core, err := NewCore(cfg, s.log)
	if err != nil {
		return nil, err
	}
	s.core = core
	s.refs = []source.Ref{{
		Config: engine.SourceConfig{ID: cfg.ID, RefClockID: cfg.RefID, TimeSource: clock.TimeSourceGNSS,
			Options: cfg.Options},
		Reporter: core.Reporter(),
	}}
	return s, nil
}

// Refs implements source.Source: one reference.
func (s *Source) Refs() []source.Ref { return s.refs }

// Counts returns the pairing's outcomes by verdict since Run started
// (for metrics: gnomon_… {verdict=Verdict.String()}). Safe from any
// goroutine.
func (s *Source) Counts() pair.Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Restart implements source.Restarter: it forgets every edge and report
// read before the step (pending pairs, the chain, whatever waits in the
// queues) and the reference's samples, and returns when that is done, so
// every later sample is paired from edges read afterwards. Without Run
// there is nothing to restart.
func (s *Source) Restart(ctx context.Context) error {
	if !s.running.Load() {
		s.core.rep.ResetSamples()
		return nil
	}
	done := make(chan struct{})
	select {
	case s.restart <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// queueLen bounds the inputs waiting for the pairing goroutine: a few
// seconds' worth; a device never waits longer than the pairing takes.
const queueLen = 16

// Run implements source.Source: it runs both devices and pairs their
// inputs on its own goroutine until ctx ends (nil) or a device fails (its
// error).
func (s *Source) Run(ctx context.Context, out source.Sink) error {
	g, gctx := errgroup.WithContext(ctx)
	edgeCh := make(chan refclock.Edge, queueLen)
	todCh := make(chan refclock.TimeOfDay, queueLen)
	g.Go(func() error {
		if err := s.edges.Run(gctx, func(e refclock.Edge) {
			select {
			case edgeCh <- e:
			case <-gctx.Done():
			}
		}); err != nil {
			return fmt.Errorf("gnss source %s: pps: %w", s.cfg.ID, err)
		}
		return nil
	})
	g.Go(func() error {
		if err := s.tod.Run(gctx, func(r refclock.TimeOfDay) {
			select {
			case todCh <- r:
			case <-gctx.Done():
			}
		}); err != nil {
			return fmt.Errorf("gnss source %s: time of day: %w", s.cfg.ID, err)
		}
		return nil
	})
	g.Go(func() error {
		s.running.Store(true)
		defer s.running.Store(false)
		s.loop(gctx, edgeCh, todCh, out)
		return nil
	})
	return g.Wait()
}

// loop owns the Core: it feeds it the devices' inputs and wakes at its
// deadlines.
func (s *Source) loop(ctx context.Context, edgeCh <-chan refclock.Edge, todCh <-chan refclock.TimeOfDay, out source.Sink) {
	now := s.cfg.Now
	if now == nil {
		now = time.Now
	}
	c := s.core
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var decided []pair.Outcome
		select {
		case <-ctx.Done():
			return
		case e := <-edgeCh:
			decided = c.Edge(e, now(), out)
		case r := <-todCh:
			decided = c.TimeOfDay(r, now(), out)
		case <-t.C:
			decided = c.Advance(now(), out)
		case done := <-s.restart:
			c.Reset()
			drain(edgeCh)
			drain(todCh)
			close(done)
			decided = c.Advance(now(), out)
		}
		if len(decided) > 0 {
			s.mu.Lock()
			s.counts = c.Counts()
			s.mu.Unlock()
		}
		t.Stop()
		if dl, ok := c.Deadline(); ok {
			t.Reset(max(dl.Sub(now()), 0))
		}
	}
}

func identity(f func(time.Time) time.Time) func(time.Time) time.Time {
	if f == nil {
		return func(t time.Time) time.Time { return t }
	}
	return f
}

func drain[T any](ch <-chan T) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// reporter is the reference as the engine sees it: a clock filter of the
// accepted samples, usable while the last is younger than the timeout.
type reporter struct {
	precision, timeout time.Duration

	mu    sync.Mutex
	f     filter.Filter
	last  time.Time // Local of the last accepted sample
	leap  clock.Leap
	reach uint8 // one bit per settled edge, 1 = accepted
}

func (r *reporter) add(smp engine.Sample, leap clock.Leap) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.f.Add(filter.Sample{Time: smp.Local, Offset: smp.Offset, Dispersion: smp.Dispersion})
	r.last, r.leap = smp.Local, leap
	if leap == clock.LeapUnsync {
		r.leap = clock.LeapNone
	}
}

func (r *reporter) settled(ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reach <<= 1
	if ok {
		r.reach |= 1
	}
}

// Report implements engine.Reporter: the clock filter's pick at now, or
// unusable once the last accepted edge is older than the timeout. A
// reference clock is stratum 0 (the engine serves stratum 1).
func (r *reporter) Report(now time.Time) engine.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := engine.Report{Stratum: 0, Reach: r.reach, Poll: 0}
	if r.last.IsZero() || now.Sub(r.last) > r.timeout {
		return rep
	}
	res := r.f.Evaluate(now, r.precision)
	if !res.OK {
		return rep
	}
	rep.Usable, rep.Leap = true, r.leap
	rep.Offset, rep.SampleTime = res.Best.Offset, res.Best.Time
	rep.Dispersion, rep.Jitter, rep.Samples = res.Dispersion, res.Jitter, res.Valid
	return rep
}

// ResetSamples implements engine.Resetter: after a step every stored
// sample is on the old timescale.
func (r *reporter) ResetSamples() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.f.Reset()
	r.last = time.Time{}
}
