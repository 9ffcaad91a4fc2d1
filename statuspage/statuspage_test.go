package statuspage

import (
	"bytes"
	"context"
	"flag"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/report"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func lockedTracking(at time.Time) report.Tracking {
	return report.Tracking{At: at, Mode: report.SyncLocked, Synchronized: true, RefID: 0xc0000201,
		RefName: "ntp1.example.net", RefAddr: netip.MustParseAddr("192.0.2.1"), Stratum: 2,
		RefTime: at.Add(-3 * time.Second), LastOffset: -12345 * time.Nanosecond, RMSOffset: 8 * time.Microsecond,
		FrequencyPPB: 1234.5, FreqEstimatePPB: 1200, SkewPPB: 15, RootDelay: 420 * time.Microsecond,
		RootDispersion: 95 * time.Microsecond, UpdateInterval: 16 * time.Second, Leap: clock.LeapNone,
		ErrorBound: 310 * time.Microsecond, DispersionRate: 15e-6, Servo: "kalman", ServoLocked: true,
		Updates: 42, Steps: 1, LastStep: 3 * time.Millisecond}
}

func servedOf(t report.Tracking) report.Served {
	return report.Served{At: t.At, Synchronized: t.Synchronized, Leap: t.Leap, Stratum: t.Stratum, RefID: t.RefID,
		RefTime: t.RefTime, RootDelay: t.RootDelay, RootDispersion: t.RootDispersion, ErrorBound: t.ErrorBound,
		Precision: -24, Source: t.RefName}
}

func sourcesFixture() []report.Source {
	return []report.Source{
		{ID: "ntp1.example.net", Addr: netip.MustParseAddr("192.0.2.1"), Mode: report.SourceServer,
			State: report.StateSelected, Reason: "none", Usable: true, Stratum: 1, RefID: 0x47505300, Poll: 6,
			Reach: 0o377, LastRxAgo: 12 * time.Second, Sampled: true, Offset: -12 * time.Microsecond,
			LastSampleOffset: -15 * time.Microsecond, Error: 250 * time.Microsecond, Delay: 400 * time.Microsecond,
			Dispersion: 30 * time.Microsecond, Jitter: 9 * time.Microsecond, Weight: 0.75, Polls: 80, Timeouts: 1,
			PollsKnown: true},
		{ID: `evil"<script>alert(1)</script>&.example`, Mode: report.SourceServer,
			State: report.StateFalseticker, Reason: "falseticker", Usable: true, Stratum: 3, Poll: 6, Reach: 0o17,
			LastRxAgo: 40 * time.Second, Sampled: true, Offset: 52 * time.Millisecond,
			LastSampleOffset: 51 * time.Millisecond, Error: 2 * time.Millisecond, Delay: 3 * time.Millisecond,
			Jitter: 200 * time.Microsecond},
		{ID: "192.0.2.9", Addr: netip.MustParseAddr("192.0.2.9"), Mode: report.SourceServer,
			State: report.StateUnusable, Reason: "unreachable"},
	}
}

// historyFixture: 12 points 5 min apart ending at now, two unsynchronised
// in the middle, plus one older than the window.
func historyFixture(now time.Time) []Point {
	pts := []Point{{At: now.Add(-2 * time.Hour), Synchronized: true, ErrorBound: time.Millisecond}}
	for i := 11; i >= 0; i-- {
		p := Point{At: now.Add(-time.Duration(i) * 5 * time.Minute), Synchronized: true, Mode: report.SyncLocked,
			Offset: time.Duration(math.Sin(float64(i)) * 40e3), ErrorBound: time.Duration(100+20*i) * time.Microsecond}
		if i == 6 || i == 5 {
			p = Point{At: p.At, Mode: report.SyncUnsynchronised, ErrorBound: math.MaxInt64}
		}
		pts = append(pts, p)
	}
	return pts
}

