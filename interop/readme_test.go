package interop

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// The README is a contract: every command in its "Two commands" and "A short
// tour" sections, and every query command gnomond prints at start-up, runs
// here against a gnomond started the way the README says (`make run`, in a
// network namespace of its own so that its loopback ports, 123 included,
// are free), and its output is checked for what the README promises. A
// README edit that misspells a flag, or a command the README no longer
// matches, fails the build.

// readmeExpect is what one command's output must show. Commands are matched
// by prefix (the longest wins); a README command without an entry fails the
// test, so that a new command comes with its promise.
type readmeExpect struct {
	prefix  string
	want    []string // regexps the output must match
	wantNot []string // substrings it must not contain
	// dry runs `make -n` instead (make test cannot run inside itself).
	dry bool
}

var readmeExpects = []readmeExpect{
	// make run is what started the server: its log is checked separately.
	{prefix: "make run"},
	{prefix: "make test", dry: true, want: []string{`install-peers\.sh`, `go test .*-race`, `go test .*\./interop`}},
	// ntpdig: offset ± error, stratum 10 (the local reference), leap.
	{prefix: "ntpdig 127.0.0.1", want: []string{`[+-]\d+\.\d+ \+/- \d+\.\d+ 127\.0\.0\.1 s10 no-leap`}},
	{prefix: "chronyd -Q -x", want: []string{`System clock wrong by [+-]?\d+\.\d+ seconds`}},
	{prefix: "go run ./cmd/gnomonctl bench ntp",
		want: []string{
			`(?m)^received\s+[1-9]\d*$`,
			`(?m)^valid / invalid / kod / late\s+[1-9]\d* / 0 / 0 / \d+$`,
			`(?m)^rtt min / p50 / p90\s+\d+\.\d µs / \d+\.\d µs / \d+\.\d µs$`,
		},
		wantNot: []string{"the generator limited this run"}},
	{prefix: "curl -s http://127.0.0.1:11124/metrics", want: []string{`(?m)^gnomon_sync_stratum 10$`, `(?m)^gnomon_build_info\{`}},
	// The control socket: chronyc and gnomonctl read the local reference.
	{prefix: "chronyc -h /run/gnomond/gnomond.sock tracking", want: []string{`(?m)^Reference ID\s+: 7F7F0101 \(\)$`, `(?m)^Stratum\s+: 10$`}},
	{prefix: "go run ./cmd/gnomonctl sources -v", want: []string{`(?m)^MS Name/IP address\s+Stratum Poll Reach LastRx Last sample`}},
	{prefix: "go run ./cmd/gnomonctl probe 127.0.0.1:11123", want: []string{`(?m)^NTP OK: 1 OK`, `(?m)^127\.0\.0\.1:11123 .* OK .* 10 +none +7F7F0101`}},
	{prefix: "go run ./cmd/gnomonctl sim --list", want: []string{`(?m)^ntp-4-servers\b`}},
	{prefix: "go run ./cmd/gnomonctl sim ntp-4-servers",
		want: []string{`scenario ntp-4-servers, servo kalman, seed 2`, `max \|TE\| \d`, `(?m)^steps taken:\s+\d+`}},
}

// readmeCommands returns the commands of the README's fenced sh blocks in
// the named sections, without their trailing comments.
func readmeCommands(t *testing.T, readme string, sections ...string) []string {
	t.Helper()
	var cmds []string
	for _, sec := range sections {
		i := strings.Index(readme, "\n## "+sec+"\n")
		if i < 0 {
			t.Fatalf("README.md has no section %q", sec)
		}
		body := readme[i+len(sec)+5:]
		if j := strings.Index(body, "\n## "); j >= 0 {
			body = body[:j]
		}
		in := false
		n := 0
		for _, l := range strings.Split(body, "\n") {
			switch {
			case strings.HasPrefix(l, "```sh"):
				in = true
			case strings.HasPrefix(l, "```"):
				in = false
			case in:
				l = strings.TrimSpace(readmeComment.Split(l, 2)[0])
				if l != "" {
					cmds = append(cmds, l)
					n++
				}
			}
		}
		if n == 0 {
			t.Fatalf("README.md section %q has no commands", sec)
		}
	}
	return cmds
}

