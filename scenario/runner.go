package scenario

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/leap"
	"github.com/gnomon-time/gnomon/clock/sim"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/client"
	"github.com/gnomon-time/gnomon/ntp/wire"
	"github.com/gnomon-time/gnomon/source/ntpsource"
)

// Options select one run of a scenario.
type Options struct {
	Seed uint64
	// Servo is the engine's servo (engine.ServoNames; "" = the default).
	Servo string
	// Duration overrides the scenario's duration when > 0.
	Duration time.Duration
}

// refIDGPS is "GPS\0".
const refIDGPS = 0x47505300

// Random stream identifiers (independent of sim's).
const (
	streamCookies = 0x434f4f4b // "COOK"
	streamPath    = 0x50415448 // "PATH"
)

// rngReader feeds client cookies from a seeded PCG, so runs repeat.
type rngReader struct{ r *rand.Rand }

func (g rngReader) Read(p []byte) (int, error) {
	var b [8]byte
	for i := 0; i < len(p); i += 8 {
		binary.BigEndian.PutUint64(b[:], g.r.Uint64())
		copy(p[i:], b[:])
	}
	return len(p), nil
}

// upstream is one simulated server with its client association.
type upstream struct {
	cfg  Server
	id   int
	cl   *client.Source
	srv  *ntp.Server
	rng  *rand.Rand
	from netip.AddrPort
	// retry is a true time before which a due poll is not retried (read
	// noise can make the clock read just before the due time).
	retry time.Time
}

// runner holds one run's simulated world.
type runner struct {
	sc  Scenario
	tl  *sim.Timeline
	clk *sim.Clock
	// local is the clock the engine steers and reads: clk, or clk with a
	// simulated kernel (Scenario.Kernel).
	local clock.Steerable
	kern  *simKernel
	cell  *clock.StateCell
	eng   *engine.Engine
	ups   []*upstream
	rec   *recorder
	start time.Time
	// smear is the engine's smear in LeapModeSmear (Enabled false
	// otherwise): the served clock is scored against it.
	smear leap.Smear
}

// Run simulates sc once and scores it.
func Run(sc Scenario, opt Options) (*Result, error) {
	if opt.Duration > 0 {
		sc.Duration = opt.Duration
	}
	if sc.TraceEvery == 0 {
		sc.TraceEvery = time.Second
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if sc.GNSS != nil {
		return runGNSS(sc, opt)
	}
	r := &runner{sc: sc, start: sc.Start.UTC().Round(0)}
	r.tl = sim.NewTimeline(r.start)
	var err error
	if r.clk, err = sim.NewClock(r.tl, sc.Oscillator, opt.Seed); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	r.cell = &clock.StateCell{}
	r.rec = &recorder{tl: r.tl}
	cfg := engine.DefaultConfig()
	if opt.Servo != "" {
		cfg.Servo = opt.Servo
	}
	if sc.Engine != nil {
		sc.Engine(&cfg)
	}
	cfg.Sink = r.rec
	if cfg.LeapMode == engine.LeapModeSmear {
		r.smear = cfg.Smear
		r.smear.Enabled = true
	}
	r.local = r.clk
	if sc.Kernel {
		r.kern = newSimKernel(r.clk, r.tl)
		r.local = r.kern
	}
	if r.eng, err = engine.New(cfg, r.local, r.cell); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	allowAll, err := ntp.NewACL([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}, nil)
	if err != nil {
		return nil, err
	}
	for i, s := range sc.Servers {
		if !s.Addr.IsValid() {
			s.Addr = netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
		}
		if s.Stratum == 0 {
			s.Stratum = 1
		}
		if s.RefID == 0 {
			s.RefID = refIDGPS
		}
		if s.RootDispersion == 0 {
			s.RootDispersion = 10 * time.Microsecond
		}
		u := &upstream{cfg: s, rng: rand.New(rand.NewPCG(opt.Seed, streamPath+uint64(i)))}
		minPoll, maxPoll := sc.MinPoll, sc.MaxPoll
		if minPoll == 0 && maxPoll == 0 {
			// client.Config reads 0/0 as "defaults" (6/10); 0/1 polls
			// every second as long as the server answers.
			maxPoll = 1
		}
		u.cl, err = client.New(client.Config{MinPoll: minPoll, MaxPoll: maxPoll, IBurst: sc.IBurst,
			Rand: rngReader{rand.New(rand.NewPCG(opt.Seed, streamCookies+uint64(i)))}})
		if err != nil {
			return nil, fmt.Errorf("scenario %s server %s: %w", sc.Name, s.Name, err)
		}
		scfg := ntp.DefaultServerConfig()
		scfg.Interleave = false
		scfg.ACL = allowAll
		if u.srv, err = ntp.NewServer(scfg, nil); err != nil {
			return nil, err
		}
		u.from = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, 1}), 32123)
		if u.id, err = r.eng.AddSource(engine.SourceConfig{ID: s.Name, Addr: s.Addr, Options: s.Options},
			ntpReporter{src: u.cl}); err != nil {
			return nil, err
		}
		r.ups = append(r.ups, u)
	}
	if err := r.loop(); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	return r.score(opt), nil
}

