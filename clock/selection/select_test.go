package selection

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/google/go-cmp/cmp"
)

const (
	us = time.Microsecond
	ms = time.Millisecond
)

// srv returns a reachable stratum-1 NTP server candidate at offset off with
// root distance ≈ 1 ms (delay 1 ms, dispersion 100 µs, jitter 50 µs,
// root dispersion 300 µs).
func srv(id string, off time.Duration) Candidate {
	return Candidate{
		ID:             id,
		Addr:           netip.MustParseAddr(id),
		Offset:         off,
		Delay:          ms,
		Dispersion:     100 * us,
		Jitter:         50 * us,
		RootDispersion: 300 * us,
		Stratum:        1,
		RefID:          0x47505300, // "GPS"
		Reachable:      true,
	}
}

func with(c Candidate, f func(*Candidate)) Candidate { f(&c); return c }

func newSel(t *testing.T, f func(*Config)) *Selector {
	t.Helper()
	cfg := DefaultConfig()
	if f != nil {
		f(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// states renders the chronyc state characters in input order, e.g. "*+x".
func states(r Result) string {
	var b strings.Builder
	for _, s := range r.Sources {
		b.WriteByte(s.State.Char())
	}
	return b.String()
}

func reasons(r Result) string {
	var b strings.Builder
	for _, s := range r.Sources {
		b.WriteByte(s.Reason.Char())
	}
	return b.String()
}

func TestRootDistance(t *testing.T) {
	c := srv("192.0.2.1", 0)
	c.RootDelay = 2 * ms
	// (2 ms + 1 ms)/2 + 300 µs + 100 µs + 50 µs
	if got, want := c.RootDistance(), 1950*us; got != want {
		t.Errorf("RootDistance = %v, want %v", got, want)
	}
	if got := (&Candidate{}).RootDistance(); got != time.Nanosecond {
		t.Errorf("zero candidate RootDistance = %v, want the 1 ns floor", got)
	}
}

func TestSelectRules(t *testing.T) {
	a, b, c, d := "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"
	tests := []struct {
		name     string
		cfg      func(*Config)
		cands    []Candidate
		selected bool
		peer     string
		states   string // chronyc characters in input order
		reasons  string // Reason.Char in input order
	}{
		{
			name:     "four servers, falseticker at +100 ms",
			cands:    []Candidate{srv(a, 10*us), srv(b, -20*us), srv(c, 100*ms), srv(d, 30*us)},
			selected: true, peer: a, states: "*+x+", reasons: "--x-",
		},
		{
			name:     "two of three agree",
			cands:    []Candidate{srv(a, -50*ms), srv(b, 100*us), srv(c, 0)},
			selected: true, peer: b, states: "x*+", reasons: "x--",
		},
		{
			name:     "two disagree: no majority",
			cands:    []Candidate{srv(a, 0), srv(b, 50*ms)},
			selected: false, states: "xx", reasons: "xx",
		},
		{
			name:     "three disagree: no majority",
			cands:    []Candidate{srv(a, 0), srv(b, 50*ms), srv(c, -50*ms)},
			selected: false, states: "xxx", reasons: "xxx",
		},
		{
			name:     "two against two: no majority",
			cands:    []Candidate{srv(a, 0), srv(b, 100*us), srv(c, 50*ms), srv(d, 50*ms+100*us)},
			selected: false, states: "xxxx", reasons: "xxxx",
		},
		{
			name:     "single source",
			cands:    []Candidate{srv(a, 5*ms)},
			selected: true, peer: a, states: "*", reasons: "-",
		},
		{
			name:     "no candidates",
			selected: false,
		},
		{
			// λ = 0.5 + 0.3 + 0.1 + 0.05 = 0.95 ms for srv. RFC 5905's
			// midpoint rule: with f = 0 falsetickers the intersection must
			// hold both offsets, so two sources agree only while each offset
			// lies within the other's interval.
			name:     "offsets one root distance apart agree",
			cands:    []Candidate{srv(a, 0), srv(b, 950*us)},
			selected: true, peer: a, states: "*+", reasons: "--",
		},
		{
			name:     "offsets one root distance + 1 ns apart disagree",
			cands:    []Candidate{srv(a, 0), srv(b, 950*us+1)},
			selected: false, states: "xx", reasons: "xx",
		},
		{
			name: "filters",
			cfg: func(c *Config) {
				c.MaxDistance = 10 * ms
				c.MaxJitter = 1 * ms
				c.MaxStratum = 3
				c.OwnRefIDs = []uint32{RefIDForAddr(netip.MustParseAddr("198.51.100.7"))}
			},
			cands: []Candidate{
				srv(a, 0),
				with(srv(b, 0), func(c *Candidate) { c.NoSelect = true }),
				with(srv(c, 0), func(c *Candidate) { c.Reachable = false }),
				with(srv(d, 0), func(c *Candidate) { c.Leap = clock.LeapUnsync }),
				with(srv("192.0.2.5", 0), func(c *Candidate) { c.Stratum = 16 }),
				with(srv("192.0.2.6", 0), func(c *Candidate) { c.Stratum = 4 }),
				with(srv("192.0.2.7", 0), func(c *Candidate) { c.Stratum = 3; c.RefID = 0xC6336407 }), // 198.51.100.7 = us
				with(srv("192.0.2.8", 0), func(c *Candidate) { c.RootDelay = 20 * ms }),
				with(srv("192.0.2.9", 0), func(c *Candidate) { c.Jitter = 2 * ms }),
			},
			selected: true, peer: a, states: "*???????~", reasons: "-NrsssLd~",
		},
		{
			name: "loop check ignores stratum-1 ASCII refids",
			cfg:  func(c *Config) { c.OwnRefIDs = []uint32{0x47505300} },
			// srv has stratum 1 and refid "GPS": equal to an own refid by value but not a loop
			cands:    []Candidate{srv(a, 0)},
			selected: true, peer: a, states: "*", reasons: "-",
		},
		{
			name:     "minsources not met",
			cfg:      func(c *Config) { c.MinSources = 3 },
			cands:    []Candidate{srv(a, 0), srv(b, 10*us), with(srv(c, 0), func(c *Candidate) { c.Reachable = false })},
			selected: false, states: "--?", reasons: "wwr",
		},
		{
			name:     "minsources met",
			cfg:      func(c *Config) { c.MinSources = 2 },
			cands:    []Candidate{srv(a, 0), srv(b, 10*us)},
			selected: true, peer: a, states: "*+", reasons: "--",
		},
		{
			name: "require: required source unreachable",
			cands: []Candidate{srv(a, 0), srv(b, 10*us),
				with(srv(c, 0), func(c *Candidate) { c.Require = true; c.Reachable = false })},
			selected: false, states: "--?", reasons: "wwr",
		},
		{
			name: "require: required source is a falseticker",
			cands: []Candidate{srv(a, 0), srv(b, 10*us),
				with(srv(c, 80*ms), func(c *Candidate) { c.Require = true })},
			selected: false, states: "--x", reasons: "wwx",
		},
		{
			name: "require: required source is a truechimer",
			cands: []Candidate{srv(a, 0), srv(b, 10*us),
				with(srv(c, 20*us), func(c *Candidate) { c.Require = true; c.Delay = 1500 * us })},
			selected: true, peer: a, states: "*++", reasons: "---",
		},
		{
			name: "prefer beats a closer source",
			cands: []Candidate{srv(a, 0),
				with(srv(b, 10*us), func(c *Candidate) { c.Prefer = true; c.Delay = 3 * ms })},
			selected: true, peer: b, states: "-*", reasons: "P-",
		},
		{
			name: "prefer on a falseticker is ignored",
			cands: []Candidate{srv(a, 0), srv(b, 10*us),
				with(srv(c, 90*ms), func(c *Candidate) { c.Prefer = true })},
			selected: true, peer: a, states: "*+x", reasons: "--x",
		},
		{
			name: "trust: one trusted source outvotes three agreeing others",
			cands: []Candidate{
				with(srv(a, 50*ms), func(c *Candidate) { c.Trust = true }),
				srv(b, 0), srv(c, 10*us), srv(d, 20*us)},
			selected: true, peer: a, states: "*xxx", reasons: "-xxx",
		},
		{
			name: "trust: untrusted sources agreeing with the trusted one survive",
			cands: []Candidate{
				with(srv(a, 0), func(c *Candidate) { c.Trust = true; c.Delay = 2 * ms }),
				srv(b, 10*us), srv(c, 60*ms), srv(d, 60*ms)},
			selected: true, peer: b, states: "+*xx", reasons: "--xx",
		},
		{
			name: "trust: two trusted sources disagree, majority decides",
			cands: []Candidate{
				with(srv(a, 50*ms), func(c *Candidate) { c.Trust = true }),
				with(srv(b, 0), func(c *Candidate) { c.Trust = true }),
				srv(c, 10*us), srv(d, 20*us)},
			selected: true, peer: b, states: "x*++", reasons: "x---",
		},
		{
			name: "combine limit: distant truechimer not combined",
			cands: []Candidate{srv(a, 0),
				with(srv(b, 0), func(c *Candidate) { c.RootDispersion = 3 * ms })},
			selected: true, peer: a, states: "*-", reasons: "-D",
		},
		{
			name: "stratum weight: lower stratum wins at equal distance",
			cands: []Candidate{
				with(srv(a, 0), func(c *Candidate) { c.Stratum = 3 }),
				with(srv(b, 0), func(c *Candidate) { c.Stratum = 2 })},
			selected: true, peer: b, states: "+*", reasons: "--",
		},
		{
			name: "cluster prunes the outlier among four truechimers",
			cands: []Candidate{
				with(srv(a, 0), func(c *Candidate) { c.Jitter = 5 * us }),
				with(srv(b, 10*us), func(c *Candidate) { c.Jitter = 5 * us }),
				with(srv(c, -10*us), func(c *Candidate) { c.Jitter = 5 * us }),
				with(srv(d, 1500*us), func(c *Candidate) { c.Jitter = 5 * us })},
			selected: true, peer: a, states: "*++-", reasons: "---O",
		},
		{
			name: "cluster stops when selection jitter is below peer jitter",
			cands: []Candidate{
				with(srv(a, 0), func(c *Candidate) { c.Jitter = 400 * us }),
				with(srv(b, 10*us), func(c *Candidate) { c.Jitter = 400 * us }),
				with(srv(c, -10*us), func(c *Candidate) { c.Jitter = 400 * us }),
				with(srv(d, 300*us), func(c *Candidate) { c.Jitter = 400 * us })},
			selected: true, peer: a, states: "*+++", reasons: "----",
		},
		{
			name: "cluster disabled",
			cfg:  func(c *Config) { c.MinSurvivors = 0 },
			cands: []Candidate{
				with(srv(a, 0), func(c *Candidate) { c.Jitter = 5 * us }),
				with(srv(b, 10*us), func(c *Candidate) { c.Jitter = 5 * us }),
				with(srv(c, -10*us), func(c *Candidate) { c.Jitter = 5 * us }),
				with(srv(d, 1500*us), func(c *Candidate) { c.Jitter = 5 * us })},
			selected: true, peer: a, states: "*+++", reasons: "----",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSel(t, tt.cfg)
			r := s.Select(tt.cands)
			if r.Selected != tt.selected || r.Peer != tt.peer {
				t.Errorf("Selected, Peer = %v, %q; want %v, %q", r.Selected, r.Peer, tt.selected, tt.peer)
			}
			if got := states(r); got != tt.states {
				t.Errorf("states = %q, want %q", got, tt.states)
			}
			if got := reasons(r); got != tt.reasons {
				t.Errorf("reasons = %q, want %q", got, tt.reasons)
			}
			if !r.Selected {
				if r.Leap != clock.LeapUnsync || r.PeerIndex != -1 || r.Combined != 0 || s.Current() != "" {
					t.Errorf("unselected result carries system state: %+v", r)
				}
			}
			checkInvariants(t, tt.cands, r)
		})
	}
}

// checkInvariants holds for every result: exactly one '*' iff Selected,
// weights of combined sources sum to 1, falsetickers and unusable sources
// carry no weight, the combined offset lies within the combined offsets.
func checkInvariants(t *testing.T, cands []Candidate, r Result) {
	t.Helper()
	if len(r.Sources) != len(cands) {
		t.Fatalf("%d statuses for %d candidates", len(r.Sources), len(cands))
	}
	nSel, sumW := 0, 0.0
	lo, hi := time.Duration(1<<62), time.Duration(-1<<62)
	for i, s := range r.Sources {
		if s.ID != cands[i].ID {
			t.Errorf("status %d has ID %q, want %q", i, s.ID, cands[i].ID)
		}
		switch s.State {
		case Selected:
			nSel++
			if i != r.PeerIndex {
				t.Errorf("source %d is '*' but PeerIndex = %d", i, r.PeerIndex)
			}
			fallthrough
		case Combined:
			if s.Weight <= 0 || s.Weight > 1 {
				t.Errorf("source %d: weight %v", i, s.Weight)
			}
			sumW += s.Weight
			lo, hi = min(lo, cands[i].Offset), max(hi, cands[i].Offset)
		default:
			if s.Weight != 0 {
				t.Errorf("source %d in state %v has weight %v", i, s.State, s.Weight)
			}
		}
		if s.State == Falseticker || s.State == Unusable || s.State == Jittery {
			if r.Selected && r.Peer == s.ID {
				t.Errorf("source %d in state %v is the peer", i, s.State)
			}
		}
	}
	if r.Selected != (nSel == 1) || nSel > 1 {
		t.Errorf("Selected = %v with %d '*' sources", r.Selected, nSel)
	}
	if r.Selected {
		if d := sumW - 1; d > 1e-9 || d < -1e-9 {
			t.Errorf("weights sum to %v", sumW)
		}
		if r.Offset < lo-1 || r.Offset > hi+1 {
			t.Errorf("combined offset %v outside combined sources' [%v, %v]", r.Offset, lo, hi)
		}
	}
}

func TestFalsetickerNeverUsed(t *testing.T) {
	// 4 servers with 20 µs network noise, one 100 ms off, over many rounds
	// with one selector (so hysteresis is exercised): the falseticker is
	// never selected nor combined, and the combined offset stays within
	// the good servers' noise.
	rng := rand.New(rand.NewPCG(1, 2))
	s := newSel(t, nil)
	ids := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}
	for round := range 2000 {
		cands := make([]Candidate, 4)
		for i, id := range ids {
			off := time.Duration(rng.NormFloat64() * 20e3)
			if i == 2 {
				off += 100 * ms
			}
			cands[i] = srv(id, off)
			cands[i].Delay = time.Duration(200e3 + rng.Float64()*100e3)
			cands[i].Jitter = 20 * us
		}
		r := s.Select(cands)
		if !r.Selected {
			t.Fatalf("round %d: nothing selected: %+v", round, r.Sources)
		}
		if st := r.Sources[2]; st.State != Falseticker || st.Weight != 0 {
			t.Fatalf("round %d: falseticker state %v weight %v", round, st.State, st.Weight)
		}
		if r.Offset > 100*us || r.Offset < -100*us {
			t.Fatalf("round %d: combined offset %v", round, r.Offset)
		}
		checkInvariants(t, cands, r)
	}
}

func TestHysteresis(t *testing.T) {
	a, b := "192.0.2.1", "192.0.2.2"
	// dist returns a candidate whose root distance is exactly d (delay
	// carries it all).
	dist := func(id string, d time.Duration) Candidate {
		return Candidate{ID: id, Addr: netip.MustParseAddr(id), Delay: 2 * d, Stratum: 1, Reachable: true}
	}
	s := newSel(t, func(c *Config) { c.CombineLimit = 0 })
	steps := []struct {
		da, db time.Duration
		peer   string
	}{
		{1000 * us, 1200 * us, a}, // a clearly better
		{1000 * us, 950 * us, a},  // b better by 50 µs < 100 µs: stay
		{1000 * us, 901 * us, a},  // better by 99 µs: stay
		{1000 * us, 899 * us, b},  // better by 101 µs: switch
		{1000 * us, 899 * us, b},  // stays
		{960 * us, 1000 * us, b},  // a better by 40 µs: stay on b
		{800 * us, 1000 * us, a},  // a better by 200 µs: switch back
		{800 * us, 10 * ms, a},    //
		{10 * ms, 10500 * us, a},  // both worse: a still current
	}
	for i, st := range steps {
		r := s.Select([]Candidate{dist(a, st.da), dist(b, st.db)})
		if r.Peer != st.peer {
			t.Errorf("step %d (a %v, b %v): peer %q, want %q", i, st.da, st.db, r.Peer, st.peer)
		}
	}
	// When the current peer disappears the best other source is taken at
	// once, and Reset drops the memory.
	r := s.Select([]Candidate{with(dist(a, 800*us), func(c *Candidate) { c.Reachable = false }), dist(b, 5*ms)})
	if r.Peer != b {
		t.Errorf("after a vanished: peer %q, want %q", r.Peer, b)
	}
	s.Reset()
	if r := s.Select([]Candidate{dist(a, 1000*us), dist(b, 950*us)}); r.Peer != b {
		t.Errorf("after Reset: peer %q, want %q", r.Peer, b)
	}
}

func TestPropagation(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		name  string
		cands []Candidate
		want  Result // only the system fields are compared
	}{
		{
			name: "two combined IPv4 servers",
			cands: []Candidate{
				// λ = (2+2)/2 ms + 0 + 0 + 0 = 2 ms... see fields
				{ID: "a", Addr: netip.MustParseAddr("192.0.2.1"), Offset: 0, Delay: 2 * ms, RootDelay: 2 * ms,
					RootDispersion: 500 * us, Dispersion: 300 * us, Jitter: 200 * us, Stratum: 2, Reachable: true},
				{ID: "b", Addr: netip.MustParseAddr("192.0.2.2"), Offset: 300 * us, Delay: 4 * ms, RootDelay: 4 * ms,
					RootDispersion: 1000 * us, Dispersion: 600 * us, Jitter: 400 * us, Stratum: 2, Reachable: true},
			},
			// λa = 2 + 0.5 + 0.3 + 0.2 = 3 ms; λb = 4 + 1 + 0.6 + 0.4 = 6 ms.
			// offset = (0/3 + 300/6)/(1/3 + 1/6) = 100 µs.
			// selection jitter = sqrt((1/6 × 300²)/(1/2)) = 173.205 µs,
			// system jitter = hypot(200, 173.205) = 264.575 µs.
			want: Result{Selected: true, Peer: "a", Offset: 100 * us, PeerOffset: 0, Jitter: 264575,
				Stratum: 3, RefID: 0xC0000201, RootDelay: 4 * ms,
				RootDispersion: 500*us + 300*us + 264575 + 100*us, Leap: clock.LeapNone, Truechimers: 2, Combined: 2},
		},
		{
			name: "IPv6 peer refid from MD5",
			cands: []Candidate{{ID: "v6", Addr: v6, Delay: ms, Stratum: 1, Reachable: true,
				Leap: clock.LeapInsert}},
			want: Result{Selected: true, Peer: "v6", Stratum: 2, RefID: 0x39ab9b37, RootDelay: ms,
				Leap: clock.LeapInsert, Truechimers: 1, Combined: 1},
		},
		{
			name:  "reference clock: stratum 0, ASCII refid",
			cands: []Candidate{{ID: "PPS", RefClockID: 0x50505300, Dispersion: us, Stratum: 0, Reachable: true}},
			want: Result{Selected: true, Peer: "PPS", Stratum: 1, RefID: 0x50505300, RootDispersion: us,
				Leap: clock.LeapNone, Truechimers: 1, Combined: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newSel(t, nil).Select(tt.cands)
			r.Sources, r.PeerIndex, r.Intersection = nil, 0, Interval{}
			if d := cmp.Diff(tt.want, r); d != "" {
				t.Errorf("result (-want +got):\n%s", d)
			}
		})
	}
}

