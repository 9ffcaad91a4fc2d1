package leap

import (
	"encoding/binary"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

var leapAt = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

func TestSmearRecipeFigures(t *testing.T) {
	s := Smear{Enabled: true}
	// chrony "smoothtime 400 0.001024 leaponly": sqrt(4 / 1.024e-9 s^-2).
	if got := s.Duration(); got != 62500*time.Second {
		t.Errorf("Duration = %v, want 62500s", got)
	}
	if got := s.PeakFrequencyPPM(); math.Abs(got-32) > 1e-9 {
		t.Errorf("peak = %v ppm, want 32", got)
	}
	ev := Event{At: leapAt, Leap: clock.LeapInsert, TAIOffset: 38}
	mid := leapAt.Add(31250 * time.Second)
	if got := s.Offset(mid, ev); got != -500*time.Millisecond {
		t.Errorf("Offset at 31250 s = %v, want -0.5s", got)
	}
	if got := s.FrequencyPPM(mid, ev); math.Abs(got+32) > 1e-9 {
		t.Errorf("frequency at 31250 s = %v ppm, want -32", got)
	}
}

// checkProfile samples a smear every second from 100 s before the leap to
// 100 s after its end and checks the invariants.
func checkProfile(t *testing.T, s Smear, l clock.Leap) {
	t.Helper()
	ev := Event{At: leapAt, Leap: l}
	sign := time.Duration(1)
	if l == clock.LeapInsert {
		sign = -1
	}
	d := s.Duration()
	peak := s.PeakFrequencyPPM()
	wander := s.WanderPPMPerSecond
	if wander == 0 {
		wander = DefaultSmearWanderPPMPerSecond
	}
	prev := s.Offset(leapAt.Add(-101*time.Second), ev)
	prevF := s.FrequencyPPM(leapAt.Add(-101*time.Second), ev)
	var maxF float64
	for tau := -100 * time.Second; tau <= d+100*time.Second; tau += time.Second {
		at := leapAt.Add(tau)
		off := s.Offset(at, ev)
		f := s.FrequencyPPM(at, ev)
		switch {
		case tau <= 0 && off != 0:
			t.Fatalf("τ=%v: offset %v before the start", tau, off)
		case tau >= d && off != sign*time.Second:
			t.Fatalf("τ=%v: offset %v after the end, want %v", tau, off, sign*time.Second)
		}
		step := off - prev
		if step*sign < 0 {
			t.Fatalf("τ=%v: not monotone: %v then %v", tau, prev, off)
		}
		// Continuity and rate: one second moves the offset by at most
		// peak·1 s (+1 ns of rounding).
		if lim := time.Duration(peak*1e3) + 1; step.Abs() > lim {
			t.Fatalf("τ=%v: offset moved %v in 1 s, limit %v", tau, step, lim)
		}
		// The frequency is the derivative: mean of the ends over the step
		// (exact for the parabolas), within 2 ns/s of rounding.
		if mean := (f + prevF) / 2; math.Abs(step.Seconds()*1e6-mean) > 2e-3 {
			t.Fatalf("τ=%v: step %v vs mean frequency %v ppm", tau, step, mean)
		}
		// The frequency ramps at no more than the wander.
		if math.Abs(f-prevF) > wander*(1+1e-9) {
			t.Fatalf("τ=%v: frequency moved %v ppm in 1 s, wander %v", tau, f-prevF, wander)
		}
		if math.Abs(f) > peak*(1+1e-12) || (f != 0 && (f < 0) != (sign < 0)) {
			t.Fatalf("τ=%v: frequency %v ppm (peak %v, sign %v)", tau, f, peak, sign)
		}
		maxF = max(maxF, math.Abs(f))
		if act := s.Active(at, ev); act != (tau >= 0 && tau < d) {
			t.Fatalf("τ=%v: Active = %v", tau, act)
		}
		prev, prevF = off, f
	}
	if maxF < peak*(1-1e-3) {
		t.Errorf("peak frequency reached %v ppm, want %v", maxF, peak)
	}
	// Exactly ±1 s at the end, 0 at the start, at nanosecond resolution.
	if got := s.Offset(leapAt.Add(d), ev); got != sign*time.Second {
		t.Errorf("offset at the end %v", got)
	}
	if got := s.Offset(leapAt.Add(d-time.Nanosecond), ev); (sign*time.Second - got).Abs() > time.Nanosecond {
		t.Errorf("offset 1 ns before the end %v", got)
	}
	if got := s.Offset(leapAt.Add(time.Nanosecond), ev); got != 0 {
		t.Errorf("offset 1 ns after the start %v", got)
	}
}

func TestSmearProfile(t *testing.T) {
	tests := []struct {
		name      string
		s         Smear
		wantDur   time.Duration
		wantPeak  float64
		trapezoid bool
	}{
		{"chrony defaults", Smear{Enabled: true}, 62500 * time.Second, 32, false},
		{"explicit defaults", Smear{Enabled: true, WanderPPMPerSecond: 0.001024, MaxFrequencyPPM: 400}, 62500 * time.Second, 32, false},
		// Wander 1 ppm/s would peak at 1000 ppm after 1000 s; max 400 ppm
		// makes ramps of 400 s (0.08 s each) and a plateau of
		// (1 − 0.16) s / 400 ppm = 2100 s: 2900 s in all.
		{"frequency-limited", Smear{Enabled: true, WanderPPMPerSecond: 1, MaxFrequencyPPM: 400}, 2900 * time.Second, 400, true},
		// Wander 0.004096 ppm/s: half the duration, twice the peak.
		{"faster", Smear{Enabled: true, WanderPPMPerSecond: 0.004096}, 31250 * time.Second, 64, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := tt.s.Duration(); (got - tt.wantDur).Abs() > time.Microsecond {
				t.Errorf("Duration = %v, want %v", got, tt.wantDur)
			}
			if got := tt.s.PeakFrequencyPPM(); math.Abs(got-tt.wantPeak) > 1e-9*tt.wantPeak {
				t.Errorf("peak = %v, want %v", got, tt.wantPeak)
			}
			if p := tt.s.profile(); (p.plateau > 0) != tt.trapezoid {
				t.Errorf("plateau %v s", p.plateau)
			}
			for _, l := range []clock.Leap{clock.LeapInsert, clock.LeapDelete} {
				t.Run(l.String(), func(t *testing.T) { checkProfile(t, tt.s, l) })
			}
		})
	}
}

