package probe

import (
	"errors"
	"fmt"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// Status is a monitoring verdict; its value is the Nagios plugin exit code.
type Status int

// The statuses, valued as their exit codes.
const (
	OK       Status = 0
	Warning  Status = 1
	Critical Status = 2
	Unknown  Status = 3
)

func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	case Unknown:
		return "UNKNOWN"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// MarshalText renders the status as its name in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ExitCode is the Nagios plugin exit code of s.
func (s Status) ExitCode() int { return int(s) }

// severity orders statuses for Worst: CRITICAL > WARNING > UNKNOWN > OK.
func (s Status) severity() int {
	switch s {
	case OK:
		return 0
	case Unknown:
		return 1
	case Warning:
		return 2
	}
	return 3 // Critical, and anything unexpected
}

// Worst returns the more severe of a and b (CRITICAL > WARNING > UNKNOWN >
// OK).
func Worst(a, b Status) Status {
	if b.severity() > a.severity() {
		return b
	}
	return a
}

// Thresholds are the alert limits. A value is exceeded when strictly
// greater; zero disables it.
type Thresholds struct {
	WarnOffset, CritOffset     time.Duration // on |offset|
	WarnDistance, CritDistance time.Duration // on root distance
}

// Validate reports every problem in t: negative values, or a warning
// limit above its critical one.
func (t Thresholds) Validate() error {
	var errs []error
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"warn", t.WarnOffset}, {"crit", t.CritOffset}, {"warn-distance", t.WarnDistance}, {"crit-distance", t.CritDistance}} {
		if v.d < 0 {
			errs = append(errs, fmt.Errorf("--%s %v: want ≥ 0 (0 = off)", v.name, v.d))
		}
	}
	if t.WarnOffset > 0 && t.CritOffset > 0 && t.WarnOffset > t.CritOffset {
		errs = append(errs, fmt.Errorf("--warn %v is above --crit %v", t.WarnOffset, t.CritOffset))
	}
	if t.WarnDistance > 0 && t.CritDistance > 0 && t.WarnDistance > t.CritDistance {
		errs = append(errs, fmt.Errorf("--warn-distance %v is above --crit-distance %v", t.WarnDistance, t.CritDistance))
	}
	return errors.Join(errs...)
}

// Reply is what one server's chosen reply said.
type Reply struct {
	Offset         time.Duration // server − local
	Delay          time.Duration // round trip minus server processing
	Version        int
	Stratum        uint8
	Leap           clock.Leap
	RefID          uint32
	RootDelay      time.Duration
	RootDispersion time.Duration
	RootDistance   time.Duration // (Delay + RootDelay)/2 + RootDispersion
	Precision      time.Duration
	// Invalid is why beevik's Response.Validate rejects the reply, "" if
	// it accepts it.
	Invalid string
}

// RefIDASCII is the reference ID as text for stratum 0 (kiss code) and 1
// (reference clock name), "" for higher strata (where it is an address or
// a hash) and for IDs that are not printable ASCII (NULs aside), such as
// chronyd's local reference 127.127.1.1 at stratum 1.
func (r *Reply) RefIDASCII() string {
	if r.Stratum > 1 {
		return ""
	}
	for i := range 4 {
		if c := byte(r.RefID >> (8 * i)); c != 0 && (c < 0x20 || c > 0x7e) {
			return ""
		}
	}
	return wire.RefIDString(r.RefID)
}

// refusal reports whether the reply is a Kiss-o'-Death that refuses to
// serve us (RFC 5905 §7.4: RATE, DENY, RSTR), not a statement about the
// server's time.
func (r *Reply) refusal() bool {
	if r.Stratum != wire.StratumUnspecified {
		return false
	}
	switch wire.KissCode(r.RefID) {
	case wire.KissRATE, wire.KissDENY, wire.KissRSTR:
		return true
	}
	return false
}

// Result is the outcome for one target.
type Result struct {
	Target  string // as given on the command line
	Address string // IP:port queried; "" if the name did not resolve
	// Reply is the reply with the smallest delay, nil if none came.
	Reply *Reply
	// Replies counts the replies received of Sent requests.
	Sent, Replies int
	// Err is why there is no reply (the last query's error), "" if there is.
	Err    string
	Status Status
	Reason string // why Status, for people
}

// Judge decides the status of one result under th (see the package
// documentation for the rules) and says why.
func Judge(r Result, th Thresholds) (Status, string) {
	p := r.Reply
	if p == nil {
		if r.Err == "" {
			return Unknown, "no reply"
		}
		return Unknown, "no reply: " + r.Err
	}
	if p.refusal() {
		return Unknown, fmt.Sprintf("kiss-o'-death %s: the server refuses to serve this client", wire.RefIDString(p.RefID))
	}
	if p.Invalid != "" {
		if p.Leap == clock.LeapUnsync {
			// beevik says "kiss of death" for any stratum 0; LI 3 is
			// the plainer truth.
			return Critical, fmt.Sprintf("unsynchronised (LI 3, stratum %d)", p.Stratum)
		}
		return Critical, "invalid: " + p.Invalid
	}
	off := p.Offset.Abs()
	switch {
	case th.CritOffset > 0 && off > th.CritOffset:
		return Critical, fmt.Sprintf("|offset| %v > crit %v", off, th.CritOffset)
	case th.CritDistance > 0 && p.RootDistance > th.CritDistance:
		return Critical, fmt.Sprintf("root distance %v > crit %v", p.RootDistance, th.CritDistance)
	case th.WarnOffset > 0 && off > th.WarnOffset:
		return Warning, fmt.Sprintf("|offset| %v > warn %v", off, th.WarnOffset)
	case th.WarnDistance > 0 && p.RootDistance > th.WarnDistance:
		return Warning, fmt.Sprintf("root distance %v > warn %v", p.RootDistance, th.WarnDistance)
	}
	return OK, ""
}

// Overall is the worst of the results' statuses; OK for none.
func Overall(rs []Result) Status {
	s := OK
	for _, r := range rs {
		s = Worst(s, r.Status)
	}
	return s
}
