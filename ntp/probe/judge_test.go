package probe

import (
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

func TestJudge(t *testing.T) {
	th := Thresholds{WarnOffset: 10 * time.Millisecond, CritOffset: 100 * time.Millisecond,
		WarnDistance: 50 * time.Millisecond, CritDistance: 500 * time.Millisecond}
	good := func(f func(*Reply)) *Reply {
		r := &Reply{Offset: 20 * time.Microsecond, Delay: 50 * time.Microsecond, Stratum: 2, Leap: clock.LeapNone,
			RootDistance: time.Millisecond}
		if f != nil {
			f(r)
		}
		return r
	}
	tests := []struct {
		name   string
		res    Result
		th     Thresholds
		want   Status
		reason string
	}{
		{"good", Result{Reply: good(nil)}, th, OK, ""},
		{"no reply", Result{Err: "i/o timeout"}, th, Unknown, "no reply: i/o timeout"},
		{"no reply no error", Result{}, th, Unknown, "no reply"},
		{"offset at warn is OK", Result{Reply: good(func(r *Reply) { r.Offset = 10 * time.Millisecond })}, th, OK, ""},
		{"offset above warn", Result{Reply: good(func(r *Reply) { r.Offset = 11 * time.Millisecond })}, th, Warning, "|offset| 11ms > warn 10ms"},
		{"negative offset above warn", Result{Reply: good(func(r *Reply) { r.Offset = -11 * time.Millisecond })}, th, Warning, "|offset| 11ms > warn"},
		{"offset above crit", Result{Reply: good(func(r *Reply) { r.Offset = -2 * time.Second })}, th, Critical, "|offset| 2s > crit 100ms"},
		{"distance above warn", Result{Reply: good(func(r *Reply) { r.RootDistance = 60 * time.Millisecond })}, th, Warning, "root distance 60ms > warn 50ms"},
		{"distance above crit", Result{Reply: good(func(r *Reply) { r.RootDistance = time.Second })}, th, Critical, "root distance 1s > crit 500ms"},
		{"crit offset beats warn distance", Result{Reply: good(func(r *Reply) {
			r.Offset, r.RootDistance = time.Second, 60*time.Millisecond
		})}, th, Critical, "|offset|"},
		{"thresholds off", Result{Reply: good(func(r *Reply) { r.Offset, r.RootDistance = time.Hour, time.Hour })}, Thresholds{}, OK, ""},
		{"unsynchronised", Result{Reply: good(func(r *Reply) {
			r.Leap, r.Stratum, r.Invalid = clock.LeapUnsync, 0, "kiss of death received"
		})}, th, Critical, "unsynchronised (LI 3, stratum 0)"},
		{"stratum 16", Result{Reply: good(func(r *Reply) { r.Stratum, r.Invalid = 16, "invalid stratum in response" })}, th, Critical, "invalid: invalid stratum"},
		{"kod RATE", Result{Reply: good(func(r *Reply) {
			r.Leap, r.Stratum, r.RefID, r.Invalid = clock.LeapUnsync, 0, uint32(wire.KissRATE), "kiss of death received"
		})}, th, Unknown, "kiss-o'-death RATE"},
		{"kod DENY", Result{Reply: good(func(r *Reply) { r.Stratum, r.RefID, r.Invalid = 0, uint32(wire.KissDENY), "kiss of death received" })}, th, Unknown, "DENY"},
		{"kod INIT is not a refusal", Result{Reply: good(func(r *Reply) {
			r.Leap, r.Stratum, r.RefID, r.Invalid = clock.LeapUnsync, 0, uint32(wire.KissINIT), "kiss of death received"
		})}, th, Critical, "unsynchronised"},
		{"RATE refid at stratum 2 is no kiss", Result{Reply: good(func(r *Reply) { r.RefID = uint32(wire.KissRATE) })}, th, OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := Judge(tt.res, tt.th)
			if got != tt.want || !strings.Contains(reason, tt.reason) || (tt.reason == "" && reason != "") {
				t.Errorf("Judge = %v %q, want %v %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestOverall(t *testing.T) {
	tests := []struct {
		in   []Status
		want Status
	}{
		{nil, OK},
		{[]Status{OK, OK}, OK},
		{[]Status{OK, Unknown}, Unknown},
		{[]Status{Unknown, Warning, OK}, Warning},
		{[]Status{Warning, Unknown}, Warning},
		{[]Status{Unknown, Critical, Warning}, Critical},
		{[]Status{Critical, Unknown}, Critical},
		{[]Status{Unknown, Unknown}, Unknown},
	}
	for _, tt := range tests {
		var rs []Result
		for _, s := range tt.in {
			rs = append(rs, Result{Status: s})
		}
		if got := Overall(rs); got != tt.want {
			t.Errorf("Overall(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	for s, code := range map[Status]int{OK: 0, Warning: 1, Critical: 2, Unknown: 3} {
		if s.ExitCode() != code {
			t.Errorf("%v.ExitCode() = %d, want %d", s, s.ExitCode(), code)
		}
	}
}

func TestThresholdsValidate(t *testing.T) {
	tests := []struct {
		th   Thresholds
		want string
	}{
		{Thresholds{}, ""},
		{Thresholds{WarnOffset: time.Millisecond, CritOffset: time.Millisecond}, ""},
		{Thresholds{WarnOffset: 2 * time.Millisecond, CritOffset: time.Millisecond}, "--warn 2ms is above --crit 1ms"},
		{Thresholds{WarnOffset: 2 * time.Millisecond}, ""},
		{Thresholds{CritOffset: -1}, "--crit -1ns: want ≥ 0"},
		{Thresholds{WarnDistance: time.Second, CritDistance: time.Millisecond}, "--warn-distance 1s is above --crit-distance 1ms"},
	}
	for _, tt := range tests {
		err := tt.th.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: Validate() = %v, want %q", tt.th, err, tt.want)
		}
	}
}

func TestParseTargets(t *testing.T) {
	ts, err := ParseTargets([]string{"127.0.0.1", "127.0.0.1:1123", "::1", "[::1]:1123", "ntp.example.net", "ntp.example.net:9"}, 123)
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{{"127.0.0.1", "127.0.0.1", 123}, {"127.0.0.1:1123", "127.0.0.1", 1123}, {"::1", "::1", 123},
		{"[::1]:1123", "::1", 1123}, {"ntp.example.net", "ntp.example.net", 123}, {"ntp.example.net:9", "ntp.example.net", 9}}
	if len(ts) != len(want) {
		t.Fatalf("got %v", ts)
	}
	for i := range want {
		if ts[i] != want[i] {
			t.Errorf("target %d = %+v, want %+v", i, ts[i], want[i])
		}
	}
	_, err = ParseTargets([]string{"good.example", "bad host", "1.2.3.4:0", "[::1]:x"}, 123)
	for _, s := range []string{`"bad host"`, `"1.2.3.4:0"`, `"[::1]:x"`} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v lacks %s", err, s)
		}
	}
	if err != nil && strings.Contains(err.Error(), "good.example") {
		t.Errorf("error names a good target: %v", err)
	}
	if _, err := ParseTargets(nil, 123); err == nil {
		t.Error("no targets accepted")
	}
}

func TestRefIDASCII(t *testing.T) {
	tests := []struct {
		stratum uint8
		id      uint32
		want    string
	}{
		{1, 0x47505300, "GPS"},
		{1, 0x50505300, "PPS"},
		{0, uint32(wire.KissRATE), "RATE"},
		{0, 0, ""},
		{1, 0x7F7F0101, ""}, // chronyd's local reference
		{2, 0x47505300, ""}, // an IPv4 address at stratum 2
		{16, 0x494e4954, ""},
	}
	for _, tt := range tests {
		r := Reply{Stratum: tt.stratum, RefID: tt.id}
		if got := r.RefIDASCII(); got != tt.want {
			t.Errorf("stratum %d refid %#x: %q, want %q", tt.stratum, tt.id, got, tt.want)
		}
	}
}
