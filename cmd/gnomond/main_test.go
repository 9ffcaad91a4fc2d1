package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	beevik "github.com/beevik/ntp"

	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/internal/cli"
	"github.com/gnomon-time/gnomon/internal/syncbuf"
)

// runCLI runs gnomond in-process with args and returns the exit code and
// output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb syncbuf.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code = run(ctx, args, &out, &errb, nil)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigDefault(t *testing.T) {
	code, out, _ := runCLI(t, "config", "default")
	if code != cli.ExitOK {
		t.Fatalf("exit %d", code)
	}
	if out != string(config.DefaultYAML) {
		t.Error("output is not the embedded default")
	}
	c, err := config.Parse([]byte(out))
	if err != nil {
		t.Fatalf("printed default does not parse: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("printed default does not validate: %v", err)
	}
	// What `config default` prints is valid input for `validate`.
	if code, out, errs := runCLI(t, "validate", "--config", writeFile(t, "d.yaml", out)); code != cli.ExitOK || !strings.Contains(out, "OK") {
		t.Errorf("validate of printed default: exit %d, %q %q", code, out, errs)
	}
}

func TestExitCodes(t *testing.T) {
	valid := writeFile(t, "ok.yaml", "ntp:\n  listen: [\"127.0.0.1:12345\"]\n  allow: [10.0.0.0/8]\n")
	invalid := writeFile(t, "bad.yaml", "ntp:\n  listen: [\"127.0.0.1:99999\", \"nope\"]\n  dscp: 70\nlog:\n  format: xml\n")
	unknown := writeFile(t, "unknown.yaml", "ntp:\n  listen: [\"127.0.0.1:1\"]\n  workerz: 2\n")
	badSources := writeFile(t, "sources.yaml", "sources:\n  - ntp: {address: \"a b\", minpoll: 9, maxpoll: 4}\n  - local: {stratum: 0}\nclock: {mode: phc}\n")
	noLeap := writeFile(t, "leap.yaml", "leap: {table: /nonexistent/leap-seconds.list}\n")
	badLeap := writeFile(t, "leapmode.yaml", "leap: {mode: system, smear: {wander: -1, maxfreq: 0, ramp: 3}}\n")
	badSmear := writeFile(t, "smear.yaml", "leap: {mode: smear, smear: {wander: 2000}}\n")
	tests := []struct {
		name       string
		args       []string
		want       int
		wantOut    []string // substrings of stdout
		wantErrOut []string // substrings of stderr
	}{
		{"validate ok", []string{"validate", "--config", valid}, cli.ExitOK,
			[]string{valid + ": OK", "only a run can check: " + config.RunOnlyChecks}, nil},
		{"validate lists every problem", []string{"validate", "--config", invalid}, cli.ExitUsage, nil, []string{
			`ntp.listen[0]: "127.0.0.1:99999": invalid port`,
			`ntp.listen[1]: "nope": not ADDR:PORT`,
			"ntp.dscp: 70: must be 0 … 63",
			`log.format: "xml": must be text or json`,
		}},
		{"validate unknown key", []string{"validate", "--config", unknown}, cli.ExitUsage, nil,
			[]string{"ntp.workerz (line 3): unknown key"}},
		{"validate sources and clock", []string{"validate", "--config", badSources}, cli.ExitUsage, nil, []string{
			`sources[0].ntp.address: "a b"`, "sources[0].ntp.maxpoll: 4: must be ≥ minpoll (9)",
			"sources[1].local.stratum: 0: must be 1 … 15", `clock.mode: "phc": must be virtual, system or none`,
		}},
		{"validate loads the leap table", []string{"validate", "--config", noLeap}, cli.ExitUsage, nil,
			[]string{"leap.table", "/nonexistent/leap-seconds.list"}},
		{"validate leap keys", []string{"validate", "--config", badLeap}, cli.ExitUsage, nil,
			[]string{"leap.smear.ramp (line 1): unknown key"}},
		{"validate leap values", []string{"validate", "--config", writeFile(t, "leapval.yaml",
			"leap: {mode: system, smear: {wander: -1, maxfreq: 0}}\n")}, cli.ExitUsage, nil, []string{
			`leap.mode: "system": the kernel inserts leap seconds only into CLOCK_REALTIME: needs clock.mode system`,
			"leap.smear.wander: -1: must be > 0", "leap.smear.maxfreq: 0: must be > 0",
		}},
		{"validate smear", []string{"validate", "--config", badSmear}, cli.ExitUsage, nil, []string{
			`leap.mode: "smear": a smearing server must learn of leap seconds`, "leap.smear.wander: 2000: must be > 0 and ≤ 1000",
		}},
		{"validate missing file", []string{"validate", "--config", filepath.Join(t.TempDir(), "none.yaml")}, cli.ExitUsage, nil,
			[]string{"none.yaml"}},
		{"validate without --config", []string{"validate"}, cli.ExitUsage, nil, []string{"needs --config", "--help"}},
		{"unknown flag", []string{"--frobnicate"}, cli.ExitUsage, nil, []string{"frobnicate", "--help"}},
		{"unknown subcommand", []string{"serve-everything"}, cli.ExitUsage, nil, []string{"serve-everything"}},
		{"bad --ntp-listen", []string{"--ntp-listen", "127.0.0.1:70000"}, cli.ExitUsage, nil,
			[]string{`ntp.listen[0]: "127.0.0.1:70000": invalid port`}},
		{"bad --log-level", []string{"--log-level", "loud", "--ntp-listen", "127.0.0.1:0"}, cli.ExitUsage, nil,
			[]string{`log.level: "loud"`}},
		{"bad --control-socket", []string{"--control-socket", "rel/path"}, cli.ExitUsage, nil,
			[]string{`control.socket: "rel/path": must be an absolute path`}},
		{"invalid config file at start", []string{"--config", invalid}, cli.ExitUsage, nil, []string{"ntp.dscp: 70"}},
		{"help", []string{"--help"}, cli.ExitOK, []string{"Exit codes"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.want, out, errs)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout %q lacks %q", out, w)
				}
			}
			for _, w := range tt.wantErrOut {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q lacks %q", errs, w)
				}
			}
		})
	}
}

