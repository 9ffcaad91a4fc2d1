package phcsource

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/gnomon-time/gnomon/clock"

	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/clock/phc"
	"github.com/gnomon-time/gnomon/source"
)

// onDisruptionTimeout bounds one OnDisruption call.
const onDisruptionTimeout = 10 * time.Second

// reachStale: with no sample for this many polls the reference is not
// usable (the reach register's width).
const reachStale = 8

// Disruption is the disruption state of a Source's local clock.
type Disruption struct {
	// Disrupted: a disruption was seen and the source has not re-locked
	// since (RelockSamples samples within RelockOffset). While set, the
	// reported root dispersion includes DisruptedBound.
	Disrupted bool
	// Count is the number of disruptions seen since New.
	Count uint64
	// Marker is the last disruption marker read; MarkerValid says one
	// has been read.
	Marker      uint64
	MarkerValid bool
	// Since is the disciplined clock's time of the last disruption seen.
	Since time.Time
}

// Stats are a Source's counters.
type Stats struct {
	Polls    uint64 // measurements tried
	Failures uint64 // measurements that failed (device error)
}

// Source is one PHC as a source.Source with one reference. It measures the
// PHC against CLOCK_REALTIME every Poll, maps the CLOCK_REALTIME side to the
// disciplined clock, and delivers
//
//	offset     = PHC (as UTC) − disciplined clock, at the same instant
//	dispersion = bracket/2 + Precision (+ the PHC's error bound in the
//	             engine sample)
//
// It is a source.Restarter (it keeps a clock filter) and its reporter an
// engine.Resetter. Build it with New.
type Source struct {
	phc   *phc.PHC
	cfg   Config
	refID uint32
	poll  int8 // log2 s
	log   *slog.Logger

	// measure is held across one measurement and its delivery, so that
	// Restart returns only when no measurement of the old timescale can
	// still be delivered.
	measure sync.Mutex

	mu        sync.Mutex // guards what follows
	filt      filter.Filter
	reach     uint8
	last      time.Time // disciplined-clock time of the last sample
	bound     time.Duration
	hasBound  bool
	dis       Disruption
	relock    int
	failing   bool // the last measurement failed (logged once)
	markerErr bool // the last marker read failed (logged once)
	stats     Stats
}

var (
	_ source.Source    = (*Source)(nil)
	_ source.Restarter = (*Source)(nil)
	_ engine.Reporter  = (*Source)(nil)
	_ engine.Resetter  = (*Source)(nil)
)

// New returns a source measuring p. It does no I/O.
func New(p *phc.PHC, cfg Config) (*Source, error) {
	cfg, err := cfg.withDefaults(p)
	if err != nil {
		return nil, err
	}
	id, _ := clock.ParseRefID(cfg.RefID)
	return &Source{
		phc: p, cfg: cfg, refID: id, log: cfg.Logger.With(slog.String("source", cfg.ID)),
		poll: int8(math.Round(math.Log2(cfg.Poll.Seconds()))),
	}, nil
}

// Refs implements source.Source: one reference clock.
func (s *Source) Refs() []source.Ref {
	return []source.Ref{{
		Config: engine.SourceConfig{ID: s.cfg.ID, RefClockID: s.refID, TimeSource: s.cfg.TimeSource,
			Options: s.cfg.Options},
		Reporter: s,
	}}
}

// Run implements source.Source: it measures at once and then every Poll
// until ctx ends. A failing device does not end it: the reference becomes
// unusable and the failure is logged once, its recovery too.
func (s *Source) Run(ctx context.Context, out source.Sink) error {
	tk := time.NewTicker(s.cfg.Poll)
	defer tk.Stop()
	for {
		s.Poll(ctx, out)
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
	}
}

