package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/report"
)

// A fake /ptp/status whose sent Syncs grow by 8 per reading, 0.5 s apart
// on its clock.
func ptpStatusServer(t *testing.T) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ptp/status" {
			http.NotFound(w, r)
			return
		}
		k := n.Add(1)
		st := report.PTPStatus{At: at.Add(time.Duration(k) * 500 * time.Millisecond), ClockIdentity: "02a0b0.fffe.c0d0e0",
			ClockClass: 6, ClockAccuracy: 0x22, TimeSource: 0x20, UTCOffset: 37, UTCOffsetValid: true, TimeTraceable: true,
			Stats: report.PTPStats{Clients: 1,
				Sent:     []report.LabelCount{{Label: "sync", Count: uint64(8 * k)}, {Label: "announce", Count: uint64(k)}},
				Received: []report.LabelCount{{Label: "answered", Count: uint64(4 * k)}, {Label: "malformed", Count: 0}}},
			Grants: []report.PTPGrant{
				{Client: netip.MustParseAddrPort("10.0.0.2:320"), PortID: "aabbcc.fffe.ddeeff-1", Type: "sync", LogInterval: -3, Expires: at.Add(60 * time.Second)},
				{Client: netip.MustParseAddrPort("10.0.0.2:320"), PortID: "aabbcc.fffe.ddeeff-1", Type: "announce", LogInterval: 1, Expires: at.Add(30 * time.Second)},
			}}
		json.NewEncoder(w).Encode(st)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestPTPStatus(t *testing.T) {
	srv := ptpStatusServer(t)
	code, out, errOut := runCmd(t, "ptp", "status", "--url", srv.URL, "--interval", "10ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Grandmaster     : 02a0b0.fffe.c0d0e0, domain 0",
		"Clock class     : 6",
		"UTC offset      : 37 s (valid: yes)",
		"Sent            : sync 16.0/s, announce 2.0/s", // 8 Syncs per 0.5 s of the server's clock
		"Received        : answered 8.0/s (8)",
		"10.0.0.2:320                             aabbcc.fffe.ddeeff-1       announce         2s        29s",
		"10.0.0.2:320                             aabbcc.fffe.ddeeff-1       sync           1/8s        59s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Index(out, "announce         2s") > strings.Index(out, "sync           1/8s") {
		t.Errorf("grants not sorted by client and type:\n%s", out)
	}
	code, out, _ = runCmd(t, "ptp", "status", "--url", srv.URL, "--interval", "10ms", "--json")
	var js struct {
		ClockClass     uint8
		Grants         []report.PTPGrant
		RatesPerSecond map[string]float64
	}
	if err := json.Unmarshal([]byte(out), &js); code != 0 || err != nil || js.ClockClass != 6 || len(js.Grants) != 2 || js.RatesPerSecond["sent_sync"] != 16 {
		t.Errorf("--json: exit %d, %v, %+v\n%s", code, err, js, out)
	}
	// No grandmaster there: a clear error, exit 1.
	code, _, errOut = runCmd(t, "ptp", "status", "--url", srv.URL+"/nothing", "--interval", "10ms")
	if code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("missing endpoint: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCmd(t, "ptp", "status", "--interval", "0s"); code != 2 {
		t.Errorf("--interval 0: exit %d, want 2 (usage)", code)
	}
}
