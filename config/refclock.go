package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// PHCClock is the top-level `phc:` section: the PTP hardware clock gnomond
// disciplines from a GNSS receiver (ts2phc's role). Off while Device and
// Interface are both empty. The served clock follows it through a
// `sources: [{phc: {device: <the same>}}]` entry (phc2sys's role); PTP
// serves its state.
type PHCClock struct {
	// Device is /dev/ptpN, or "sim" for a simulated PHC over the host
	// clock (demos and tests: no hardware needed, nothing touched).
	Device string `yaml:"device"`
	// Interface names the NIC whose PHC it is (ETHTOOL_GET_TS_INFO),
	// instead of Device.
	Interface string `yaml:"interface"`
	// Timescale of the PHC: tai (PTP's; ptp4l's default) or utc.
	Timescale string `yaml:"timescale"`
	// Sim shapes the simulated PHC (device sim).
	Sim PHCSim `yaml:"sim"`
	// GNSS is the receiver that disciplines the PHC.
	GNSS GNSSSource `yaml:"gnss"`
}

// PHCSim is a simulated PHC: it starts Offset seconds off the host clock
// and runs FreqPPM fast; each reading has ReadNoise seconds (σ) of noise.
type PHCSim struct {
	Offset    float64 `yaml:"offset"`
	FreqPPM   float64 `yaml:"freq_ppm"`
	ReadNoise float64 `yaml:"read_noise"`
}

// Enabled reports whether the phc section is on.
func (p *PHCClock) Enabled() bool { return p.Device != "" || p.Interface != "" }

// PHCSource is a `sources:` entry measuring a PHC against the disciplined
// clock (phc2sys, or chrony's `refclock PHC`): the EC2 way (a PHC exposed by
// the hypervisor or NIC), or the disciplined PHC of the phc section.
type PHCSource struct {
	// Device (/dev/ptpN, or "sim": the phc section's simulated PHC) or
	// Interface (its NIC), one of them.
	Device    string `yaml:"device"`
	Interface string `yaml:"interface"`
	// Timescale: tai or utc (tai: TAI − UTC is removed).
	Timescale string `yaml:"timescale"`
	// Poll is the measurement interval, log2 s (−4 … 6).
	Poll int `yaml:"poll"`
	// RefID served while this is the system peer (up to 4 characters);
	// for the phc section's PHC, its own reference ID (GPS) is passed on.
	RefID string `yaml:"refid"`
	// ErrorBound is a file holding the PHC's error bound in nanoseconds
	// (the ENA driver's phc_error_bound in sysfs); "" = none.
	ErrorBound string `yaml:"error_bound"`
	// VMClock is the VMClock device (/dev/vmclock0) whose disruption
	// counter marks live migrations; "" = none.
	VMClock  string `yaml:"vmclock"`
	Prefer   bool   `yaml:"prefer"`
	NoSelect bool   `yaml:"noselect"`
}

// DefaultPHCSource returns the defaults of a phc entry.
func DefaultPHCSource() PHCSource { return PHCSource{Timescale: TimescaleTAI, RefID: "PHC"} }

// UnmarshalYAML fills omitted fields with the defaults.
func (s *PHCSource) UnmarshalYAML(n *yaml.Node) error {
	type plain PHCSource
	p := plain(DefaultPHCSource())
	if err := n.Decode(&p); err != nil {
		return err
	}
	*s = PHCSource(p)
	return nil
}

// GNSSSource is a GNSS receiver: its PPS and its time of day (the
// phc section's receiver, or a `sources:` entry steering the served clock
// directly from gpsd and /dev/ppsN).
type GNSSSource struct {
	PPS       PPS       `yaml:"pps"`
	TimeOfDay TimeOfDay `yaml:"time_of_day"`
	// RefID served while this is the system peer (GPS, GAL, GNSS …).
	RefID string `yaml:"refid"`
	// Precision of a paired pulse, seconds (the sample dispersion).
	Precision float64 `yaml:"precision"`
	Prefer    bool    `yaml:"prefer"`
	NoSelect  bool    `yaml:"noselect"`
}

