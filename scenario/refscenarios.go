package scenario

import (
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/sim"
)

// phcOscillator is a NIC's PHC oscillator: 1 ms off (on TAI), 10 ppm fast,
// with random-walk FM of wander ppb/√s.
func phcOscillator(wander float64) sim.Oscillator {
	return sim.Oscillator{InitialError: time.Millisecond, FreqErrorPPB: 10_000, RandomWalkPPB: wander}
}

// phcWander is the PHC's random-walk FM in the scenarios that have one:
// 0.1 ppb/√s, an uncompensated crystal (after 1000 s, σ = 3 ppb).
const phcWander = 0.1

// timingReceiver is a GNSS timing receiver into the PHC's SMA input: 20 ns
// Gaussian jitter on each stamp, gpsd-like time of day 100–300 ms after
// each edge (refclock/todsim's defaults), the PHC on TAI.
func timingReceiver() *GNSS {
	return &GNSS{PPSJitter: 20 * time.Nanosecond, ToDMinDelay: 100 * time.Millisecond, ToDMaxDelay: 300 * time.Millisecond, TAI: true}
}

// gnssEngine is the PHC engine's configuration in every GNSS scenario.
func gnssEngine(c *engine.Config) {}

func ppsPHC() Scenario {
	return Scenario{
		Name: "pps-phc",
		Summary: "a PHC on TAI (1 ms off, 10 ppm fast, 0.1 ppb/√s wander) disciplined from PPS edges with 20 ns " +
			"jitter paired with gpsd-like time of day 0.1–0.3 s after each edge; 15 min",
		Start: DefaultStart(), Duration: 15 * time.Minute,
		Oscillator:    phcOscillator(phcWander),
		GNSS:          timingReceiver(),
		Engine:        gnssEngine,
		LockThreshold: 30 * time.Nanosecond, LockSustain: time.Minute,
	}
}

func phcSys() Scenario {
	sc := ppsPHC()
	sc.Name = "phc-sys"
	sc.Summary = "pps-phc, and CLOCK_REALTIME (+25 ppm, 2 ms off) disciplined from the PHC by source/phcsource: " +
		"25 cross-timestamps per second, each 1 µs plus up to 2 µs of interrupt; 15 min"
	osc := typicalOscillator(2 * time.Millisecond)
	sc.GNSS.Sys = &SysClock{Oscillator: osc, ReadDelay: time.Microsecond, ReadJitter: 2 * time.Microsecond}
	return sc
}

// lossAt and lossFor place gnss-loss-holdover's PPS outage.
const (
	lossAt  = 10 * time.Minute
	lossFor = 1000 * time.Second
)

func gnssLossHoldover() Scenario {
	sc := ppsPHC()
	sc.Name = "gnss-loss-holdover"
	sc.Summary = "pps-phc without wander: locked, then 1000 s without PPS from 10 min (holdover: class 7, " +
		"out of specification (52) after 600 s), then the pulses return; 10 min + 1000 s + 5 min"
	sc.Oscillator = phcOscillator(0)
	sc.Duration = lossAt + lossFor + 5*time.Minute
	sc.GNSS.PPSDown = []Window{{lossAt, lossAt + lossFor}}
	sc.Engine = func(c *engine.Config) {
		gnssEngine(c)
		c.Holdover.InSpec = 600 * time.Second
		c.Holdover.OutOfSpecClass = clock.ClockClassDegradedA
	}
	return sc
}

func nmeaLate() Scenario {
	sc := ppsPHC()
	sc.Name = "nmea-late"
	sc.Summary = "pps-phc with NMEA (RMC, GGA, ZDA through the real decoder) arriving 0.6–0.95 s after each edge, " +
		"where nearest-second rounding labels every edge a second early; 15 min"
	sc.GNSS.NMEA = true
	sc.GNSS.ToDMinDelay, sc.GNSS.ToDMaxDelay = 600*time.Millisecond, 950*time.Millisecond
	return sc
}

func gnssLeap() Scenario {
	sc := ppsPHC()
	sc.Name = "gnss-leap"
	sc.Summary = "pps-phc across the leap second of 2016-12-31 (receiver announces it all day and labels " +
		"23:59:60; the PHC keeps TAI); 23:30 to 00:15 UTC"
	sc.Start = leapAt().Add(-30 * time.Minute)
	sc.Duration = 45 * time.Minute
	sc.Leap = &Leap{At: leapAt(), Kind: clock.LeapInsert}
	return sc
}