// utcShift is UTC − true time at true time t (leap seconds so far).
func (r *runner) utcShift(t time.Time) time.Duration { return utcShiftAt(r.sc.Leap, t) }

// utcShiftAt is UTC − true time at true time t with leap l (nil: none).
func utcShiftAt(l *Leap, t time.Time) time.Duration {
	if l == nil {
		return 0
	}
	switch l.Kind {
	case clock.LeapInsert:
		if !t.Before(l.At) {
			return -time.Second
		}
	case clock.LeapDelete:
		if !t.Before(l.At.Add(-time.Second)) {
			return time.Second
		}
	}
	return 0
}

// smearExpected returns what the served clock should read minus UTC at
// true time t with the scenario's smear: the continuous clock (true time)
// plus the smear offset, minus UTC.
func (r *runner) smearExpected(t time.Time) time.Duration {
	if r.sc.Leap == nil || !r.smear.Enabled {
		return 0
	}
	// True time is the continuous clock: it reads At when UTC reads
	// 23:59:60 (insertion) or 00:00:01 (deletion).
	ev := leap.Event{At: r.sc.Leap.At, Leap: r.sc.Leap.Kind}
	return r.smear.Offset(t, ev) - r.utcShift(t)
}

// serverLeap is the LI a correct server announces at true time t.
func (r *runner) serverLeap(t time.Time) clock.Leap {
	l := r.sc.Leap
	if l == nil {
		return clock.LeapNone
	}
	ann := l.Announce
	if ann <= 0 {
		ann = 24 * time.Hour
	}
	end := l.At
	if l.Kind == clock.LeapDelete {
		end = end.Add(-time.Second)
	}
	if !t.Before(l.At.Add(-ann)) && t.Before(end) {
		return l.Kind
	}
	return clock.LeapNone
}

// toTrue converts a local due time into the true time at which the
// simulated clock reads it (plus 1 µs against read noise), not before now.
func (r *runner) toTrue(local time.Time) time.Time {
	now := r.tl.Now()
	if local.IsZero() {
		return now
	}
	r.local.Now() // a due kernel leap first
	t := local.Add(-time.Duration(math.Round(r.clk.TimeErrorNS())) + time.Microsecond)
	if t.Before(now) {
		return now
	}
	return t
}

