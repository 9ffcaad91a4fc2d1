package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gnomon-time/gnomon/internal/hostname"
)

// Source is one entry of `sources:`: exactly one of its fields is set.
type Source struct {
	// NTP is an upstream NTP server (chrony's `server` directive).
	NTP *NTPSource `yaml:"ntp"`
	// Local is the fallback when nothing is selectable (chrony's `local
	// stratum N`): the served clock is declared synchronised as it is.
	Local *LocalSource `yaml:"local"`
	// PHC is a PTP hardware clock measured against the served clock
	// (chrony's `refclock PHC`, phc2sys).
	PHC *PHCSource `yaml:"phc"`
	// GNSS is a receiver's PPS and time of day steering the served clock
	// (chrony's `refclock PPS` with gpsd).
	GNSS *GNSSSource `yaml:"gnss"`
}

// kinds lists the entry's set fields.
func (s *Source) kinds() []string {
	var k []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"ntp", s.NTP != nil}, {"local", s.Local != nil}, {"phc", s.PHC != nil}, {"gnss", s.GNSS != nil}} {
		if f.set {
			k = append(k, f.name)
		}
	}
	return k
}

// NTPSource is an upstream NTP server with chrony's option names.
type NTPSource struct {
	// Address is "host", "host:port", "IPv4[:port]" or "IPv6" /
	// "[IPv6]:port"; the port defaults to 123. Names resolve at start.
	Address string `yaml:"address"`
	// IBurst sends four requests 2 s apart at start (chrony iburst).
	IBurst bool `yaml:"iburst"`
	// MinPoll and MaxPoll bound the poll interval, log2 s (chrony
	// defaults 6 and 10; −7 … 17).
	MinPoll int `yaml:"minpoll"`
	MaxPoll int `yaml:"maxpoll"`
	// Burst sends a short burst at every poll (chrony burst).
	Burst bool `yaml:"burst"`
	// Selection options (chrony prefer, noselect, trust, require).
	Prefer   bool `yaml:"prefer"`
	NoSelect bool `yaml:"noselect"`
	Trust    bool `yaml:"trust"`
	Require  bool `yaml:"require"`
}

// DefaultNTPSource returns chrony's defaults for an NTP source.
func DefaultNTPSource() NTPSource { return NTPSource{MinPoll: 6, MaxPoll: 10} }

// UnmarshalYAML fills omitted fields with chrony's defaults.
func (s *NTPSource) UnmarshalYAML(n *yaml.Node) error {
	type plain NTPSource
	p := plain(DefaultNTPSource())
	if err := n.Decode(&p); err != nil {
		return err
	}
	*s = NTPSource(p)
	return nil
}

// LocalSource is chrony's `local stratum N`.
type LocalSource struct {
	// Stratum served while the local fallback is in use (1 … 15).
	Stratum int `yaml:"stratum"`
}

// DefaultLocalStratum is chrony's `local` default.
const DefaultLocalStratum = 10

// UnmarshalYAML fills an omitted stratum with chrony's default, so that
// `- local: {}` means chrony's plain `local`.
func (l *LocalSource) UnmarshalYAML(n *yaml.Node) error {
	type plain LocalSource
	p := plain{Stratum: DefaultLocalStratum}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		*l = LocalSource(p)
		return nil
	}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*l = LocalSource(p)
	return nil
}

// Selection holds chrony's source selection options. Durations are in
// seconds, as in chrony.conf.
type Selection struct {
	// MinSources: truechimers needed before anything is selected.
	MinSources int `yaml:"minsources"`
	// MaxDistance rejects sources with a larger root distance (s).
	MaxDistance float64 `yaml:"maxdistance"`
	// MaxJitter rejects sources with a larger jitter (s).
	MaxJitter float64 `yaml:"maxjitter"`
	// MaxStratum rejects sources with a larger stratum (1 … 15).
	MaxStratum int `yaml:"maxstratum"`
	// ReselectDist is the hysteresis against changing the system peer (s).
	ReselectDist float64 `yaml:"reselectdist"`
	// StratumWeight is added to a source's score per stratum (s).
	StratumWeight float64 `yaml:"stratumweight"`
	// CombineLimit: sources whose root distance exceeds this many times
	// the system peer's are not combined (0 = only the peer).
	CombineLimit float64 `yaml:"combinelimit"`
}

// Servo selects and bounds the servo.
type Servo struct {
	// Name is kalman (the chosen servo) or pi (the linuxptp PI baseline).
	Name string `yaml:"name"`
	// MakeStep is chrony's `makestep threshold limit`.
	MakeStep MakeStep `yaml:"makestep"`
	// MaxFreq bounds the frequency correction, ppm (chrony maxdrift).
	MaxFreq float64 `yaml:"maxfreq"`
	// MaxSlew bounds the phase-slewing part of the correction, ppm
	// (chrony maxslewrate; 0 = only maxfreq).
	MaxSlew float64 `yaml:"maxslew"`
}

