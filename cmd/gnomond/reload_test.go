package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gnomon-time/gnomon/config"
)

func TestChangedKeys(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*config.Config)
		want   []string
	}{
		{"nothing", func(*config.Config) {}, nil},
		{"acl and level are ignored", func(c *config.Config) {
			c.NTP.Allow = []string{"10.0.0.0/8"}
			c.NTP.Deny = []string{"10.1.0.0/16"}
			c.Log.Level = "debug"
		}, nil},
		{"restart-only keys", func(c *config.Config) {
			c.NTP.Listen = []string{"127.0.0.1:1"}
			c.NTP.Workers = 7
			r := config.DefaultRateLimit()
			c.NTP.RateLimit = &r
			c.Sources = []config.Source{{Local: &config.LocalSource{Stratum: 3}}}
			c.Servo.Name = "pi"
			c.Log.Format = "json"
			c.Metrics.Listen = ""
		}, []string{"ntp.listen", "ntp.workers", "ntp.ratelimit", "sources", "servo.name", "metrics.listen", "log.format"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := config.Default(), config.Default()
			tt.mutate(b)
			got := changedKeys(a, b, "ntp.allow", "ntp.deny", "log.level")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiffPrefixes(t *testing.T) {
	p := netip.MustParsePrefix
	added, removed := diffPrefixes(
		[]netip.Prefix{p("10.0.0.0/8"), p("::1/128")},
		[]netip.Prefix{p("::1/128"), p("192.0.2.0/24")})
	if diff := cmp.Diff([]string{"192.0.2.0/24"}, added); diff != "" {
		t.Errorf("added (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"10.0.0.0/8"}, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
}

func TestQueryHint(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"127.0.0.1:123", "ntpdig 127.0.0.1"},
		{"0.0.0.0:123", "ntpdig 127.0.0.1"},
		{"127.0.0.1:11123", "chronyd -Q -x -t 5 'server 127.0.0.1 port 11123 iburst maxsamples 1'"},
		{"[::]:11123", "chronyd -Q -x -t 5 'server ::1 port 11123 iburst maxsamples 1'"},
	}
	for _, tt := range tests {
		if got := queryHint(netip.MustParseAddrPort(tt.addr)); got != tt.want {
			t.Errorf("queryHint(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// tickClock advances by step nanoseconds per reading.
type tickClock struct {
	t    time.Time
	step time.Duration
}

func (c *tickClock) Now() time.Time { c.t = c.t.Add(c.step); return c.t }

func TestMeasurePrecision(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	tests := []struct {
		step time.Duration
		want int8
	}{
		{100 * time.Nanosecond, -23}, // log2(1e-7) = −23.25, rounded up
		{time.Microsecond, -19},      // −19.93
		{time.Millisecond, -10},      // −9.97 → −9, clamped to −10
		{0, -20},                     // a clock that never moves: default
		{time.Nanosecond, -29},       // −29.9
	}
	for _, tt := range tests {
		if got := measurePrecision(&tickClock{t: base, step: tt.step}); got != tt.want {
			t.Errorf("step %v: precision %d, want %d", tt.step, got, tt.want)
		}
	}
}
