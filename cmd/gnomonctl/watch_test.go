package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/cmdmon"
	"github.com/gnomon-time/gnomon/cmdmon/client"
	ctlserve "github.com/gnomon-time/gnomon/cmdmon/serve"
	"github.com/gnomon-time/gnomon/cmdmon/wire"
	"github.com/gnomon-time/gnomon/report"
)

func TestSparkline(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want string
	}{
		{nil, ""},
		{[]float64{5}, "▁"},
		{[]float64{2, 2, 2}, "▁▁▁"},
		{[]float64{-1, 0, 1}, "▁▅█"},
		{[]float64{0, 7, 1, 6}, "▁█▂▇"},
		{[]float64{-3e-6, -1e-6}, "▁█"},
		{[]float64{1, math.NaN(), 2, math.Inf(1)}, "▁ █ "},
		{[]float64{math.NaN()}, " "},
	} {
		if got := sparkline(tt.in); got != tt.want {
			t.Errorf("sparkline(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var h []float64
	for i := range 5 {
		h = push(h, float64(i), 3)
	}
	if len(h) != 3 || h[0] != 2 || h[2] != 4 {
		t.Errorf("push keeps %v, want the last 3", h)
	}
}

// watchDisc is a discipline whose last offset grows by 1 µs per tracking
// request.
type watchDisc struct{ n atomic.Int64 }

func (d *watchDisc) Tracking() (report.Tracking, bool) {
	n := d.n.Add(1)
	return report.Tracking{Synchronized: true, Stratum: 2, RefID: 0xC0000201, RefAddr: netip.MustParseAddr("192.0.2.1"),
		LastOffset: time.Duration(n) * time.Microsecond, RootDispersion: 10 * time.Microsecond, RootDelay: 20 * time.Microsecond}, true
}
func (d *watchDisc) Sources(context.Context) []report.Source {
	return []report.Source{{ID: "192.0.2.1", Addr: netip.MustParseAddr("192.0.2.1"), State: report.StateSelected, Stratum: 1, Reach: 0o377}}
}
func (*watchDisc) SourceStats() []report.SourceStats                     { return nil }
func (*watchDisc) SelectData() []report.SelectData                       { return nil }
func (*watchDisc) NTPData(context.Context) []report.NTPData              { return nil }
func (*watchDisc) Burst(context.Context, netip.Prefix, int) (int, error) { return 0, nil }
func (*watchDisc) MakeStep(context.Context) error                        { return nil }
func (*watchDisc) ResetSources(context.Context) error                    { return nil }

func TestWatchAgainstServer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	srv, err := ctlserve.Listen(ctlserve.Config{Socket: sock, Handler: cmdmon.New(cmdmon.Config{Discipline: &watchDisc{}})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Run(ctx)

	var out, errb bytes.Buffer
	if code := run(ctx, []string{"--host", sock, "watch", "--count", "3", "--interval", "10ms"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	frames := strings.Split(out.String(), "\n\f\n")
	if len(frames) != 3 || strings.Contains(out.String(), "\x1b[") {
		t.Fatalf("%d frames (escape codes: %v), want 3 plain ones:\n%s", len(frames), strings.Contains(out.String(), "\x1b["), out.String())
	}
	for i, f := range frames {
		line := ""
		for _, l := range strings.Split(f, "\n") {
			if strings.HasPrefix(l, "Last offset  ") {
				line = l
			}
		}
		spark := strings.Fields(strings.TrimPrefix(line, "Last offset  "))
		if len(spark) == 0 || len([]rune(spark[0])) != i+1 {
			t.Errorf("frame %d: sparkline line %q, want %d samples", i, line, i+1)
		}
		if !strings.Contains(f, "Stratum         : 2") || !strings.Contains(f, "^* 192.0.2.1") {
			t.Errorf("frame %d lacks tracking or sources:\n%s", i, f)
		}
	}
	// The offset changed between frames: the last one spans 1 … 3 µs
	// (chronyc's sign: local − reference).
	if !strings.Contains(frames[2], "█▅▁  -3000ns … -1000ns") {
		t.Errorf("last frame's offset range:\n%s", frames[2])
	}

	// --json: one object per refresh.
	out.Reset()
	if code := run(ctx, []string{"--host", sock, "watch", "--count", "2", "--interval", "10ms", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	dec := json.NewDecoder(&out)
	for i := range 2 {
		var f struct {
			Tracking   struct{ Stratum int }
			ErrorBound float64 `json:"error_bound_seconds"`
		}
		if err := dec.Decode(&f); err != nil || f.Tracking.Stratum != 2 || f.ErrorBound < 20e-6 {
			t.Errorf("json frame %d: %+v %v", i, f, err)
		}
	}

	// A daemon that is not there: the frames say so, and watch goes on.
	out.Reset()
	if code := run(ctx, []string{"--host", filepath.Join(t.TempDir(), "none.sock"), "watch", "--count", "2", "--interval", "10ms"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d with no daemon: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), "Cannot talk to daemon (retrying"); n != 2 {
		t.Errorf("%d frames say the daemon is unreachable, want 2:\n%s", n, out.String())
	}
}

var update = flag.Bool("update", false, "rewrite the golden files")

// TestRenderWatchGolden pins a frame's layout: header, chronyc's tracking
// block and sources table, both sparklines with their ranges, and the
// status line that replaces the replies when the daemon is unreachable.
func TestRenderWatchGolden(t *testing.T) {
	at := time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)
	tr := wire.Tracking{RefID: 0xC0000201, Addr: wire.AddrOf(netip.MustParseAddr("192.0.2.1")), Stratum: 2,
		RefTime: at.Add(-3 * time.Second), LastOffset: -2.5e-6, RMSOffset: 4e-6, FreqPPM: -12.5, SkewPPM: 0.05,
		RootDelay: 300e-6, RootDispersion: 40e-6, LastUpdateInterval: 16}
	src := wire.SourceData{Addr: wire.AddrOf(netip.MustParseAddr("192.0.2.1")), Poll: 4, Stratum: 1, State: 0,
		Reachability: 0o377, SinceSample: 3, OrigLatestMeas: -2.5e-6, LatestMeas: -2.5e-6, LatestMeasErr: 150e-6}
	s := &watchState{host: "/run/gnomon/gnomond.sock", interval: time.Second, at: at, tracking: tr, sources: []wire.SourceData{src}}
	for _, off := range []float64{4e-6, 1e-6, -2e-6, -2.5e-6} {
		s.offsets = push(s.offsets, off, 60)
		s.bounds = push(s.bounds, math.Abs(off)+tr.RootDispersion+tr.RootDelay/2, 60)
	}
	got := renderWatch(s)
	s.err = client.ErrNoDaemon
	s.at = at.Add(time.Second)
	got += "\f\n" + renderWatch(s)
	golden := filepath.Join("testdata", "watch_frame.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("frame differs from %s (go test -update to rewrite):\n%s", golden, got)
	}
}

// TestWatchDaemonDownMidway stops the daemon after the first frame and
// starts it again before the third, with an injected ticker and clock (no
// sleeping): the second frame says the daemon is unreachable and keeps the
// history, the third shows the replies again and a two-sample sparkline.
func TestWatchDaemonDownMidway(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	disc := &watchDisc{}
	start := func() func() {
		srv, err := ctlserve.Listen(ctlserve.Config{Socket: sock, Handler: cmdmon.New(cmdmon.Config{Discipline: disc})})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	stop := start()
	defer func() { stop() }()

	targets, err := client.ParseTargets(context.Background(), sock, client.DefaultPort)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(targets)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ticks := make(chan time.Time, 2)
	ticks <- time.Time{}
	ticks <- time.Time{}
	frame := 0
	t0 := time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)
	wo := &watchOpts{interval: time.Second, count: 3, host: sock,
		tick: func(time.Duration) (<-chan time.Time, func()) { return ticks, func() {} },
		// now runs just before each frame's queries: the daemon goes away
		// before the second and comes back before the third.
		now: func() time.Time {
			switch frame {
			case 1:
				stop()
				stop = func() {}
			case 2:
				stop = start()
			}
			frame++
			return t0.Add(time.Duration(frame) * time.Second)
		}}
	var out bytes.Buffer
	if err := runWatch(&call{ctx: context.Background(), c: c, w: &out}, wo); err != nil {
		t.Fatal(err)
	}
	frames := strings.Split(out.String(), "\n\f\n")
	if len(frames) != 3 {
		t.Fatalf("%d frames, want 3:\n%s", len(frames), out.String())
	}
	// The sparkline row comes after the tracking block's "Last offset     :".
	sparkOf := func(f string) string {
		spark := ""
		for _, l := range strings.Split(f, "\n") {
			if rest, ok := strings.CutPrefix(l, "Last offset  "); ok && !strings.HasPrefix(rest, " ") {
				spark = strings.Fields(rest)[0]
			}
		}
		return spark
	}
	for i, want := range []struct {
		up    bool
		spark string
	}{{true, "▁"}, {false, "▁"}, {true, "█▁"}} {
		f := frames[i]
		if up := strings.Contains(f, "^* 192.0.2.1"); up != want.up || strings.Contains(f, "Cannot talk to daemon") == want.up {
			t.Errorf("frame %d: daemon up %v, want %v:\n%s", i, up, want.up, f)
		}
		if got := sparkOf(f); got != want.spark {
			t.Errorf("frame %d: offset sparkline %q, want %q", i, got, want.spark)
		}
		if stamp := t0.Add(time.Duration(i+1) * time.Second).Format("15:04:05"); !strings.Contains(f, stamp) {
			t.Errorf("frame %d lacks its time %s:\n%s", i, stamp, f)
		}
	}
}
