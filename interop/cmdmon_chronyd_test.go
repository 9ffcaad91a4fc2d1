package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// TestGnomonctlAgainstChronyd talks to a real chronyd (-x, CAP_SYS_TIME
// dropped, `local stratum 7`, one unreachable server) over its Unix command
// socket: gnomonctl tracking, sources and serverstats --json must parse and
// agree with `chronyc -c` on values that do not move (reference ID,
// stratum, leap status, the source's address, mode and state, NTP packet
// counts), and the text of tracking must match chronyc's field names.
func TestGnomonctlAgainstChronyd(t *testing.T) {
	requirePeers(t)
	ctl := gnomonctlBinary(t)
	pair := suite.h.NewPairT(t)
	dir := stateDir(t, "chronyd-ctl")
	p := startChronyd(t, pair.Srv, dir, "chronyd-ctl", "chronyd", 60*time.Second,
		[]string{"local stratum 7", fmt.Sprintf("server %s iburst", pair.CliAddr)}, nil)
	defer func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stop chronyd: %v", err)
		}
	}()
	sock := filepath.Join(dir, "chronyd.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := pair.Srv.Run(ctx, netns.Spec{Name: name, Args: args, Limit: 15 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	chronycCSV := func(cmd string) []string {
		t.Helper()
		return strings.Split(strings.TrimSpace(run("chronyc", "chronyc", "-c", "-h", sock, cmd)), ",")
	}
	// The local reference takes over once chronyd has given up on the
	// server being selectable: wait for stratum 7 (bounded).
	var tr []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.Done():
			t.Fatalf("chronyd exited: %v\n%s", p.Err(), p.Output())
		default:
		}
		// Until chronyd has made its socket, chronyc fails: retry.
		out, err := pair.Srv.Run(ctx, netns.Spec{Name: "chronyc", Args: []string{"chronyc", "-c", "-h", sock, "tracking"}, Limit: 15 * time.Second})
		tr = strings.Split(strings.TrimSpace(out), ",")
		if err == nil && len(tr) > 2 && tr[2] == "7" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chronyd did not reach stratum 7 within 30 s: %v", tr)
		}
		time.Sleep(500 * time.Millisecond)
	}

	var js struct {
		ReferenceID   string  `json:"reference_id"`
		ReferenceName string  `json:"reference_name"`
		Stratum       int     `json:"stratum"`
		LeapStatus    string  `json:"leap_status"`
		SkewPPM       float64 `json:"skew_ppm"`
	}
	out := run("gnomonctl", ctl, "--host", sock, "tracking", "--json")
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("tracking --json: %v\n%s", err, out)
	}
	// chronyc -c tracking: refid, name, stratum, ref time, ..., leap status last.
	if js.ReferenceID != tr[0] || js.ReferenceName != tr[1] || strconv.Itoa(js.Stratum) != tr[2] ||
		!strings.EqualFold(strings.ReplaceAll(js.LeapStatus, "_", " "), tr[len(tr)-1]) {
		t.Errorf("gnomonctl tracking --json %+v disagrees with chronyc -c tracking %v", js, tr)
	}
	t.Logf("tracking: chronyc -c %v; gnomonctl --json %+v", tr, js)

	// Text: the same lines as chronyc's, and the same values on the lines
	// that do not move (the local reference's ID is not printable, so both
	// print an empty name).
	text := run("gnomonctl", ctl, "--host", sock, "tracking")
	want := run("chronyc", "chronyc", "-n", "-h", sock, "tracking")
	gl, wl := strings.Split(text, "\n"), strings.Split(want, "\n")
	if len(gl) != len(wl) {
		t.Errorf("gnomonctl tracking has %d lines, chronyc %d:\n%s\n---\n%s", len(gl), len(wl), text, want)
	} else {
		for i := range gl {
			field := strings.SplitN(wl[i], ":", 2)[0]
			if !strings.HasPrefix(gl[i], field) {
				t.Errorf("line %d: gnomonctl %q, chronyc %q", i+1, gl[i], wl[i])
			}
			switch strings.TrimSpace(field) {
			case "Reference ID", "Stratum", "Leap status":
				if gl[i] != wl[i] {
					t.Errorf("line %d: gnomonctl %q, chronyc %q", i+1, gl[i], wl[i])
				}
			}
		}
	}

	var srcs []struct {
		Name, Address, Mode, State string
		Reachability               int
	}
	out = run("gnomonctl", ctl, "--host", sock, "sources", "--json")
	if err := json.Unmarshal([]byte(out), &srcs); err != nil {
		t.Fatalf("sources --json: %v\n%s", err, out)
	}
	sc := chronycCSV("sources") // ^,?,ADDR,stratum,poll,reach,...
	if len(srcs) != 1 || len(sc) < 6 || srcs[0].Address != sc[2] || srcs[0].Address != pair.CliAddr.String() ||
		srcs[0].Mode != "server" || sc[0] != "^" || (srcs[0].State == "nonselectable") != (sc[1] == "?") || srcs[0].Reachability != 0 || sc[5] != "0" {
		t.Errorf("gnomonctl sources --json %+v disagrees with chronyc -c sources %v", srcs, sc)
	}

	var ss map[string]any
	out = run("gnomonctl", ctl, "--host", sock, "serverstats", "--json")
	if err := json.Unmarshal([]byte(out), &ss); err != nil {
		t.Fatalf("serverstats --json: %v\n%s", err, out)
	}
	st := chronycCSV("serverstats")
	if fmt.Sprint(ss["ntp_packets_received"]) != st[0] || fmt.Sprint(ss["ntp_packets_dropped"]) != st[1] ||
		ss["command_packets_received"].(float64) < 3 {
		t.Errorf("gnomonctl serverstats --json %v disagrees with chronyc -c serverstats %v", ss, st)
	}
	// chronyd 4.3 answers SERVER_STATS3: no timestamp counters.
	if ss["ntp_kernel_rx_timestamps"] != nil {
		t.Logf("serverstats carries timestamp counters (a chronyd newer than 4.3?): %v", ss)
	}
}
