package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/cmdmon"
	ctlserve "github.com/gnomon-time/gnomon/cmdmon/serve"
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
