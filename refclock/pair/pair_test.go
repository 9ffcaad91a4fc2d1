package pair

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gnomon-time/gnomon/refclock"
)

const ms = time.Millisecond

// TestRules drives each rule with a short script: edges once a second,
// reports after them, and checks every edge's verdict and every report's.
func TestRules(t *testing.T) {
	def := DefaultConfig()
	tests := []struct {
		name    string
		cfg     func(*Config)
		build   func(s *script)
		edges   string // "seq:verdict ..."
		reports string // report verdicts in order; "" = don't check
	}{
		{
			name:    "steady: confirm 3, then accepted",
			build:   func(s *script) { s.steady(1, 5, 300*ms) },
			edges:   "1:unconfirmed 2:unconfirmed 3:accepted 4:accepted 5:accepted",
			reports: "paired paired paired paired paired",
		},
		{
			name:  "confirm 1 believes a lone pair",
			cfg:   func(c *Config) { c.Confirm = 1 },
			build: func(s *script) { s.steady(1, 2, 300*ms) },
			edges: "1:accepted 2:accepted",
		},
		{
			name: "rule 1: edge without report; the chain bridges it",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.edge(4, sec(4))
				s.steady(5, 6, 300*ms)
			},
			edges: "1:unconfirmed 2:unconfirmed 3:accepted 4:no_report 5:accepted 6:accepted",
		},
		{
			name: "report without edge: orphan; the chain bridges the missing pulse",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.report(sec(4)+300*ms, t0.Add(sec(4)))
				s.steady(5, 5, 300*ms)
			},
			edges:   "1:unconfirmed 2:unconfirmed 3:accepted 5:accepted",
			reports: "paired paired paired orphan paired",
		},
		{
			name: "report before its edge (min delay): orphan, and the edge has none",
			cfg:  func(c *Config) { c.MinDelay = 20 * ms },
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.edge(4, sec(4))
				s.report(sec(4)+10*ms, t0.Add(sec(4)))
			},
			edges:   "1:unconfirmed 2:unconfirmed 3:accepted 4:no_report",
			reports: "paired paired paired orphan",
		},
		{
			name: "rule 2: two different reports in a window",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.edge(4, sec(4))
				s.report(sec(4)+300*ms, t0.Add(sec(4)))
				s.report(sec(4)+400*ms, t0.Add(sec(5)))
				s.steady(5, 5, 300*ms)
			},
			edges:   "1:unconfirmed 2:unconfirmed 3:accepted 4:ambiguous 5:accepted",
			reports: "paired paired paired paired paired paired",
		},
		{
			name: "rule 2: a valid and an invalid report in a window",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.edge(4, sec(4))
				s.report(sec(4)+300*ms, t0.Add(sec(4)))
				s.report(sec(4)+400*ms, t0.Add(sec(4)), func(r *refclock.TimeOfDay) { r.Valid = false })
			},
			edges: "1:unconfirmed 2:unconfirmed 3:accepted 4:ambiguous",
		},
		{
			name: "rule 2: the same time twice (RMC and ZDA) is a duplicate",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.report(sec(3)+500*ms, t0.Add(sec(3)))
			},
			edges:   "1:unconfirmed 2:unconfirmed 3:accepted",
			reports: "paired paired paired duplicate",
		},
		{
			name: "rule 3: invalid fix",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.edge(4, sec(4))
				s.report(sec(4)+300*ms, t0.Add(sec(4)), func(r *refclock.TimeOfDay) { r.Valid = false })
				s.edge(5, sec(5))
				s.report(sec(5)+300*ms, t0.Add(sec(5)), func(r *refclock.TimeOfDay) { r.Fix = refclock.FixNone })
				s.edge(6, sec(6))
				s.report(sec(6)+300*ms, time.Time{})
				s.steady(7, 7, 300*ms)
			},
			edges: "1:unconfirmed 2:unconfirmed 3:accepted 4:invalid_fix 5:invalid_fix 6:invalid_fix 7:accepted",
		},
		{
			name: "rule 4: a fractional label is rejected, never rounded",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.edge(4, sec(4))
				s.report(sec(4)+300*ms, t0.Add(sec(4)+999*ms))
				s.edge(5, sec(5))
				s.report(sec(5)+300*ms, t0.Add(sec(5)+time.Millisecond))
				s.steady(6, 6, 300*ms)
			},
			edges: "1:unconfirmed 2:unconfirmed 3:accepted 4:fractional_label 5:fractional_label 6:accepted",
		},
		{
			name: "rule 5: a label that jumps restarts the chain",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.edge(4, sec(4))
				s.report(sec(4)+300*ms, t0.Add(sec(9)))
				s.steady(5, 8, 300*ms)
			},
			edges: "1:unconfirmed 2:unconfirmed 3:accepted 4:label_jump 5:label_jump 6:unconfirmed 7:accepted 8:accepted",
		},
		{
			name: "rule 5: a late report slips into the next window and is caught",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.edge(4, sec(4))
				s.report(sec(5)+100*ms, t0.Add(sec(4))) // 1.1 s late: in edge 5's window
				s.edge(5, sec(5))
				s.steady(6, 6, 300*ms)
			},
			edges: "1:unconfirmed 2:unconfirmed 3:accepted 4:no_report 5:label_jump 6:label_jump",
		},
		{
			name: "rule 5: a label stuck at the same second",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.edge(4, sec(4))
				s.report(sec(4)+300*ms, t0.Add(sec(3)))
			},
			edges: "1:unconfirmed 2:unconfirmed 3:accepted 4:label_jump",
		},
		{
			name: "rule 5: Seq disagrees with the interval (missed pulse, self-counted Seq): new chain",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.edge(4, sec(5))
				s.report(sec(5)+300*ms, t0.Add(sec(5)))
				for i := 6; i <= 7; i++ {
					s.edge(uint64(i-1), sec(i))
					s.report(sec(i)+300*ms, t0.Add(sec(i)))
				}
			},
			edges: "1:unconfirmed 2:unconfirmed 3:accepted 4:interval_mismatch 5:unconfirmed 6:accepted",
		},
		{
			name: "rule 5: a gap over 60 s starts a new chain",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.steady(70, 72, 300*ms)
			},
			edges: "1:unconfirmed 2:unconfirmed 3:accepted 70:unconfirmed 71:unconfirmed 72:accepted",
		},
		{
			name: "rule 5: a gap within 60 s keeps the chain",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.steady(60, 61, 300*ms)
			},
			edges: "1:unconfirmed 2:unconfirmed 3:accepted 60:accepted 61:accepted",
		},
		{
			name: "label offset +1: reports name the previous second",
			cfg:  func(c *Config) { c.LabelOffset = 1 },
			build: func(s *script) {
				for i := 1; i <= 3; i++ {
					s.edge(uint64(i), sec(i))
					s.report(sec(i)+300*ms, t0.Add(sec(i-1)))
				}
			},
			edges: "1:unconfirmed 2:unconfirmed 3:accepted",
		},
		{
			name: "rule 6: TAI without an offset from config or receiver",
			cfg:  func(c *Config) { c.Timescale = TAI },
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.edge(4, sec(4))
				s.report(sec(4)+300*ms, t0.Add(sec(4)), tai(37))
				s.steady(5, 5, 300*ms)
			},
			edges: "1:no_tai_offset 2:no_tai_offset 3:no_tai_offset 4:accepted 5:accepted",
		},
		{
			name: "stale report: delivered after its window was settled",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.edge(4, sec(4))
				s.evs = append(s.evs, event{deliver: sec(5) + 200*ms,
					rep: &refclock.TimeOfDay{UTC: t0.Add(sec(4)), Received: t0.Add(sec(4) + 300*ms), Valid: true}})
				s.steady(5, 5, 300*ms)
			},
			edges:   "1:unconfirmed 2:unconfirmed 3:accepted 4:no_report 5:accepted",
			reports: "paired paired paired stale_report paired",
		},
		{
			name: "stale edge: delivered after its window's reports were settled",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.report(sec(4)+300*ms, t0.Add(sec(4)))
				s.evs = append(s.evs, event{deliver: sec(4) + 600*ms, edge: &refclock.Edge{At: t0.Add(sec(4)), Seq: 4}, real: t0.Add(sec(4))})
				s.steady(5, 5, 300*ms)
			},
			edges:   "1:unconfirmed 2:unconfirmed 3:accepted 4:stale_edge 5:accepted",
			reports: "paired paired paired orphan paired",
		},
		{
			name: "stale edge: not after the previous one",
			build: func(s *script) {
				s.steady(1, 3, 300*ms)
				s.evs = append(s.evs, event{deliver: sec(3) + 10*ms, edge: &refclock.Edge{At: t0.Add(sec(3)), Seq: 4}, real: t0.Add(sec(3))})
			},
			edges: "1:unconfirmed 4:stale_edge 2:unconfirmed 3:accepted",
		},
		{
			name: "overflow: a flood of edges",
			build: func(s *script) {
				for i := range 10 {
					s.edge(uint64(i+1), time.Duration(i)*ms+sec(1))
				}
			},
			edges: "9:overflow 10:overflow 1:no_report 2:no_report 3:no_report 4:no_report 5:no_report 6:no_report 7:no_report 8:no_report",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := def
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			var s script
			s.devOff = 3 * time.Millisecond
			tt.build(&s)
			out, p := s.run(t, cfg)
			if d := cmp.Diff(tt.edges, edgeVerdicts(out)); d != "" {
				t.Errorf("edge verdicts (-want +got):\n%s", d)
			}
			if tt.reports != "" {
				if d := cmp.Diff(tt.reports, reportVerdicts(out)); d != "" {
					t.Errorf("report verdicts (-want +got):\n%s", d)
				}
			}
			var counts Counts
			for _, o := range out {
				counts[o.Verdict]++
				if o.Verdict == VerdictAccepted {
					want := -s.devOff
					if cfg.Timescale == TAI {
						want += 37 * time.Second
					}
					if o.Offset != want || !o.HasLabel || o.Label.Second60 ||
						!o.Label.UTC.Equal(t0.Add(sec(int(o.Edge.Seq)))) && !strings.Contains(tt.name, "Seq disagrees") {
						t.Errorf("edge %d: label %v offset %v, want %v and %v", o.Edge.Seq, o.Label, o.Offset, t0.Add(sec(int(o.Edge.Seq))), want)
					}
				}
			}
			if counts != p.Counts() {
				t.Errorf("Counts %v, outcomes count %v", p.Counts(), counts)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	bad := Config{MinDelay: -1, MaxDelay: 2 * time.Second, Grace: -1, LabelOffset: 2, Confirm: 0, Timescale: 7, TAIOffset: -1}
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"min_delay", "max_delay", "grace", "label_offset", "confirm", "timescale", "tai_offset"} {
		if !strings.Contains(err.Error(), key+" = ") {
			t.Errorf("error lacks %s: %v", key, err)
		}
	}
	if _, err := New(bad); err == nil {
		t.Error("New accepted a bad config")
	}
}