func pages() map[string]Page {
	tr := lockedTracking(t0)
	local := report.Tracking{At: t0, Mode: report.SyncLocal, Synchronized: true, RefID: 0x7f7f0101, Stratum: 10,
		RefTime: t0, Leap: clock.LeapNone, ErrorBound: 0, Servo: "kalman"}
	unsync := report.Tracking{At: t0, Mode: report.SyncUnsynchronised, Stratum: 16, Leap: clock.LeapUnsync,
		ErrorBound: math.MaxInt64, RootDispersion: math.MaxInt64, Servo: "kalman"}
	none := report.Served{At: t0, Synchronized: true, Stratum: 10, RefID: 0x7f7f0101, RefTime: t0,
		Precision: -23, Source: "local"}
	base := Page{Version: "v0.test", Interval: 2 * time.Second, Window: time.Hour, HistorySize: 1800}
	with := func(f func(p *Page)) Page { p := base; f(&p); return p }
	return map[string]Page{
		"locked": with(func(p *Page) {
			p.Now, p.Served, p.ServedOK, p.Disciplined = t0, servedOf(tr), true, true
			p.Tracking, p.TrackingOK, p.Sources, p.History = tr, true, sourcesFixture(), historyFixture(t0)
		}),
		"local": with(func(p *Page) {
			p.Now, p.Served, p.ServedOK, p.Disciplined = t0, servedOf(local), true, true
			p.Served.Source = "local"
			p.Tracking, p.TrackingOK = local, true
			p.History = []Point{PointOf(local)}
		}),
		"unsynchronised": with(func(p *Page) {
			p.Now, p.Served, p.ServedOK, p.Disciplined = t0, servedOf(unsync), true, true
			p.Tracking, p.TrackingOK = unsync, true
		}),
		"starting": with(func(p *Page) { p.Disciplined = true }),
		// 5 points over 8 s: the time axis spans 1 min, not the hour.
		"short": with(func(p *Page) {
			p.Now, p.Served, p.ServedOK, p.Disciplined = t0, servedOf(tr), true, true
			p.Tracking, p.TrackingOK = tr, true
			for i := 4; i >= 0; i-- {
				p.History = append(p.History, PointOf(lockedTracking(t0.Add(-time.Duration(i)*2*time.Second))))
			}
		}),
		"none": with(func(p *Page) {
			p.Now, p.Served, p.ServedOK = t0, none, true
		}),
	}
}

