package chronyfmt

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

func TestUnits(t *testing.T) {
	for _, tc := range []struct {
		name, got, want string
	}{
		{"I 0", Interval(0), "   0"},
		{"I 1199", Interval(1199), "1199"},
		{"I 1200", Interval(1200), " 20m"},
		{"I 35999", Interval(35999), "599m"},
		{"I 36000", Interval(36000), " 10h"},
		{"I 345599", Interval(345599), " 95h"},
		{"I 345600", Interval(345600), "  4d"},
		{"I 999d", Interval(86400*999 + 86399), "999d"},
		{"I 1000d", Interval(86400 * 1000), "  2y"},
		{"I never", Interval(Never), "   -"},
		{"S 0", Offset(0), "   0ns"},
		{"S -479ns", Offset(-479e-9), " 479ns"},
		{"S 9999.4ns", Offset(9999.4e-9), "9999ns"},
		{"S 9999.6ns", Offset(9999.6e-9), "  10us"},
		{"S 43ms", Offset(43e-3), "  43ms"},
		{"S 9.9996", Offset(9.9996), " 10.0s"},
		{"S 999.4", Offset(999.4), "999.4s"},
		{"S 999.6", Offset(999.6), " 1000s"},
		{"S 99999.6", Offset(99999.6), " 1667m"},
		{"S hours", Offset(99999.5 * 60), " 1667h"},
		{"S days", Offset(99999.5 * 3600), " 4167d"},
		{"S years", Offset(99999.5 * 3600 * 24), "  274y"},
		{"+S -479ns", SignedOffset(-479e-9), " -479ns"},
		{"+S +0.4ns", SignedOffset(0.4e-9), "   +0ns"},
		{"+S -0.4ns", SignedOffset(-0.4e-9), "   -0ns"},
		{"+S -2629us", SignedOffset(-2629e-6), "-2629us"},
		{"+S +1.5s", SignedOffset(1.5), "+1500ms"},
		{"+S +12.25s", SignedOffset(12.25), " +12.2s"},
		{"+S -1234.5s", SignedOffset(-1234.5), " -1234s"},
		{"+S -6e6", SignedOffset(-6e6), " -1667h"},
		{"P", PPM(0.045), "     0.045"},
		{"P big", PPM(99999.6), "    100000"},
		{"+P", SignedPPM(-0.001), "    -0.001"},
		{"+P big", SignedPPM(-123456.7), "   -123457"},
		{"C 6", Log2Interval(6), " 6"},
		{"C -1", Log2Interval(-1), "-1"},
		{"C none", Log2Interval(127), " -"},
		{"L", Leap(3, false), "Not synchronised"},
		{"1L", Leap(1, true), "+"},
		{"1L bad", Leap(9, true), "?"},
		{"L bad", Leap(9, false), "Invalid"},
		{"header", Header("ab c"), "ab c\n====\n"},
		{"refid GPS", RefIDString(0x47505300), "GPS"},
		{"refid LOCAL", RefIDString(0x7F7F0101), ""},
		{"bits", bits(0x3FF>>7, 3) + bits(0x2A5, 4), "1110101"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestAddress(t *testing.T) {
	v6 := func(s string) wire.IPAddr { return wire.IPAddr{Family: wire.FamilyInet6, Addr: netip.MustParseAddr(s)} }
	for _, tc := range []struct {
		a    wire.IPAddr
		want string
	}{
		{wire.IPAddr{Family: wire.FamilyInet4, Addr: netip.MustParseAddr("203.0.113.15")}, "203.0.113.15"},
		{v6("2001:db8::15"), "2001:db8::15"},
		{v6("::"), "::"},
		{v6("::1"), "::1"},
		{v6("1::"), "1::"},
		{v6("::ffff:192.0.2.9"), "::ffff:192.0.2.9"},
		{v6("::1:2"), "::0.1.0.2"}, // glibc prints IPv4-compatible addresses dotted; Go would not
		{v6("::102:304"), "::1.2.3.4"},
		{v6("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1"},
		{v6("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1"}, // first of two equal runs
		{v6("2001:0:1:2:3:4:5:6"), "2001:0:1:2:3:4:5:6"},  // a single zero group stays
		{wire.IPAddr{Family: wire.FamilyID, ID: 7}, "ID#0000000007"},
		{wire.IPAddr{}, "[UNSPEC]"},
		{wire.IPAddr{Family: 9}, "[UNKNOWN]"},
	} {
		if got := Address(tc.a); got != tc.want {
			t.Errorf("Address(%v) = %q, want %q", tc.a, got, tc.want)
		}
	}
	// UTI_IPToRefid: IPv4 itself, IPv6 the first 32 bits of its MD5
	// (values from Python's hashlib).
	if got := AddressRefID(v6("2001:db8::15")); got != 0xFA7A403B {
		t.Errorf("refid of 2001:db8::15 = %08X", got)
	}
	if got := AddressRefID(v6("::1")); got != 0xCF404DC8 {
		t.Errorf("refid of ::1 = %08X", got)
	}
}

// The rows of chronyc.adoc's examples.
func TestRows(t *testing.T) {
	gps := wire.IPAddr{Family: wire.FamilyInet4, Addr: netip.AddrFrom4([4]byte{'G', 'P', 'S', '0'})}
	got := SourceRow(wire.SourceData{Addr: gps, Poll: 4, Mode: ModeRefclock, State: 0, Reachability: 0o377, SinceSample: 11,
		OrigLatestMeas: -621e-9, LatestMeas: -479e-9, LatestMeasErr: 134e-9})
	if want := "#* GPS0                          0   4   377    11   -479ns[ -621ns] +/-  134ns\n"; got != want {
		t.Errorf("sources row:\n got %q\nwant %q", got, want)
	}
	ip := wire.IPAddr{Family: wire.FamilyInet4, Addr: netip.MustParseAddr("203.0.113.15")}
	got = SourceStatsRow(wire.SourceStats{Addr: ip, NSamples: 11, NRuns: 5, SpanSeconds: 2760, ResidFreqPPM: -0.001, SkewPPM: 0.045, EstOffset: 1e-5, StdDev: 25e-6})
	if want := "203.0.113.15               11   5   46m     -0.001      0.045    +10us    25us\n"; got != want {
		t.Errorf("sourcestats row:\n got %q\nwant %q", got, want)
	}
	got = SelectDataRow(wire.SelectData{Addr: ip, StateChar: 'D', Authenticated: 1, EffOptions: OptTrust | OptRequire, LastSampleAgo: 4, Score: 1, LoLimit: -61e-3, HiLimit: 62e-3})
	if want := "D 203.0.113.15              Y ----- --TR-    4   1.0   -61ms   +62ms  N\n"; got != want {
		t.Errorf("selectdata row:\n got %q\nwant %q", got, want)
	}
	got = ClientRow(wire.ClientAccess{Addr: ip, NTPHits: 12, NTPInterval: 6, NTPTimeout: 127, LastNTPHitAgo: 23, CmdInterval: 127, LastCmdHitAgo: Never}, false)
	if want := "203.0.113.15                   12      0   6   -    23       0      0   -     -\n"; got != want {
		t.Errorf("clients row:\n got %q\nwant %q", got, want)
	}
	if ClientRow(wire.ClientAccess{}, false) != "" {
		t.Error("an unspecified client address must be skipped")
	}
}

func TestTracking(t *testing.T) {
	var b bytes.Buffer
	err := WriteTracking(&b, wire.Tracking{RefID: 0xCB00710F, Addr: wire.IPAddr{Family: wire.FamilyInet4, Addr: netip.MustParseAddr("203.0.113.15")},
		Stratum: 3, RefTime: time.Date(2017, 1, 27, 9, 49, 17, 0, time.UTC), CurrentCorrection: 6.523e-6, LastOffset: -6.747e-6,
		RMSOffset: 35.822e-6, FreqPPM: -3.225, ResidFreqPPM: -0.0001, SkewPPM: 0.129, RootDelay: 0.013639022,
		RootDispersion: 0.001100737, LastUpdateInterval: 64.2})
	if err != nil {
		t.Fatal(err)
	}
	want := `Reference ID    : CB00710F (203.0.113.15)
Stratum         : 3
Ref time (UTC)  : Fri Jan 27 09:49:17 2017
System time     : 0.000006523 seconds slow of NTP time
Last offset     : -0.000006747 seconds
RMS offset      : 0.000035822 seconds
Frequency       : 3.225 ppm slow
Residual freq   : -0.000 ppm
Skew            : 0.129 ppm
Root delay      : 0.013639022 seconds
Root dispersion : 0.001100737 seconds
Update interval : 64.2 seconds
Leap status     : Normal
`
	if b.String() != want {
		t.Errorf("tracking:\n%s\nwant\n%s", b.String(), want)
	}
}

func TestJSONKeys(t *testing.T) {
	b, err := json.Marshal(TrackingJSON(wire.Tracking{RefID: 0x47505300, Stratum: 1, LastOffset: -1e-6, FreqPPM: 2.5, LeapStatus: 3}))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["reference_id"] != "47505300" || m["reference_name"] != "GPS" || m["last_offset_seconds"] != -1e-6 ||
		m["frequency_ppm"] != 2.5 || m["leap_status"] != "not_synchronised" || m["ref_time_utc"] != "1970-01-01T00:00:00Z" {
		t.Errorf("tracking JSON: %s", b)
	}
	for k := range m {
		if k != strings.ToLower(k) || strings.Contains(k, "-") {
			t.Errorf("key %q is not snake_case", k)
		}
	}
	s := SourceJSON(wire.SourceData{SinceSample: Never, Mode: ModeRefclock, Addr: wire.IPAddr{Family: wire.FamilyInet4, Addr: netip.AddrFrom4([4]byte{'P', 'P', 'S'})}})
	if s.LastRxAgoSeconds != nil || s.Name != "PPS" || s.Address != "" || s.Mode != "refclock" || s.State != "selected" {
		t.Errorf("source JSON: %+v", s)
	}
}
