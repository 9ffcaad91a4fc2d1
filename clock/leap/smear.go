package leap

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// RefIDSmear is the reference ID a server sends while its time is being
// smeared: 127.127.1.255, as chrony does while smoothing, so that smeared
// time can be told apart by anyone who looks.
const RefIDSmear uint32 = 0x7F7F01FF

// Defaults of the smear: chrony's "smoothtime 400 0.001024 leaponly".
const (
	DefaultSmearWanderPPMPerSecond = 0.001024 // rate of change of the smear frequency
	DefaultSmearMaxFrequencyPPM    = 400.0    // bound on the smear frequency
)

// Smear configures leap smearing for servers: instead of repeating (or
// skipping) a second, the served clock absorbs the leap by running slow (or
// fast) for some hours after it, so clients that know nothing about leap
// seconds see a continuous clock with a small, smoothly varying frequency
// error. The recipe is chrony's server smear (chrony.conf `leapsecmode
// slew`, `smoothtime 400 0.001024 leaponly`), implemented from its
// description: the smear starts at the leap and its frequency offset ramps
// linearly at Wander up to a peak and back down to zero, so the phase
// correction is two parabolas. With the default wander of 0.001024 ppm/s a
// 1 s leap takes sqrt(4 s / wander) = 62,500 s (≈ 17.36 h) with a peak of
// 32 ppm at 31,250 s; MaxFrequency (400 ppm) only flattens the top of
// the ramp for much larger wanders. Every server configured the same way
// serves the same time, which is the point of "leaponly".
//
// While smearing is enabled, servers must not announce the leap (clients
// would apply it a second time): ServedLeap suppresses LI 1 and 2. Clients
// of a smearing server must not use a leap table either, and smeared and
// unsmeared sources must not be mixed (chrony FAQ); pool.ntp.org servers
// must not smear.
//
// The zero value is disabled; zero Wander or MaxFrequency mean the
// defaults. Methods take the leap Event (from Table.Next or the engine) so
// that Smear stays a plain, comparable config value.
type Smear struct {
	Enabled bool
	// WanderPPMPerSecond is how fast the smear frequency may change, in
	// ppm per second (chrony's max-wander). 0 means 0.001024.
	WanderPPMPerSecond float64
	// MaxFrequencyPPM bounds the smear frequency in ppm (chrony's
	// max-freq). 0 means 400.
	MaxFrequencyPPM float64
}

// Validate reports configuration errors, naming the field and value.
func (s Smear) Validate() error {
	var errs []error
	if w := s.WanderPPMPerSecond; math.IsNaN(w) || math.IsInf(w, 0) || w < 0 || w > 1000 {
		errs = append(errs, fmt.Errorf("smear wander %v ppm/s: want 0 (default %v) or in (0, 1000]", w, DefaultSmearWanderPPMPerSecond))
	}
	if f := s.MaxFrequencyPPM; math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 100000 {
		errs = append(errs, fmt.Errorf("smear max frequency %v ppm: want 0 (default %v) or in (0, 100000]", f, DefaultSmearMaxFrequencyPPM))
	}
	return errors.Join(errs...)
}

// profile is the smear of a 1 s leap in SI units.
type profile struct {
	wander  float64 // s/s² (frequency ramp)
	fmax    float64 // s/s (frequency reached at the end of the ramp)
	ramp    float64 // s, duration of each ramp
	plateau float64 // s, time spent at fmax (0 for the triangular profile)
	total   float64 // s
}

func (s Smear) profile() profile {
	w := s.WanderPPMPerSecond
	if w == 0 {
		w = DefaultSmearWanderPPMPerSecond
	}
	f := s.MaxFrequencyPPM
	if f == 0 {
		f = DefaultSmearMaxFrequencyPPM
	}
	p := profile{wander: w * 1e-6}
	fmax := f * 1e-6
	// Triangle: ramp up for t1 and down for t1; phase = wander·t1² = 1 s.
	t1 := math.Sqrt(1 / p.wander)
	if p.wander*t1 <= fmax {
		p.ramp, p.fmax, p.total = t1, p.wander*t1, 2*t1
		return p
	}
	// Trapezoid: the ramps reach fmax, the plateau supplies the rest.
	p.ramp = fmax / p.wander
	p.fmax = fmax
	p.plateau = (1 - fmax*p.ramp) / fmax
	p.total = 2*p.ramp + p.plateau
	return p
}

// absorbed returns the part of a 1 s leap (0…1) absorbed tau seconds after
// the start, and the frequency (s/s, ≥ 0) at that moment.
func (p profile) absorbed(tau float64) (phase, freq float64) {
	switch {
	case tau <= 0:
		return 0, 0
	case tau >= p.total:
		return 1, 0
	case tau <= p.ramp:
		return p.wander * tau * tau / 2, p.wander * tau
	case tau <= p.ramp+p.plateau:
		return p.fmax*p.ramp/2 + p.fmax*(tau-p.ramp), p.fmax
	default:
		r := p.total - tau
		return 1 - p.wander*r*r/2, p.wander * r
	}
}

