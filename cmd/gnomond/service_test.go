package main

import (
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/internal/privdrop"
	"github.com/gnomon-time/gnomon/report"
)

// Which capabilities which configuration keeps after start-up. Steering
// CLOCK_REALTIME is tested here only, through the plan: no test runs a
// gnomond that steers the host clock.
func TestCapabilityPlanByConfig(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		keep privdrop.Set
	}{
		{"embedded default: virtual clock, local source", "", 0},
		{"virtual clock from ntp", "sources:\n  - ntp: {address: 192.0.2.1}\n", 0},
		{"clock.mode none", "clock: {mode: none}\n", 0},
		{"clock.mode system without sources steers nothing", "clock: {mode: system}\n", 0},
		{"clock.mode system with a local source only", "clock: {mode: system}\nsources:\n  - local: {stratum: 10}\n", 0},
		{"clock.mode system from ntp", "clock: {mode: system}\nsources:\n  - ntp: {address: 192.0.2.1}\n",
			privdrop.SetOf(privdrop.CapSysTime)},
		{"clock.mode system from a PHC", "clock: {mode: system}\nsources:\n  - phc: {device: /dev/ptp0}\n",
			privdrop.SetOf(privdrop.CapSysTime)},
		{"virtual clock from a PHC: steered through its fd", "sources:\n  - phc: {device: /dev/ptp0}\n", 0},
		{"kernel PPS gnss source (PPS_SETPARAMS)", "sources:\n  - gnss:\n      pps: {source: kernel, device: /dev/pps0}\n      time_of_day: {source: gpsd}\n",
			privdrop.SetOf(privdrop.CapSysTime)},
		{"process.user changes nothing in the plan", "process: {user: nobody}\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("test configuration invalid: %v", err)
			}
			p := privdrop.PlanFor(capNeeds(cfg))
			if p.Keep != tt.keep {
				t.Errorf("keeps %s, want %s", p.Keep, tt.keep)
			}
			if len(p.Reasons) != len(p.Keep.Caps()) {
				t.Errorf("reasons %v for %s", p.Reasons, p.Keep)
			}
		})
	}
}

func TestStatusLine(t *testing.T) {
	tests := []struct {
		name string
		t    report.Tracking
		ok   bool
		want string
	}{
		{"no report yet", report.Tracking{}, false, "not synchronized"},
		{"unsynchronised", report.Tracking{Mode: report.SyncUnsynchronised}, true, "not synchronized"},
		{"local", report.Tracking{Mode: report.SyncLocal, Synchronized: true, Stratum: 10, ErrorBound: 3 * time.Microsecond},
			true, "local, stratum 10, error bound ±3µs"},
		{"locked", report.Tracking{Mode: report.SyncLocked, Synchronized: true, RefName: "192.0.2.1", Stratum: 2,
			LastOffset: -1500 * time.Nanosecond, ErrorBound: 250 * time.Microsecond},
			true, "locked to 192.0.2.1, stratum 2, last offset -1.5µs, error bound ±250µs"},
		{"holdover", report.Tracking{Mode: report.SyncHoldover, Synchronized: true, RefName: "gnss:GPS", Stratum: 1,
			LastOffset: 20 * time.Nanosecond, ErrorBound: time.Millisecond},
			true, "holdover to gnss:GPS, stratum 1, last offset +20ns, error bound ±1ms"},
	}
	for _, tt := range tests {
		if got := statusLine(tt.t, tt.ok); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
