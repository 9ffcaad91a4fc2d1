package interop

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// chromiumFlags are the flags every headless chromium run gets: no
// sandbox (root), no GPU, nothing fetched in the background, a fresh
// profile.
func chromiumFlags(profile string) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile}
}

// runChromium runs chromium in ns with args after the common flags, its
// stdout into stdout (a file), HOME and the XDG directories in dir, for at
// most limit. It returns chromium's stderr (for failures).
func runChromium(t *testing.T, ns *netns.NS, dir, name, stdout string, limit time.Duration, args ...string) string {
	t.Helper()
	profile, err := os.MkdirTemp(dir, name+"-profile-")
	if err != nil {
		t.Fatal(err)
	}
	argv := []string{"env", "HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "XDG_CACHE_HOME=" + dir,
		"sh", "-c", `exec chromium "$@" >"$0"`, stdout}
	argv = append(argv, chromiumFlags(profile)...)
	argv = append(argv, args...)
	ctx, cancel := context.WithTimeout(t.Context(), limit+10*time.Second)
	defer cancel()
	out, err := ns.Run(ctx, netns.Spec{Name: name, Args: argv, Limit: limit})
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	return out
}

// statusDOM is what the test reads from the page's DOM: the text of every
// element with an id, the chart's data-samples, the vertices of its paths
// by class and the unsynchronised marks.
type statusDOM struct {
	ids         map[string]string
	svgs        int
	dataSamples int
	vertices    map[string]int
	unsync      int
	sourceRows  []string
}

var svgPathCmd = regexp.MustCompile(`[ML]`)

func parseStatusDOM(t *testing.T, doc string) statusDOM {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("parse DOM: %v", err)
	}
	d := statusDOM{ids: map[string]string{}, vertices: map[string]int{}, dataSamples: -1}
	text := func(n *html.Node) string {
		var b strings.Builder
		for c := range n.Descendants() {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			}
		}
		return strings.TrimSpace(b.String())
	}
	for n := range root.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		attr := map[string]string{}
		for _, a := range n.Attr {
			attr[a.Key] = a.Val
		}
		if id, ok := attr["id"]; ok {
			d.ids[id] = text(n)
		}
		switch n.Data {
		case "svg":
			d.svgs++
			if v, err := strconv.Atoi(attr["data-samples"]); err == nil {
				d.dataSamples = v
			}
		case "path":
			d.vertices[attr["class"]] += len(svgPathCmd.FindAllString(attr["d"], -1))
		case "rect":
			if attr["class"] == "unsync-mark" {
				d.unsync++
			}
		case "tr":
			if attr["class"] == "source" {
				d.sourceRows = append(d.sourceRows, text(n))
			}
		}
	}
	return d
}

// pngStats are a screenshot's size, its number of distinct colours, the
// share of its most common colour and the pixels near the chart's
// error-bound blue (#1a73e8).
type pngStats struct {
	w, h          int
	colours       int
	dominantShare float64
	boundBlue     int
}

func screenshotStats(path string) (pngStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return pngStats{}, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return pngStats{}, fmt.Errorf("decode %s: %w", path, err)
	}
	b := img.Bounds()
	s := pngStats{w: b.Dx(), h: b.Dy()}
	counts := map[uint32]int{}
	near := func(v, want uint32) bool { return v+40 >= want && v <= want+40 }
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			counts[r<<16|g<<8|bl]++
			if near(r, 0x1a) && near(g, 0x73) && near(bl, 0xe8) {
				s.boundBlue++
			}
		}
	}
	s.colours = len(counts)
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	s.dominantShare = float64(top) / float64(s.w*s.h)
	return s, nil
}