// MakeStep is chrony's makestep: an offset above Threshold seconds is
// stepped in the first Limit clock updates (Limit −1: at any update;
// Threshold 0: never step).
type MakeStep struct {
	Threshold float64 `yaml:"threshold"`
	Limit     int     `yaml:"limit"`
}

// Holdover configures what happens when clock updates stop.
type Holdover struct {
	// After: seconds without an update before holdover (0 = three poll
	// intervals of the system peer, at least 16 s).
	After float64 `yaml:"after"`
	// Duration: seconds of holdover before falling back to local or
	// unsynchronised (0 = no holdover).
	Duration float64 `yaml:"duration"`
	// StabilityPPB: the oscillator's stability in holdover, ppb (the
	// error bound grows at it; 0 = the locked rate, 1000).
	StabilityPPB float64 `yaml:"stability_ppb"`
	// WanderPPBPerHour bounds the frequency drift in holdover (adds
	// ½·w·t² to the bound); 0 = none.
	WanderPPBPerHour float64 `yaml:"wander_ppb_per_hour"`
	// InSpec: seconds of holdover at clockClass 7 (0 = all of duration);
	// InSpecErrorBound ends it earlier when the error bound exceeds it
	// (seconds, 0 = no such limit).
	InSpec           float64 `yaml:"in_spec"`
	InSpecErrorBound float64 `yaml:"in_spec_error_bound"`
	// OutOfSpecClass: clockClass out of specification (52, 187, 140,
	// 150 or 160); the stratum becomes max(stratum + add, floor).
	OutOfSpecClass      int `yaml:"out_of_spec_class"`
	OutOfSpecStratumAdd int `yaml:"out_of_spec_stratum_add"`
	OutOfSpecStratum    int `yaml:"out_of_spec_stratum"`
	// RecoverySlewLimit: a returning source's offset up to this (s) is
	// slewed, beyond it stepped (0 = servo.makestep.threshold).
	RecoverySlewLimit float64 `yaml:"recovery_slew_limit"`
	// LockThreshold (s) and LockUpdates: locked (clockClass 6) after this
	// many consecutive updates within the threshold (negative threshold:
	// locked at the first update).
	LockThreshold float64 `yaml:"lock_threshold"`
	LockUpdates   int     `yaml:"lock_updates"`
}

// Leap configures leap seconds.
type Leap struct {
	// Table is a leap-seconds.list or a TZif file with leap records
	// (e.g. /usr/share/zoneinfo/right/UTC); "" = the sources' majority.
	Table string `yaml:"table"`
	// Mode is what happens at a leap second (chronyd's leapsecmode):
	// system (the kernel inserts it: STA_INS/STA_DEL armed on the last
	// day; clock.mode system only), step (the engine steps the clock),
	// smear (the engine steps its clock, servers hand out smeared time
	// with LI 0 and refid 127.127.1.255) or none (announce only).
	Mode string `yaml:"mode"`
	// Smear shapes leap.mode smear (chrony's smoothtime).
	Smear Smear `yaml:"smear"`
}

// Defaults of leap.smear: chrony's `smoothtime 400 0.001024 leaponly`
// (clock/leap's DefaultSmear* constants; the config package imports no
// gnomon package, cmd/gnomond's tests check they agree).
const (
	DefaultSmearWander  = 0.001024 // ppm/s
	DefaultSmearMaxFreq = 400.0    // ppm
)

// Smear is chrony's `smoothtime MAXFREQ WANDER leaponly`.
type Smear struct {
	// Wander is how fast the smear frequency changes, ppm/s (chrony's
	// default 0.001024: a 62,500 s smear peaking at 32 ppm).
	Wander float64 `yaml:"wander"`
	// MaxFreq bounds the smear frequency, ppm (chrony's default 400).
	MaxFreq float64 `yaml:"maxfreq"`
}

// Values of the discipline's enumerated keys.
const (
	ClockNone = "none"

	ServoKalman = "kalman"
	ServoPI     = "pi"

	LeapSystem = "system"
	LeapStep   = "step"
	LeapSmear  = "smear"
	LeapNone   = "none"
)

// LocalSource returns the `local` entry of sources, or nil.
func (c *Config) LocalSource() *LocalSource {
	for _, s := range c.Sources {
		if s.Local != nil {
			return s.Local
		}
	}
	return nil
}

// NTPSources returns the `ntp` entries of sources, in order.
func (c *Config) NTPSources() []NTPSource {
	var out []NTPSource
	for _, s := range c.Sources {
		if s.NTP != nil {
			out = append(out, *s.NTP)
		}
	}
	return out
}

