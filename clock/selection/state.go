package selection

import "fmt"

// State is a source's selection state as chronyc sources shows it.
type State uint8

const (
	Unusable    State = iota // '?': filtered out before the intersection
	Falseticker              // 'x': outside the intersection (or no majority)
	Jittery                  // '~': jitter above MaxJitter
	Selectable               // '-': truechimer, not combined
	Combined                 // '+': combined with the peer
	Selected                 // '*': the system peer
)

// Char returns chronyc's state character.
func (s State) Char() byte {
	switch s {
	case Unusable:
		return '?'
	case Falseticker:
		return 'x'
	case Jittery:
		return '~'
	case Selectable:
		return '-'
	case Combined:
		return '+'
	case Selected:
		return '*'
	}
	return '?'
}

func (s State) String() string {
	switch s {
	case Unusable:
		return "unusable"
	case Falseticker:
		return "falseticker"
	case Jittery:
		return "jittery"
	case Selectable:
		return "selectable"
	case Combined:
		return "combined"
	case Selected:
		return "selected"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Reason says why a source has its state, in the spirit of chronyc
// selectdata's state column.
type Reason uint8

const (
	ReasonNone           Reason = iota // selected or combined
	ReasonNoSelect                     // 'N' noselect option
	ReasonUnreachable                  // 'r' no recent valid sample
	ReasonUnsynchronised               // 's' leap 3 or stratum ≥ 16
	ReasonStratum                      // 's' stratum > MaxStratum
	ReasonLoop                         // 'L' source synchronised to us
	ReasonDistance                     // 'd' root distance > MaxDistance
	ReasonJitter                       // '~' jitter > MaxJitter
	ReasonFalseticker                  // 'x' outside the intersection
	ReasonNoMajority                   // 'x' no majority clique
	ReasonWaitsSources                 // 'w' fewer truechimers than MinSources
	ReasonWaitsRequired                // 'w' no Require source is a truechimer
	ReasonNotPreferred                 // 'P' a preferred truechimer exists
	ReasonOutlier                      // 'O' pruned by the cluster algorithm
	ReasonDistant                      // 'D' λ > CombineLimit × λ(peer)
	NumReasons                         // number of reasons, for counter arrays
)

var reasonNames = [NumReasons]string{
	"none", "noselect", "unreachable", "unsynchronised", "stratum", "loop",
	"distance", "jitter", "falseticker", "no_majority", "waits_sources",
	"waits_required", "not_preferred", "outlier", "distant",
}

// String returns a stable snake_case name (for logs and metric labels).
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Char returns a one-letter code like chronyc selectdata's.
func (r Reason) Char() byte {
	const chars = "-NrssLd~xxwwPOD"
	if r < NumReasons {
		return chars[r]
	}
	return '?'
}
