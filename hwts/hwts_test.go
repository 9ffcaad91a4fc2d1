package hwts

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKindString(t *testing.T) {
	tests := []struct {
		k    Kind
		want string
	}{
		{KindNone, "none"},
		{KindDaemon, "daemon"},
		{KindKernel, "kernel"},
		{KindHardware, "hardware"},
		{Kind(9), "kind(9)"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", tt.k, got, tt.want)
		}
	}
	if NumKinds != 4 {
		t.Errorf("NumKinds = %d, want 4", NumKinds)
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{ModeAuto, ModeHardware, ModeSoftware, ModeNone} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	for _, s := range []string{"", "Auto", "hw", "kernel"} {
		if _, err := ParseMode(s); err == nil {
			t.Errorf("ParseMode(%q): no error", s)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := netip.MustParseAddrPort("127.0.0.1:123")
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string // substrings, all must appear; nil = valid
	}{
		{"minimal", Config{Addr: ok}, nil},
		{"v6", Config{Addr: netip.MustParseAddrPort("[::]:0"), DSCP: 46, BatchSize: MaxBatchSize}, nil},
		{"no addr", Config{}, []string{"addr: not set"}},
		{"mapped", Config{Addr: netip.MustParseAddrPort("[::ffff:1.2.3.4]:1")}, []string{"IPv4-mapped"}},
		{"everything wrong", Config{
			Addr: ok, Interface: "a-very-long-interface-name", DSCP: 64, RecvBuffer: -1,
			Timestamping: Mode(7), BatchSize: MaxBatchSize + 1,
		}, []string{"interface", "dscp 64", "recv_buffer -1", "mode(7)", "batch_size 1025"}},
		{"hardware without interface", Config{Addr: ok, Timestamping: ModeHardware}, []string{"needs interface"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, missing %q", err, w)
				}
			}
		})
	}
}

