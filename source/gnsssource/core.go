package gnsssource

import (
	"context"
	"log/slog"
	"time"

	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/refclock"
	"github.com/gnomon-time/gnomon/refclock/pair"
	"github.com/gnomon-time/gnomon/source"
)

// Core is a Source's logic without its goroutines and clocks: the pairing
// (refclock/pair), the decision per outcome (accepted edges become
// samples, mapped by Config.ToLocal), and the reference's clock filter and
// reach as the engine sees them (Reporter). Time enters only as
// arguments. Source.Run drives one on its pairing goroutine; a
// discrete-event simulation (package scenario) drives one directly on
// simulated time. Not safe for concurrent use, except Reporter, which the
// engine may call from its own goroutine.
type Core struct {
	cfg      Config
	p        *pair.Pairer
	rep      *reporter
	realtime func(time.Time) time.Time
	d        decider
	buf      []pair.Outcome
}

// NewCore validates cfg and returns a Core. log may be nil.
func NewCore(cfg Config, log *slog.Logger) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, err := pair.New(cfg.Pair)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Core{cfg: cfg, p: p, rep: &reporter{precision: cfg.Precision, timeout: cfg.Timeout},
		realtime: identity(cfg.Realtime), buf: make([]pair.Outcome, 0, pair.MaxOutcomes)}
	c.d = decider{log: log, rep: c.rep, precision: cfg.Precision, toLocal: identity(cfg.ToLocal)}
	return c, nil
}

// Reporter is the reference as the engine sees it (an engine.Reporter and
// engine.Resetter): the clock filter of the accepted samples, usable while
// the last is younger than Config.Timeout. Safe from any goroutine.
func (c *Core) Reporter() engine.Reporter { return c.rep }

// Edge takes an edge (its CLOCK_REALTIME from Config.Realtime), settles
// what is due at CLOCK_REALTIME now, delivers each accepted edge to out as
// a sample of reference 0, and returns the outcomes decided (valid until
// the next call).
func (c *Core) Edge(e refclock.Edge, now time.Time, out source.Sink) []pair.Outcome {
	c.buf = c.p.Edge(e, c.realtime(e.At), c.buf[:0])
	return c.advance(now, out)
}

// TimeOfDay takes a report, then does what Advance does.
func (c *Core) TimeOfDay(r refclock.TimeOfDay, now time.Time, out source.Sink) []pair.Outcome {
	c.buf = c.p.TimeOfDay(r, c.buf[:0])
	return c.advance(now, out)
}

// Advance settles what is due at CLOCK_REALTIME now (call it at Deadline),
// delivers accepted edges to out and returns the outcomes decided.
func (c *Core) Advance(now time.Time, out source.Sink) []pair.Outcome {
	c.buf = c.buf[:0]
	return c.advance(now, out)
}

func (c *Core) advance(now time.Time, out source.Sink) []pair.Outcome {
	c.buf = c.p.Advance(now, c.buf)
	for i := range c.buf {
		c.d.decide(&c.buf[i], out)
	}
	return c.buf
}

// Deadline is the CLOCK_REALTIME at which Advance next has something to
// settle; ok is false when nothing is pending.
func (c *Core) Deadline() (time.Time, bool) { return c.p.Deadline() }

// Reset forgets everything read before a step of the clock: pending
// pairs, the chain of labels and the reference's samples. The next sample
// needs Pair.Confirm consistent labels again.
func (c *Core) Reset() {
	c.p.Reset()
	c.rep.ResetSamples()
}

// Counts returns the pairing's outcomes by verdict since NewCore.
func (c *Core) Counts() pair.Counts { return c.p.Counts() }

// decider turns outcomes into samples, reach and logs.
type decider struct {
	log       *slog.Logger
	rep       *reporter
	precision time.Duration
	toLocal   func(time.Time) time.Time
	pairing   bool // the last settled edge was accepted
}

func (d *decider) decide(o *pair.Outcome, out source.Sink) {
	log := d.log
	if !o.Verdict.Edge() {
		if log.Enabled(context.Background(), slog.LevelDebug) {
			log.Debug("gnss report", "verdict", o.Verdict.String(), "utc", o.Report.UTC, "received", o.Report.Received)
		}
		return
	}
	if o.Verdict == pair.VerdictStaleEdge {
		log.Debug("gnss edge", "verdict", o.Verdict.String(), "seq", o.Edge.Seq)
		return
	}
	ok := o.Verdict == pair.VerdictAccepted
	d.rep.settled(ok)
	if ok != d.pairing {
		// A state change, not a per-pulse message.
		if ok {
			log.Info("gnss pairing PPS with time of day", "label", o.Label.String(), "offset", o.Offset)
		} else {
			log.Warn("gnss pairing interrupted", "verdict", o.Verdict.String(), "seq", o.Edge.Seq)
		}
		d.pairing = ok
	}
	if !ok {
		log.Debug("gnss edge", "verdict", o.Verdict.String(), "seq", o.Edge.Seq, "label", o.Label.String())
		return
	}
	// offset against the disciplined clock: the reference minus its
	// reading at the edge = the device's offset + (device − local).
	local := d.toLocal(o.Edge.At).Round(0)
	smp := engine.Sample{Local: local, Offset: o.Offset + o.Edge.At.Sub(local), Dispersion: d.precision}
	d.rep.add(smp, o.Report.Leap)
	out.Sample(0, smp)
}
