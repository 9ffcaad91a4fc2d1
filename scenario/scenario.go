package scenario

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/clock/sim"
)

// Window is a span of true time since the scenario start.
type Window struct{ From, To time.Duration }

func (w Window) contains(d time.Duration) bool { return d >= w.From && d < w.To }

// Server is one simulated upstream NTP server.
type Server struct {
	Name string
	// Addr defaults to 192.0.2.(index+1).
	Addr netip.Addr
	// Offset is the server's time error: it serves UTC + Offset.
	Offset time.Duration
	// Stratum (default 1), reference ID (default "GPS"), and the root
	// delay and dispersion it announces (default 0 and 10 µs; the
	// dispersion grows by 15 µs between its own updates, once a second).
	Stratum        uint8
	RefID          uint32
	RootDelay      time.Duration
	RootDispersion time.Duration
	// Network is the path between client and server.
	Network sim.Network
	// Down lists windows in which the server does not answer.
	Down []Window
	// Options are the selection options of the source.
	Options selection.Options
}

// Leap schedules a leap second. Servers announce it (LI) during Announce
// before At (default 24 h: the last day).
type Leap struct {
	// At is the UTC midnight at which the leap happens (an insertion adds
	// 23:59:60 before it, a deletion removes 23:59:59).
	At       time.Time
	Kind     clock.Leap
	Announce time.Duration
}

// Scenario is one simulated setup.
type Scenario struct {
	Name    string
	Summary string
	// Start is the true (and UTC) time at which the run starts.
	Start    time.Time
	Duration time.Duration
	// MinPoll and MaxPoll of every association (log2 s); IBurst as in
	// chrony.
	MinPoll, MaxPoll int8
	IBurst           bool
	Oscillator       sim.Oscillator
	Servers          []Server
	Leap             *Leap
	// Engine adjusts the engine configuration (holdover, local, policy).
	Engine func(*engine.Config)
	// Kernel gives the simulated clock the kernel's abilities (leap bits,
	// sync status, TAI offset: clock.LeapSetter, SyncSetter, TAISetter),
	// as CLOCK_REALTIME has with clock.mode system.
	Kernel bool
	// GNSS, if set, makes the scenario a reference chain (PHC, PPS, time
	// of day; refchain.go) instead of NTP: Servers, polls and Kernel are
	// unused and Oscillator is the PHC's.
	GNSS *GNSS
	// Lock criterion: |TE| < LockThreshold for LockSustain.
	LockThreshold time.Duration
	LockSustain   time.Duration
	// TraceEvery is the scoring interval (default 1 s).
	TraceEvery time.Duration
}

// Validate reports every invalid field.
func (sc *Scenario) Validate() error {
	var errs []error
	if sc.Name == "" {
		errs = append(errs, errors.New("name: empty"))
	}
	if sc.Duration <= 0 {
		errs = append(errs, fmt.Errorf("duration %v: want > 0", sc.Duration))
	}
	if sc.MinPoll > sc.MaxPoll || sc.MinPoll < -7 || sc.MaxPoll > 17 {
		errs = append(errs, fmt.Errorf("poll %d…%d: want −7 ≤ min ≤ max ≤ 17", sc.MinPoll, sc.MaxPoll))
	}
	if len(sc.Servers) == 0 && sc.GNSS == nil {
		errs = append(errs, errors.New("servers: none"))
	}
	if g := sc.GNSS; g != nil {
		errs = append(errs, g.validate()...)
	}
	if err := sc.Oscillator.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("oscillator: %w", err))
	}
	for i, s := range sc.Servers {
		if err := s.Network.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("servers[%d] (%s) network: %w", i, s.Name, err))
		}
	}
	if sc.Leap != nil {
		if sc.Leap.Kind != clock.LeapInsert && sc.Leap.Kind != clock.LeapDelete {
			errs = append(errs, fmt.Errorf("leap kind %v: want insert or delete", sc.Leap.Kind))
		}
		if !sc.Leap.At.Equal(sc.Leap.At.Truncate(24 * time.Hour)) {
			errs = append(errs, fmt.Errorf("leap at %v: want a UTC midnight", sc.Leap.At))
		}
	}
	if sc.LockThreshold <= 0 || sc.LockSustain < 0 {
		errs = append(errs, fmt.Errorf("lock threshold %v / sustain %v: want > 0 / ≥ 0", sc.LockThreshold, sc.LockSustain))
	}
	if sc.TraceEvery < 0 {
		errs = append(errs, fmt.Errorf("trace_every %v: want ≥ 0", sc.TraceEvery))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scenario %q: %w", sc.Name, err)
	}
	return nil
}