// validateDiscipline checks sources, clock, selection, servo, holdover and
// leap; bad reports one problem naming key and value.
func (c *Config) validateDiscipline(bad func(key string, value any, format string, args ...any)) {
	switch c.Clock.Mode {
	case ClockVirtual, ClockSystem, ClockNone:
	default:
		bad("clock.mode", c.Clock.Mode, "must be virtual, system or none")
	}

	locals, ntps := 0, 0
	addrs := map[string]int{}
	for i, s := range c.Sources {
		key := fmt.Sprintf("sources[%d]", i)
		switch k := s.kinds(); {
		case len(k) > 1:
			bad(key, strings.Join(k, "+"), "an entry is one of ntp, local, phc or gnss, not several")
			continue
		case len(k) == 0:
			bad(key, "{}", "empty entry: want `ntp: {address: ...}`, `local: {stratum: N}`, `phc: {device: ...}` or `gnss: {...}`")
			continue
		case s.PHC != nil || s.GNSS != nil:
			continue // validateRefclocks
		case s.Local != nil:
			locals++
			if locals > 1 {
				bad(key+".local", "local", "only one local entry is allowed")
			}
			if s.Local.Stratum < 1 || s.Local.Stratum > 15 {
				bad(key+".local.stratum", s.Local.Stratum, "must be 1 … 15")
			}
			continue
		}
		ntps++
		n := s.NTP
		if err := checkServerAddress(n.Address); err != nil {
			bad(key+".ntp.address", n.Address, "%v", err)
		} else if j, dup := addrs[n.Address]; dup {
			bad(key+".ntp.address", n.Address, "duplicate of sources[%d]", j)
		} else {
			addrs[n.Address] = i
		}
		if n.MinPoll < -7 || n.MinPoll > 17 {
			bad(key+".ntp.minpoll", n.MinPoll, "must be -7 … 17 (log2 s)")
		}
		if n.MaxPoll < -7 || n.MaxPoll > 17 {
			bad(key+".ntp.maxpoll", n.MaxPoll, "must be -7 … 17 (log2 s)")
		}
		if n.MaxPoll < n.MinPoll {
			bad(key+".ntp.maxpoll", n.MaxPoll, "must be ≥ minpoll (%d)", n.MinPoll)
		}
		if n.MinPoll == 0 && n.MaxPoll == 0 {
			// The client core reads 0/0 as "unset" (6/10).
			bad(key+".ntp.minpoll", n.MinPoll, "minpoll 0 with maxpoll 0 is not supported; use minpoll -1 or maxpoll 1")
		}
		if n.NoSelect && (n.Prefer || n.Require || n.Trust) {
			bad(key+".ntp.noselect", n.NoSelect, "a noselect source cannot also be prefer, require or trust")
		}
	}
	if ntps > 0 && c.Clock.Mode == ClockNone {
		bad("clock.mode", c.Clock.Mode, "ntp sources need a clock to discipline: use virtual (or, deliberately, system)")
	}

	sel := &c.Selection
	if sel.MinSources < 1 || sel.MinSources > 64 {
		bad("selection.minsources", sel.MinSources, "must be 1 … 64")
	}
	if !(sel.MaxDistance > 0) || sel.MaxDistance > 3600 {
		bad("selection.maxdistance", sel.MaxDistance, "must be > 0 and ≤ 3600 (seconds)")
	}
	if !(sel.MaxJitter > 0) || sel.MaxJitter > 3600 {
		bad("selection.maxjitter", sel.MaxJitter, "must be > 0 and ≤ 3600 (seconds)")
	}
	if sel.MaxStratum < 1 || sel.MaxStratum > 15 {
		bad("selection.maxstratum", sel.MaxStratum, "must be 1 … 15")
	}
	if !(sel.ReselectDist >= 0) || sel.ReselectDist > 1 {
		bad("selection.reselectdist", sel.ReselectDist, "must be 0 … 1 (seconds)")
	}
	if !(sel.StratumWeight >= 0) || sel.StratumWeight > 1 {
		bad("selection.stratumweight", sel.StratumWeight, "must be 0 … 1 (seconds)")
	}
	if !(sel.CombineLimit >= 0) || sel.CombineLimit > 1000 {
		bad("selection.combinelimit", sel.CombineLimit, "must be 0 … 1000")
	}

	sv := &c.Servo
	if !slices.Contains([]string{ServoKalman, ServoPI}, sv.Name) {
		bad("servo.name", sv.Name, "must be %s", strings.Join([]string{ServoKalman, ServoPI}, " or "))
	}
	if !(sv.MakeStep.Threshold >= 0) || sv.MakeStep.Threshold > 1e6 {
		bad("servo.makestep.threshold", sv.MakeStep.Threshold, "must be 0 (never step) … 1e6 seconds")
	}
	if sv.MakeStep.Limit < -1 {
		bad("servo.makestep.limit", sv.MakeStep.Limit, "must be -1 (any update) or ≥ 0")
	}
	if !(sv.MaxFreq > 0) || sv.MaxFreq > 100000 {
		bad("servo.maxfreq", sv.MaxFreq, "must be > 0 and ≤ 100000 (ppm)")
	}
	if !(sv.MaxSlew >= 0) || sv.MaxSlew > 100000 {
		bad("servo.maxslew", sv.MaxSlew, "must be 0 (only maxfreq) … 100000 (ppm)")
	}

	if !(c.Holdover.After >= 0) || c.Holdover.After > 86400 {
		bad("holdover.after", c.Holdover.After, "must be 0 (auto) … 86400 seconds")
	}
	if !(c.Holdover.Duration >= 0) || c.Holdover.Duration > 30*86400 {
		bad("holdover.duration", c.Holdover.Duration, "must be 0 (none) … 2592000 seconds")
	}
	h := &c.Holdover
	for _, v := range []struct {
		key    string
		v, max float64
	}{{"holdover.stability_ppb", h.StabilityPPB, 1e6}, {"holdover.wander_ppb_per_hour", h.WanderPPBPerHour, 1e6},
		{"holdover.in_spec", h.InSpec, 30 * 86400}, {"holdover.in_spec_error_bound", h.InSpecErrorBound, 3600},
		{"holdover.recovery_slew_limit", h.RecoverySlewLimit, 3600}} {
		if !(v.v >= 0) || v.v > v.max {
			bad(v.key, v.v, "must be 0 … %g", v.max)
		}
	}
	if h.InSpec > h.Duration && h.Duration > 0 {
		bad("holdover.in_spec", h.InSpec, "longer than holdover.duration (%g)", h.Duration)
	}
	switch h.OutOfSpecClass {
	case 52, 187, 140, 150, 160:
	default:
		bad("holdover.out_of_spec_class", h.OutOfSpecClass, "must be 52, 187, 140, 150 or 160")
	}
	if h.OutOfSpecStratumAdd < 0 || h.OutOfSpecStratumAdd > 15 {
		bad("holdover.out_of_spec_stratum_add", h.OutOfSpecStratumAdd, "must be 0 … 15")
	}
	if h.OutOfSpecStratum < 0 || h.OutOfSpecStratum > 15 {
		bad("holdover.out_of_spec_stratum", h.OutOfSpecStratum, "must be 0 (none) … 15")
	}
	if !(h.LockThreshold >= -1) || h.LockThreshold > 1 || h.LockThreshold == 0 {
		bad("holdover.lock_threshold", h.LockThreshold, "must be > 0 and ≤ 1 second, or -1 (no gate)")
	}
	if h.LockUpdates < 1 || h.LockUpdates > 1000 {
		bad("holdover.lock_updates", h.LockUpdates, "must be 1 … 1000")
	}

	c.validateLeap(ntps, bad)
}