func TestVerdictStrings(t *testing.T) {
	seen := map[string]bool{}
	for v := range Verdict(NumVerdicts) {
		s := v.String()
		if seen[s] || strings.HasPrefix(s, "verdict_") || strings.ContainsAny(s, " -ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Errorf("verdict %d: %q not a unique snake_case label", v, s)
		}
		seen[s] = true
		if v.Edge() && v.Report() {
			t.Errorf("%v is both an edge and a report verdict", v)
		}
	}
	if Verdict(NumVerdicts).String() != "verdict_"+strconv.Itoa(NumVerdicts) {
		t.Errorf("out of range: %q", Verdict(NumVerdicts))
	}
}

// TestDeadline: Deadline names the moment Advance settles something, so a
// caller that sleeps until it never spins.
func TestDeadline(t *testing.T) {
	p, _ := New(DefaultConfig())
	if _, ok := p.Deadline(); ok {
		t.Fatal("deadline with nothing pending")
	}
	p.Edge(refclock.Edge{At: t0, Seq: 1}, t0, nil)
	p.TimeOfDay(refclock.TimeOfDay{UTC: t0, Received: t0.Add(300 * ms), Valid: true}, nil)
	d, ok := p.Deadline()
	if want := t0.Add(950*ms + 100*ms); !ok || !d.Equal(want) {
		t.Fatalf("deadline %v %v, want %v", d, ok, want)
	}
	if out := p.Advance(d.Add(-1), nil); len(out) != 0 {
		t.Errorf("settled before the deadline: %v", out)
	}
	if out := p.Advance(d, nil); len(out) != 2 {
		t.Errorf("at the deadline: %v, want paired + unconfirmed", out)
	}
	// An orphan's deadline is its reception + grace.
	p.TimeOfDay(refclock.TimeOfDay{UTC: t0.Add(sec(5)), Received: t0.Add(sec(5)), Valid: true}, nil)
	if d, ok := p.Deadline(); !ok || !d.Equal(t0.Add(sec(5)+100*ms)) {
		t.Errorf("orphan deadline %v", d)
	}
	if out := p.Advance(t0.Add(sec(5)+100*ms), nil); len(out) != 1 || out[0].Verdict != VerdictOrphan {
		t.Errorf("orphan: %v", out)
	}
}

