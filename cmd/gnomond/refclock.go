package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/phc"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/clock/system"
	"github.com/gnomon-time/gnomon/clock/vmclock"
	"github.com/gnomon-time/gnomon/clockbound"
	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/refclock"
	"github.com/gnomon-time/gnomon/refclock/gpsd"
	"github.com/gnomon-time/gnomon/refclock/nmea"
	"github.com/gnomon-time/gnomon/refclock/pair"
	"github.com/gnomon-time/gnomon/refclock/pps"
	"github.com/gnomon-time/gnomon/refclock/todsim"
	"github.com/gnomon-time/gnomon/source"
	"github.com/gnomon-time/gnomon/source/gnsssource"
	"github.com/gnomon-time/gnomon/source/phcsource"
)

// refclockRefID packs a reference ID that config validated (one to four
// printable ASCII characters).
func refclockRefID(s string) uint32 {
	id, _ := clock.ParseRefID(s)
	return id
}

// taiOffsetFunc returns TAI − UTC from the engine's leap table (the
// configured leap.table, loaded once by engineConfig), else nil
// (phcsource then uses clock.DefaultTAIOffset).
func taiOffsetFunc(ls engine.LeapSource) func(time.Time) int {
	if ls == nil {
		return nil
	}
	return func(t time.Time) int {
		_, off := ls.LeapAt(t)
		return off
	}
}

// phcDevicePath resolves a phc entry's device: the path given, or the PHC
// of the interface named.
func phcDevicePath(device, iface string) (string, error) {
	if device != "" {
		return device, nil
	}
	path, _, err := phc.InterfaceDevice(iface)
	if err != nil {
		return "", fmt.Errorf("interface %s: %w", iface, err)
	}
	return path, nil
}

// phcIndex is N of a PHC device /dev/ptpN (through symbolic links such as
// /dev/ptp_hyperv), or -1.
func phcIndex(path string) int {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	var n int
	if _, err := fmt.Sscanf(filepath.Base(path), "ptp%d", &n); err != nil || phc.DevicePath(n) != path {
		return -1
	}
	return n
}

// phcSourceSet is what the `phc` entries of sources opened.
type phcSourceSet struct {
	sources []*phcsource.Source
	closers []func()
	// runner is set once it exists: a VMClock disruption is handed to
	// its Disrupt.
	runner *source.Runner
}

func (s *phcSourceSet) close() {
	for _, c := range s.closers {
		c()
	}
}