// readmeComment is the start of a trailing shell comment.
var readmeComment = regexp.MustCompile(`\s+#\s`)

// expectFor returns the longest-prefix expectation of cmd.
func expectFor(cmd string) (readmeExpect, bool) {
	var best readmeExpect
	ok := false
	for _, e := range readmeExpects {
		if strings.HasPrefix(cmd, e.prefix) && len(e.prefix) > len(best.prefix) {
			best, ok = e, true
		}
	}
	return best, ok
}

func TestReadmeCommandsParse(t *testing.T) {
	readme := "# x\n\n## Two commands\n\n```sh\nmake run    # start\n```\n\n## A short tour\n\n```sh\n" +
		"curl -s http://x/metrics | grep ^gnomon_\nntpdig 127.0.0.1  # ntpsec\n```\n\n## Next\n\n```sh\nnot this\n```\n"
	got := readmeCommands(t, readme, "Two commands", "A short tour")
	want := []string{"make run", "curl -s http://x/metrics | grep ^gnomon_", "ntpdig 127.0.0.1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands %q, want %q", got, want)
	}
	if e, ok := expectFor("go run ./cmd/gnomonctl sim --list"); !ok || e.prefix != "go run ./cmd/gnomonctl sim --list" {
		t.Errorf("expectation for sim --list: %+v", e)
	}
}

// queryHints returns the commands gnomond's start-up log says to query it with.
var queryHintRE = regexp.MustCompile(`query it with" command=("(?:[^"\\]|\\.)*")`)

func queryHints(t *testing.T, log string) []string {
	t.Helper()
	var out []string
	for _, m := range queryHintRE.FindAllStringSubmatch(log, -1) {
		c, err := strconv.Unquote(m[1])
		if err != nil {
			t.Fatalf("query hint %s: %v", m[1], err)
		}
		out = append(out, c)
	}
	return out
}

func TestReadmeContract(t *testing.T) {
	requirePeers(t)
	netns.Require(t, "make", "curl", "go")
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	cmds := readmeCommands(t, readme, "Two commands", "A short tour")
	for _, c := range cmds {
		if _, ok := expectFor(c); !ok {
			t.Errorf("README command %q has no expectation in readmeExpects: say what it promises", c)
		}
	}
	if t.Failed() {
		return
	}

	pair := suite.h.NewPairT(t)
	sh := func(cmd string) []string { return []string{"sh", "-c", "cd " + strconv.Quote(root) + " && " + cmd} }
	// gnomond exactly as the README starts it, on the embedded default.
	run, err := pair.Srv.Start(netns.Spec{Name: "make run", Args: sh("exec make run"), Limit: 6 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := run.Stop(); err != nil {
			t.Errorf("stop make run: %v", err)
		}
		if t.Failed() {
			t.Logf("make run output:\n%s", run.Output())
		}
	})
	// The log ends with one query command per address (three as root).
	deadline := time.Now().Add(4 * time.Minute)
	for len(queryHints(t, run.Output())) < 3 {
		select {
		case <-run.Done():
			t.Fatalf("make run exited: %v\n%s", run.Err(), run.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("make run: no three query commands in the log within 4 min:\n%s", run.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	log := run.Output()
	// What the README says make run does.
	for _, want := range []string{
		`msg="serving NTP" addr=127.0.0.1:11123`, `msg="serving NTP" addr=[::1]:11123`, `msg="serving NTP" addr=127.0.0.1:123`,
		`url=http://127.0.0.1:11124/metrics`, `msg="local source" stratum=10`, `clock_mode=virtual`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("make run log lacks %q", want)
		}
	}
	hints := queryHints(t, log)
	// One chronyd query command everywhere: the one gnomond prints for
	// 127.0.0.1:11123 is the one README.md and docs/ show.
	var chronyHint string
	for _, h := range hints {
		if strings.Contains(h, "'server 127.0.0.1 port 11123 ") {
			chronyHint = h
		}
	}
	if chronyHint == "" {
		t.Fatalf("no chronyd query command for 127.0.0.1:11123 in %q", hints)
	}
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, f := range append(docs, filepath.Join(root, "README.md")) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`chronyd [^\n\x60]*'server 127\.0\.0\.1 port 11123 [^']*'`).FindAllString(string(b), -1) {
			if m != chronyHint {
				t.Errorf("%s shows %q; gnomond prints %q", filepath.Base(f), m, chronyHint)
			}
		}
	}

	// Every command, README's and gnomond's own, as a user would type it.
	for _, c := range append(cmds, hints...) {
		e, ok := expectFor(c)
		if !ok {
			t.Errorf("start-up query command %q has no expectation", c)
			continue
		}
		if e.prefix == "make run" {
			continue
		}
		t.Run(c, func(t *testing.T) {
			args := sh(c)
			if e.dry {
				args = sh(strings.Replace(c, "make ", "make -n ", 1))
			}
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			start := time.Now()
			out, err := pair.Srv.Run(ctx, netns.Spec{Name: c, Args: args, Limit: 150 * time.Second})
			t.Logf("%s: %v", c, time.Since(start).Round(time.Millisecond))
			if err != nil {
				t.Fatalf("%s: %v\n%s", c, err, out)
			}
			for _, w := range e.want {
				if !regexp.MustCompile(w).MatchString(out) {
					t.Errorf("%s: output does not match %s:\n%s", c, w, out)
				}
			}
			for _, w := range e.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("%s: output contains %q:\n%s", c, w, out)
				}
			}
		})
	}
	select {
	case <-run.Done():
		t.Errorf("gnomond (make run) exited during the tour: %v", run.Err())
	default:
	}
}