// PPS is the pulse-per-second input.
type PPS struct {
	// Source: extts (the PHC's external-timestamp channel: an SMA pin of
	// an E810/i210), kernel (/dev/ppsN), sim.
	Source string `yaml:"source"`
	// Device: kernel's /dev/ppsN (extts uses the PHC).
	Device string `yaml:"device"`
	// Pin routes this pin index to Channel (PTP_PIN_SETFUNC); −1 leaves
	// the pins as they are.
	Pin     int `yaml:"pin"`
	Channel int `yaml:"channel"`
	// Edge: rising or falling.
	Edge string `yaml:"edge"`
	// Delay is the cable and antenna delay, seconds: subtracted from
	// every edge.
	Delay float64 `yaml:"delay"`
	Sim   PPSSim  `yaml:"sim"`
}

// PPSSim is a simulated pulse: Jitter seconds (σ) around the true second,
// and outages (the signal pulled) at given times after start.
type PPSSim struct {
	Jitter  float64  `yaml:"jitter"`
	Outages []Outage `yaml:"outages"`
}

// Outage pulls a simulated signal After seconds from start for For seconds.
type Outage struct {
	After float64 `yaml:"after"`
	For   float64 `yaml:"for"`
}

// TimeOfDay is the receiver's time-of-day input.
type TimeOfDay struct {
	// Source: gpsd, nmea (a serial port), sim.
	Source string `yaml:"source"`
	// Gpsd is gpsd's HOST:PORT.
	Gpsd string `yaml:"gpsd"`
	// Device and Baud: nmea's serial port.
	Device string `yaml:"device"`
	Baud   int    `yaml:"baud"`
	// The report naming an edge's second must arrive within
	// [MinDelay, MaxDelay) seconds after the edge.
	MinDelay float64 `yaml:"min_delay"`
	MaxDelay float64 `yaml:"max_delay"`
}

// Values of the reference-chain keys.
const (
	PHCDeviceSim  = "sim"
	TimescaleTAI  = "tai"
	TimescaleUTC  = "utc"
	PPSExtTS      = "extts"
	PPSKernel     = "kernel"
	RefclockSim   = "sim"
	ToDGpsd       = "gpsd"
	ToDNMEA       = "nmea"
	EdgeRising    = "rising"
	EdgeFalling   = "falling"
	defaultGpsd   = "127.0.0.1:2947"
	maxRefIDChars = 4
)

func builtinPHC() PHCClock {
	return PHCClock{Timescale: TimescaleTAI, GNSS: builtinGNSS()}
}

func builtinGNSS() GNSSSource {
	return GNSSSource{RefID: "GPS", Precision: 1e-7,
		PPS:       PPS{Source: PPSExtTS, Pin: -1, Edge: EdgeRising, Sim: PPSSim{Outages: []Outage{}}},
		TimeOfDay: TimeOfDay{Source: ToDGpsd, Gpsd: defaultGpsd, Baud: 9600, MaxDelay: 0.95}}
}

// UnmarshalYAML fills omitted fields of a gnss entry with the defaults.
func (g *GNSSSource) UnmarshalYAML(n *yaml.Node) error {
	type plain GNSSSource
	p := plain(builtinGNSS())
	if err := n.Decode(&p); err != nil {
		return err
	}
	*g = GNSSSource(p)
	return nil
}

// PHCSources returns the `phc` entries of sources, in order.
func (c *Config) PHCSources() []PHCSource {
	var out []PHCSource
	for _, s := range c.Sources {
		if s.PHC != nil {
			out = append(out, *s.PHC)
		}
	}
	return out
}

// GNSSSources returns the `gnss` entries of sources, in order.
func (c *Config) GNSSSources() []GNSSSource {
	var out []GNSSSource
	for _, s := range c.Sources {
		if s.GNSS != nil {
			out = append(out, *s.GNSS)
		}
	}
	return out
}

