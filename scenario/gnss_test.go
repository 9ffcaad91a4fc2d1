package scenario

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gnomon-time/gnomon/clock"
)

// ppsLimit is the reference chain's |TE| limit for the PHC after lock
// (issue 9 §4), and ppsLockWithin the time to lock.
const (
	ppsLimit      = 30 * time.Nanosecond
	ppsLockWithin = 60 * time.Second
)

// shortfalls lists the limits known not to hold on the current engine,
// with why (docs/simulation.md, "Limits not met"). A listed limit is still
// checked on every seed: where it fails the measured value is logged and
// the subtest is skipped, not passed; where it holds nothing changes.
// Remove an entry once the engine meets the limit.
var shortfalls = map[string]string{}

// limits checks one scenario's limits: check(ok, name, …) fails the test
// unless name is a known shortfall, in which case the subtest is skipped
// at the end with the measured values.
type limits struct {
	t      *testing.T
	missed []string
}

func (l *limits) check(ok bool, name, format string, args ...any) {
	l.t.Helper()
	if ok {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if why, known := shortfalls[name]; known {
		l.missed = append(l.missed, fmt.Sprintf("%s: %s (known: %s)", name, msg, why))
		return
	}
	l.t.Errorf("%s: %s", name, msg)
}

func (l *limits) done() {
	l.t.Helper()
	if len(l.missed) > 0 && !l.t.Failed() {
		for _, m := range l.missed {
			l.t.Log("LIMIT NOT MET: " + m)
		}
		l.t.Skip("limits not met (logged above); every other limit held")
	}
}

func gnssSeeds(t *testing.T) []uint64 {
	if testing.Short() {
		return seeds[:2]
	}
	return seeds
}

// checkPPSLock asserts the pps-phc limits on r: |TE| < 30 ns held for a
// minute from some time ≤ 60 s on (the settling criterion, LockThreshold
// and LockSustain), and ≤ 30 ns at every record after it; no wrong label.
func checkPPSLock(l *limits, r *Result, name string) {
	l.t.Helper()
	l.check(r.Locked && r.LockTime <= ppsLockWithin, name+" lock", "settled=%v at %v, want |TE| < %v for 1 min from ≤ %v",
		r.Locked, r.LockTime, ppsLimit, ppsLockWithin)
	l.check(r.MaxTE <= ppsLimit, "pps-phc max |TE|", "max |TE| after settling %v (RMS %v), want ≤ %v", r.MaxTE, r.RMSTE, ppsLimit)
	l.check(r.Ref.WrongLabels == 0, name+" labels", "%d wrong labels of %d", r.Ref.WrongLabels, r.Ref.Labelled)
	l.check(r.BoundViolations == 0, name+" bound", "%d records with |TE| above the published error bound", r.BoundViolations)
}

// TestPPSPHC: the PHC (1 ms off on TAI, 10 ppm fast, 0.1 ppb/√s wander) is
// locked to PPS edges with 20 ns jitter, paired with time of day by the
// real pairing, through the real engine: settled (|TE| < 30 ns for 1 min)
// within 60 s, max |TE| ≤ 30 ns after, one makestep, every edge labelled
// right and all but the first Confirm accepted.
func TestPPSPHC(t *testing.T) {
	sc := mustLookup(t, "pps-phc")
	for _, seed := range gnssSeeds(t) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			l := &limits{t: t}
			r := run(t, sc, Options{Seed: seed})
			s := r.Ref
			t.Logf("settled %v, max %v, RMS %v; engine locked at %v; accepted %d of %d labelled; verdicts %v",
				r.LockTime, r.MaxTE, r.RMSTE, s.EngineLockedAt, s.Accepted, s.Labelled, s.Verdicts)
			checkPPSLock(l, r, "pps-phc")
			l.check(len(r.Steps) == 1 && r.Steps[0].Reason == "makestep", "pps-phc steps", "steps %v, want one makestep", r.Steps)
			// Pulses 1…N−1 of 900 s; the chain needs 3 before accepting.
			l.check(s.Accepted >= 890, "pps-phc accepted", "accepted %d, want ≥ 890", s.Accepted)
			l.done()
		})
	}
}