// Duration returns how long the smear of one leap second lasts
// (62,500 s with the defaults).
func (s Smear) Duration() time.Duration {
	return time.Duration(math.Round(s.profile().total * 1e9))
}

// PeakFrequencyPPM returns the largest smear frequency in ppm (32 with the
// defaults).
func (s Smear) PeakFrequencyPPM() float64 { return s.profile().fmax * 1e6 }

// leapSign is +1 for an insertion, −1 for a deletion, 0 otherwise.
func leapSign(l clock.Leap) float64 {
	switch l {
	case clock.LeapInsert:
		return 1
	case clock.LeapDelete:
		return -1
	}
	return 0
}

// Offset returns smeared time − t, where t is read from a continuous clock:
// one that does not apply the leap (it neither repeats 23:59:59 nor skips
// it), so that it equals UTC before the leap and UTC + 1 s after an
// insertion (UTC − 1 s after a deletion). TAI − the TAI−UTC offset before
// the leap is such a clock; so is a virtual clock that the engine does not
// step at the leap.
//
// Offset is 0 until t reaches ev.At, then moves monotonically and
// continuously to exactly −1 s for an insertion (+1 s for a deletion),
// reached at ev.At + Duration and kept afterwards: from then on t + Offset
// is UTC again. The smeared clock therefore runs slow while absorbing an
// inserted second (frequency down to −32 ppm with the defaults). The start
// is when the continuous clock reads midnight, i.e. at the start of
// 23:59:60 UTC for an insertion and at 00:00:01 UTC for a deletion: the
// moment chrony starts smoothing.
//
// Offset is 0 when smearing is disabled or ev is not a leap.
func (s Smear) Offset(t time.Time, ev Event) time.Duration {
	sign := leapSign(ev.Leap)
	if !s.Enabled || sign == 0 {
		return 0
	}
	phase, _ := s.profile().absorbed(t.Sub(ev.At).Seconds())
	return -time.Duration(sign * math.Round(phase*1e9))
}

// FrequencyPPM returns the rate of the smeared clock relative to the
// continuous clock at t, in ppm (negative = slower), i.e. the derivative
// of Offset.
func (s Smear) FrequencyPPM(t time.Time, ev Event) float64 {
	sign := leapSign(ev.Leap)
	if !s.Enabled || sign == 0 {
		return 0
	}
	_, f := s.profile().absorbed(t.Sub(ev.At).Seconds())
	return -sign * f * 1e6
}

// Active reports whether the smear of ev is in progress at t (continuous
// clock, as for Offset): t in [ev.At, ev.At + Duration).
func (s Smear) Active(t time.Time, ev Event) bool {
	if !s.Enabled || leapSign(ev.Leap) == 0 {
		return false
	}
	tau := t.Sub(ev.At)
	return tau >= 0 && tau < s.Duration()
}

// FromUTC returns smeared time − UTC for a UTC reading utc (a time.Time,
// which cannot represent 23:59:60). Before ev.At it is 0; from ev.At on it
// is +1 s after an insertion (−1 s after a deletion) shrinking to 0 as the
// smear absorbs the leap. During an inserted leap second a UTC reading is
// ambiguous (23:59:59 happens twice) and FromUTC returns 0, which would
// make served time jump back: a server crossing the leap must read a
// continuous clock and use Offset.
func (s Smear) FromUTC(utc time.Time, ev Event) time.Duration {
	sign := leapSign(ev.Leap)
	if !s.Enabled || sign == 0 || utc.Before(ev.At) {
		return 0
	}
	l := time.Duration(sign) * time.Second
	return l + s.Offset(utc.Add(l), ev)
}

// ServedLeap returns the leap indicator a server sends when the engine
// decided l: with smearing enabled, insert and delete are never announced
// (on the last day nor during the smear), because the server absorbs the
// leap itself and clients that applied it too would be off by 1 s.
// LeapUnsync passes through.
func (s Smear) ServedLeap(l clock.Leap) clock.Leap {
	if s.Enabled && (l == clock.LeapInsert || l == clock.LeapDelete) {
		return clock.LeapNone
	}
	return l
}

// Apply returns the state servers should publish at continuous time t:
// st itself when nothing changes, otherwise a copy with the leap
// suppressed (ServedLeap) and, while the smear is Active, RefID set to
// RefIDSmear. st is not modified. Unsynchronised states pass unchanged.
// The engine must republish at ev.At and at ev.At + Duration so that the
// reference ID switches on time.
func (s Smear) Apply(st *clock.SyncState, t time.Time, ev Event) *clock.SyncState {
	if st == nil || !s.Enabled || !st.Synchronized {
		return st
	}
	leap := s.ServedLeap(st.Leap)
	active := s.Active(t, ev)
	if leap == st.Leap && (!active || st.RefID == RefIDSmear) {
		return st
	}
	c := *st
	c.Leap = leap
	if active {
		c.RefID = RefIDSmear
	}
	return &c
}