// validateRefclocks checks the phc section and the phc and gnss entries of
// sources.
func (c *Config) validateRefclocks(bad func(key string, value any, format string, args ...any)) {
	p := &c.PHC
	if p.Device != "" && p.Interface != "" {
		bad("phc.interface", p.Interface, "give phc.device or phc.interface, not both")
	}
	checkPHCDevice("phc.device", p.Device, bad)
	checkInterface("phc.interface", p.Interface, bad)
	checkTimescale("phc.timescale", p.Timescale, bad)
	if p.Device == PHCDeviceSim {
		if s := p.Sim; !(s.Offset >= -10 && s.Offset <= 10) {
			bad("phc.sim.offset", s.Offset, "must be −10 … 10 seconds")
		}
		if s := p.Sim; !(s.FreqPPM >= -500 && s.FreqPPM <= 500) {
			bad("phc.sim.freq_ppm", s.FreqPPM, "must be −500 … 500 ppm")
		}
		if s := p.Sim; !(s.ReadNoise >= 0 && s.ReadNoise <= 1e-3) {
			bad("phc.sim.read_noise", s.ReadNoise, "must be 0 … 0.001 seconds")
		}
	}
	if p.Enabled() {
		if c.Clock.Mode == ClockNone {
			bad("phc.device", p.Device+p.Interface, "a disciplined PHC is served through the disciplined clock: needs clock.mode virtual (or system)")
		}
		c.validateGNSS("phc.gnss", &p.GNSS, true, bad)
		followed := false
		for _, s := range c.PHCSources() {
			followed = followed || (s.Device != "" && s.Device == p.Device) || (s.Interface != "" && s.Interface == p.Interface)
		}
		if !followed {
			bad("phc.device", p.Device+p.Interface, "nothing follows the disciplined PHC: add `- phc: {device: %s}` to sources", p.Device+p.Interface)
		}
	}
	for i, s := range c.Sources {
		key := fmt.Sprintf("sources[%d]", i)
		if s.PHC != nil {
			c.validatePHCSource(key+".phc", s.PHC, bad)
		}
		if s.GNSS != nil {
			c.validateGNSS(key+".gnss", s.GNSS, false, bad)
		}
	}
}

func (c *Config) validatePHCSource(key string, s *PHCSource, bad func(key string, value any, format string, args ...any)) {
	switch {
	case s.Device == "" && s.Interface == "":
		bad(key+".device", "", "give device (/dev/ptpN) or interface")
	case s.Device != "" && s.Interface != "":
		bad(key+".interface", s.Interface, "give device or interface, not both")
	}
	checkPHCDevice(key+".device", s.Device, bad)
	checkInterface(key+".interface", s.Interface, bad)
	if s.Device == PHCDeviceSim && c.PHC.Device != PHCDeviceSim {
		bad(key+".device", s.Device, "the simulated PHC is the phc section's: set phc.device: sim")
	}
	checkTimescale(key+".timescale", s.Timescale, bad)
	if s.Poll < -4 || s.Poll > 6 {
		bad(key+".poll", s.Poll, "must be −4 … 6 (log2 s)")
	}
	checkRefID(key+".refid", s.RefID, bad)
	for _, f := range []struct{ k, v string }{{".error_bound", s.ErrorBound}, {".vmclock", s.VMClock}} {
		if f.v != "" && !filepath.IsAbs(f.v) {
			bad(key+f.k, f.v, "must be an absolute path")
		}
	}
	if c.Clock.Mode == ClockNone {
		bad(key, "phc", "a phc source needs a clock to discipline: clock.mode virtual (or system)")
	}
}