// TestPHCSys: CLOCK_REALTIME (+25 ppm, 2 ms off) follows the PHC through
// the real phcsource (25 cross-timestamps per second, 1 µs plus up to 2 µs
// of interrupt each): RMS of sys − PHC over 5 min to the end ≤ 50 ns.
func TestPHCSys(t *testing.T) {
	sc := mustLookup(t, "phc-sys")
	for _, seed := range gnssSeeds(t)[:3] {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			l := &limits{t: t}
			r := run(t, sc, Options{Seed: seed})
			y := r.Ref.Sys
			t.Logf("sys engine locked at %v; from %v: vs PHC RMS %v max %v, vs UTC RMS %v max %v; steps %v",
				y.EngineLockedAt, y.StatsFrom, y.RMSvsPHC, y.MaxVsPHC, y.RMSvsUTC, y.MaxVsUTC, y.Steps)
			l.check(y.RMSvsPHC <= 50*time.Nanosecond, "phc-sys rms", "RMS sys − PHC %v, want ≤ 50 ns", y.RMSvsPHC)
			l.check(len(y.Steps) == 1, "phc-sys steps", "sys steps %v, want the initial makestep only", y.Steps)
			l.done()
		})
	}
}

// TestGNSSLossHoldover: locked, then 1000 s without PPS on an oscillator
// without wander: the PHC drifts ≤ 1 µs over the outage; the published
// class goes 248 (unsynchronised, locking) → 6 → 7 (holdover, within
// specification for 600 s) → 52 (out of specification) → 6 when the
// pulses return, the recovery a slew; stratum 1 whenever synchronised.
func TestGNSSLossHoldover(t *testing.T) {
	sc := mustLookup(t, "gnss-loss-holdover")
	for _, seed := range gnssSeeds(t)[:3] {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			l := &limits{t: t}
			r := run(t, sc, Options{Seed: seed})
			s := r.Ref
			var classes []clock.ClockClass
			for _, c := range s.Classes {
				if len(classes) == 0 || classes[len(classes)-1] != c.Class {
					classes = append(classes, c.Class)
				}
			}
			t.Logf("outages %+v; classes %+v; recoveries slewed %d stepped %d", s.Outages, s.Classes, s.RecoveriesSlewed, s.RecoveriesStepped)
			o := s.Outages[0]
			l.check(o.MaxDriftTE <= time.Microsecond, "gnss-loss-holdover drift", "drift over the outage up to %v, want ≤ 1 µs", o.MaxDriftTE)
			l.check(s.HoldoverEntries == 1 && s.HoldoverOutOfSpecs == 1, "gnss-loss-holdover holdover",
				"holdover entries %d, out of spec %d, want 1 and 1", s.HoldoverEntries, s.HoldoverOutOfSpecs)
			l.check(s.RecoveriesSlewed == 1 && s.RecoveriesStepped == 0, "gnss-loss-holdover recovery",
				"recoveries slewed %d stepped %d, want one slew", s.RecoveriesSlewed, s.RecoveriesStepped)
			want := []clock.ClockClass{clock.ClockClassDefault, clock.ClockClassLocked, clock.ClockClassHoldover,
				clock.ClockClassDegradedA, clock.ClockClassLocked}
			d := cmp.Diff(want, classes)
			l.check(len(classes) >= len(want) && cmp.Equal(want, classes[:len(want)]), "gnss-loss-holdover classes",
				"classes (-want +got):\n%s", d)
			l.check(d == "", "gnss-loss-holdover relock", "classes after the recovery (-want +got):\n%s", d)
			var at []time.Duration
			for _, c := range s.Classes {
				at = append(at, c.T)
				if c.Class != clock.ClockClassDefault && c.Stratum != 1 {
					l.check(false, "gnss-loss-holdover stratum", "stratum %d at %v (class %v)", c.Stratum, c.T, c.Class)
				}
			}
			if len(s.Classes) >= 6 {
				// Holdover from Holdover.After (16 s) after the last
				// sample, out of specification 600 s later (±1 s: records
				// are 1 s apart), class 6 again within Confirm + a few
				// seconds of the first pulse.
				l.check(at[3] > lossAt && at[3] <= lossAt+20*time.Second, "gnss-loss-holdover timing", "holdover at %v", at[3])
				l.check((at[4]-at[3]-600*time.Second).Abs() <= time.Second, "gnss-loss-holdover timing",
					"out of specification %v after holdover, want 600 s", at[4]-at[3])
				l.check(at[5] >= lossAt+lossFor && at[5] <= lossAt+lossFor+10*time.Second,
					"gnss-loss-holdover timing", "class 6 again at %v, want within 10 s of %v", at[5], lossAt+lossFor)
			}
			l.check(s.WrongLabels == 0, "gnss-loss-holdover labels", "%d wrong labels", s.WrongLabels)
			l.check(r.BoundViolations == 0, "gnss-loss-holdover relock", "%d records with |TE| above the published error bound", r.BoundViolations)
			l.done()
		})
	}
}

