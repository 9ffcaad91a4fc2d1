package nmea

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gnomon-time/gnomon/refclock"
)

var t0 = time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

// in is one line arriving at t0 + at.
type in struct {
	line  string
	at    time.Duration
	flush bool // call Flush after the line
}

func feed(t *testing.T, d *Decoder, lines []in) []refclock.TimeOfDay {
	t.Helper()
	var out []refclock.TimeOfDay
	for _, l := range lines {
		var err error
		if l.line != "" {
			out, err = d.Feed(out, []byte(l.line), t0.Add(l.at))
			if err != nil {
				t.Fatalf("Feed(%q): %v", l.line, err)
			}
		}
		if l.flush {
			out = d.Flush(out)
		}
	}
	return out
}

func TestDecoder(t *testing.T) {
	const ms = time.Millisecond
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		lines []in
		want  []refclock.TimeOfDay
		check func(t *testing.T, c DecoderCounts)
	}{{
		name: "first_epoch_waits_for_next_label_then_cycle_learnt",
		lines: []in{
			{line: line("GNRMC,120000.00,A,,,,,,,300626,,,A"), at: 130 * ms},
			{line: line("GNGSV,1,1,01,01,,,"), at: 140 * ms},
			{line: line("GNGGA,120000.00,,,,,1,08,1.0,10.0,M,,M,,"), at: 150 * ms},
			{line: line("GNZDA,120000.00,30,06,2026,00,00"), at: 170 * ms},
			{line: line("GNRMC,120001.00,A,,,,,,,300626,,,A"), at: 1130 * ms}, // closes 12:00:00
			{line: line("GNGGA,120001.00,,,,,1,08,1.0,10.0,M,,M,,"), at: 1150 * ms},
			{line: line("GNZDA,120001.00,30,06,2026,00,00"), at: 1170 * ms}, // cycle complete
		},
		want: []refclock.TimeOfDay{
			{UTC: utc("2026-06-30T12:00:00Z"), Received: t0.Add(130 * ms), Valid: true, Fix: refclock.Fix3D},
			{UTC: utc("2026-06-30T12:00:01Z"), Received: t0.Add(1130 * ms), Valid: true, Fix: refclock.Fix3D},
		},
		check: func(t *testing.T, c DecoderCounts) {
			if c.Sentences != 7 || c.Reports != 2 || c.Epochs != 2 {
				t.Errorf("counts %+v", c)
			}
		},
	}, {
		name: "flush_reports_first_epoch",
		lines: []in{
			{line: line("GPGGA,235959.5,,,,,1,05,1.0,,M,,M,,"), at: 10 * ms},
			{line: line("GPRMC,235959.50,A,,,,,,,300626,,"), at: 50 * ms, flush: true},
			{line: line("GPRMC,235959.50,A,,,,,,,300626,,"), at: 60 * ms}, // duplicate: straggler
		},
		want: []refclock.TimeOfDay{
			{UTC: utc("2026-06-30T23:59:59.5Z"), Received: t0.Add(10 * ms), Valid: true, Fix: refclock.Fix2D},
		},
		check: func(t *testing.T, c DecoderCounts) {
			if c.Stragglers != 1 || c.Reports != 1 {
				t.Errorf("counts %+v", c)
			}
		},
	}, {
		name: "leap_second_labels_stay_distinct",
		lines: []in{
			{line: line("GPZDA,235959,31,12,2016,00,00")},
			{line: line("GPRMC,235959,A,,,,,,,311216,,"), at: 10 * ms},
			{line: line("GPZDA,235960,31,12,2016,00,00"), at: 1000 * ms},
			{line: line("GPRMC,235960,A,,,,,,,311216,,"), at: 1010 * ms},
			{line: line("GPZDA,000000,01,01,2017,00,00"), at: 2000 * ms},
			{line: line("GPRMC,000000,A,,,,,,,010117,,"), at: 2010 * ms},
		},
		want: []refclock.TimeOfDay{
			{UTC: utc("2016-12-31T23:59:59Z"), Received: t0, Valid: true},
			{UTC: utc("2016-12-31T23:59:59Z"), Second60: true, Received: t0.Add(1000 * ms), Valid: true},
			{UTC: utc("2017-01-01T00:00:00Z"), Received: t0.Add(2000 * ms), Valid: true},
		},
	}, {
		name: "fraction_as_given",
		lines: []in{
			{line: line("GPZDA,120000.123456789,30,06,2026,00,00")},
			{line: line("GPRMC,120000.123456789,A,,,,,,,300626,,,M")},
			{flush: true},
		},
		want: []refclock.TimeOfDay{
			{UTC: utc("2026-06-30T12:00:00.123456789Z"), Received: t0, Valid: true, Fix: refclock.FixTimeOnly},
		},
	}, {
		name: "same_instant_different_digits_is_one_epoch",
		lines: []in{
			{line: line("GPRMC,120000.5,A,,,,,,,300626,,")},
			{line: line("GPZDA,120000.500,30,06,2026,00,00"), flush: true},
		},
		want: []refclock.TimeOfDay{{UTC: utc("2026-06-30T12:00:00.5Z"), Received: t0, Valid: true}},
	}, {
		name: "zda_date_wins_over_rmc_century",
		lines: []in{
			{line: line("GPRMC,120000,A,,,,,,,300679,,")},
			{line: line("GPZDA,120000,30,06,2079,00,00"), flush: true},
		},
		want: []refclock.TimeOfDay{{UTC: utc("2079-06-30T12:00:00Z"), Received: t0, Valid: true}},
	}, {
		name:  "zda_only_not_valid",
		lines: []in{{line: line("GPZDA,120000,30,06,2026,00,00"), flush: true}},
		want:  []refclock.TimeOfDay{{UTC: utc("2026-06-30T12:00:00Z"), Received: t0}},
	}, {
		name: "gga_only_has_no_date",
		lines: []in{
			{line: line("GPGGA,120000,,,,,1,05,1.0,1.0,M,,M,,")},
			{line: line("GPGGA,120001,,,,,1,05,1.0,1.0,M,,M,,"), flush: true},
		},
		check: func(t *testing.T, c DecoderCounts) {
			if c.NoDate != 2 || c.Reports != 0 {
				t.Errorf("counts %+v", c)
			}
		},
	}, {
		name:  "rmc_without_time_ignored",
		lines: []in{{line: line("GPRMC,,V,,,,,,,,,,N"), flush: true}},
	}, {
		name: "missing_cycle_member_closes_at_next_label",
		lines: []in{
			{line: line("GPRMC,120000,A,,,,,,,300626,,")},
			{line: line("GPZDA,120000,30,06,2026,00,00")},
			{line: line("GPRMC,120001,A,,,,,,,300626,,"), at: time.Second}, // closes 12:00:00
			// ZDA of 12:00:01 lost
			{line: line("GPRMC,120002,A,,,,,,,300626,,"), at: 2 * time.Second}, // closes 12:00:01; cycle is RMC only now
		},
		want: []refclock.TimeOfDay{
			{UTC: utc("2026-06-30T12:00:00Z"), Received: t0, Valid: true},
			{UTC: utc("2026-06-30T12:00:01Z"), Received: t0.Add(time.Second), Valid: true},
			{UTC: utc("2026-06-30T12:00:02Z"), Received: t0.Add(2 * time.Second), Valid: true},
		},
	}, {
		name: "straggler_joins_cycle",
		lines: []in{
			{line: line("GPRMC,120000,A,,,,,,,300626,,")},
			{line: line("GPRMC,120001,A,,,,,,,300626,,"), at: time.Second},
			{line: line("GPRMC,120002,A,,,,,,,300626,,"), at: 2 * time.Second},
			{line: line("GPGGA,120002,,,,,1,05,1.0,1.0,M,,M,,"), at: 2*time.Second + 100*time.Millisecond}, // straggler
			{line: line("GPRMC,120003,A,,,,,,,300626,,"), at: 3 * time.Second},
			{line: line("GPGGA,120003,,,,,1,05,1.0,1.0,M,,M,,"), at: 3*time.Second + 100*time.Millisecond},
		},
		want: []refclock.TimeOfDay{
			{UTC: utc("2026-06-30T12:00:00Z"), Received: t0, Valid: true},
			{UTC: utc("2026-06-30T12:00:01Z"), Received: t0.Add(time.Second), Valid: true},
			{UTC: utc("2026-06-30T12:00:02Z"), Received: t0.Add(2 * time.Second), Valid: true},
			{UTC: utc("2026-06-30T12:00:03Z"), Received: t0.Add(3 * time.Second), Valid: true, Fix: refclock.Fix3D},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			got := feed(t, &d, tc.lines)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("reports (-want +got):\n%s", d)
			}
			if tc.check != nil {
				tc.check(t, d.Counts())
			}
		})
	}
}

