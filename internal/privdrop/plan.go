package privdrop

import (
	"strconv"
	"strings"
)

// Cap is a Linux capability number (linux/capability.h).
type Cap uint

// The capabilities gnomond uses or mentions.
const (
	CapChown          Cap = 0
	CapDACOverride    Cap = 1
	CapSetgid         Cap = 6
	CapSetuid         Cap = 7
	CapSetpcap        Cap = 8
	CapNetBindService Cap = 10
	CapNetAdmin       Cap = 12
	CapNetRaw         Cap = 13
	CapSysTime        Cap = 25
)

var capNames = map[Cap]string{
	CapChown: "cap_chown", CapDACOverride: "cap_dac_override", CapSetgid: "cap_setgid",
	CapSetuid: "cap_setuid", CapSetpcap: "cap_setpcap", CapNetBindService: "cap_net_bind_service",
	CapNetAdmin: "cap_net_admin", CapNetRaw: "cap_net_raw", CapSysTime: "cap_sys_time",
}

// String is the capability's name as capabilities(7) and setpriv spell it
// in lower case ("cap_sys_time"), or "cap_N".
func (c Cap) String() string {
	if s, ok := capNames[c]; ok {
		return s
	}
	return "cap_" + strconv.Itoa(int(c))
}

// Set is a capability mask: bit n is capability n, as in the CapEff lines
// of /proc/PID/status.
type Set uint64

// SetOf returns the set of caps.
func SetOf(caps ...Cap) Set {
	var s Set
	for _, c := range caps {
		s |= 1 << c
	}
	return s
}

// Has reports whether c is in s.
func (s Set) Has(c Cap) bool { return c < 64 && s&(1<<c) != 0 }

// Caps lists the capabilities of s in ascending order.
func (s Set) Caps() []Cap {
	var out []Cap
	for c := Cap(0); c < 64; c++ {
		if s.Has(c) {
			out = append(out, c)
		}
	}
	return out
}

// String lists the names joined by ",", or "none".
func (s Set) String() string {
	if s == 0 {
		return "none"
	}
	names := make([]string, 0, 4)
	for _, c := range s.Caps() {
		names = append(names, c.String())
	}
	return strings.Join(names, ",")
}

// Needs is what the running configuration does after start-up that the
// kernel checks a capability for. Everything done before the drop (binds,
// device opens, SIOCSHWTSTAMP) is absent on purpose.
type Needs struct {
	// SteerRealtime: the engine adjusts CLOCK_REALTIME (frequency, steps,
	// leap and status bits through clock_adjtime): clock.mode system with
	// at least one source to steer with. A virtual clock, a PHC and an
	// unsteered CLOCK_REALTIME need nothing.
	SteerRealtime bool
	// KernelPPS: a gnss source runs a kernel PPS device (/dev/ppsN), whose
	// PPS_SETPARAMS at the start of each run checks CAP_SYS_TIME (skipped
	// when the device already captures the edge, which cannot be known in
	// advance).
	KernelPPS bool
}

// Reason is one capability kept and why.
type Reason struct {
	Cap Cap
	Why string
}

// Plan is the capability set kept after start-up.
type Plan struct {
	// Keep is permitted = effective after the drop; the bounding set is
	// cut down to it as well.
	Keep Set
	// Reasons says why each capability of Keep is kept, in Cap order.
	Reasons []Reason
}

// PlanFor returns the capabilities n needs after start-up.
func PlanFor(n Needs) Plan {
	var p Plan
	var why []string
	if n.SteerRealtime {
		why = append(why, "clock.mode system steers CLOCK_REALTIME")
	}
	if n.KernelPPS {
		why = append(why, "PPS_SETPARAMS on a kernel PPS device")
	}
	if len(why) > 0 {
		p.Keep |= SetOf(CapSysTime)
		p.Reasons = append(p.Reasons, Reason{Cap: CapSysTime, Why: strings.Join(why, "; ")})
	}
	return p
}
