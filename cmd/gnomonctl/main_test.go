package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/gnomon-time/gnomon/internal/cli"
)

// responder answers NTP client requests on loopback like a basic server.
func responder(t *testing.T) string {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		var ts uint64 = 0xE000_0000_0000_0001
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n < 48 {
				continue
			}
			ts += 1 << 20
			rep := make([]byte, 48)
			rep[0], rep[1] = buf[0]&0x38|4, 1
			copy(rep[24:32], buf[40:48])
			binary.BigEndian.PutUint64(rep[32:], ts)
			binary.BigEndian.PutUint64(rep[40:], ts+1)
			_, _ = conn.WriteToUDPAddrPort(rep, from)
		}
	}()
	return conn.LocalAddr().String()
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBenchNTPJSON(t *testing.T) {
	addr := responder(t)
	code, out, stderr := runCmd(t, "bench", "ntp", "--server", addr, "--rate", "2000",
		"--count", "500", "--duration", "20s", "--clients", "4", "--workers", "1", "--json")
	if code != cli.ExitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	sent, _ := m["sent"].(float64)
	if sent != 500 || m["lost"] != float64(0) || m["valid"] != sent || m["server"] != addr {
		t.Errorf("sent %v lost %v valid %v server %v", m["sent"], m["lost"], m["valid"], m["server"])
	}
}

func TestBenchNTPTable(t *testing.T) {
	addr := responder(t)
	code, out, stderr := runCmd(t, "bench", "ntp", "--server", addr, "--max", "--outstanding", "4",
		"--count", "300", "--duration", "20s", "--clients", "2", "--workers", "1", "--xleave")
	if code != cli.ExitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	for _, s := range []string{"max (4 outstanding/socket), interleaved", "received", "rtt p99 / max", "interleaved"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestBenchNTPNoServerFails(t *testing.T) {
	// A closed loopback port: every request draws ICMP port unreachable.
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	code, _, stderr := runCmd(t, "bench", "ntp", "--server", addr, "--rate", "100",
		"--duration", "100ms", "--drain", "50ms", "--workers", "1")
	if code != cli.ExitFailure || !strings.Contains(stderr, "no reply") {
		t.Errorf("exit %d stderr %q, want %d and 'no reply'", code, stderr, cli.ExitFailure)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no server", []string{"bench", "ntp", "--rate", "10"}, "--server is required"},
		{"no rate", []string{"bench", "ntp", "--server", "127.0.0.1:123"}, "exactly one"},
		{"both", []string{"bench", "ntp", "--server", "127.0.0.1:123", "--rate", "5", "--max"}, "exactly one"},
		{"bad flag", []string{"bench", "ntp", "--bogus"}, "unknown flag"},
		{"bad duration", []string{"bench", "ntp", "--server", "127.0.0.1:123", "--rate", "5", "--duration", "11m"}, "duration"},
		{"hostname", []string{"bench", "ntp", "--server", "localhost:123", "--rate", "5"}, "not an IP"},
		{"public", []string{"bench", "ntp", "--server", "192.0.2.1:123", "--rate", "5"}, "allow-public"},
		{"bad source", []string{"bench", "ntp", "--server", "127.0.0.1:123", "--rate", "5", "--source", "x"}, "--source"},
		{"ptp no server", []string{"bench", "ptp", "--clients", "2"}, "--server is required"},
		{"ptp bad rate", []string{"bench", "ptp", "--server", "127.0.0.1", "--sync-rate", "3"}, "power of two"},
		{"ptp v6", []string{"bench", "ptp", "--server", "::1"}, "IPv4"},
		{"ptp public", []string{"bench", "ptp", "--server", "192.0.2.1"}, "allow-public"},
		{"ptp bad prefix", []string{"bench", "ptp", "--server", "127.0.0.1", "--source-prefix", "10.1.0.0/30", "--clients", "3"}, "host addresses"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"extra arg", []string{"bench", "ntp", "extra"}, "unknown command or argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, tt.args...)
			if code != cli.ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d stderr %q, want %d and %q", code, stderr, cli.ExitUsage, tt.want)
			}
		})
	}
}

func TestParseServer(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:11123", "127.0.0.1:11123"},
		{"10.0.0.1", "10.0.0.1:123"},
		{"[::1]:5", "[::1]:5"},
		{"::1", "[::1]:123"},
	}
	for _, tt := range tests {
		got, err := parseServer(tt.in)
		if err != nil || got.String() != tt.want {
			t.Errorf("parseServer(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "host:123", "1.2.3.4:x", "[::1]"} {
		if _, err := parseServer(bad); err == nil {
			t.Errorf("parseServer(%q) accepted", bad)
		}
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := runCmd(t, "--help")
	if code != cli.ExitOK || !strings.Contains(out, "bench") {
		t.Errorf("exit %d, help %q", code, out)
	}
}

func TestBenchPTPNoServer(t *testing.T) {
	// Nothing listens on the ports: the run ends on time, prints its table
	// and fails with a hint about ptp4l's fixed reply ports.
	code, out, stderr := runCmd(t, "bench", "ptp", "--server", "127.0.0.1", "--event-port", "9", "--general-port", "10",
		"--clients", "3", "--duration", "1s", "--drain", "100ms", "--json")
	if code == cli.ExitOK || !strings.Contains(stderr, "no PTP message") || !strings.Contains(stderr, "--source-prefix") {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
	var res struct {
		Clients int `json:"clients"`
		Grants  struct {
			Requested uint64 `json:"requested"`
		} `json:"grants"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Clients != 3 || res.Grants.Requested < 3 {
		t.Fatalf("json %q: %v %+v", out, err, res)
	}
}