func TestLeapMajority(t *testing.T) {
	L := func(id string, l clock.Leap) Candidate {
		return with(srv(id, 0), func(c *Candidate) { c.Leap = l })
	}
	ins, del, non := clock.LeapInsert, clock.LeapDelete, clock.LeapNone
	tests := []struct {
		leaps []clock.Leap
		want  clock.Leap
	}{
		{[]clock.Leap{ins, ins, non}, ins},
		{[]clock.Leap{ins, non, non}, non},
		{[]clock.Leap{ins, ins, non, non}, non}, // half is not a majority
		{[]clock.Leap{del, del, del, ins}, del},
		{[]clock.Leap{ins}, ins},
	}
	for _, tt := range tests {
		var cands []Candidate
		for i, l := range tt.leaps {
			cands = append(cands, L(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String(), l))
		}
		if got := newSel(t, nil).Select(cands).Leap; got != tt.want {
			t.Errorf("leaps %v: got %v, want %v", tt.leaps, got, tt.want)
		}
	}
}

func TestIntersect(t *testing.T) {
	iv := func(lo, hi time.Duration) Interval { return Interval{lo, hi} }
	tests := []struct {
		name string
		ivs  []Interval
		want Interval
		ok   bool
	}{
		{"one", []Interval{iv(-1, 1)}, iv(-1, 1), true},
		{"nested", []Interval{iv(-10, 10), iv(-2, 4)}, iv(-2, 4), true},
		{"disjoint pair", []Interval{iv(0, 1), iv(2, 3)}, Interval{}, false},
		// Classic Marzullo would answer [8,10] and [11,12] for the next two;
		// RFC 5905 also needs the midpoints (5, 10, 14 and 10, 12, 11) inside
		// the interval, so with f = 0 both fail and f = 1 widens it.
		{"three overlapping", []Interval{iv(0, 10), iv(5, 15), iv(8, 20)}, iv(5, 15), true},
		{"marzullo", []Interval{iv(8, 12), iv(11, 13), iv(10, 12)}, iv(10, 12), true},
		{"midpoints inside", []Interval{iv(0, 20), iv(5, 25), iv(8, 28)}, iv(8, 20), true},
		// One falseticker among four.
		{"one falseticker", []Interval{iv(0, 10), iv(2, 12), iv(4, 14), iv(100, 110)}, iv(4, 10), true},
		{"empty", nil, Interval{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Intersect(tt.ivs)
			if ok != tt.ok || got != tt.want {
				t.Errorf("Intersect = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRefIDForAddr(t *testing.T) {
	tests := []struct {
		addr string
		want uint32
	}{
		{"192.0.2.1", 0xC0000201},
		{"::ffff:192.0.2.1", 0xC0000201},
		{"2001:db8::1", 0x39ab9b37}, // md5(16 address bytes)[:4], computed with Python hashlib
		{"::1", 0xcf404dc8},
		{"fe80::1%eth0", RefIDForAddr(netip.MustParseAddr("fe80::1"))},
	}
	for _, tt := range tests {
		if got := RefIDForAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("RefIDForAddr(%s) = %08x, want %08x", tt.addr, got, tt.want)
		}
	}
	if got := RefIDForAddr(netip.Addr{}); got != 0 {
		t.Errorf("invalid address: %08x", got)
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	if err := good.Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	bad := Config{MaxStratum: 16, CombineLimit: -1, MinSurvivors: -1, ReselectDistance: -1, StratumWeight: -1}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, key := range []string{"minsources", "maxdistance", "maxjitter", "maxstratum", "reselectdist",
		"stratumweight", "combinelimit", "minsurvivors"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
	if _, err := New(bad); err == nil {
		t.Error("New accepted a bad config")
	}
}

func TestStringsAndChars(t *testing.T) {
	if got := Reason(NumReasons).Char(); got != '?' {
		t.Errorf("out of range reason char %q", got)
	}
	seen := map[string]bool{}
	for r := range NumReasons {
		n := r.String()
		if seen[n] || strings.HasPrefix(n, "reason(") {
			t.Errorf("reason %d name %q duplicate or missing", r, n)
		}
		seen[n] = true
	}
	if got := string([]byte{Selected.Char(), Combined.Char(), Selectable.Char(), Falseticker.Char(),
		Jittery.Char(), Unusable.Char()}); got != "*+-x~?" {
		t.Errorf("state chars %q", got)
	}
}

// FuzzSelect checks that arbitrary candidate sets never panic and always
// satisfy the result invariants.
func FuzzSelect(f *testing.F) {
	f.Add(int64(0), int64(1000), int64(100000), int64(-3), uint8(1), uint8(0), uint8(4))
	f.Add(int64(-1<<40), int64(1<<40), int64(0), int64(1<<50), uint8(16), uint8(15), uint8(9))
	f.Fuzz(func(t *testing.T, off, delay, disp, jit int64, stratum, opts, n uint8) {
		s, _ := New(DefaultConfig())
		var cands []Candidate
		for i := range int(n%12) + 1 {
			k := int64(i + 1)
			cands = append(cands, Candidate{
				ID:         string(rune('a' + i)),
				Addr:       netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
				Offset:     time.Duration(off * k % (1 << 40)),
				Delay:      time.Duration(abs(time.Duration(delay*k)) % (1 << 36)),
				Dispersion: time.Duration(abs(time.Duration(disp)) % (1 << 36)),
				Jitter:     time.Duration(abs(time.Duration(jit)) % (1 << 36)),
				Stratum:    stratum + uint8(i),
				Leap:       clock.Leap(i % 4),
				Options: Options{Prefer: opts&(1<<(i%8)) != 0, Trust: i == int(opts%5),
					Require: i == int(opts%7), NoSelect: i == int(opts%11)},
				Reachable: i%5 != 4,
			})
		}
		for range 3 {
			checkInvariants(t, cands, s.Select(cands))
		}
	})
}

func BenchmarkSelect(b *testing.B) {
	for _, n := range []int{4, 16} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			cands := make([]Candidate, n)
			for i := range cands {
				cands[i] = srv(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String(), time.Duration(rng.NormFloat64()*20e3))
			}
			cands[1].Offset += 100 * ms
			s, _ := New(DefaultConfig())
			b.ReportAllocs()
			for b.Loop() {
				s.Select(cands)
			}
		})
	}
}