// Poll takes one measurement and delivers it to out (Run calls it every
// Poll; tests and tools may call it directly). It first reads the
// disruption marker, then the PHC, then its error bound.
func (s *Source) Poll(ctx context.Context, out source.Sink) {
	s.checkDisruption(ctx)
	s.measure.Lock()
	defer s.measure.Unlock()
	smp, fs, err := s.measureOnce()
	bound, hasBound := time.Duration(0), false
	if s.cfg.ErrorBound != nil {
		// After the cross-timestamp: the ENA driver refreshes its cached
		// bound on every PHC read.
		bound, hasBound = s.cfg.ErrorBound.ErrorBound()
	}
	s.mu.Lock()
	s.stats.Polls++
	s.reach <<= 1
	s.bound, s.hasBound = bound, hasBound
	if err != nil {
		s.stats.Failures++
		s.filt.AddMissing(s.cfg.FromRealtime(time.Now().Round(0)))
		first := !s.failing
		s.failing = true
		s.mu.Unlock()
		if first {
			s.log.Warn("PHC measurement failed", slog.Any("error", err))
		} else {
			s.log.Debug("PHC measurement failed", slog.Any("error", err))
		}
		return
	}
	recovered := s.failing
	s.failing = false
	s.reach |= 1
	s.last = fs.Time
	s.filt.Add(fs)
	relocked := s.relockCheck(fs.Offset)
	if hasBound {
		smp.Dispersion += bound
	}
	s.mu.Unlock()
	if recovered {
		s.log.Info("PHC measurements resumed")
	}
	if relocked {
		s.log.Info("re-locked after clock disruption", slog.Duration("offset", fs.Offset))
	}
	out.Sample(0, smp)
}

// measureOnce measures the PHC against CLOCK_REALTIME and returns the
// engine sample (without the error bound) and the filter sample.
func (s *Source) measureOnce() (engine.Sample, filter.Sample, error) {
	off, span, at, err := s.phc.SysOffset(s.cfg.Samples)
	if err != nil {
		return engine.Sample{}, filter.Sample{}, err
	}
	// The PHC's reading at the midpoint `at` of the kept bracket, on UTC.
	ref := at.Add(off)
	if s.cfg.TAI {
		ref = ref.Add(-time.Duration(s.cfg.TAIOffset(at)) * time.Second)
	}
	local := s.cfg.FromRealtime(at)
	offset := ref.Sub(local) // reference − local: positive = the disciplined clock is behind
	disp := span/2 + s.cfg.Precision
	return engine.Sample{Local: local, Offset: offset, Dispersion: disp},
		filter.Sample{Time: local, Offset: offset, Dispersion: disp}, nil
}

// relockCheck counts samples within RelockOffset while disrupted and ends
// the disrupted state after RelockSamples in a row. Callers hold mu.
func (s *Source) relockCheck(offset time.Duration) bool {
	if !s.dis.Disrupted {
		return false
	}
	if offset.Abs() > s.cfg.RelockOffset {
		s.relock = 0
		return false
	}
	s.relock++
	if s.relock < s.cfg.RelockSamples {
		return false
	}
	s.dis.Disrupted, s.relock = false, 0
	return true
}

// checkDisruption reads the disruption marker. On a change it clears the
// history, marks the state disrupted and calls OnDisruption.
func (s *Source) checkDisruption(ctx context.Context) {
	if s.cfg.Disruption == nil {
		return
	}
	m, err := s.cfg.Disruption.DisruptionMarker()
	s.mu.Lock()
	if err != nil {
		first := !s.markerErr
		s.markerErr = true
		s.mu.Unlock()
		if first {
			s.log.Warn("cannot read the clock disruption marker", slog.Any("error", err))
		}
		return
	}
	s.markerErr = false
	changed := s.dis.MarkerValid && m != s.dis.Marker
	old := s.dis.Marker
	s.dis.MarkerValid, s.dis.Marker = true, m
	if changed {
		s.dis.Disrupted = true
		s.dis.Count++
		s.dis.Since = s.cfg.FromRealtime(time.Now().Round(0))
		s.relock = 0
		s.filt.Reset()
		s.reach = 0
	}
	s.mu.Unlock()
	if !changed {
		return
	}
	s.log.Warn("local clock disrupted (live migration or snapshot restore): calibration discarded",
		slog.Uint64("marker", m), slog.Uint64("previous_marker", old))
	if s.cfg.OnDisruption == nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, onDisruptionTimeout)
	defer cancel()
	if err := s.cfg.OnDisruption(cctx, s.cfg.DisruptedBound); err != nil {
		s.log.Warn("reset after clock disruption failed", slog.Any("error", err))
	}
}