// installPkgsRE finds the package list of scripts/install-peers.sh.
var installPkgsRE = regexp.MustCompile(`(?m)^pkgs=\(([^)]*)\)`)

// The README names exactly the packages install-peers.sh installs, and
// every tool the script's header says it provides is there after it ran
// (make test runs it before this suite).
func TestReadmeInstallPeers(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(root, "scripts", "install-peers.sh"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := installPkgsRE.FindSubmatch(script)
	if m == nil {
		t.Fatal("install-peers.sh: no pkgs=(...) line")
	}
	pkgs := strings.Fields(string(m[1]))
	rm := regexp.MustCompile(`installs the peers it needs \(([^)]*)\)`).FindSubmatch(readme)
	if rm == nil {
		t.Fatal("README.md does not list the packages make test installs")
	}
	var listed []string
	for _, p := range strings.Split(string(rm[1]), ",") {
		listed = append(listed, strings.TrimSpace(p))
	}
	if strings.Join(listed, " ") != strings.Join(pkgs, " ") {
		t.Errorf("README lists %q; install-peers.sh installs %q", listed, pkgs)
	}
	if os.Getuid() != 0 {
		t.Skip("not root: install-peers.sh did not run")
	}
	// The tools the script's header says it provides.
	for _, tool := range []string{"chronyd", "chronyc", "ntpdig", "ptp4l", "pmc", "ip", "ping", "setpriv", "curl", "ethtool", "chromium", "prometheus", "promtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Errorf("%s: not installed after install-peers.sh: %v", tool, err)
		}
	}
}

// The README says `--control-socket PATH` is where chronyc reaches gnomond:
// gnomond started with it serves that socket, and chronyc reads it.
func TestReadmeControlSocket(t *testing.T) {
	requirePeers(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile("(?s)`--control-socket PATH`.{0,120}`chronyc -h PATH`").Match(readme) {
		t.Errorf("README no longer says chronyc reaches gnomond at --control-socket PATH")
	}
	pair := suite.h.NewPairT(t)
	sock := filepath.Join(gnomondDir(t, "readme-ctl"), "gnomond.sock")
	p, err := pair.Srv.Start(netns.Spec{Name: "gnomond", Args: []string{gnomondBinary(t),
		"--ntp-listen", "127.0.0.1:11123", "--metrics-listen", "", "--control-socket", sock},
		Limit: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stop gnomond: %v", err)
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.Output(), "serving control socket") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := pair.Srv.Run(ctx, netns.Spec{Name: "chronyc", Args: []string{"chronyc", "-h", sock, "tracking"}, Limit: 15 * time.Second})
	if err != nil || !regexp.MustCompile(`(?m)^Stratum\s+: 10$`).MatchString(out) {
		t.Errorf("chronyc -h %s tracking: %v\n%s\ngnomond:\n%s", sock, err, out, p.Output())
	}
}
