package client

import "fmt"

// Verdict says what HandleReply did with a packet. The names are stable
// snake_case strings for logs and metric labels.
type Verdict uint8

const (
	Accepted       Verdict = iota // a new sample went into the clock filter
	Malformed                     // shorter than 48 bytes
	BadVersion                    // VN not 1…4
	BadMode                       // not a server reply (mode 4)
	NotExpected                   // no request outstanding
	Duplicate                     // reply to an already answered request, or repeated Transmit
	BogusOrigin                   // Origin is not our cookie (stale or spoofed)
	KoDRate                       // Kiss-o'-Death RATE: poll backed off
	KoDDeny                       // Kiss-o'-Death DENY or RSTR: association demobilised
	KoDOther                      // other kiss code (or stratum 0 without one we act on): ignored
	BadTimestamps                 // zero T2/T3, T3 < T2, or local T4 < T1
	Unsynchronised                // server LI 3 or stratum ≥ 16: reachable, no sample
	BadHeader                     // root distance ≥ 16 s or reference time after transmit
	Demobilised                   // the association was demobilised earlier
	NumVerdicts                   // number of verdicts, for counter arrays
)

var verdictNames = [NumVerdicts]string{
	"accepted", "malformed", "bad_version", "bad_mode", "not_expected",
	"duplicate", "bogus_origin", "kod_rate", "kod_deny", "kod_other",
	"bad_timestamps", "unsynchronised", "bad_header", "demobilised",
}

func (v Verdict) String() string {
	if v < NumVerdicts {
		return verdictNames[v]
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// State is the association's state.
type State uint8

const (
	// StateActive: polling.
	StateActive State = iota
	// StateDemobilised: the server sent DENY or RSTR; no more requests
	// until Restart. The source is unusable and shows as such.
	StateDemobilised
)

func (s State) String() string {
	switch s {
	case StateActive:
		return "active"
	case StateDemobilised:
		return "demobilised"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}