// Restart implements source.Restarter: after a step of the disciplined
// clock the filter's samples are on the old timescale. It waits for a
// measurement in flight to be delivered (one cross-timestamp burst).
func (s *Source) Restart(ctx context.Context) error {
	s.measure.Lock()
	defer s.measure.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("phc source %s: restart: %w", s.cfg.ID, err)
	}
	s.ResetSamples()
	return nil
}

// ResetSamples implements engine.Resetter: the filter forgets its
// samples (a leap second, chronyc reset sources, a disruption).
func (s *Source) ResetSamples() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.filt.Reset()
}

// Report implements engine.Reporter: the clock filter's pick at now, the
// reference clock's header (stratum 0, so served at stratum 1; the
// reference ID) and, as root dispersion, the PHC's error bound (plus
// DisruptedBound while disrupted), which the engine folds into the served
// root dispersion and error bound. Usable while samples arrive: a
// sample within the last 8 polls.
func (s *Source) Report(now time.Time) engine.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.filt.Evaluate(now, s.cfg.Precision)
	usable := r.OK && s.reach != 0 && now.Sub(s.last) <= reachStale*s.cfg.Poll
	rep := engine.Report{
		Usable: usable, Delay: 0, Jitter: r.Jitter,
		Stratum: 0, RefID: s.refID, RootDispersion: s.rootDispersion(),
		Reach: s.reach, Poll: s.poll, Samples: s.filt.Len(),
	}
	if f := s.cfg.Follow; f != nil {
		s.follow(&rep, f.Load(), now)
	}
	if r.OK {
		// The chosen sample's own dispersion (its bracket/2, grown at
		// PHI since), not the filter's peer dispersion: a bracket is a
		// hard bound of its sample's error, while the peer dispersion
		// sums the older stages aged at 15 ppm, which for a 1 s poll
		// adds ~15 µs to a measurement good to ~1 µs.
		rep.Offset, rep.SampleTime, rep.Dispersion = r.Best.Offset, r.Best.Time, r.Best.Dispersion
	} else {
		rep.Dispersion = r.Dispersion
	}
	return rep
}

// follow passes the PHC's own discipline state st on in rep (Config.Follow).
func (s *Source) follow(rep *engine.Report, st *clock.SyncState, now time.Time) {
	if st == nil || !st.Synchronized || st.Leap == clock.LeapUnsync {
		rep.Usable = false
		return
	}
	rep.Stratum = max(st.Stratum, 1) - 1
	rep.RefID, rep.Leap = st.RefID, st.Leap
	rep.RootDelay = st.RootDelay
	rep.RootDispersion += st.RootDispersionAt(now)
}

// rootDispersion is the PHC's own error bound, widened while disrupted.
// Callers hold mu.
func (s *Source) rootDispersion() time.Duration {
	var d time.Duration
	if s.hasBound {
		d = s.bound
	}
	if s.dis.Disrupted {
		d += s.cfg.DisruptedBound
	}
	return d
}

// Disruption returns the disruption state (safe from any goroutine).
func (s *Source) Disruption() Disruption {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dis
}

// ErrorBound returns the PHC's error bound read at the last poll; ok is
// false when the device exposes none.
func (s *Source) ErrorBound() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound, s.hasBound
}

// Stats returns the counters.
func (s *Source) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}