// TestNMEALateScenario: NMEA sentences 0.6–0.95 s after each edge through
// the real decoder and pairing: no wrong label, all but the first Confirm
// edges accepted, and the lock of pps-phc.
func TestNMEALateScenario(t *testing.T) {
	sc := mustLookup(t, "nmea-late")
	for _, seed := range gnssSeeds(t) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			l := &limits{t: t}
			r := run(t, sc, Options{Seed: seed})
			s := r.Ref
			t.Logf("accepted %d of %d labelled, wrong %d; verdicts %v; settled %v max %v", s.Accepted, s.Labelled, s.WrongLabels,
				s.Verdicts, r.LockTime, r.MaxTE)
			l.check(s.Accepted >= 890, "nmea-late accepted", "accepted %d, want ≥ 890", s.Accepted)
			checkPPSLock(l, r, "nmea-late")
			l.done()
		})
	}
}

// TestGNSSLeap: a leap second inserted while locked, the PHC on TAI: the
// edge of 23:59:60 is labelled 23:59:60 and accepted, no label is wrong,
// the PHC is never stepped but at the start, and |TE| ≤ 30 ns throughout
// ±10 min around the leap (and the pps-phc limits over the run).
func TestGNSSLeap(t *testing.T) {
	sc := mustLookup(t, "gnss-leap")
	at := sc.Leap.At.Sub(sc.Start)
	for _, seed := range gnssSeeds(t)[:3] {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			l := &limits{t: t}
			r := run(t, sc, Options{Seed: seed})
			s := r.Ref
			var near time.Duration
			for _, p := range r.Trace {
				if (p.T - at).Abs() <= 10*time.Minute {
					near = max(near, p.TE.Abs())
				}
			}
			t.Logf("max |TE| within ±10 min of the leap %v; 23:59:60 accepted %d; steps %v; verdicts %v", near, s.Second60, r.Steps, s.Verdicts)
			l.check(s.Second60 == 1, "gnss-leap 23:59:60", "23:59:60 accepted %d times, want 1", s.Second60)
			l.check(len(r.Steps) == 1 && r.Steps[0].T < time.Minute, "gnss-leap steps", "steps %v, want the initial makestep only", r.Steps)
			l.check(near <= ppsLimit, "pps-phc max |TE|", "max |TE| within ±10 min of the leap %v, want ≤ %v", near, ppsLimit)
			checkPPSLock(l, r, "gnss-leap")
			l.done()
		})
	}
}