func TestSmearDisabledOrNoLeap(t *testing.T) {
	in := leapAt.Add(1000 * time.Second)
	for _, tt := range []struct {
		name string
		s    Smear
		ev   Event
	}{
		{"disabled", Smear{}, Event{At: leapAt, Leap: clock.LeapInsert}},
		{"no leap", Smear{Enabled: true}, Event{At: leapAt, Leap: clock.LeapNone}},
		{"unsync is not a leap", Smear{Enabled: true}, Event{At: leapAt, Leap: clock.LeapUnsync}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.s.Offset(in, tt.ev) != 0 || tt.s.FromUTC(in, tt.ev) != 0 || tt.s.Active(in, tt.ev) || tt.s.FrequencyPPM(in, tt.ev) != 0 {
				t.Error("want no smear")
			}
		})
	}
	if got := (Smear{}).ServedLeap(clock.LeapInsert); got != clock.LeapInsert {
		t.Errorf("disabled ServedLeap = %v", got)
	}
}

func TestSmearFromUTC(t *testing.T) {
	s := Smear{Enabled: true}
	d := s.Duration()
	tests := []struct {
		leap clock.Leap
		utc  time.Time
		want time.Duration
		tol  time.Duration
	}{
		{clock.LeapInsert, leapAt.Add(-time.Second), 0, 0},
		// 00:00:00 UTC: the continuous clock read 00:00:01, 1 s into the smear.
		{clock.LeapInsert, leapAt, time.Second, time.Nanosecond},
		{clock.LeapInsert, leapAt.Add(d / 2).Add(-time.Second), 500 * time.Millisecond, 0},
		{clock.LeapInsert, leapAt.Add(d).Add(-time.Second), 0, 0},
		{clock.LeapInsert, leapAt.Add(48 * time.Hour), 0, 0},
		// Deletion: at 00:00:00 UTC the continuous clock reads 23:59:59:
		// served time is 1 s behind and the smear has not started.
		{clock.LeapDelete, leapAt, -time.Second, 0},
		{clock.LeapDelete, leapAt.Add(time.Second), -time.Second, 0},
		{clock.LeapDelete, leapAt.Add(d / 2).Add(time.Second), -500 * time.Millisecond, 0},
		{clock.LeapDelete, leapAt.Add(d).Add(time.Second), 0, 0},
	}
	for _, tt := range tests {
		ev := Event{At: leapAt, Leap: tt.leap}
		if got := s.FromUTC(tt.utc, ev); (got - tt.want).Abs() > tt.tol {
			t.Errorf("%v at %v: FromUTC = %v, want %v", tt.leap, tt.utc.Sub(leapAt), got, tt.want)
		}
	}
}

