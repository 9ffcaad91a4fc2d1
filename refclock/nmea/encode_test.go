package nmea

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gnomon-time/gnomon/refclock"
)

func TestAppendGolden(t *testing.T) {
	e := Epoch{
		UTC: time.Date(2026, 6, 30, 12, 34, 56, 789_000_000, time.UTC), Digits: 2,
		Valid: true, Fix: refclock.Fix3D, Satellites: 8, Talker: "GN",
		Lat: 48.1173, Lon: -11.5166667, Altitude: 545.4,
	}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"rmc", AppendRMC(nil, e), "$GNRMC,123456.78,A,4807.03800,N,01131.00000,W,0.0,0.0,300626,,,A*"},
		{"zda", AppendZDA(nil, e), "$GNZDA,123456.78,30,06,2026,00,00*"},
		{"gga", AppendGGA(nil, e), "$GNGGA,123456.78,4807.03800,N,01131.00000,W,1,08,1.0,545.4,M,0.0,M,,*"},
		{"gsa", AppendGSA(nil, e), "$GNGSA,A,3,01,02,03,04,05,06,07,08,,,,,1.0,1.0,1.0*"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.HasPrefix(tc.got, []byte(tc.want)) || !bytes.HasSuffix(tc.got, []byte("\r\n")) || len(tc.got) != len(tc.want)+4 {
				t.Errorf("got %q, want %q + checksum", tc.got, tc.want)
			}
			if len(tc.got) > 82 {
				t.Errorf("%d bytes, NMEA allows 82", len(tc.got))
			}
			if _, err := Parse(tc.got); err != nil {
				t.Errorf("Parse(%q): %v", tc.got, err)
			}
		})
	}
}

func TestAppendKeepsDst(t *testing.T) {
	dst := []byte("prefix")
	out := AppendZDA(dst, Epoch{UTC: t0})
	if !bytes.HasPrefix(out, []byte("prefix$GPZDA,120000,")) {
		t.Errorf("got %q", out)
	}
}

// TestRoundTrip: generator → Decoder gives back the epoch.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		e    Epoch
		want refclock.TimeOfDay // Received is filled in
	}{
		{"3d", Epoch{UTC: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Valid: true, Fix: refclock.Fix3D, Satellites: 9},
			refclock.TimeOfDay{UTC: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Valid: true, Fix: refclock.Fix3D}},
		{"2d_millis", Epoch{UTC: time.Date(2026, 1, 2, 3, 4, 5, 123_000_000, time.UTC), Digits: 3, Valid: true, Fix: refclock.Fix2D, Talker: "GL"},
			refclock.TimeOfDay{UTC: time.Date(2026, 1, 2, 3, 4, 5, 123_000_000, time.UTC), Valid: true, Fix: refclock.Fix2D}},
		{"time_only_nanos", Epoch{UTC: time.Date(2026, 1, 2, 3, 4, 5, 1, time.UTC), Digits: 9, Valid: true, Fix: refclock.FixTimeOnly, Talker: "GA"},
			refclock.TimeOfDay{UTC: time.Date(2026, 1, 2, 3, 4, 5, 1, time.UTC), Valid: true, Fix: refclock.FixTimeOnly}},
		{"truncated_not_rounded", Epoch{UTC: time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, time.UTC), Digits: 2, Valid: true, Fix: refclock.Fix3D},
			refclock.TimeOfDay{UTC: time.Date(2026, 1, 2, 3, 4, 5, 990_000_000, time.UTC), Valid: true, Fix: refclock.Fix3D}},
		{"unknown_fix_is_3d", Epoch{UTC: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Valid: true},
			refclock.TimeOfDay{UTC: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Valid: true, Fix: refclock.Fix3D}},
		{"not_valid", Epoch{UTC: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Fix: refclock.Fix3D},
			refclock.TimeOfDay{UTC: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Fix: refclock.FixNone}},
		{"leap", Epoch{UTC: time.Date(2016, 12, 31, 23, 59, 59, 0, time.UTC), Second60: true, Valid: true, Fix: refclock.Fix3D, Talker: "BD"},
			refclock.TimeOfDay{UTC: time.Date(2016, 12, 31, 23, 59, 59, 0, time.UTC), Second60: true, Valid: true, Fix: refclock.Fix3D}},
		{"non_utc_location", Epoch{UTC: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), Valid: true, Fix: refclock.Fix3D},
			refclock.TimeOfDay{UTC: time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC), Valid: true, Fix: refclock.Fix3D}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			var out []refclock.TimeOfDay
			for _, l := range [][]byte{AppendRMC(nil, tc.e), AppendGSA(nil, tc.e), AppendGGA(nil, tc.e), AppendZDA(nil, tc.e)} {
				var err error
				if out, err = d.Feed(out, l, t0); err != nil {
					t.Fatalf("Feed(%q): %v", l, err)
				}
			}
			out = d.Flush(out)
			tc.want.Received = t0
			if d := cmp.Diff([]refclock.TimeOfDay{tc.want}, out); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