// The page of each fixture is its golden file, byte for byte.
func TestRenderGolden(t *testing.T) {
	for name, p := range pages() {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, p); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".html")
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("page differs from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// chartCounts counts the chart's drawn samples in a parsed page: the
// vertices of the offset and upper-bound paths and the unsynchronised
// marks, and the svg's data-samples attribute.
type chartCounts struct {
	svgs, offset, upper, lower, unsync, dataSamples int
	scripts, external                               int
	ids                                             map[string]string
}

var pathCmd = regexp.MustCompile(`[ML]`)

func countChart(t *testing.T, doc string) chartCounts {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	c := chartCounts{ids: map[string]string{}, dataSamples: -1}
	for n := range root.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		attr := map[string]string{}
		for _, a := range n.Attr {
			attr[a.Key] = a.Val
		}
		if id, ok := attr["id"]; ok {
			var text strings.Builder
			for d := range n.Descendants() {
				if d.Type == html.TextNode {
					text.WriteString(d.Data)
				}
			}
			c.ids[id] = text.String()
		}
		switch n.Data {
		case "script":
			c.scripts++
		case "svg":
			c.svgs++
			if v, ok := attr["data-samples"]; ok {
				c.dataSamples = atoi(t, v)
			}
		case "path":
			k := len(pathCmd.FindAllString(attr["d"], -1))
			switch attr["class"] {
			case "offset":
				c.offset += k
			case "bound-upper":
				c.upper += k
			case "bound-lower":
				c.lower += k
			}
		case "rect":
			if attr["class"] == "unsync-mark" {
				c.unsync++
			}
		}
		for _, k := range []string{"src", "href"} {
			if v, ok := attr[k]; ok && (strings.Contains(v, "//") || strings.HasPrefix(v, "http")) {
				c.external++
			}
		}
	}
	return c
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// The chart draws every sample of the window once: a vertex of the offset
// and of both bound edges per synchronised sample, a mark per
// unsynchronised one; the one outside the window is left out and counted.
// Hostile strings come out escaped; no script, no external asset.
func TestRenderStructure(t *testing.T) {
	p := pages()["locked"]
	var b bytes.Buffer
	if err := Render(&b, p); err != nil {
		t.Fatal(err)
	}
	c := countChart(t, b.String())
	if c.svgs != 1 || c.dataSamples != 12 {
		t.Errorf("svgs %d, data-samples %d; want 1, 12", c.svgs, c.dataSamples)
	}
	if c.offset != 10 || c.upper != 10 || c.lower != 10 || c.unsync != 2 {
		t.Errorf("offset %d, upper %d, lower %d vertices, %d unsync marks; want 10, 10, 10, 2",
			c.offset, c.upper, c.lower, c.unsync)
	}
	if c.scripts != 0 || c.external != 0 {
		t.Errorf("%d scripts, %d external references; want none", c.scripts, c.external)
	}
	if strings.Contains(b.String(), "<script>alert") {
		t.Error("source ID not escaped")
	}
	if h := c.ids["chart-title"]; h != "Offset and error bound, last 60 min" {
		t.Errorf("chart title %q", h)
	}
	if !strings.Contains(c.ids["history"], "1 outside the window") {
		t.Errorf("history note %q does not count the skipped point", c.ids["history"])
	}
	for id, want := range map[string]string{
		"sync-mode": "locked", "stratum": "2", "reference": "ntp1.example.net (192.0.2.1)", "refid": "192.0.2.1",
		"offset": "-12.3 µs", "frequency": "+1.234 ppm", "error-bound": "±310 µs", "root-delay": "420 µs",
		"root-dispersion": "95.0 µs", "leap": "none", "served-stratum": "2", "mode-badge": "locked",
	} {
		if got := c.ids[id]; got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
}

// A history shorter than the window gets a shorter time axis.
func TestRenderShortHistory(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, pages()["short"]); err != nil {
		t.Fatal(err)
	}
	c := countChart(t, b.String())
	if h := c.ids["chart-title"]; h != "Offset and error bound, last 1 min" {
		t.Errorf("chart title %q", h)
	}
	if c.dataSamples != 5 || c.offset != 5 {
		t.Errorf("%d samples, %d offset vertices; want 5, 5", c.dataSamples, c.offset)
	}
	if !strings.Contains(b.String(), ">−45 s</text>") {
		t.Error("no −45 s tick on a 1 min axis")
	}
}

// Without a discipline the page shows the served state, says no discipline
// runs and draws no chart.
func TestRenderNoDiscipline(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, pages()["none"]); err != nil {
		t.Fatal(err)
	}
	c := countChart(t, b.String())
	if c.svgs != 0 {
		t.Errorf("%d charts without a discipline", c.svgs)
	}
	if !strings.Contains(c.ids["mode-note"], "No discipline runs") {
		t.Errorf("mode note %q", c.ids["mode-note"])
	}
	if c.ids["served-stratum"] != "10" || c.ids["served-refid"] != "127.127.1.1" {
		t.Errorf("served stratum %q refid %q", c.ids["served-stratum"], c.ids["served-refid"])
	}
	if _, ok := c.ids["sync-mode"]; ok {
		t.Error("tracking fields shown without a discipline")
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{fmtSeconds(0, true), "0 s"},
		{fmtSeconds(1.5e-9, true), "+1.50 ns"},
		{fmtSeconds(-0.0123, true), "-12.3 ms"},
		{fmtSeconds(250e-6, false), "250 µs"},
		{fmtSeconds(2, false), "2.00 s"},
		{fmtSeconds(math.Inf(1), false), "∞"},
		{fmtDur(math.MaxInt64, false), "∞"},
		{fmtPPM(-1500, true), "-1.500 ppm"},
		{fmtRefID(0x47505300, 1), "GPS"},
		{fmtRefID(0xc0000201, 2), "192.0.2.1"},
		{fmtTime(time.Time{}), "never"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	for v, want := range map[float64]float64{1e-6: 1e-6, 1.1e-6: 2e-6, 3e-3: 5e-3, 0.7: 1, 6: 10} {
		if got := niceCeil(v); math.Abs(got-want) > want*1e-9 {
			t.Errorf("niceCeil(%g) = %g, want %g", v, got, want)
		}
	}
}

func TestHistoryRing(t *testing.T) {
	if _, err := NewHistory(0); err == nil {
		t.Error("NewHistory(0) accepted")
	}
	h, err := NewHistory(3)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(h.Points()); n != 0 {
		t.Fatalf("empty ring has %d points", n)
	}
	for i := range 5 {
		h.Add(Point{At: t0.Add(time.Duration(i) * time.Second)})
	}
	var got []int
	for _, p := range h.Points() {
		got = append(got, int(p.At.Sub(t0)/time.Second))
	}
	if diff := cmp.Diff([]int{2, 3, 4}, got); diff != "" {
		t.Errorf("ring after 5 adds (-want +got):\n%s", diff)
	}
}

// fakeTicker is a Ticker a test feeds.
type fakeTicker struct {
	c       chan time.Time
	stopped chan struct{}
}

func (f *fakeTicker) C() <-chan time.Time { return f.c }
func (f *fakeTicker) Stop()               { close(f.stopped) }

// fakeTracker returns a report that moves on by a second per call, not
// ok on its first call.
type fakeTracker struct{ calls int }

func (f *fakeTracker) Tracking() (report.Tracking, bool) {
	f.calls++
	if f.calls == 1 {
		return report.Tracking{}, false
	}
	return lockedTracking(t0.Add(time.Duration(f.calls) * time.Second)), true
}

// The sampler samples at start and at each tick (a tracker without a
// report yet adds nothing), and stops its ticker when ctx ends.
func TestSampler(t *testing.T) {
	h, _ := NewHistory(10)
	src := &fakeTracker{}
	ft := &fakeTicker{c: make(chan time.Time), stopped: make(chan struct{})}
	var gotInterval time.Duration
	s, err := NewSampler(src, h, 2*time.Second, func(d time.Duration) Ticker { gotInterval = d; return ft })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// Each send returns once Run is back in its select, so the sample of
	// the previous tick has been taken.
	for range 4 {
		select {
		case ft.c <- t0:
		case <-time.After(5 * time.Second):
			t.Fatal("sampler does not take ticks")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	select {
	case <-ft.stopped:
	default:
		t.Error("ticker not stopped")
	}
	if gotInterval != 2*time.Second {
		t.Errorf("ticker interval %v", gotInterval)
	}
	pts := h.Points()
	// Start (not ok) + 4 ticks: 4 points, the last at call 5.
	if len(pts) != 4 || !pts[3].At.Equal(t0.Add(5*time.Second)) || pts[3].Offset != -12345*time.Nanosecond {
		t.Errorf("points %+v", pts)
	}
	if _, err := NewSampler(src, h, 0, nil); err == nil {
		t.Error("zero interval accepted")
	}
	if _, err := NewSampler(nil, h, time.Second, nil); err == nil {
		t.Error("nil tracker accepted")
	}
}

type fakeDiscipline struct{ tr report.Tracking }

func (f fakeDiscipline) Tracking() (report.Tracking, bool)       { return f.tr, true }
func (f fakeDiscipline) Sources(context.Context) []report.Source { return sourcesFixture() }
func (f fakeDiscipline) Served() (report.Served, bool)           { return servedOf(f.tr), true }

func TestHandler(t *testing.T) {
	tr := lockedTracking(t0)
	hist, _ := NewHistory(5)
	for i := range 3 {
		hist.Add(PointOf(lockedTracking(t0.Add(time.Duration(i-3) * time.Second))))
	}
	fd := fakeDiscipline{tr}
	h := NewHandler(Config{Served: fd, Discipline: fd, History: hist, Interval: time.Second, Window: time.Hour,
		Version: "v"})
	for _, tt := range []struct {
		method string
		code   int
		body   bool
	}{
		{http.MethodGet, 200, true},
		{http.MethodHead, 200, false},
		{http.MethodPost, 405, false},
		{http.MethodDelete, 405, false},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, "/status", nil))
		if rec.Code != tt.code {
			t.Errorf("%s: %d, want %d", tt.method, rec.Code, tt.code)
			continue
		}
		if tt.code == 405 {
			if a := rec.Header().Get("Allow"); a != "GET, HEAD" {
				t.Errorf("%s: Allow %q", tt.method, a)
			}
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", tt.method, ct)
		}
		if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: no CSP", tt.method)
		}
		if got := rec.Body.Len() > 0; got != tt.body {
			t.Errorf("%s: body %v, want %v", tt.method, got, tt.body)
		}
		if tt.body {
			c := countChart(t, rec.Body.String())
			if c.dataSamples != 3 || c.offset != 3 || c.ids["sync-mode"] != "locked" {
				t.Errorf("page: %d samples, %d offset vertices, mode %q", c.dataSamples, c.offset, c.ids["sync-mode"])
			}
		}
	}
	// Without a discipline: the served state only.
	p := NewHandler(Config{Served: fd, Interval: time.Second, Window: time.Hour}).Page(t.Context())
	if p.Disciplined || p.TrackingOK || p.History != nil || !p.ServedOK {
		t.Errorf("page without discipline: %+v", p)
	}
}