func TestReset(t *testing.T) {
	var s script
	s.steady(1, 3, 300*ms)
	_, p := s.run(t, DefaultConfig())
	p.Reset()
	// After a reset the chain starts anew and realtime may go back.
	var out []Outcome
	for i := 1; i <= 3; i++ {
		out = p.Edge(refclock.Edge{At: t0.Add(sec(i)), Seq: uint64(i)}, t0.Add(sec(i)), out)
		out = p.TimeOfDay(refclock.TimeOfDay{UTC: t0.Add(sec(i)), Received: t0.Add(sec(i) + 300*ms), Valid: true}, out)
		out = p.Advance(t0.Add(sec(i)+300*ms), out)
	}
	out = p.Advance(t0.Add(sec(10)), out)
	if got := edgeVerdicts(out); got != "1:unconfirmed 2:unconfirmed 3:accepted" {
		t.Errorf("after reset: %s", got)
	}
}

func TestNoAllocs(t *testing.T) {
	p, _ := New(DefaultConfig())
	out := make([]Outcome, 0, MaxOutcomes)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		at := t0.Add(sec(i))
		out = p.Edge(refclock.Edge{At: at, Seq: uint64(i)}, at, out[:0])
		out = p.TimeOfDay(refclock.TimeOfDay{UTC: at, Received: at.Add(300 * ms), Valid: true}, out)
		out = p.Advance(at.Add(300*ms), out)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per second of input", allocs)
	}
	if c := p.Counts(); c[VerdictAccepted] < 990 {
		t.Errorf("counts %v: want ≥ 990 accepted", c)
	}
}

