package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/ntp"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// gnomondStratum is the stratum the tests configure gnomond with; it differs
// from chronyd's `local stratum 1` so that a stratum check cannot pass by
// accident.
const gnomondStratum = 3

// server is an NTP server (gnomond or chronyd) running in pair.Srv.
type server struct {
	kind    string // "gnomond" or "chronyd"
	pair    *netns.Pair
	addr    netip.Addr
	stratum int
	proc    *netns.Proc
	dir     string
}

// hostPort is the server's NTP address as host:port.
func (s *server) hostPort() string { return netip.AddrPortFrom(s.addr, 123).String() }

// gnomondOpts are the parts of gnomond's YAML configuration the tests vary.
type gnomondOpts struct {
	allow, deny []string
	ratelimit   string // YAML mapping body for ntp.ratelimit, "" = off
	// sources is the YAML of the top-level sources: key ("" = a local
	// source at gnomondStratum); stratum the stratum the test expects.
	sources string
	stratum int
	// extra is appended to the configuration verbatim (top-level keys).
	extra string
	// ntpExtra is appended inside the ntp: mapping verbatim (each line
	// indented by two spaces).
	ntpExtra string
	// args are extra command-line arguments.
	args []string
}

// startGnomond runs gnomond in pair.Srv, serving the system clock at
// gnomondStratum on the server address, port 123, and waits until it
// answers (when the client address is allowed).
func startGnomond(t *testing.T, pair *netns.Pair, o gnomondOpts, limit time.Duration) *server {
	t.Helper()
	bin := gnomondBinary(t)
	dir := gnomondDir(t, "gnomond")
	if o.allow == nil {
		o.allow = []string{pair.Prefix.String()}
	}
	var b strings.Builder
	// The file's listen address is overridden by --ntp-listen below; a
	// loopback port keeps it harmless should the override not apply.
	fmt.Fprintf(&b, "ntp:\n  listen: [\"127.0.0.1:11123\"]\n")
	fmt.Fprintf(&b, "  allow: [%s]\n  deny: [%s]\n", quoteList(o.allow), quoteList(o.deny))
	if o.ratelimit != "" {
		fmt.Fprintf(&b, "  ratelimit:\n")
		for _, l := range strings.Split(strings.TrimSpace(o.ratelimit), "\n") {
			fmt.Fprintf(&b, "    %s\n", strings.TrimSpace(l))
		}
	}
	b.WriteString(o.ntpExtra)
	if o.sources == "" {
		o.sources = fmt.Sprintf("sources:\n  - local: {stratum: %d}\n", gnomondStratum)
		o.stratum = gnomondStratum
	}
	b.WriteString(o.sources)
	b.WriteString(o.extra)
	if !strings.Contains(o.extra, "control:") {
		// Each gnomond its own control socket (the default path is one
		// for the whole host); UDP 323 is per namespace anyway.
		fmt.Fprintf(&b, "control:\n  socket: %q\n", filepath.Join(dir, "gnomond.sock"))
	}
	fmt.Fprintf(&b, "log:\n  level: info\n")
	conf := filepath.Join(dir, "gnomond.yaml")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// Listen addresses come from the command-line overrides, the rest from
	// the file: both paths are exercised.
	p, err := pair.Srv.Start(netns.Spec{Name: "gnomond", Args: append([]string{bin, "--config", conf,
		"--ntp-listen", netip.AddrPortFrom(pair.SrvAddr, 123).String(),
		"--metrics-listen", netip.AddrPortFrom(pair.SrvAddr, 9123).String()}, o.args...), Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{kind: "gnomond", pair: pair, addr: pair.SrvAddr, stratum: o.stratum, proc: p, dir: dir}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gnomond config:\n%s\ngnomond output:\n%s", b.String(), p.Output())
		}
	})
	return s
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

// startChronydServer runs chronyd -x as a stratum-1 server of the
// (undisciplined) system clock in pair.Srv (peers.md §5.1).
func startChronydServer(t *testing.T, pair *netns.Pair, limit time.Duration, extra ...string) *server {
	t.Helper()
	dir := stateDir(t, "chronyd-srv")
	conf := strings.Join(append([]string{
		"local stratum 1",
		"allow " + pair.Prefix.String(),
		"bindcmdaddress " + filepath.Join(dir, "chronyd.sock"),
		"cmdport 0",
		"pidfile " + filepath.Join(dir, "chronyd.pid"),
		"driftfile " + filepath.Join(dir, "chrony.drift"),
		"clientloglimit 10000000",
	}, extra...), "\n") + "\n"
	path := filepath.Join(dir, "chronyd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := pair.Srv.Start(netns.Spec{Name: "chronyd-server", Args: []string{"chronyd", "-x", "-d", "-f", path}, Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chronyd server output:\n%s", p.Output())
		}
	})
	return &server{kind: "chronyd", pair: pair, addr: pair.SrvAddr, stratum: 1, proc: p, dir: dir}
}

// waitReady polls the server with beevik/ntp from the client namespace until
// it answers, for at most 10 s.
func (s *server) waitReady(t *testing.T) {
	t.Helper()
	s.waitReadyFrom(t, s.pair.Cli)
}