// buildPHCSources opens every `phc` entry of sources: its device (or the
// disciplined PHC when it names the phc section's device, whose state it
// then follows), the ENA error bound and the VMClock device when given.
// clk is the disciplined clock.
func buildPHCSources(cfg *config.Config, clk source.Clock, ref *reference, ls engine.LeapSource, log *slog.Logger) (*phcSourceSet, error) {
	set := &phcSourceSet{}
	tai := taiOffsetFunc(ls)
	for i, e := range cfg.PHCSources() {
		key := fmt.Sprintf("sources[%d].phc", i)
		pc := phcsource.Config{RefID: e.RefID, Poll: time.Duration(math.Ldexp(float64(time.Second), e.Poll)),
			TAI: e.Timescale == config.TimescaleTAI, TAIOffset: tai, FromRealtime: clk.FromRealtime,
			Options: selection.Options{Prefer: e.Prefer, NoSelect: e.NoSelect}, Logger: log}
		var p *phc.PHC
		if ref != nil && ref.follows(e) {
			// The followed PHC is served under its receiver's reference
			// ID (GPS): the served clock is that receiver's time.
			p, pc.Follow, pc.TimeSource = ref.phc, ref.cell, clock.TimeSourceGNSS
			pc.ID, pc.RefID = "phc:"+ref.name, ref.cfg.GNSS.RefID
		} else {
			path, err := phcDevicePath(e.Device, e.Interface)
			if err != nil {
				set.close()
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			if p, err = phc.OpenReadOnly(path); err != nil {
				set.close()
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			set.closers = append(set.closers, func() { p.Close() })
			pc.ID = path
		}
		if e.ErrorBound != "" {
			pc.ErrorBound = phcsource.NewSysfsBound(e.ErrorBound, log)
		}
		if e.VMClock != "" {
			r, err := vmclock.Open(e.VMClock)
			if err != nil {
				set.close()
				return nil, fmt.Errorf("%s.vmclock: %w", key, err)
			}
			set.closers = append(set.closers, func() { r.Close() })
			pc.Disruption = r
			pc.OnDisruption = set.disrupt
		}
		s, err := phcsource.New(p, pc)
		if err != nil {
			set.close()
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		set.sources = append(set.sources, s)
		log.Info("phc source", "id", pc.ID, "timescale", e.Timescale, "poll", pc.Poll, "refid", e.RefID,
			"follows_disciplined_phc", pc.Follow != nil, "error_bound", e.ErrorBound, "vmclock", e.VMClock)
	}
	return set, nil
}

// disrupt hands a VMClock disruption to the Runner (source.Runner.Disrupt):
// the served bound is widened by widen (the source's DisruptedBound) and
// marked disrupted until the engine is locked again, every reference is
// reset and the servo restarted.
func (s *phcSourceSet) disrupt(ctx context.Context, widen time.Duration) error {
	if s.runner == nil {
		return nil
	}
	return s.runner.Disrupt(ctx, widen)
}

// disruption is the VMClock state for the ClockBound segment: the marker
// last read by a phc source with a VMClock device, and whether that source
// is still disrupted. ok is false without such a source or before its
// first read.
func (s *phcSourceSet) disruption() (d clockbound.Disruption, ok bool) {
	if s == nil {
		return d, false
	}
	for _, src := range s.sources {
		x := src.Disruption()
		if !x.MarkerValid {
			continue
		}
		return clockbound.Disruption{Marker: x.Marker, Disrupted: x.Disrupted}, true
	}
	return d, false
}

// reference is the phc section: the disciplined PHC and the engine that
// steers it from GNSS (ts2phc's role), with its own SyncState.
type reference struct {
	name string // the device path, or "sim"
	cfg  config.PHCClock
	phc  *phc.PHC
	// sim and ppsSim are the simulated PHC and pulse (device sim).
	sim *phc.Sim
	// index is the PHC's /dev/ptpN number (-1: simulated, or a name that
	// is not /dev/ptpN): PTP uses a NIC's hardware stamps of this PHC.
	index  int
	ppsSim *pps.Sim
	todSim *todsim.Receiver
	cell   *clock.StateCell
	runner *source.Runner
	gnss   *gnsssource.Source
	tod    *countedToD
	closer []func()
}

// follows reports whether the phc entry e names this PHC.
func (r *reference) follows(e config.PHCSource) bool {
	return (e.Device != "" && e.Device == r.cfg.Device) || (e.Interface != "" && e.Interface == r.cfg.Interface)
}

func (r *reference) close() {
	for _, c := range r.closer {
		c()
	}
}

// phcServed is a PHC as a source.Clock for its own engine. Nothing serves
// it directly (PTP and NTP serve the clock that follows it), so
// FromRealtime is approximate: it maps through one reading of each clock.
type phcServed struct{ *phc.PHC }

func (p phcServed) FromRealtime(t time.Time) time.Time {
	return t.Add(p.Now().Sub(system.Clock{}.Now()))
}

// buildReference builds the phc section (nil when it is off): the PHC
// (a device, or a simulated one over the host clock), its pulse and time
// of day, and an engine steering the PHC from them. It opens devices but
// starts nothing.
func buildReference(cfg *config.Config, served engine.Config, log *slog.Logger) (_ *reference, err error) {
	p := &cfg.PHC
	if !p.Enabled() {
		return nil, nil
	}
	log = log.With("clock", "phc")
	r := &reference{cfg: *p, cell: new(clock.StateCell), index: -1}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	tai := p.Timescale == config.TimescaleTAI
	taiOffset := clock.DefaultTAIOffset
	if t := taiOffsetFunc(served.LeapSource); t != nil {
		taiOffset = t(time.Now())
	}
	var path string
	if p.Device == config.PHCDeviceSim {
		off := secs(p.Sim.Offset)
		if tai {
			off += time.Duration(taiOffset) * time.Second
		}
		r.sim, err = phc.NewSim(phc.SimConfig{Name: "sim", Base: system.Clock{}, Offset: off,
			FreqErrorPPB: p.Sim.FreqPPM * 1000, ReadJitter: secs(p.Sim.ReadNoise), Seed: randomSeed()})
		if err != nil {
			return nil, fmt.Errorf("phc: %w", err)
		}
		if r.phc, err = phc.New(r.sim); err != nil {
			return nil, fmt.Errorf("phc: %w", err)
		}
		r.name = "sim"
	} else {
		if path, err = phcDevicePath(p.Device, p.Interface); err != nil {
			return nil, fmt.Errorf("phc: %w", err)
		}
		if r.phc, err = phc.Open(path); err != nil {
			return nil, fmt.Errorf("phc: %w", err)
		}
		r.closer = append(r.closer, func() { r.phc.Close() })
		r.name, r.index = path, phcIndex(path)
	}
	edges, tod, err := r.openGNSS(&p.GNSS, path, taiOffset, log)
	if err != nil {
		return nil, err
	}
	r.tod = tod
	gc := gnsssource.DefaultConfig()
	gc.ID, gc.RefID, gc.Precision = "gnss:"+p.GNSS.RefID, refclockRefID(p.GNSS.RefID), secs(p.GNSS.Precision)
	gc.Options = selection.Options{Prefer: p.GNSS.Prefer, NoSelect: p.GNSS.NoSelect}
	gc.Pair.MinDelay, gc.Pair.MaxDelay = secs(p.GNSS.TimeOfDay.MinDelay), secs(p.GNSS.TimeOfDay.MaxDelay)
	if tai {
		gc.Pair.Timescale, gc.Pair.TAIOffset = pair.TAI, taiOffset
	}
	// Edges are on the PHC, the disciplined clock itself (ToLocal nil);
	// their CLOCK_REALTIME, for the pairing windows, through one reading
	// of each clock.
	gc.Realtime = func(at time.Time) time.Time { return at.Add(system.Clock{}.Now().Sub(r.phc.Now())) }
	if r.gnss, err = gnsssource.New(gc, edges, tod, log); err != nil {
		return nil, fmt.Errorf("phc.gnss: %w", err)
	}
	// The PHC's engine has the served clock's engine configuration (one
	// validation, one load of the leap table), its own precision and log.
	clk := phcServed{r.phc}
	ec := served
	ec.Precision, ec.Sink = measurePrecision(clk), engine.NewLogSink(log, nil)
	if tai {
		// A TAI PHC has no leap seconds to carry out; the table still
		// gives the UTC offset PTP announces.
		ec.LeapMode = engine.LeapModeNone
	}
	if r.runner, err = source.New(source.Config{Engine: ec}, clk, r.cell, log, r.gnss); err != nil {
		return nil, configError{err: err}
	}
	log.Info("disciplined PHC", "phc", r.name, "timescale", p.Timescale, "pps", p.GNSS.PPS.Source,
		"time_of_day", p.GNSS.TimeOfDay.Source, "refid", p.GNSS.RefID, "tai_offset", taiOffset)
	return r, nil
}

// openGNSS opens the receiver of the phc section: its pulse (EXTTS on the
// PHC at path, or simulated on the simulated PHC) and its time of day.
func (r *reference) openGNSS(g *config.GNSSSource, path string, taiOffset int, log *slog.Logger) (refclock.EdgeSource, *countedToD, error) {
	var edges refclock.EdgeSource
	polarity, err := pps.ParsePolarity(g.PPS.Edge)
	if err != nil {
		return nil, nil, fmt.Errorf("phc.gnss.pps.edge: %w", err)
	}
	switch g.PPS.Source {
	case config.RefclockSim:
		sim := r.sim
		r.ppsSim, err = pps.NewSim(pps.SimConfig{Now: system.Clock{}.Now, Seed: randomSeed(), Jitter: secs(g.PPS.Sim.Jitter),
			DeviceTime: func(t time.Time) time.Time { return t.Add(sim.TrueOffsetAt(t)) }})
		if err != nil {
			return nil, nil, fmt.Errorf("phc.gnss.pps: %w", err)
		}
		edges = r.ppsSim
	case config.PPSExtTS:
		ec := pps.EXTTSConfig{Device: path, Channel: g.PPS.Channel, Polarity: polarity, Delay: secs(g.PPS.Delay), Logger: log}
		if g.PPS.Pin >= 0 {
			ec.Pin = strconv.Itoa(g.PPS.Pin)
		}
		x, err := pps.OpenEXTTS(ec)
		if err != nil {
			return nil, nil, fmt.Errorf("phc.gnss.pps: %w", err)
		}
		r.closer = append(r.closer, func() { x.Close() })
		edges = x
	default:
		return nil, nil, fmt.Errorf("phc.gnss.pps.source %q: not on a PHC", g.PPS.Source)
	}
	tod, err := openTimeOfDay("phc.gnss", &g.TimeOfDay, taiOffset, log)
	if err != nil {
		return nil, nil, err
	}
	if s, ok := tod.TimeOfDaySource.(*todsim.Receiver); ok {
		r.todSim = s
	}
	return edges, tod, nil
}

// openTimeOfDay opens a receiver's time of day (key names it in errors),
// counting its reports for gnomon_gnss_*.
func openTimeOfDay(key string, t *config.TimeOfDay, taiOffset int, log *slog.Logger) (*countedToD, error) {
	tod, err := openTimeOfDayInput(key, t, taiOffset, log)
	if err != nil {
		return nil, err
	}
	return &countedToD{TimeOfDaySource: tod, kind: t.Source}, nil
}

func openTimeOfDayInput(key string, t *config.TimeOfDay, taiOffset int, log *slog.Logger) (refclock.TimeOfDaySource, error) {
	switch t.Source {
	case config.RefclockSim:
		s, err := todsim.New(todsim.Config{Now: system.Clock{}.Now, TAIOffset: taiOffset, Seed: randomSeed()})
		if err != nil {
			return nil, fmt.Errorf("%s.time_of_day: %w", key, err)
		}
		return s, nil
	case config.ToDGpsd:
		return &gpsd.Client{Addr: t.Gpsd, Logger: log}, nil
	case config.ToDNMEA:
		s, err := nmea.Open(t.Device, nmea.Config{Baud: t.Baud, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("%s.time_of_day: %w", key, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("%s.time_of_day.source %q: unknown", key, t.Source)
}

// runOutages pulls the simulated pulse as phc.gnss.pps.sim.outages says,
// counted from start.
func (r *reference) runOutages(ctx context.Context, start time.Time, log *slog.Logger) error {
	if r.ppsSim == nil {
		return nil
	}
	for _, o := range r.cfg.GNSS.PPS.Sim.Outages {
		for _, step := range []struct {
			at time.Time
			on bool
		}{{start.Add(secs(o.After)), false}, {start.Add(secs(o.After + o.For)), true}} {
			t := time.NewTimer(time.Until(step.at))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			r.ppsSim.SetConnected(step.on)
			log.Info("simulated PPS", "connected", step.on)
		}
	}
	return nil
}

// buildGNSSSources opens every `gnss` entry of sources: a kernel PPS
// device (stamps on CLOCK_REALTIME, mapped to the disciplined clock) with
// its receiver's time of day.
func buildGNSSSources(cfg *config.Config, clk source.Clock, set *phcSourceSet, log *slog.Logger) ([]source.Source, gnssRefs, error) {
	var out []source.Source
	var refs gnssRefs
	for i, g := range cfg.GNSSSources() {
		key := fmt.Sprintf("sources[%d].gnss", i)
		polarity, err := pps.ParsePolarity(g.PPS.Edge)
		if err != nil {
			return nil, nil, fmt.Errorf("%s.pps.edge: %w", key, err)
		}
		if g.PPS.Source != config.PPSKernel {
			return nil, nil, fmt.Errorf("%s.pps.source %q: a gnss source steering the served clock needs a kernel PPS device", key, g.PPS.Source)
		}
		k, err := pps.OpenKernel(pps.KernelConfig{Device: g.PPS.Device, Polarity: polarity, Delay: secs(g.PPS.Delay), Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("%s.pps: %w", key, err)
		}
		set.closers = append(set.closers, func() { k.Close() })
		tod, err := openTimeOfDay(key, &g.TimeOfDay, clock.DefaultTAIOffset, log)
		if err != nil {
			return nil, nil, err
		}
		gc := gnsssource.DefaultConfig()
		gc.ID, gc.RefID, gc.Precision = "gnss:"+g.PPS.Device, refclockRefID(g.RefID), secs(g.Precision)
		gc.Options = selection.Options{Prefer: g.Prefer, NoSelect: g.NoSelect}
		gc.Pair.MinDelay, gc.Pair.MaxDelay = secs(g.TimeOfDay.MinDelay), secs(g.TimeOfDay.MaxDelay)
		gc.ToLocal = clk.FromRealtime
		s, err := gnsssource.New(gc, k, tod, log)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, s)
		refs = append(refs, gnssRef{src: s, tod: tod})
		log.Info("gnss source", "pps", g.PPS.Device, "time_of_day", g.TimeOfDay.Source, "refid", g.RefID)
	}
	return out, refs, nil
}