func TestLabelString(t *testing.T) {
	l := Label{UTC: time.Date(2016, 12, 31, 23, 59, 59, 0, time.UTC), Second60: true}
	if got := l.String(); got != "2016-12-31T23:59:60Z" {
		t.Errorf("%q", got)
	}
}

// An unannounced 23:59:60 (NMEA's TimeOfDay.Second60, with no leap flag in
// any report) is never taken for 23:59:59: its edge gets leap_second, the
// chain restarts, and no accepted edge is off by a second.
func TestUnannouncedSecond60(t *testing.T) {
	p, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2016, 12, 31, 23, 59, 50, 0, time.UTC)
	// True UTC seconds from 23:59:50: 10 ordinary, the leap second (shown
	// as 23:59:59 with Second60), then 00:00:00 onwards.
	labelOf := func(i int) (time.Time, bool) {
		switch {
		case i == 10:
			return day.Add(9 * time.Second), true
		case i > 10:
			return day.Add(time.Duration(i-1) * time.Second), false
		}
		return day.Add(time.Duration(i) * time.Second), false
	}
	var outs []Outcome
	for i := range 20 {
		label, s60 := labelOf(i)
		real := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second) // realtime of the edge (any continuous scale)
		outs = p.Edge(refclock.Edge{At: real, Seq: uint64(i + 1)}, real, outs[:0])
		outs = p.TimeOfDay(refclock.TimeOfDay{UTC: label, Second60: s60, Received: real.Add(300 * time.Millisecond), Valid: true, Fix: refclock.Fix3D}, outs)
		outs = p.Advance(real.Add(999*time.Millisecond), outs)
		for _, o := range outs {
			if !o.Verdict.Edge() {
				continue
			}
			i := int(o.Edge.Seq) - 1
			label, _ := labelOf(i)
			if i == 10 && o.Verdict != VerdictLeapSecond {
				t.Errorf("the 23:59:60 edge: %v, want leap_second", o.Verdict)
			}
			if o.Verdict == VerdictAccepted {
				want := label
				if o.Label.UTC != want || o.Label.Second60 {
					t.Errorf("edge %d accepted with label %v, want %v", i, o.Label, want)
				}
			}
		}
	}
	if c := p.Counts(); c[VerdictLeapSecond] != 1 || c[VerdictAccepted] < 12 {
		t.Errorf("counts %v", c)
	}
}