// validateLeap checks leap.mode against the clock it needs and the smear
// shape.
func (c *Config) validateLeap(ntps int, bad func(key string, value any, format string, args ...any)) {
	l := &c.Leap
	switch l.Mode {
	case LeapStep, LeapNone:
	case LeapSystem:
		if c.Clock.Mode != ClockSystem {
			bad("leap.mode", l.Mode, "the kernel inserts leap seconds only into CLOCK_REALTIME: needs clock.mode system (got %q); use step or smear", c.Clock.Mode)
		}
	case LeapSmear:
		if c.Clock.Mode == ClockNone {
			bad("leap.mode", l.Mode, "clock.mode none serves CLOCK_REALTIME as it is: there is no disciplined clock to smear")
		} else if ntps == 0 && l.Table == "" {
			bad("leap.mode", l.Mode, "a smearing server must learn of leap seconds: configure ntp sources or leap.table")
		}
	default:
		bad("leap.mode", l.Mode, "must be system, step, smear or none")
	}
	if w := l.Smear.Wander; !(w > 0) || w > 1000 {
		bad("leap.smear.wander", w, "must be > 0 and ≤ 1000 (ppm/s; chrony's default 0.001024)")
	}
	if f := l.Smear.MaxFreq; !(f > 0) || f > 100000 {
		bad("leap.smear.maxfreq", f, "must be > 0 and ≤ 100000 (ppm; chrony's default 400)")
	}
}

// checkServerAddress checks the syntax of an NTP server address with the
// parser ntp/upstream uses (host or IP, optional port 1 … 65535).
func checkServerAddress(a string) error {
	_, _, err := hostname.SplitAddress(a, 123)
	return err
}
