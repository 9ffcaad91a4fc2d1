package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/clock/sim"
)

// ftRec is an EventSink that records falseticker transitions.
type ftRec struct {
	NopSink
	events []string
}

func (r *ftRec) Falseticker(_ time.Time, source string, rejected bool, reason selection.Reason, _ time.Duration) {
	mark := "+"
	if rejected {
		mark = "x"
	}
	r.events = append(r.events, mark+source+":"+reason.String())
}

// A source at +100 ms among two agreeing ones is reported once when it
// becomes a falseticker and once when it agrees again; with two sources
// that disagree there is no majority and both are reported as such.
func TestFalsetickerEvents(t *testing.T) {
	clk, err := sim.NewClock(sim.NewTimeline(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)), sim.Oscillator{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	rec := &ftRec{}
	cfg := DefaultConfig()
	cfg.Sink = rec
	e, err := New(cfg, clk, &clock.StateCell{})
	if err != nil {
		t.Fatal(err)
	}
	srcs := []*fakeSrc{{}, {}, {}}
	for i, s := range srcs {
		if _, err := e.AddSource(SourceConfig{ID: string(rune('a' + i))}, s); err != nil {
			t.Fatal(err)
		}
	}
	set := func(i int, off time.Duration, usable bool) {
		srcs[i].rep = Report{Usable: usable, Offset: off, SampleTime: clk.Now(), Delay: 100 * time.Microsecond,
			Dispersion: 10 * time.Microsecond, Jitter: time.Microsecond, Stratum: 1}
	}
	tick := func() {
		if _, err := e.Tick(); err != nil {
			t.Fatal(err)
		}
	}
	set(0, 100*time.Millisecond, true)
	set(1, 0, true)
	set(2, 0, true)
	tick()
	tick()
	set(0, 0, true)
	tick()
	if got, want := strings.Join(rec.events, " "), "xa:falseticker +a:none"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	rec.events = nil
	set(0, 100*time.Millisecond, true)
	set(2, 0, false)
	tick()
	if got, want := strings.Join(rec.events, " "), "xa:no_majority xb:no_majority"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	if e.Status().Peer != "" {
		t.Errorf("peer %q without a majority", e.Status().Peer)
	}
	// A majority again: a stays a falseticker, now outside the
	// intersection (reported, since the reason changed); b agrees.
	rec.events = nil
	set(2, 0, true)
	tick()
	if got, want := strings.Join(rec.events, " "), "xa:falseticker +b:none"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestLogSinkFalseticker(t *testing.T) {
	var buf bytes.Buffer
	s := NewLogSink(slog.New(slog.NewJSONHandler(&buf, nil)), nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Falseticker(now, "a", true, selection.ReasonFalseticker, 100*time.Millisecond)
	s.Falseticker(now, "b", true, selection.ReasonNoMajority, time.Hour)
	s.Falseticker(now, "a", false, selection.ReasonNone, 0)
	s.ClockWrong(now, "c", time.Hour)
	out := buf.String()
	for _, want := range []string{`"level":"WARN","msg":"source rejected by selection: falseticker","source":"a","reason":"falseticker","offset":100000000`,
		`"msg":"source rejected by selection: no majority of sources agrees","source":"b","reason":"no_majority"`,
		`"level":"INFO","msg":"source no longer a falseticker","source":"a"`,
		`"level":"WARN","msg":"clock wrong by more than 1 s: slewing, the step policy allows no step","source":"c","offset":3600000000000`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}
