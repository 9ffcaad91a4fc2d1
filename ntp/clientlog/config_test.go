package clientlog

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	on := DefaultRateLimit()
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error, one per problem; nil = valid
	}{
		{name: "zero value", cfg: Config{}},
		{name: "defaults", cfg: Config{Clients: DefaultClients, RateLimit: on}},
		{name: "min clients", cfg: Config{Clients: MinClients}},
		{name: "max clients", cfg: Config{Clients: MaxClients}},
		{name: "limits at bounds", cfg: Config{RateLimit: RateLimit{Enabled: true, IntervalLog2: -19, Burst: 255, Leak: 4, KoD: 4}}},
		{name: "limits at other bounds", cfg: Config{RateLimit: RateLimit{Enabled: true, IntervalLog2: 12, Burst: 1, Leak: 1, KoD: 0}}},
		{name: "interval 0 is 1 s", cfg: Config{RateLimit: RateLimit{Enabled: true}}},
		{name: "disabled ignores fields", cfg: Config{RateLimit: RateLimit{IntervalLog2: 100, Burst: -1, Leak: 9, KoD: 9}}},
		{name: "clients not power of two", cfg: Config{Clients: 100}, want: []string{"clients = 100"}},
		{name: "clients too small", cfg: Config{Clients: 8}, want: []string{"clients = 8"}},
		{name: "clients negative", cfg: Config{Clients: -16}, want: []string{"clients = -16"}},
		{name: "clients too large", cfg: Config{Clients: MaxClients * 2}, want: []string{"clients = 33554432"}},
		{name: "interval low", cfg: Config{RateLimit: RateLimit{Enabled: true, IntervalLog2: -20}}, want: []string{"interval = -20"}},
		{name: "interval high", cfg: Config{RateLimit: RateLimit{Enabled: true, IntervalLog2: 13}}, want: []string{"interval = 13"}},
		{name: "burst", cfg: Config{RateLimit: RateLimit{Enabled: true, Burst: 256}}, want: []string{"burst = 256"}},
		{name: "leak", cfg: Config{RateLimit: RateLimit{Enabled: true, Leak: 5}}, want: []string{"leak = 5"}},
		{name: "kod", cfg: Config{RateLimit: RateLimit{Enabled: true, KoD: -1}}, want: []string{"kod = -1"}},
		{
			name: "every problem reported",
			cfg:  Config{Clients: 17, RateLimit: RateLimit{Enabled: true, IntervalLog2: 127, Burst: 1000, Leak: -3, KoD: 5}},
			want: []string{"clients = 17", "interval = 127", "burst = 1000", "leak = -3", "kod = 5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			_, newErr := New(tt.cfg)
			if len(tt.want) == 0 {
				if err != nil || newErr != nil {
					t.Fatalf("Validate = %v, New = %v; want no error", err, newErr)
				}
				return
			}
			if err == nil || newErr == nil {
				t.Fatalf("Validate = %v, New = %v; want errors containing %q", err, newErr, tt.want)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if got := strings.Count(msg, "\n") + 1; got != len(tt.want) {
				t.Errorf("error has %d lines, want %d: %q", got, len(tt.want), msg)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	l, err := New(Config{RateLimit: RateLimit{Enabled: true, IntervalLog2: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Capacity(); got != DefaultClients {
		t.Errorf("Capacity = %d, want %d", got, DefaultClients)
	}
	r := l.rate
	if r.intervalNS != 8e9 || r.tolNS != 7*8e9 || r.leakMask != 3 || r.kod {
		t.Errorf("rate params = %+v, want 8 s interval, burst 8, leak 2, no kod", r)
	}
	fine := newRateParams(RateLimit{Enabled: true, IntervalLog2: -19, Burst: 1, Leak: 1})
	if fine.intervalNS != 1907 || fine.tolNS != 0 {
		t.Errorf("interval -19: %+v, want 1907 ns and no burst tolerance", fine)
	}
}
