package servo

import (
	"errors"
	"fmt"
	"math"
	"time"

	fbservo "github.com/facebook/time/servo"
)

// PIGains are linuxptp's PI gain rules (pi.c): for a sync interval s in
// seconds, kp = min(KpScale·s^KpExponent, KpNormMax/s) and
// ki = min(KiScale·s^KiExponent, KiNormMax/s).
type PIGains struct {
	KpScale, KpExponent, KpNormMax float64
	KiScale, KiExponent, KiNormMax float64
}

// LinuxptpSWGains are linuxptp's defaults with software timestamps
// (SWTS_KP_SCALE 0.1, SWTS_KI_SCALE 0.001): at 1 s, kp = 0.1, ki = 0.001.
// This is the baseline for NTP-class (software-timestamped) measurements.
func LinuxptpSWGains() PIGains {
	return PIGains{KpScale: 0.1, KpExponent: -0.3, KpNormMax: 0.7, KiScale: 0.001, KiExponent: 0.4, KiNormMax: 0.3}
}

// LinuxptpHWGains are linuxptp's defaults with hardware timestamps
// (HWTS_KP_SCALE 0.7, HWTS_KI_SCALE 0.3): at 1 s, kp = 0.7, ki = 0.3.
func LinuxptpHWGains() PIGains {
	return PIGains{KpScale: 0.7, KpExponent: -0.3, KpNormMax: 0.7, KiScale: 0.3, KiExponent: 0.4, KiNormMax: 0.3}
}

// FacebookGains are facebook/time's DefaultPiServoCfg: exponents 0,
// kp = min(0.7, 1/s), ki = min(0.3, 2/s) — the hardware gains at 1 s.
func FacebookGains() PIGains {
	return PIGains{KpScale: 0.7, KpNormMax: 1, KiScale: 0.3, KiNormMax: 2}
}

func (g PIGains) at(s float64) (kp, ki float64) {
	kp = math.Min(g.KpScale*math.Pow(s, g.KpExponent), g.KpNormMax/s)
	ki = math.Min(g.KiScale*math.Pow(s, g.KiExponent), g.KiNormMax/s)
	return kp, ki
}

// freqEstMargin is linuxptp's FREQ_EST_MARGIN (pi.c).
const freqEstMargin = 0.001

// PI is the linuxptp PI servo as ported by facebook/time/servo, behind the
// Servo interface. It is the baseline other servos are measured against.
//
// Conventions bridged here: facebook/time (like linuxptp) takes offset =
// local − master in ns and returns a frequency ppb that the caller applies
// negated (clockadj_set_freq(−ppb)) and, on JUMP, steps by −offset. This
// wrapper negates both ways so that callers see gnomon's signs.
//
// Behaviour kept from linuxptp: the first sample is stored; the second,
// at least 0.016/ki s later (16 s with SW gains at 1 s), estimates the
// frequency from the two offsets and may step (first_step_threshold);
// later samples run the PI loop with anti-windup at the frequency limit.
// Samples arriving before that wait are discarded here (facebook/time would
// log a warning for each). The step policy maps to linuxptp's thresholds:
// StepThreshold becomes first_step_threshold while fewer than StepLimit
// updates have been made, and step_threshold as well when StepLimit < 0
// (exceeding it then restarts the servo, which steps on its next
// frequency estimate, as linuxptp does). MaxFreqPPB is max_frequency.
// MaxSlewPPB has no PI counterpart and is not applied. facebook/time's
// spike filter is not used: it reads the real clock (time.Since).
type PI struct {
	pi      *fbservo.PiServo
	policy  Policy
	ki      float64
	first   time.Time // local time of the stored first sample
	updates int
	freq    float64 // gnomon sign
	state   State
}

// NewPI returns a PI servo for samples every interval, starting from the
// frequency correction freqPPB currently applied to the clock.
func NewPI(g PIGains, interval time.Duration, p Policy, freqPPB float64) (*PI, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("servo: new pi: %w", err)
	}
	if interval <= 0 {
		return nil, fmt.Errorf("servo: new pi: interval %v: must be positive", interval)
	}
	s := interval.Seconds()
	kp, ki := g.at(s)
	if !(kp > 0) || !(ki > 0) || math.IsInf(kp, 0) || math.IsInf(ki, 0) {
		return nil, errors.New("servo: new pi: gains give non-positive kp or ki")
	}
	if math.IsNaN(freqPPB) || math.IsInf(freqPPB, 0) {
		return nil, fmt.Errorf("servo: new pi: initial frequency %v: not finite", freqPPB)
	}
	// A fresh config per servo: facebook/time's makePiFast (called on
	// Unlock and filter resets) mutates the config it was given.
	cfg := fbservo.DefaultPiServoCfg()
	cfg.PiKpScale, cfg.PiKpExponent, cfg.PiKpNormMax = g.KpScale, g.KpExponent, g.KpNormMax
	cfg.PiKiScale, cfg.PiKiExponent, cfg.PiKiNormMax = g.KiScale, g.KiExponent, g.KiNormMax
	sc := fbservo.DefaultServoConfig()
	if p.StepThreshold > 0 && p.StepLimit != 0 {
		sc.FirstStepThreshold = p.StepThreshold.Nanoseconds()
		sc.FirstUpdate = true
		if p.StepLimit < 0 {
			sc.StepThreshold = p.StepThreshold.Nanoseconds()
		}
	} else {
		sc.FirstStepThreshold = 0
	}
	pi := fbservo.NewPiServo(sc, cfg, -freqPPB)
	pi.SetMaxFreq(p.MaxFreqPPB)
	pi.SyncInterval(s)
	return &PI{pi: pi, policy: p, ki: ki, freq: freqPPB}, nil
}

// Name implements Servo.
func (*PI) Name() string { return "pi" }

// State implements Servo.
func (s *PI) State() State { return s.state }

// Frequency implements Servo.
func (s *PI) Frequency() float64 { return s.freq }

// Sample implements Servo.
// The PI servo uses only Offset and Local.
func (s *PI) Sample(m Measurement) Decision {
	offset, local := m.Offset, m.Local
	hold := Decision{Action: ActionDiscard, FreqPPB: s.freq, State: s.state}
	ns := local.UnixNano()
	if ns <= 0 {
		return hold
	}
	if s.pi.GetState() == fbservo.StateJump { // one sample stored
		// Mirror pi.c's wait for the frequency estimate so that the port
		// does not log a warning per early sample.
		wait := math.Min(0.016/s.ki, 1000)
		if d := local.Sub(s.first).Seconds(); d*(1+freqEstMargin) < wait {
			return hold
		}
	}
	ppb, st := s.pi.Sample(-offset.Nanoseconds(), uint64(ns))
	d := Decision{FreqPPB: -ppb}
	switch st {
	case fbservo.StateInit:
		// First sample stored, or the servo restarted: nothing to apply.
		if s.pi.GetState() == fbservo.StateJump {
			s.first = local
		}
		s.state = StateUnlocked
		d.FreqPPB = s.freq
		d.State = s.state
		return d
	case fbservo.StateJump:
		d.Action = ActionStep
		d.Step = offset
	}
	s.updates++
	if s.policy.StepLimit >= 0 && s.updates >= s.policy.StepLimit {
		s.pi.UnsetFirstUpdate()
	}
	s.state = StateLocked
	s.freq = d.FreqPPB
	d.State = s.state
	return d
}
