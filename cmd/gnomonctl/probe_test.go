package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/probe/probetest"
)

func TestProbeExitCodes(t *testing.T) {
	good4 := probetest.Start(t, "udp4", probetest.Server{State: probetest.Good()})
	good6 := probetest.Start(t, "udp6", probetest.Server{State: probetest.Good()})
	off := probetest.Start(t, "udp6", probetest.Server{State: probetest.Good(), Shift: 50 * time.Millisecond})
	unsync := probetest.Start(t, "udp4", probetest.Server{State: clock.Unsynchronised(-20)})
	silent := probetest.Start(t, "udp4", probetest.Server{Silent: true})
	tests := []struct {
		name string
		args []string
		code int
		line string // status line prefix
	}{
		{"both good", []string{good4, good6}, 0, "NTP OK: 2 OK; max |offset| "},
		{"50ms over default warn", []string{good4, off}, 1, "NTP WARNING: 1 OK, 1 WARNING; " + off + ": |offset| "},
		{"50ms over crit", []string{good6, off, "--crit", "20ms"}, 2, "NTP CRITICAL: 1 OK, 1 CRITICAL; " + off},
		{"50ms under raised limits", []string{off, "--warn", "200ms", "--crit", "1s"}, 0, "NTP OK: 1 OK"},
		{"unsynchronised", []string{good4, unsync}, 2, "NTP CRITICAL: 1 OK, 1 CRITICAL; " + unsync + ": unsynchronised (LI 3, stratum 0)"},
		{"silent", []string{good4, silent, "--timeout", "300ms"}, 3, "NTP UNKNOWN: 1 OK, 1 UNKNOWN; " + silent + ": no reply: timeout (300ms)"},
		{"silent and warning", []string{silent, off, "--timeout", "300ms"}, 1, "NTP WARNING: 1 WARNING, 1 UNKNOWN; " + off},
		{"root distance", []string{good4, "--crit-distance", "1us"}, 2, "NTP CRITICAL: 1 CRITICAL; " + good4 + ": root distance "},
		{"count", []string{good4, "--count", "3", "--interval", "10ms"}, 0, "NTP OK: 1 OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runCmd(t, append([]string{"probe"}, tt.args...)...)
			if code != tt.code || !strings.HasPrefix(out, tt.line) || stderr != "" {
				t.Errorf("exit %d, stdout:\n%s\nstderr: %q\nwant exit %d, first line %q", code, out, stderr, tt.code, tt.line)
			}
			servers := 0
			for _, a := range tt.args {
				if strings.HasPrefix(a, "127.0.0.1:") || strings.HasPrefix(a, "[::1]:") {
					servers++
				}
			}
			// One status line, one header, one row per server.
			if n := strings.Count(out, "\n"); n != 2+servers {
				t.Errorf("%d lines for %d servers:\n%s", n, servers, out)
			}
		})
	}
}

func TestProbeJSON(t *testing.T) {
	good := probetest.Start(t, "udp6", probetest.Server{State: probetest.Good()})
	silent := probetest.Start(t, "udp4", probetest.Server{Silent: true})
	code, out, stderr := runCmd(t, "probe", "--json", "--timeout", "200ms", "--count", "2", "--interval", "0s", good, silent)
	var m struct {
		Status   string
		ExitCode int `json:"exit_code"`
		Servers  []struct {
			Target, Address, Status string
			Sent, Replies           int
			Reply                   *struct {
				OffsetNS int64  `json:"offset_ns"`
				RefID    string `json:"refid"`
				Stratum  int
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if code != 3 || m.Status != "UNKNOWN" || m.ExitCode != 3 || stderr != "" || len(m.Servers) != 2 {
		t.Fatalf("exit %d stderr %q:\n%s", code, stderr, out)
	}
	g, s := m.Servers[0], m.Servers[1]
	if g.Target != good || g.Status != "OK" || g.Sent != 2 || g.Replies != 2 || g.Reply == nil || g.Reply.RefID != "0x47505300" || g.Reply.Stratum != 1 ||
		time.Duration(g.Reply.OffsetNS).Abs() > 5*time.Millisecond {
		t.Errorf("good: %+v %+v", g, g.Reply)
	}
	if s.Target != silent || s.Status != "UNKNOWN" || s.Sent != 2 || s.Replies != 0 || s.Reply != nil {
		t.Errorf("silent: %+v", s)
	}
}

func TestProbeUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no server", nil, "at least one HOST[:PORT]"},
		{"bad flag", []string{"127.0.0.1", "--bogus"}, "unknown flag: --bogus"},
		{"bad duration", []string{"127.0.0.1", "--warn", "soon"}, "invalid argument"},
		{"bad host", []string{"bad host"}, `server "bad host"`},
		{"port 0 in address", []string{"127.0.0.1:0"}, "port 0"},
		{"port flag 0", []string{"127.0.0.1", "--port", "0"}, "--port 0"},
		{"warn above crit", []string{"127.0.0.1", "--warn", "2s", "--crit", "1s"}, "--warn 2s is above --crit 1s"},
		{"negative", []string{"127.0.0.1", "--warn-distance", "-1s"}, "--warn-distance -1s"},
		{"count", []string{"127.0.0.1", "--count", "17"}, "--count 17"},
		{"timeout", []string{"127.0.0.1", "--timeout", "0s"}, "--timeout 0s"},
		{"bracket without port", []string{"[::1]"}, `server "[::1]"`},
		{"all problems at once", []string{"bad host", "--count", "0"}, "--count 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runCmd(t, append([]string{"probe"}, tt.args...)...)
			if code != 3 || out != "" || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, "--help") {
				t.Errorf("exit %d stdout %q stderr %q, want 3 and %q", code, out, stderr, tt.want)
			}
		})
	}
}

func TestProbeHelp(t *testing.T) {
	code, out, _ := runCmd(t, "probe", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []string{"0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN", "CRITICAL > WARNING > UNKNOWN > OK",
		"--warn-distance", "--count", "[IPv6]:port", "root distance"} {
		if !strings.Contains(out, s) {
			t.Errorf("help lacks %q", s)
		}
	}
	// gnomonctl's other commands keep exit 2 for usage errors.
	if code, _, _ := runCmd(t, "sim", "--bogus"); code != 2 {
		t.Errorf("sim --bogus: exit %d, want 2", code)
	}
}