func TestDecoderCountsRejects(t *testing.T) {
	var d Decoder
	out, err := d.Feed(nil, []byte("$GPZDA,120000,30,06,2026,00,00*00"), t0)
	if !errors.Is(err, ReasonBadChecksum) || len(out) != 0 || d.Pending() {
		t.Fatalf("Feed: %v %v pending %v", out, err, d.Pending())
	}
	if c := d.Counts(); c.Rejected[ReasonBadChecksum] != 1 || c.Sentences != 0 {
		t.Errorf("counts %+v", c)
	}
}

func TestJudge(t *testing.T) {
	rmc := func(status, mode, nav byte) Sentence {
		return Sentence{Kind: KindRMC, Status: status, Mode: mode, NavStatus: nav, Quality: -1, Satellites: -1}
	}
	gga := func(q int, alt bool) Sentence { return Sentence{Kind: KindGGA, Quality: q, HasAltitude: alt} }
	none := Sentence{Quality: -1}
	tests := []struct {
		name           string
		hasRMC, hasGGA bool
		rmc, gga       Sentence
		valid          bool
		fix            refclock.Fix
	}{
		{"rmc_a", true, false, rmc('A', 0, 0), none, true, refclock.FixUnknown},
		{"rmc_a_mode_a", true, false, rmc('A', 'A', 0), none, true, refclock.FixUnknown},
		{"rmc_v", true, false, rmc('V', 0, 0), none, false, refclock.FixNone},
		{"rmc_a_mode_n", true, false, rmc('A', 'N', 0), none, false, refclock.FixNone},
		{"rmc_a_mode_e", true, false, rmc('A', 'E', 0), none, false, refclock.FixNone},
		{"rmc_a_mode_s", true, false, rmc('A', 'S', 0), none, false, refclock.FixNone},
		{"rmc_a_mode_m", true, false, rmc('A', 'M', 0), none, true, refclock.FixTimeOnly},
		{"rmc_a_nav_v", true, false, rmc('A', 'A', 'V'), none, false, refclock.FixNone},
		{"rmc_empty_status", true, false, rmc(0, 0, 0), none, false, refclock.FixUnknown},
		{"gga_0", false, true, none, gga(0, false), false, refclock.FixNone},
		{"gga_1_alt", false, true, none, gga(1, true), true, refclock.Fix3D},
		{"gga_1_no_alt", false, true, none, gga(1, false), true, refclock.Fix2D},
		{"gga_4_alt", false, true, none, gga(4, true), true, refclock.Fix3D},
		{"gga_6", false, true, none, gga(6, true), false, refclock.FixNone},
		{"gga_7", false, true, none, gga(7, true), true, refclock.FixTimeOnly},
		{"gga_8", false, true, none, gga(8, true), false, refclock.FixNone},
		{"gga_empty_quality", false, true, none, gga(-1, true), false, refclock.FixUnknown},
		{"rmc_a_gga_0", true, true, rmc('A', 'A', 0), gga(0, false), false, refclock.FixNone},
		{"rmc_v_gga_1", true, true, rmc('V', 0, 0), gga(1, true), false, refclock.Fix3D},
		{"rmc_a_gga_1", true, true, rmc('A', 'D', 0), gga(2, true), true, refclock.Fix3D},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, f := judge(tc.hasRMC, tc.rmc, tc.hasGGA, tc.gga)
			if v != tc.valid || f != tc.fix {
				t.Errorf("judge = %v, %v; want %v, %v", v, f, tc.valid, tc.fix)
			}
		})
	}
}
