package phcsource

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/phc"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func identity(t time.Time) time.Time { return t }

func newSim(t *testing.T, cfg phc.SimConfig) (*phc.PHC, *phc.Sim) {
	t.Helper()
	if cfg.Base == nil {
		cfg.Base = fixedClock{time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	}
	sim, err := phc.NewSim(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := phc.New(sim)
	if err != nil {
		t.Fatal(err)
	}
	return p, sim
}

func TestConfigValidate(t *testing.T) {
	p, _ := newSim(t, phc.SimConfig{Name: "/dev/ptp3"})
	for name, tc := range map[string]struct {
		p    *phc.PHC
		cfg  Config
		want []string // substrings of the error; none = valid
	}{
		"defaults":      {p: p, cfg: Config{FromRealtime: identity}},
		"no PHC":        {cfg: Config{ID: "x", FromRealtime: identity}, want: []string{"no PHC"}},
		"no mapping":    {p: p, want: []string{"from_realtime"}},
		"long refid":    {p: p, cfg: Config{FromRealtime: identity, RefID: "PHC01"}, want: []string{"ref_id"}},
		"binary refid":  {p: p, cfg: Config{FromRealtime: identity, RefID: "P\x00"}, want: []string{"printable"}},
		"fast poll":     {p: p, cfg: Config{FromRealtime: identity, Poll: time.Millisecond}, want: []string{"poll 1ms"}},
		"many samples":  {p: p, cfg: Config{FromRealtime: identity, Samples: 26}, want: []string{"samples 26"}},
		"every problem": {p: p, cfg: Config{Samples: -1, RelockSamples: -2, Precision: -1}, want: []string{"samples -1", "from_realtime", "relock samples -2", "precision"}},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := New(tc.p, tc.cfg)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if s.cfg.ID != "/dev/ptp3" || s.refID != 0x50484300 || s.cfg.Poll != time.Second || s.cfg.Samples != phc.MaxSamples ||
					s.cfg.DisruptedBound != DefaultDisruptedBound || s.poll != 0 {
					t.Errorf("defaults: %+v refid %#x poll %d", s.cfg, s.refID, s.poll)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

type sink struct{ got []engine.Sample }

func (s *sink) Sample(_ int, smp engine.Sample) { s.got = append(s.got, smp) }

type bound time.Duration

func (b bound) ErrorBound() (time.Duration, bool) { return time.Duration(b), b >= 0 }

type markers struct {
	m   uint64
	err error
}

func (m *markers) DisruptionMarker() (uint64, error) { return m.m, m.err }

// TestPoll checks one measurement's arithmetic: a TAI PHC 37 s + 2 µs
// ahead of CLOCK_REALTIME, a disciplined clock 500 ns ahead of
// CLOCK_REALTIME, 1 µs brackets without jitter: offset = 2 µs − 500 ns,
// dispersion = 500 ns + 1 ns (+ the 3 µs bound in the engine sample).
func TestPoll(t *testing.T) {
	p, sim := newSim(t, phc.SimConfig{Offset: 37*time.Second + 2*time.Microsecond, ReadDelay: time.Microsecond})
	s, err := New(p, Config{TAI: true, FromRealtime: func(t time.Time) time.Time { return t.Add(500 * time.Nanosecond) },
		ErrorBound: bound(3 * time.Microsecond)})
	if err != nil {
		t.Fatal(err)
	}
	out := &sink{}
	s.Poll(t.Context(), out)
	if len(out.got) != 1 {
		t.Fatalf("%d samples", len(out.got))
	}
	g := out.got[0]
	if g.Offset != 1500*time.Nanosecond || g.Dispersion != 3*time.Microsecond+501*time.Nanosecond || g.Delay != 0 {
		t.Errorf("sample %+v: want offset 1.5 µs, dispersion 3.501 µs", g)
	}
	rep := s.Report(g.Local)
	if !rep.Usable || rep.Offset != g.Offset || rep.RootDispersion != 3*time.Microsecond || rep.Stratum != 0 ||
		rep.RefID != 0x50484300 || rep.Dispersion != 501*time.Nanosecond || rep.Reach != 1 || rep.Samples != 1 {
		t.Errorf("report %+v", rep)
	}
	if got := s.Report(g.Local.Add(9 * time.Second)); got.Usable {
		t.Error("usable 9 polls after the last sample")
	}
	// Restart and ResetSamples empty the filter.
	if err := s.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	if rep := s.Report(g.Local); rep.Usable || rep.Samples != 0 {
		t.Errorf("after Restart: %+v", rep)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Restart(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Restart with a cancelled context: %v", err)
	}
	_ = sim
}

// TestDisruptionMarker: a marker read error is logged once; a change of
// the marker clears the history, calls OnDisruption once, widens the root
// dispersion, and RelockSamples samples within RelockOffset end it.
func TestDisruptionMarker(t *testing.T) {
	p, sim := newSim(t, phc.SimConfig{ReadDelay: time.Microsecond})
	var logs bytes.Buffer
	mk := &markers{err: errors.New("EIO")}
	calls := 0
	s, err := New(p, Config{FromRealtime: identity, Disruption: mk, RelockSamples: 3, DisruptedBound: time.Millisecond,
		OnDisruption: func(_ context.Context, widen time.Duration) error {
			calls++
			if widen != time.Millisecond {
				t.Errorf("OnDisruption(widen %v), want the DisruptedBound 1 ms", widen)
			}
			return nil
		}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	out := &sink{}
	s.Poll(t.Context(), out)
	s.Poll(t.Context(), out)
	if n := strings.Count(logs.String(), "disruption marker"); n != 1 {
		t.Errorf("marker error logged %d times, want once", n)
	}
	mk.m, mk.err = 5, nil
	s.Poll(t.Context(), out) // the first marker read is the baseline
	if d := s.Disruption(); d.Disrupted || d.Count != 0 || d.Marker != 5 || !d.MarkerValid || calls != 0 {
		t.Fatalf("baseline: %+v, %d calls", d, calls)
	}
	mk.m = 6
	sim.Jump(50 * time.Microsecond) // the measured offset is now off by 50 µs
	s.Poll(t.Context(), out)
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	if d := s.Disruption(); !d.Disrupted || d.Count != 1 || d.Marker != 6 || calls != 1 {
		t.Fatalf("after the change: %+v, %d calls", d, calls)
	}
	if rep := s.Report(base); rep.RootDispersion != time.Millisecond || rep.Samples != 1 {
		t.Errorf("disrupted report %+v: want root dispersion 1 ms, one sample since the reset", rep)
	}
	for range 5 {
		s.Poll(t.Context(), out)
	}
	if d := s.Disruption(); !d.Disrupted {
		t.Fatalf("re-locked with offsets of 50 µs: %+v", d)
	}
	sim.Jump(-50 * time.Microsecond)
	for i := range 3 {
		if !s.Disruption().Disrupted {
			t.Fatalf("re-locked after %d good samples, want 3", i)
		}
		s.Poll(t.Context(), out)
	}
	if d := s.Disruption(); d.Disrupted || d.Count != 1 || calls != 1 {
		t.Errorf("after 3 good samples: %+v, %d calls", d, calls)
	}
	if rep := s.Report(base); rep.RootDispersion != 0 {
		t.Errorf("root dispersion %v after re-lock, want 0 (no bound)", rep.RootDispersion)
	}
}

// TestDeviceFailure: a PHC that goes away makes the reference unusable and
// is logged once; its return is logged too.
func TestDeviceFailure(t *testing.T) {
	p, sim := newSim(t, phc.SimConfig{ReadDelay: time.Microsecond})
	var logs bytes.Buffer
	s, err := New(p, Config{FromRealtime: identity, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	out := &sink{}
	s.Poll(t.Context(), out)
	sim.SetError(syscall.ENODEV)
	for range 8 {
		s.Poll(t.Context(), out)
	}
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	if rep := s.Report(base); rep.Usable {
		t.Error("usable after 8 failed polls")
	}
	sim.SetError(nil)
	s.Poll(t.Context(), out)
	if st := s.Stats(); st.Polls != 10 || st.Failures != 8 || len(out.got) != 2 {
		t.Errorf("stats %+v, %d samples", st, len(out.got))
	}
	if n := strings.Count(logs.String(), "PHC measurement failed"); n != 1 || !strings.Contains(logs.String(), "resumed") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

// TestFollow: with Config.Follow the report passes the PHC's own
// discipline state on (stratum − 1, reference ID, leap, root delay, root
// dispersion grown to now plus the device bound) and is unusable while that
// state is unsynchronised or missing.
func TestFollow(t *testing.T) {
	p, _ := newSim(t, phc.SimConfig{ReadDelay: time.Microsecond})
	cell := new(clock.StateCell)
	s, err := New(p, Config{FromRealtime: identity, Follow: cell, ErrorBound: bound(time.Microsecond)})
	if err != nil {
		t.Fatal(err)
	}
	out := &sink{}
	s.Poll(t.Context(), out)
	now := out.got[0].Local
	if rep := s.Report(now); rep.Usable {
		t.Errorf("usable with no PHC state: %+v", rep)
	}
	gps := uint32(0x47505300)
	st := &clock.SyncState{Synchronized: true, Stratum: 1, RefID: gps, RefTime: now.Add(-10 * time.Second),
		RootDelay: 0, RootDispersion: 100 * time.Nanosecond, DispersionRate: 1e-8}
	cell.Store(st)
	rep := s.Report(now)
	// 100 ns + 10 s × 10 ppb = 200 ns, plus the 1 µs device bound.
	if !rep.Usable || rep.Stratum != 0 || rep.RefID != gps || rep.Leap != clock.LeapNone ||
		rep.RootDispersion != 1200*time.Nanosecond {
		t.Errorf("following a locked PHC: %+v", rep)
	}
	unsync := *st
	unsync.Synchronized, unsync.Leap, unsync.Stratum = false, clock.LeapUnsync, 16
	cell.Store(&unsync)
	if rep := s.Report(now); rep.Usable {
		t.Errorf("usable while the PHC is unsynchronised: %+v", rep)
	}
}