// lan is 50 µs + exponential jitter of mean 20 µs in each direction (the
// issue's "20 µs network jitter"; offset noise σ ≈ 14 µs).
func lan() sim.Path {
	return sim.Path{Base: 50 * time.Microsecond, Jitter: sim.DistExponential, Scale: 20 * time.Microsecond}
}

func wan(base, jitter time.Duration) sim.Network {
	p := sim.Path{Base: base, Jitter: sim.DistExponential, Scale: jitter}
	return sim.Network{Out: p, Back: p, Processing: 10 * time.Microsecond}
}

// typicalOscillator is the step-at-start oscillator of servo/trial: +25 ppm,
// 1 ppb/√s random-walk FM, a 100 ppb temperature swing with a 30 min
// period and 100 ns read noise.
func typicalOscillator(initial time.Duration) sim.Oscillator {
	return sim.Oscillator{
		InitialError:     initial,
		FreqErrorPPB:     25_000,
		RandomWalkPPB:    1,
		TempAmplitudePPB: 100,
		TempPeriod:       30 * time.Minute,
		ReadNoise:        100 * time.Nanosecond,
	}
}

// DefaultStart is when scenarios without a leap start.
func DefaultStart() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// Builtin returns the built-in scenarios, in display order.
func Builtin() []Scenario {
	return []Scenario{
		{
			Name: "ntp-4-servers",
			Summary: "four stratum-1 servers over WAN-like paths (300–800 µs base, exponential jitter), " +
				"one a falseticker at +100 ms; 16 s polls with iburst, 1 ms initial error, 2 h",
			Start: DefaultStart(), Duration: 2 * time.Hour,
			MinPoll: 4, MaxPoll: 4, IBurst: true,
			Oscillator: typicalOscillator(time.Millisecond),
			Servers: []Server{
				{Name: "a", Network: wan(300*time.Microsecond, 50*time.Microsecond)},
				{Name: "b", Network: wan(500*time.Microsecond, 80*time.Microsecond)},
				{Name: "falseticker", Offset: 100 * time.Millisecond, Network: wan(400*time.Microsecond, 50*time.Microsecond)},
				{Name: "d", Network: wan(800*time.Microsecond, 100*time.Microsecond)},
			},
			LockThreshold: 50 * time.Microsecond, LockSustain: 5 * time.Minute,
		},
		{
			Name: "ntp-asymmetric-jitter",
			Summary: "three servers whose paths queue far more in one direction (out: 200 µs + exp 150 µs, " +
				"back: 200 µs + exp 15 µs, and the mirror image), 2 % outliers of mean 2 ms; 16 s polls, 2 h",
			Start: DefaultStart(), Duration: 2 * time.Hour,
			MinPoll: 4, MaxPoll: 4, IBurst: true,
			Oscillator: typicalOscillator(500 * time.Microsecond),
			Servers: []Server{
				{Name: "slow-out", Network: asym(150*time.Microsecond, 15*time.Microsecond)},
				{Name: "slow-out-2", Network: asym(150*time.Microsecond, 15*time.Microsecond)},
				{Name: "slow-back", Network: asym(15*time.Microsecond, 150*time.Microsecond)},
			},
			LockThreshold: 100 * time.Microsecond, LockSustain: 5 * time.Minute,
		},
		{
			Name: "step-at-start",
			Summary: "one server over a LAN path (50 µs + exponential 20 µs each way), 1 s polls, " +
				"10 ms initial error, +25 ppm; 10 min",
			Start: DefaultStart(), Duration: 10 * time.Minute,
			MinPoll: 0, MaxPoll: 0,
			Oscillator: typicalOscillator(10 * time.Millisecond),
			Servers: []Server{
				{Name: "lan", Network: sim.Network{Out: lan(), Back: lan(), Processing: 5 * time.Microsecond}},
			},
			LockThreshold: 10 * time.Microsecond, LockSustain: time.Minute,
		},
		leapInsert(),
		leapVariant("leap-insert-kernel",
			"leap-insert on a simulated kernel clock with `leap.mode: system`: the engine arms STA_INS "+
				"on the last day and the kernel repeats 23:59:59; 22:00 to 02:00 UTC, 16 s polls",
			4*time.Hour, engine.LeapModeSystem, true),
		leapVariant("leap-smear",
			"leap-insert with `leap.mode: smear`: the servers announce LI=1 during 2016-12-31; "+
				"gnomon steps its clock with UTC but serves time smeared over 62,500 s (chrony's recipe), "+
				"with LI 0 and refid 127.127.1.255 while smearing; 22:00 to 18:21:40 the next day, 16 s polls",
			2*time.Hour+62500*time.Second+time.Hour, engine.LeapModeSmear, false),
		{
			Name: "holdover",
			Summary: "three servers, 16 s polls; after 1 h every server goes silent for 2 h " +
				"(holdover for 1 h, then unsynchronised), then they come back; 4 h",
			Start: DefaultStart(), Duration: 4 * time.Hour,
			MinPoll: 4, MaxPoll: 4, IBurst: true,
			Oscillator: typicalOscillator(200 * time.Microsecond),
			Servers: []Server{
				{Name: "a", Network: wan(300*time.Microsecond, 50*time.Microsecond), Down: []Window{{time.Hour, 3 * time.Hour}}},
				{Name: "b", Network: wan(400*time.Microsecond, 50*time.Microsecond), Down: []Window{{time.Hour, 3 * time.Hour}}},
				{Name: "c", Network: wan(500*time.Microsecond, 50*time.Microsecond), Down: []Window{{time.Hour, 3 * time.Hour}}},
			},
			LockThreshold: 50 * time.Microsecond, LockSustain: 5 * time.Minute,
		},
		ppsPHC(),
		phcSys(),
		gnssLossHoldover(),
		nmeaLate(),
		gnssLeap(),
	}
}