func (r *runner) loop() error {
	end := r.start.Add(r.sc.Duration)
	nextRec := r.start.Add(r.sc.TraceEvery / 2)
	engNext, err := r.eng.Tick()
	if err != nil {
		return err
	}
	for {
		now := r.tl.Now()
		if !now.Before(end) {
			return nil
		}
		// The earliest event; ties go to the engine, then the sources in
		// order, then the recorder.
		best, kind := end, -3
		if t := r.toTrue(engNext); t.Before(best) {
			best, kind = t, -1
		}
		for i, u := range r.ups {
			if u.cl.State() == client.StateDemobilised {
				continue
			}
			t := r.toTrue(u.cl.NextPoll())
			if t.Before(u.retry) {
				t = u.retry
			}
			if t.Before(best) {
				best, kind = t, i
			}
		}
		if nextRec.Before(best) {
			best, kind = nextRec, -2
		}
		if err := r.tl.AdvanceTo(best); err != nil {
			return err
		}
		switch {
		case kind == -3:
			return nil
		case kind == -1:
			if engNext, err = r.eng.Tick(); err != nil {
				return err
			}
			if !r.toTrue(engNext).After(r.tl.Now()) {
				// Asked again for now: the clock read just before its
				// due time; try 1 µs later.
				engNext = r.local.Now().Add(time.Microsecond)
			}
		case kind == -2:
			r.rec.record(r)
			nextRec = nextRec.Add(r.sc.TraceEvery)
		default:
			if err := r.poll(r.ups[kind]); err != nil {
				return err
			}
		}
	}
}

// poll runs one poll of u: request, server reply over the simulated path,
// client validation and, for an accepted sample, the engine.
func (r *runner) poll(u *upstream) error {
	var req [client.RequestLen]byte
	t1 := r.local.Now()
	send, _ := u.cl.Poll(t1, &req)
	if !send {
		u.retry = r.tl.Now().Add(time.Microsecond)
		return nil
	}
	u.retry = time.Time{}
	since := r.tl.Now().Sub(r.start)
	for _, w := range u.cfg.Down {
		if w.contains(since) {
			return nil // lost: the client counts a timeout at its next poll
		}
	}
	n := &u.cfg.Network
	out, back := r.delay(u, n.Out), r.delay(u, n.Back)
	if n.OutlierProb > 0 && u.rng.Float64() < n.OutlierProb {
		extra := time.Duration(math.Round(float64(n.OutlierDelay) * u.rng.ExpFloat64()))
		if u.rng.IntN(2) == 0 {
			out += extra
		} else {
			back += extra
		}
	}
	t2 := r.tl.Now().Add(out)
	t3 := t2.Add(n.Processing)
	serverClock := func(t time.Time) time.Time { return t.Add(r.utcShift(t) + u.cfg.Offset) }
	st := &clock.SyncState{
		Synchronized:   true,
		Leap:           r.serverLeap(t2),
		Stratum:        u.cfg.Stratum,
		RefID:          u.cfg.RefID,
		RefTime:        serverClock(t2).Add(-time.Second),
		RootDelay:      u.cfg.RootDelay,
		RootDispersion: u.cfg.RootDispersion,
		DispersionRate: clock.DefaultDispersionRate,
		Precision:      -20,
		UTCOffset:      clock.DefaultTAIOffset,
	}
	var reply [wire.HeaderLen]byte
	k, v := u.srv.Respond(reply[:], req[:], u.from, wire.TimeFromTime(serverClock(t2)), st)
	if !v.Replied() {
		return fmt.Errorf("server %s did not answer: %v", u.cfg.Name, v)
	}
	if v.NeedsTransmit() {
		wire.PutTransmit(reply[:k], wire.TimeFromTime(serverClock(t3)))
	}
	if err := r.tl.AdvanceTo(t3.Add(back)); err != nil {
		return err
	}
	t4 := r.local.Now()
	smp, verdict := u.cl.HandleReply(reply[:k], t4, time.Time{})
	if verdict != client.Accepted {
		r.rec.rejected++
		return nil
	}
	return r.eng.Sample(u.id, ntpsource.Sample(smp))
}

// delay draws one direction's delay of path p.
func (r *runner) delay(u *upstream, p sim.Path) time.Duration {
	var j float64
	s := float64(p.Scale)
	switch p.Jitter {
	case sim.DistExponential:
		j = s * u.rng.ExpFloat64()
	case sim.DistGaussian:
		j = s * u.rng.NormFloat64()
	case sim.DistUniform:
		j = s * u.rng.Float64()
	}
	return max(0, p.Base+time.Duration(math.Round(j)))
}