// validateGNSS checks a receiver; onPHC: it disciplines the phc section's
// PHC (extts is allowed only there).
func (c *Config) validateGNSS(key string, g *GNSSSource, onPHC bool, bad func(key string, value any, format string, args ...any)) {
	pps, tod := &g.PPS, &g.TimeOfDay
	switch pps.Source {
	case PPSExtTS:
		if !onPHC {
			bad(key+".pps.source", pps.Source, "extts timestamps pulses on a PHC: use it in the phc section; here use kernel (/dev/ppsN)")
		}
	case PPSKernel:
		if !strings.HasPrefix(pps.Device, "/dev/") {
			bad(key+".pps.device", pps.Device, "want the kernel PPS device, /dev/ppsN")
		}
		if onPHC {
			bad(key+".pps.source", pps.Source, "a kernel PPS device stamps on the system clock, not the PHC: use extts")
		}
	case RefclockSim:
		if onPHC && c.PHC.Device != PHCDeviceSim {
			bad(key+".pps.source", pps.Source, "a simulated pulse needs the simulated PHC (phc.device: sim)")
		}
		if j := pps.Sim.Jitter; !(j >= 0 && j <= 0.1) {
			bad(key+".pps.sim.jitter", j, "must be 0 … 0.1 seconds")
		}
		for i, o := range pps.Sim.Outages {
			if !(o.After >= 0) || !(o.For > 0) {
				bad(fmt.Sprintf("%s.pps.sim.outages[%d]", key, i), fmt.Sprintf("after %v for %v", o.After, o.For), "want after ≥ 0 and for > 0 seconds")
			}
		}
	default:
		bad(key+".pps.source", pps.Source, "must be extts, kernel or sim")
	}
	if pps.Pin < -1 || pps.Pin > 255 {
		bad(key+".pps.pin", pps.Pin, "must be −1 (leave pins alone) … 255")
	}
	if pps.Channel < 0 || pps.Channel > 255 {
		bad(key+".pps.channel", pps.Channel, "must be 0 … 255")
	}
	if pps.Edge != EdgeRising && pps.Edge != EdgeFalling {
		bad(key+".pps.edge", pps.Edge, "must be rising or falling")
	}
	if !(pps.Delay >= -1e-3 && pps.Delay <= 1e-3) {
		bad(key+".pps.delay", pps.Delay, "must be −0.001 … 0.001 seconds (cable and antenna delay)")
	}
	switch tod.Source {
	case ToDGpsd:
		if err := checkServerAddress(tod.Gpsd); err != nil {
			bad(key+".time_of_day.gpsd", tod.Gpsd, "%v", err)
		}
	case ToDNMEA:
		if !strings.HasPrefix(tod.Device, "/dev/") {
			bad(key+".time_of_day.device", tod.Device, "want the receiver's serial port, /dev/ttyXXX")
		}
		switch tod.Baud {
		case 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600:
		default:
			bad(key+".time_of_day.baud", tod.Baud, "must be 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800 or 921600")
		}
	case RefclockSim:
		if pps.Source != RefclockSim {
			bad(key+".time_of_day.source", tod.Source, "a simulated time of day goes with a simulated pulse (pps.source: sim)")
		}
	default:
		bad(key+".time_of_day.source", tod.Source, "must be gpsd, nmea or sim")
	}
	if !(tod.MinDelay >= 0) || !(tod.MaxDelay > tod.MinDelay) || tod.MaxDelay > 1 {
		bad(key+".time_of_day.max_delay", tod.MaxDelay, "want 0 ≤ min_delay (%v) < max_delay ≤ 1 second", tod.MinDelay)
	}
	checkRefID(key+".refid", g.RefID, bad)
	if !(g.Precision > 0) || g.Precision > 1 {
		bad(key+".precision", g.Precision, "must be > 0 and ≤ 1 second")
	}
	if !onPHC && c.Clock.Mode == ClockNone {
		bad(key, "gnss", "a gnss source needs a clock to discipline: clock.mode virtual (or system)")
	}
}

func checkPHCDevice(key, d string, bad func(key string, value any, format string, args ...any)) {
	if d != "" && d != PHCDeviceSim && !strings.HasPrefix(d, "/dev/") {
		bad(key, d, "want /dev/ptpN (or sim)")
	}
}

func checkInterface(key, s string, bad func(key string, value any, format string, args ...any)) {
	if s != "" && (len(s) > maxIfName || strings.ContainsAny(s, "/ \t\n:")) {
		bad(key, s, "not a valid interface name")
	}
}

func checkTimescale(key, s string, bad func(key string, value any, format string, args ...any)) {
	if s != TimescaleTAI && s != TimescaleUTC {
		bad(key, s, "must be tai or utc")
	}
}

func checkRefID(key, s string, bad func(key string, value any, format string, args ...any)) {
	if s == "" || len(s) > maxRefIDChars {
		bad(key, s, "want 1 … 4 ASCII characters")
		return
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			bad(key, s, "want 1 … 4 printable ASCII characters")
			return
		}
	}
}
