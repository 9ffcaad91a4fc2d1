package interop

import (
	"math"
	"strconv"
	"testing"
	"time"
)

func strconvFloat(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }

// The parsers run without root: they are checked against captured peer
// output so that a format change fails loudly instead of skipping.

func TestParseChronydQ(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"2026-11-23T17:14:09Z Disabled control of system clock\n2026-11-23T17:14:14Z System clock wrong by -0.000003 seconds (ignored)\n", -0.000003, false},
		{"System clock wrong by 0.000041 seconds (ignored)", 0.000041, false},
		{"2026-11-23T17:13:51Z Timeout reached\n", 0, true},
	}
	for _, tt := range tests {
		got, err := parseChronydQ(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseChronydQ(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseNtpdigJSON(t *testing.T) {
	in := `{"time":"2026-11-23T17:14:14.261880+0000","offset":0.000192,"precision":0.000279,"host":"10.209.0.1","ip":"10.209.0.1","stratum":1,"leap":"no-leap","adjusted":false}` + "\n"
	r, err := parseNtpdigJSON(in)
	if err != nil || r.Offset != 0.000192 || r.Stratum != 1 || r.Leap != "no-leap" {
		t.Errorf("parseNtpdigJSON = %+v, %v", r, err)
	}
	if _, err := parseNtpdigJSON("ntpdig: no eligible servers\n"); err == nil {
		t.Errorf("no JSON: want error")
	}
}

func TestParseColonBlock(t *testing.T) {
	in := "Remote address  : 10.201.1.1 (0AC90101)\nInterleaved     : Yes\nTX timestamping : Kernel\nRX timestamping : Kernel\n"
	m := parseColonBlock(in)
	if m["Interleaved"] != "Yes" || m["TX timestamping"] != "Kernel" || m["Remote address"] != "10.201.1.1 (0AC90101)" {
		t.Errorf("parseColonBlock = %v", m)
	}
}

func TestSummarize(t *testing.T) {
	s := summarize([]float64{1, 2, 3, 4, 100})
	if s.median != 3 || s.n != 5 || s.min != 1 || s.max != 100 {
		t.Errorf("summary %+v", s)
	}
	// MAD of {2,1,0,1,97} is 1.
	if math.Abs(s.robustSigma-1.4826) > 1e-9 {
		t.Errorf("robustSigma %v, want 1.4826", s.robustSigma)
	}
	if math.Abs(s.mean-22) > 1e-9 {
		t.Errorf("mean %v", s.mean)
	}
}

func TestParseMeasurements(t *testing.T) {
	in := `========================================================================================================================================
   Date (UTC) Time     IP Address   L St 123 567 ABCD  LP RP Score    Offset  Peer del. Peer disp.  Root del. Root disp. Refid     MTxRx
========================================================================================================================================
2026-11-23 17:16:17 10.201.1.1      N  1 111 111 1111  -4  0 1.00 -4.416e-06  1.244e-05  1.367e-07  0.000e+00  0.000e+00 7F7F0101 4B K K
2026-11-23 17:16:17 10.201.1.1      N  1 111 111 0111  -4 -4 0.83  6.080e-07  2.370e-06  3.254e-05  0.000e+00  0.000e+00 7F7F0101 4I K K
2026-11-23 17:16:17 10.201.1.1      N  1 111 111 1111  -4 -4 0.00 -3.064e-06  2.206e-06  1.774e-07  0.000e+00  0.000e+00 7F7F0101 4I K K
`
	ms, err := parseMeasurements(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("got %d measurements, want 3", len(ms))
	}
	if ms[0].interleaved() || !ms[0].good() || ms[0].offset != -4.416e-06 || ms[0].delay != 1.244e-05 {
		t.Errorf("first: %+v", ms[0])
	}
	if !ms[1].interleaved() || ms[1].good() {
		t.Errorf("second: %+v", ms[1])
	}
	if !ms[2].interleaved() || !ms[2].good() || ms[2].txKind != "K" || ms[2].rxKind != "K" || ms[2].mode != "4I" {
		t.Errorf("third: %+v", ms[2])
	}
}

func TestParseNtpdigDebug(t *testing.T) {
	in := "org t1: eeaef3ed.7fb82800 rec t2: eeaef3ed.7fdddcf9\nxmt t3: eeaef3ed.7febd52c dst t4: eeaef3ed.80032800\norg t1: 1795454317.498904 rec t2: 1795454317.499479\n"
	ts, err := parseNtpdigDebug(in)
	if err != nil {
		t.Fatal(err)
	}
	if ts.t1 != 0xeeaef3ed7fb82800 || ts.t4 != 0xeeaef3ed80032800 {
		t.Errorf("parsed %v", ts)
	}
	if v := ts.causalityViolation(); v > 0 {
		t.Errorf("ordered timestamps: violation %v", v)
	}
	// Server receive 1 ms before the client sent: a violation of ≈ 1 ms.
	ts.t2 = ts.t1 - 1<<32/1000
	if v := ts.causalityViolation(); v < 999*time.Microsecond || v > 1001*time.Microsecond {
		t.Errorf("violation %v, want ≈ 1 ms", v)
	}
	if _, err := parseNtpdigDebug("ntpdig: no eligible servers"); err == nil {
		t.Errorf("want error")
	}
}

func TestMetricValue(t *testing.T) {
	text := "# HELP gnomon_ntp_requests_total x\n# TYPE gnomon_ntp_requests_total counter\ngnomon_ntp_requests_total{verdict=\"denied\"} 7\ngnomon_ntp_requests_total{verdict=\"served\"} 1.2e+06\ngnomon_sync_stratum 3\n"
	for _, tt := range []struct {
		name, labels string
		want         float64
	}{
		{"gnomon_ntp_requests_total", `verdict="denied"`, 7},
		{"gnomon_ntp_requests_total", `verdict="served"`, 1.2e6},
		{"gnomon_sync_stratum", "", 3},
	} {
		if got, err := metricValue(text, tt.name, tt.labels); err != nil || got != tt.want {
			t.Errorf("metricValue(%s{%s}) = %v, %v; want %v", tt.name, tt.labels, got, err, tt.want)
		}
	}
	if _, err := metricValue(text, "gnomon_ntp_requests_total", `verdict="kod_rate"`); err == nil {
		t.Errorf("missing sample: want error")
	}
}

func TestMinDelayOffset(t *testing.T) {
	// mk builds a sample with the given offset and delay (seconds).
	mk := func(off, del float64) ntpdigTimes {
		const t1 = uint64(0xeeaef3ed) << 32
		f := func(s float64) uint64 { return uint64(int64(s * (1 << 32))) }
		// Server holds the request 1 µs; t2 = t1 + del/2 + off, t3 = t2 + 1 µs.
		t2 := t1 + f(del/2+off)
		t3 := t2 + f(1e-6)
		t4 := t1 + f(del+1e-6)
		return ntpdigTimes{t1, t2, t3, t4}
	}
	s := mk(20e-6, 100e-6)
	if math.Abs(s.offset()-20e-6) > 1e-9 || math.Abs(s.delay()-100e-6) > 1e-9 {
		t.Fatalf("offset %v delay %v, want 20 µs 100 µs", s.offset(), s.delay())
	}
	samples := []ntpdigTimes{
		mk(10e-6, 100e-6), mk(-900e-6, 3e-3), mk(12e-6, 90e-6), mk(800e-6, 2e-3),
		mk(11e-6, 95e-6), mk(500e-6, 1e-3),
	}
	// Lowest-delay third = 2 samples (12 µs, 11 µs): median 11.5 µs.
	if got := minDelayOffset(samples); math.Abs(got-11.5e-6) > 1e-9 {
		t.Errorf("minDelayOffset = %v, want 11.5 µs", got)
	}
}

func TestNTPTestsValid(t *testing.T) {
	for s, want := range map[string]bool{"111 111 1111": true, "111 111 1101": true, "111 111 0001": true,
		"111 111 1110": false, "111 011 1111": false, "110 111 1111": false, "": false, "111 111 111": false} {
		if got := ntpTestsValid(s); got != want {
			t.Errorf("ntpTestsValid(%q) = %v, want %v", s, got, want)
		}
	}
}