func asym(outJitter, backJitter time.Duration) sim.Network {
	return sim.Network{
		Out:          sim.Path{Base: 200 * time.Microsecond, Jitter: sim.DistExponential, Scale: outJitter},
		Back:         sim.Path{Base: 200 * time.Microsecond, Jitter: sim.DistExponential, Scale: backJitter},
		Processing:   10 * time.Microsecond,
		OutlierProb:  0.02,
		OutlierDelay: 2 * time.Millisecond,
	}
}

// Lookup returns the built-in scenario called name.
func Lookup(name string) (Scenario, error) {
	all := Builtin()
	i := slices.IndexFunc(all, func(s Scenario) bool { return s.Name == name })
	if i < 0 {
		return Scenario{}, fmt.Errorf("unknown scenario %q (want one of %v)", name, Names())
	}
	return all[i], nil
}

// Names lists the built-in scenarios.
func Names() []string {
	var out []string
	for _, s := range Builtin() {
		out = append(out, s.Name)
	}
	return out
}

// leapAt returns the end of the leap second of the leap scenarios
// (23:59:60 on 2016-12-31).
func leapAt() time.Time { return time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC) }

// leapInsert is the leap-insert scenario, and the base of its variants: a
// fresh value on every call, so variants share no slices.
func leapInsert() Scenario {
	return Scenario{
		Name: "leap-insert",
		Summary: "three servers announce LI=1 during 2016-12-31 and insert 23:59:60; " +
			"run from 22:00 to 02:00 UTC, 16 s polls",
		Start: leapAt().Add(-2 * time.Hour), Duration: 4 * time.Hour,
		MinPoll: 4, MaxPoll: 4, IBurst: true,
		Oscillator: typicalOscillator(200 * time.Microsecond),
		Servers: []Server{
			{Name: "a", Network: wan(300*time.Microsecond, 50*time.Microsecond)},
			{Name: "b", Network: wan(400*time.Microsecond, 50*time.Microsecond)},
			{Name: "c", Network: wan(500*time.Microsecond, 50*time.Microsecond)},
		},
		Leap:          &Leap{At: leapAt(), Kind: clock.LeapInsert},
		LockThreshold: 50 * time.Microsecond, LockSustain: 5 * time.Minute,
	}
}

// leapVariant is leap-insert run with another engine leap mode (and, for
// the system mode, on a simulated kernel clock).
func leapVariant(name, summary string, d time.Duration, mode engine.LeapMode, kernel bool) Scenario {
	sc := leapInsert()
	sc.Name, sc.Summary, sc.Duration, sc.Kernel = name, summary, d, kernel
	sc.Engine = func(c *engine.Config) { c.LeapMode = mode }
	return sc
}