// waitReadyFrom is waitReady with the query sent from ns (in the discipline
// tests the upstreams live in the client namespace and gnomond polls them
// from the server one). It fails at once if the server exits first, and
// checks that the answering server runs without CAP_SYS_TIME.
func (s *server) waitReadyFrom(t *testing.T, ns *netns.NS) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-s.proc.Done():
			t.Fatalf("%s exited before answering: %v\n%s", s.kind, s.proc.Err(), s.proc.Output())
		default:
		}
		if _, err := beevikQuery(ns, "", s.hostPort(), 200*time.Millisecond); err == nil {
			// Belt and braces (peers.md §2.3): the server runs without
			// CAP_SYS_TIME.
			capEff, err := s.proc.CapEff()
			if err != nil {
				t.Fatalf("%s: %v", s.kind, err)
			}
			if capEff&netns.CapSysTime != 0 {
				t.Fatalf("%s runs with CAP_SYS_TIME (CapEff %#x)", s.kind, capEff)
			}
			return
		} else {
			lastErr = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s on %s did not answer within 10 s: %v", s.kind, s.hostPort(), lastErr)
}

// stop stops the server and checks that it was still running (did not crash
// during the test) and exited cleanly on SIGTERM.
func (s *server) stop(t *testing.T) {
	t.Helper()
	select {
	case <-s.proc.Done():
		t.Errorf("%s exited during the test: %v", s.kind, s.proc.Err())
		return
	default:
	}
	if err := s.proc.Stop(); err != nil {
		t.Errorf("stop %s: %v", s.kind, err)
	}
	if err := s.proc.Err(); err != nil {
		t.Errorf("%s exit after SIGTERM: %v (want status 0)", s.kind, err)
	}
}

// beevikQuery queries addr with github.com/beevik/ntp from inside ns,
// optionally binding the source address laddr.
func beevikQuery(ns *netns.NS, laddr, addr string, timeout time.Duration) (*ntp.Response, error) {
	return ntp.QueryWithOptions(addr, ntp.QueryOptions{
		Timeout:      timeout,
		LocalAddress: laddr,
		Dialer: func(la, ra string) (net.Conn, error) {
			return ns.DialUDP(la, ra)
		},
	})
}

var chronydQRe = regexp.MustCompile(`System clock wrong by ([-+]?[0-9.]+) seconds`)

// parseChronydQ extracts the offset (reference − local, seconds) from the
// output of `chronyd -Q`.
func parseChronydQ(out string) (float64, error) {
	m := chronydQRe.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no %q line in chronyd -Q output:\n%s", "System clock wrong by", out)
	}
	return strconv.ParseFloat(m[1], 64)
}

// chronydQ runs one `chronyd -x -Q` measurement (iburst, maxsamples 4,
// ≈ 4 s) from pair.Cli against the server.
func chronydQ(ctx context.Context, s *server) (float64, string, error) {
	out, err := s.pair.Cli.Run(ctx, netns.Spec{
		Name:  "chronyd -Q",
		Args:  []string{"chronyd", "-x", "-Q", "-t", "10", fmt.Sprintf("server %s iburst maxsamples 4", s.addr)},
		Limit: 15 * time.Second,
	})
	if err != nil {
		return 0, out, fmt.Errorf("chronyd -Q: %w\n%s", err, out)
	}
	off, err := parseChronydQ(out)
	return off, out, err
}

// ntpdigResult is the JSON ntpdig -j prints.
type ntpdigResult struct {
	Offset    float64 `json:"offset"`    // s, reference − local
	Precision float64 `json:"precision"` // s
	Stratum   int     `json:"stratum"`
	Leap      string  `json:"leap"`
	Host      string  `json:"host"`
}

func parseNtpdigJSON(out string) (ntpdigResult, error) {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r ntpdigResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return r, fmt.Errorf("ntpdig -j: %w in %q", err, line)
		}
		return r, nil
	}
	return ntpdigResult{}, fmt.Errorf("ntpdig -j printed no JSON:\n%s", out)
}

// ntpdig runs ntpdig from pair.Cli against the server under SCHED_FIFO
// priority 10. ntpdig takes its timestamps in Python, so on a busy machine
// its offsets mostly measure how long the interpreter waited for a CPU
// (median of 15 against chronyd: +38…+79 µs, round trips ≥ 150 µs); under
// SCHED_FIFO the same measurement gave +26…+31 µs with round trips ≈ 115 µs,
// leaving ntpdig's own fixed Python overhead. The priority only makes the
// instrument steadier; the server is untouched. timeout(1) bounds the run.
func ntpdig(ctx context.Context, s *server, args ...string) (string, error) {
	return s.pair.Cli.Run(ctx, netns.Spec{
		Name:  "ntpdig",
		Args:  append(append([]string{"chrt", "-f", "10", "ntpdig"}, args...), s.addr.String()),
		Limit: 20 * time.Second,
	})
}