// Issue 14: validate passed a missing interface that a run then refused.
// Both now refuse it the same way, before anything is bound (exit 2).
func TestValidateRefusesWhatARunRefuses(t *testing.T) {
	port := freeUDPPort(t)
	conf := writeFile(t, "if.yaml", "ntp:\n  interface: nosuchif0\n  listen: [\"127.0.0.1:"+itoa(port)+
		"\"]\n  listen_optional: []\nmetrics: {listen: \"\"}\n")
	const want = `ntp.interface: "nosuchif0": no such network interface`
	for _, args := range [][]string{{"validate", "--config", conf}, {"--config", conf}} {
		code, out, errs := runCLI(t, args...)
		if code != cli.ExitUsage {
			t.Errorf("gnomond %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, cli.ExitUsage, out, errs)
		}
		if !strings.Contains(errs, want) {
			t.Errorf("gnomond %s: stderr lacks %q:\n%s", strings.Join(args, " "), want, errs)
		}
		if strings.Contains(out, "OK") || strings.Contains(errs, "serving NTP") {
			t.Errorf("gnomond %s: got past the check:\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errs)
		}
	}
}

// A port that cannot be bound is a runtime failure: exit 1, promptly.
func TestBusyPortExit1(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	code, _, errs := runCLI(t, "--ntp-listen", c.LocalAddr().String(), "--metrics-listen", "", "--control-socket", "")
	if code != cli.ExitFailure {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, cli.ExitFailure, errs)
	}
	if !strings.Contains(errs, c.LocalAddr().String()) {
		t.Errorf("error does not name the address:\n%s", errs)
	}
}

// freeUDPPort returns a port that was free a moment ago on 127.0.0.1.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// In-process daemon: flags override the file, it serves, a reload request
// swaps the ACL, cancelling the context exits 0.
func TestDaemonInProcess(t *testing.T) {
	port := freeUDPPort(t)
	addr := net.JoinHostPort("127.0.0.1", itoa(port))
	conf := writeFile(t, "g.yaml", "ntp:\n  listen: [\"127.0.0.1:1\"]\n  workers: 2\nmetrics:\n  listen: \"\"\n")
	var out, errb syncbuf.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	hup := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", conf, "--ntp-listen", addr, "--log-level", "debug"}, &out, &errb, hup)
	}()
	waitLog(t, &errb, "serving NTP", done)
	r, err := beevik.QueryWithOptions("127.0.0.1", beevik.QueryOptions{Port: port, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("query: %v\n%s", err, errb.String())
	}
	if err := r.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if r.Stratum != 10 {
		t.Errorf("stratum %d, want the default local stratum 10", r.Stratum)
	}

	// Deny 127.0.0.1 (more specific than the allowed 127.0.0.0/8) and reload.
	if err := os.WriteFile(conf, []byte("ntp:\n  listen: [\"127.0.0.1:1\"]\n  workers: 2\n  deny: [127.0.0.1]\nmetrics:\n  listen: \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- os.Interrupt // any value: the channel is the reload request
	waitLog(t, &errb, "configuration reloaded", done)
	if !strings.Contains(errb.String(), `ntp.deny changed" added=[127.0.0.1/32]`) {
		t.Errorf("reload did not log the deny change:\n%s", errb.String())
	}
	if _, err := beevik.QueryWithOptions("127.0.0.1", beevik.QueryOptions{Port: port, Timeout: 300 * time.Millisecond}); err == nil {
		t.Error("denied client still answered after reload")
	}
	cancel()
	select {
	case code := <-done:
		if code != cli.ExitOK {
			t.Errorf("exit %d after cancel, want 0\n%s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop within 10 s of cancel")
	}
}

// waitLog waits (≤ 10 s) until the log contains s; it fails early if the
// daemon exits.
func waitLog(t *testing.T, b *syncbuf.Buffer, s string, done <-chan int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), s) {
		select {
		case code := <-done:
			t.Fatalf("gnomond exited (%d) before logging %q:\n%s", code, s, b.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log within 10 s:\n%s", s, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