// TestStatusPageChromium loads gnomond's /status in headless chromium:
// gnomond (clock.mode virtual, a local source: the discipline runs) in the
// server namespace, chromium in the client one. The DOM chromium builds has
// the state fields and a chart with one vertex (or unsynchronised mark)
// per sample the page says it holds, a number that fits the time gnomond
// has run (one sample per 2 s); the screenshot decodes at the window's
// size, is not blank and shows the chart's error-bound lines.
func TestStatusPageChromium(t *testing.T) {
	requirePeers(t)
	netns.Require(t, "chromium")
	pair := suite.h.NewPairT(t)
	started := time.Now()
	s := startGnomond(t, pair, gnomondOpts{extra: "clock:\n  mode: virtual\n"}, 3*time.Minute)
	s.waitReady(t)
	// A few samples into the history (bounded: a fixed wait).
	time.Sleep(7 * time.Second)
	url := "http://" + s.metricsAddr() + "/status"
	dir := t.TempDir()

	domFile := filepath.Join(dir, "dom.html")
	before := time.Since(started)
	out := runChromium(t, pair.Cli, dir, "chromium-dump-dom", domFile, 90*time.Second, "--dump-dom", url)
	after := time.Since(started)
	b, err := os.ReadFile(domFile)
	if err != nil || len(b) == 0 {
		t.Fatalf("no DOM from chromium (%v)\n%s", err, out)
	}
	d := parseStatusDOM(t, string(b))
	t.Logf("DOM: %d bytes, %d samples, vertices %v, %d unsynchronised marks, sources %q",
		len(b), d.dataSamples, d.vertices, d.unsync, d.sourceRows)
	for id, want := range map[string]string{
		"sync-mode": "^local$", "stratum": "^3$", "reference": "^local$", "refid": `^127\.127\.1\.1$`,
		"offset": `^[-+]?[0-9.]+ [nµm]?s$`, "frequency": `^[-+][0-9.]+ ppm$`,
		"error-bound": `^±[0-9.]+ [nµm]?s$`, "root-delay": `^[0-9.]+ [nµm]?s$`,
		"root-dispersion": `^[0-9.]+ [nµm]?s$`, "leap": "^none$", "served-stratum": "^3$",
		"served-synchronized": "^yes$", "mode-badge": "^local$",
	} {
		if got, ok := d.ids[id]; !ok || !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("#%s = %q (present %v), want %s", id, got, ok, want)
		}
	}
	// The local reference is no source (it stands in when none is
	// selectable), so the table is empty and the page says why.
	if _, ok := d.ids["no-sources"]; len(d.sourceRows) != 0 || !ok {
		t.Errorf("sources rows %q (note present: %v), want none and the note", d.sourceRows, ok)
	}
	if d.svgs != 1 {
		t.Fatalf("%d svg elements, want 1 (the chart)", d.svgs)
	}
	n := d.dataSamples
	// One sample at start and one per 2 s: no more than the run allows,
	// and at least two.
	if maxN := int(after/(2*time.Second)) + 1; n < 2 || n > maxN {
		t.Errorf("chart holds %d samples after %v–%v of gnomond, want 2…%d", n, before.Round(time.Millisecond),
			after.Round(time.Millisecond), maxN)
	}
	if !strings.HasPrefix(d.ids["history"], strconv.Itoa(n)+" samples") {
		t.Errorf("history note %q does not say %d samples", d.ids["history"], n)
	}
	for _, class := range []string{"offset", "bound-upper", "bound-lower"} {
		if got := d.vertices[class] + d.unsync; got != n {
			t.Errorf("%s: %d vertices + %d unsynchronised marks, want %d (the samples)", class,
				d.vertices[class], d.unsync, n)
		}
	}

	shot := filepath.Join(dir, "status.png")
	out = runChromium(t, pair.Cli, dir, "chromium-screenshot", filepath.Join(dir, "screenshot.out"), 90*time.Second,
		"--screenshot="+shot, "--window-size=1200,900", url)
	st, err := screenshotStats(shot)
	if err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
	t.Logf("screenshot: %dx%d, %d colours, most common colour %.0f%% of pixels, %d error-bound blue pixels",
		st.w, st.h, st.colours, 100*st.dominantShare, st.boundBlue)
	if st.w != 1200 || st.h != 900 {
		t.Errorf("screenshot %dx%d, want 1200x900", st.w, st.h)
	}
	// A blank or nearly blank page has a handful of colours and one
	// covering almost everything; text and the chart's antialiased lines
	// give hundreds.
	if st.colours < 64 || st.dominantShare > 0.9 {
		t.Errorf("screenshot looks blank: %d colours, the most common %.0f%% of pixels", st.colours, 100*st.dominantShare)
	}
	if st.boundBlue < 50 {
		t.Errorf("screenshot: %d pixels of the error bound's blue, want ≥ 50 (the chart's lines)", st.boundBlue)
	}
	if keep := os.Getenv("GNOMON_STATUS_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, mustRead(t, shot), 0o644); err != nil {
			t.Errorf("keep screenshot: %v", err)
		}
	}
	s.stop(t)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