// parseColonBlock parses chronyc's "Label<padding>: value" output (one
// block) into a map keyed by the trimmed label.
func parseColonBlock(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, dup := m[k]; !dup && k != "" {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// measurement is one line of chronyd's measurements/rawmeasurements log.
type measurement struct {
	at     time.Time
	tests  string  // "111 111 1111" when every test passed
	offset float64 // s, local − source (chrony's sign)
	delay  float64 // s, peer delay
	mode   string  // e.g. "4I": version 4, interleaved
	txKind string  // local TX timestamp source: D, K or H
	rxKind string
}

func (m measurement) good() bool { return m.tests == "111 111 1111" }

func (m measurement) interleaved() bool { return strings.HasSuffix(m.mode, "I") }

// parseMeasurements parses chrony 4.3's measurements log:
//
//	   Date (UTC) Time     IP Address   L St 123 567 ABCD  LP RP Score    Offset  Peer del. Peer disp.  Root del. Root disp. Refid     MTxRx
//	2026-11-23 17:16:17 10.201.1.1      N  1 111 111 1111  -4 -4 0.00 -3.064e-06  2.206e-06  1.774e-07  0.000e+00  0.000e+00 7F7F0101 4I K K
//
// Header and separator lines are skipped.
func parseMeasurements(text string) ([]measurement, error) {
	var ms []measurement
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 20 || len(f[0]) != 10 || f[0][4] != '-' {
			continue
		}
		at, err := time.Parse("2006-01-02 15:04:05", f[0]+" "+f[1])
		if err != nil {
			return nil, fmt.Errorf("measurements line %d: %w", i+1, err)
		}
		off, err1 := strconv.ParseFloat(f[11], 64)
		del, err2 := strconv.ParseFloat(f[12], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("measurements line %d: bad offset/delay in %q", i+1, line)
		}
		ms = append(ms, measurement{
			at: at, tests: f[5] + " " + f[6] + " " + f[7], offset: off, delay: del,
			mode: f[17], txKind: f[18], rxKind: f[19],
		})
	}
	return ms, nil
}

// ntpdigTimes are t1..t4 from `ntpdig -d` (NTP 32.32 values).
type ntpdigTimes struct{ t1, t2, t3, t4 uint64 }

var ntpdigHexRe = regexp.MustCompile(`org t1: ([0-9a-f]{8})\.([0-9a-f]{8}) rec t2: ([0-9a-f]{8})\.([0-9a-f]{8})\s+xmt t3: ([0-9a-f]{8})\.([0-9a-f]{8}) dst t4: ([0-9a-f]{8})\.([0-9a-f]{8})`)

// parseNtpdigDebug reads the hex t1..t4 lines ntpdig -d prints:
//
//	org t1: eeaef3ed.7fb82800 rec t2: eeaef3ed.7fdddcf9
//	xmt t3: eeaef3ed.7febd52c dst t4: eeaef3ed.80032800
func parseNtpdigDebug(out string) (ntpdigTimes, error) {
	m := ntpdigHexRe.FindStringSubmatch(out)
	if m == nil {
		return ntpdigTimes{}, fmt.Errorf("no t1..t4 in ntpdig -d output:\n%s", out)
	}
	var v [4]uint64
	for i := range v {
		hi, _ := strconv.ParseUint(m[1+2*i], 16, 32)
		lo, _ := strconv.ParseUint(m[2+2*i], 16, 32)
		v[i] = hi<<32 | lo
	}
	return ntpdigTimes{v[0], v[1], v[2], v[3]}, nil
}

// causalityViolation is how far the server's timestamps fall outside the
// client's window: max(t1−t2, t2−t3, t3−t4), or ≤ 0 if t1 ≤ t2 ≤ t3 ≤ t4.
// With one shared clock any positive value is a server error. The
// differences are taken mod 2^64 as signed values (era-safe).
func (n ntpdigTimes) causalityViolation() time.Duration {
	d := func(a, b uint64) time.Duration { // a − b
		x := int64(a - b)
		return time.Duration(float64(x) / (1 << 32) * 1e9)
	}
	return max(d(n.t1, n.t2), d(n.t2, n.t3), d(n.t3, n.t4))
}

// ntpDiff is a − b in seconds for 32.32 values (mod 2^64, signed).
func ntpDiff(a, b uint64) float64 { return float64(int64(a-b)) / (1 << 32) }

// offset is the NTP offset ((t2 − t1) + (t3 − t4)) / 2 in seconds
// (reference − local, as ntpdig prints it).
func (n ntpdigTimes) offset() float64 { return (ntpDiff(n.t2, n.t1) + ntpDiff(n.t3, n.t4)) / 2 }

// delay is the round-trip delay (t4 − t1) − (t3 − t2) in seconds.
func (n ntpdigTimes) delay() float64 { return ntpDiff(n.t4, n.t1) - ntpDiff(n.t3, n.t2) }

func (n ntpdigTimes) String() string {
	return fmt.Sprintf("t1=%016x t2=%016x t3=%016x t4=%016x", n.t1, n.t2, n.t3, n.t4)
}