// TestSmearServedClockMonotone follows the served time through an inserted
// leap second on the continuous clock: it never stands still or goes back,
// unlike UTC, which repeats 23:59:59 in time.Time terms.
func TestSmearServedClockMonotone(t *testing.T) {
	s := Smear{Enabled: true}
	ev := Event{At: leapAt, Leap: clock.LeapInsert}
	const step = time.Millisecond
	c := leapAt.Add(-2 * time.Second)
	prev := c.Add(s.Offset(c, ev))
	for range 5000 {
		c = c.Add(step)
		served := c.Add(s.Offset(c, ev))
		if d := served.Sub(prev); d <= 0 || d > step {
			t.Fatalf("at %v: served time advanced %v in %v", c.Sub(leapAt), d, step)
		}
		prev = served
	}
}

func TestSmearLIAndRefID(t *testing.T) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], RefIDSmear)
	if got := netip.AddrFrom4(b); got.String() != "127.127.1.255" {
		t.Errorf("RefIDSmear = %v", got)
	}
	s := Smear{Enabled: true}
	for l, want := range map[clock.Leap]clock.Leap{
		clock.LeapNone: clock.LeapNone, clock.LeapInsert: clock.LeapNone,
		clock.LeapDelete: clock.LeapNone, clock.LeapUnsync: clock.LeapUnsync,
	} {
		if got := s.ServedLeap(l); got != want {
			t.Errorf("ServedLeap(%v) = %v, want %v", l, got, want)
		}
	}

	ev := Event{At: leapAt, Leap: clock.LeapInsert, TAIOffset: 38}
	const upstream = 0xC0000201 // 192.0.2.1
	base := &clock.SyncState{Synchronized: true, Leap: clock.LeapInsert, Stratum: 2, RefID: upstream}
	quiet := &clock.SyncState{Synchronized: true, Leap: clock.LeapNone, Stratum: 2, RefID: upstream}
	tests := []struct {
		name      string
		s         Smear
		st        *clock.SyncState
		at        time.Time
		wantLeap  clock.Leap
		wantRefID uint32
		same      bool // the very same pointer back
	}{
		{"last day: LI suppressed", s, base, leapAt.Add(-time.Hour), clock.LeapNone, upstream, false},
		{"smearing: refid", s, quiet, leapAt.Add(time.Hour), clock.LeapNone, RefIDSmear, false},
		{"smear start", s, quiet, leapAt, clock.LeapNone, RefIDSmear, false},
		{"after the smear", s, quiet, leapAt.Add(s.Duration()), clock.LeapNone, upstream, true},
		{"before, nothing to do", s, quiet, leapAt.Add(-48 * time.Hour), clock.LeapNone, upstream, true},
		{"disabled", Smear{}, base, leapAt.Add(time.Hour), clock.LeapInsert, upstream, true},
		{"unsynchronised", s, clock.Unsynchronised(-20), leapAt.Add(time.Hour), clock.LeapUnsync, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := *tt.st
			got := tt.s.Apply(tt.st, tt.at, ev)
			if got.Leap != tt.wantLeap || got.RefID != tt.wantRefID || (got == tt.st) != tt.same {
				t.Errorf("Apply = leap %v refid %#x (same %v); want %v %#x (same %v)",
					got.Leap, got.RefID, got == tt.st, tt.wantLeap, tt.wantRefID, tt.same)
			}
			if *tt.st != before {
				t.Error("Apply modified its input")
			}
			if got.Stratum != tt.st.Stratum || got.Synchronized != tt.st.Synchronized {
				t.Error("Apply changed other fields")
			}
		})
	}
	if (Smear{Enabled: true}).Apply(nil, leapAt, ev) != nil {
		t.Error("Apply(nil) != nil")
	}
}

func TestSmearValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Smear
		ok   bool
	}{
		{"zero", Smear{}, true},
		{"defaults", Smear{Enabled: true, WanderPPMPerSecond: 0.001024, MaxFrequencyPPM: 400}, true},
		{"negative wander", Smear{WanderPPMPerSecond: -1}, false},
		{"NaN wander", Smear{WanderPPMPerSecond: math.NaN()}, false},
		{"infinite frequency", Smear{MaxFrequencyPPM: math.Inf(1)}, false},
		{"absurd wander", Smear{WanderPPMPerSecond: 1e6}, false},
		{"absurd frequency", Smear{MaxFrequencyPPM: 1e7}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