func TestPlanHW(t *testing.T) {
	full := hwCaps{
		soTimestamping: sofTxHardware | sofRxHardware | sofRawHardware | 0x8 | 0x10,
		phcIndex:       0,
		txTypes:        1<<hwtxOff | 1<<hwtxOn,
		rxFilters:      1<<0 | 1<<1 | 1<<12 | 1<<15,
	}
	ptpOnly := full
	ptpOnly.rxFilters = 1<<0 | 1<<12 // e.g. a NIC with only PTP_V2_EVENT
	allOnly := full
	allOnly.rxFilters = 1<<0 | 1<<1
	noTX := full
	noTX.txTypes = 1 << hwtxOff
	noPHC := full
	noPHC.phcIndex = -1
	swOnly := hwCaps{soTimestamping: 0x2 | 0x8 | 0x10, phcIndex: -1}
	unreported := full
	unreported.rxFilters = 0

	tests := []struct {
		name     string
		caps     hwCaps
		cur      hwConfig
		curKnown bool
		need     Traffic
		want     hwPlan
		wantErr  string
	}{
		{"off to ntp_all", full, hwConfig{hwtxOff, FilterNone}, true, TrafficNTP,
			hwPlan{set: true, txType: hwtxOn, rxTry: []RXFilter{FilterNTPAll, FilterAll}}, ""},
		{"keep all set by ptp4l", full, hwConfig{hwtxOn, FilterAll}, true, TrafficNTP,
			hwPlan{set: false, txType: hwtxOn, rxTry: []RXFilter{FilterAll}}, ""},
		{"keep ntp_all", full, hwConfig{hwtxOn, FilterNTPAll}, true, TrafficNTP,
			hwPlan{set: false, txType: hwtxOn, rxTry: []RXFilter{FilterNTPAll}}, ""},
		{"ptp v2 event widened to all only, one-step tx kept", full, hwConfig{2, FilterPTPv2Event}, true, TrafficNTP,
			hwPlan{set: true, txType: 2, rxTry: []RXFilter{FilterAll}}, ""},
		{"rx all but tx off", full, hwConfig{hwtxOff, FilterAll}, true, TrafficNTP,
			hwPlan{set: true, txType: hwtxOn, rxTry: []RXFilter{FilterAll}}, ""},
		{"only ALL supported", allOnly, hwConfig{hwtxOn, FilterPTPv2Event}, true, TrafficNTP,
			hwPlan{set: true, txType: hwtxOn, rxTry: []RXFilter{FilterAll}}, ""},
		{"unknown current", full, hwConfig{hwtxOn, FilterAll}, false, TrafficNTP,
			hwPlan{set: true, txType: hwtxOn, rxTry: []RXFilter{FilterNTPAll, FilterAll}}, ""},
		{"filters unreported: try both", unreported, hwConfig{}, true, TrafficNTP,
			hwPlan{set: true, txType: hwtxOn, rxTry: []RXFilter{FilterNTPAll, FilterAll}}, ""},
		{"ptp-only NIC never gets a ptp filter for ntp", ptpOnly, hwConfig{hwtxOn, FilterPTPv2Event}, true, TrafficNTP, hwPlan{}, "that stamp ntp"},
		{"no tx", noTX, hwConfig{}, true, TrafficNTP, hwPlan{}, "cannot timestamp transmitted"},
		{"no phc", noPHC, hwConfig{}, true, TrafficNTP, hwPlan{}, "no PHC"},
		{"software only (lo, veth)", swOnly, hwConfig{}, true, TrafficNTP, hwPlan{}, "lacks tx/rx/raw hardware"},
		// PTP grandmaster sockets.
		{"ptp: off to ptp v2 event (l4 not offered)", full, hwConfig{hwtxOff, FilterNone}, true, TrafficPTP,
			hwPlan{set: true, txType: hwtxOn, rxTry: []RXFilter{FilterPTPv2Event, FilterAll}}, ""},
		{"ptp: filters unreported: try all three", unreported, hwConfig{}, true, TrafficPTP,
			hwPlan{set: true, txType: hwtxOn, rxTry: []RXFilter{FilterPTPv2L4Event, FilterPTPv2Event, FilterAll}}, ""},
		{"ptp: keep ptp4l's v2 event", full, hwConfig{hwtxOn, FilterPTPv2Event}, true, TrafficPTP,
			hwPlan{set: false, txType: hwtxOn, rxTry: []RXFilter{FilterPTPv2Event}}, ""},
		{"ptp: keep delay_req-only filter", full, hwConfig{hwtxOn, FilterPTPv2L4DelayReq}, true, TrafficPTP,
			hwPlan{set: false, txType: hwtxOn, rxTry: []RXFilter{FilterPTPv2L4DelayReq}}, ""},
		{"ptp: ntp_all set by our ntp sockets widened to all", full, hwConfig{hwtxOn, FilterNTPAll}, true, TrafficPTP,
			hwPlan{set: true, txType: hwtxOn, rxTry: []RXFilter{FilterAll}}, ""},
		{"ptp: ptp-only NIC", ptpOnly, hwConfig{hwtxOff, FilterNone}, true, TrafficPTP,
			hwPlan{set: true, txType: hwtxOn, rxTry: []RXFilter{FilterPTPv2Event}}, ""},
		{"ptp: ptp-only NIC with ntp_all set cannot serve both", ptpOnly, hwConfig{hwtxOn, FilterNTPAll}, true, TrafficPTP, hwPlan{}, "that stamp ptp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planHW(tt.caps, tt.cur, tt.curKnown, tt.need)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("planHW() err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("planHW() err = %v", err)
			}
			if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(hwPlan{})); d != "" {
				t.Errorf("planHW() (-want +got):\n%s", d)
			}
			for _, f := range got.rxTry {
				if !f.Covers(tt.need) {
					t.Errorf("plan requests filter %s that does not cover %s", f, tt.need)
				}
			}
		})
	}
}

func TestRXFilterString(t *testing.T) {
	tests := map[RXFilter]string{FilterUnknown: "unknown", FilterNone: "none", FilterAll: "all",
		FilterNTPAll: "ntp_all", 12: "ptp(12)", 99: "filter(99)"}
	for f, want := range tests {
		if got := f.String(); got != want {
			t.Errorf("RXFilter(%d).String() = %q, want %q", int32(f), got, want)
		}
	}
}
