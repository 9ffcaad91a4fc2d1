package privdrop

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlanFor(t *testing.T) {
	tests := []struct {
		name  string
		needs Needs
		keep  Set
		why   []Reason
	}{
		{"virtual clock, unsteered clock or a PHC: nothing", Needs{}, 0, nil},
		{"clock.mode system", Needs{SteerRealtime: true}, SetOf(CapSysTime),
			[]Reason{{CapSysTime, "clock.mode system steers CLOCK_REALTIME"}}},
		{"kernel PPS", Needs{KernelPPS: true}, SetOf(CapSysTime),
			[]Reason{{CapSysTime, "PPS_SETPARAMS on a kernel PPS device"}}},
		{"both", Needs{SteerRealtime: true, KernelPPS: true}, SetOf(CapSysTime),
			[]Reason{{CapSysTime, "clock.mode system steers CLOCK_REALTIME; PPS_SETPARAMS on a kernel PPS device"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PlanFor(tt.needs)
			if p.Keep != tt.keep {
				t.Errorf("Keep = %s, want %s", p.Keep, tt.keep)
			}
			if diff := cmp.Diff(tt.why, p.Reasons); diff != "" {
				t.Errorf("Reasons (-want +got):\n%s", diff)
			}
			// Start-up-only capabilities are never kept.
			for _, c := range []Cap{CapNetBindService, CapNetAdmin, CapNetRaw, CapDACOverride, CapSetuid, CapSetgid, CapSetpcap} {
				if p.Keep.Has(c) {
					t.Errorf("plan keeps %s", c)
				}
			}
		})
	}
}

func TestSetString(t *testing.T) {
	tests := []struct {
		s    Set
		want string
	}{
		{0, "none"},
		{SetOf(CapSysTime), "cap_sys_time"},
		{SetOf(CapSysTime, CapNetAdmin), "cap_net_admin,cap_sys_time"},
		{SetOf(40), "cap_40"},
		{0x2000000, "cap_sys_time"}, // CapEff as /proc prints it
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("%#x: %q, want %q", uint64(tt.s), got, tt.want)
		}
	}
}

const statusRoot = `Name:	gnomond
Umask:	0022
State:	S (sleeping)
Uid:	0	0	0	0
Gid:	0	0	0	0
FDSize:	64
Groups:	0 
NoNewPrivs:	0
CapInh:	0000000000000000
CapPrm:	000001ffffffffff
CapEff:	000001ffffffffff
CapBnd:	000001ffffffffff
CapAmb:	0000000000000000
`

const statusDropped = `Name:	gnomond
Uid:	65534	65534	65534	65534
Gid:	65534	65534	65534	65534
Groups:	
NoNewPrivs:	1
CapInh:	0000000000000000
CapPrm:	0000000002000000
CapEff:	0000000002000000
CapBnd:	0000000002000000
CapAmb:	0000000000000000
`

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Creds
		wantErr bool
	}{
		{"root", statusRoot, Creds{UID: [4]int{}, GID: [4]int{}, Groups: []int{0},
			Prm: 0x1ffffffffff, Eff: 0x1ffffffffff, Bnd: 0x1ffffffffff}, false},
		{"dropped", statusDropped, Creds{UID: [4]int{65534, 65534, 65534, 65534}, GID: [4]int{65534, 65534, 65534, 65534},
			Prm: SetOf(CapSysTime), Eff: SetOf(CapSysTime), Bnd: SetOf(CapSysTime), NoNewPrivs: true}, false},
		{"no CapEff", "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapPrm:\t0\nCapBnd:\t0\n", Creds{}, true},
		{"three uids", "Uid:\t0\t0\t0\n", Creds{}, true},
		{"bad mask", strings.Replace(statusRoot, "CapEff:\t000001ffffffffff", "CapEff:\tzz", 1), Creds{}, true},
		{"empty", "", Creds{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatus([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(statusRoot))
	f.Add([]byte(statusDropped))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseStatus(b)
	})
}
