package nmea

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// line frames body with its checksum.
func line(body string) string { return string(AppendSentence(nil, []byte(body))) }

// lowerHex writes l's checksum in lower case.
func lowerHex(l string) string {
	i := strings.IndexByte(l, '*')
	return l[:i] + strings.ToLower(l[i:])
}

func TestChecksumDocExamples(t *testing.T) {
	// Examples as printed in widely used NMEA references.
	for _, l := range []string{
		"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A",
		"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47",
	} {
		if _, err := Parse([]byte(l)); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
}

func TestParse(t *testing.T) {
	base := Sentence{Quality: -1, Satellites: -1}
	with := func(f func(*Sentence)) Sentence { s := base; f(&s); return s }
	tests := []struct {
		name string
		line string
		want Sentence
		err  Reason
	}{
		{name: "rmc_23", line: line("GPRMC,123519.25,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W,A") + "\r\n",
			want: with(func(s *Sentence) {
				s.Talker, s.Type, s.Kind = "GP", "RMC", KindRMC
				s.Time, s.HasTime = Time{Hour: 12, Minute: 35, Second: 19, Nanosecond: 250000000, Digits: 2}, true
				s.Date, s.HasDate = Date{Year: 1994, Month: 3, Day: 23}, true
				s.Status, s.Mode = 'A', 'A'
			})},
		{name: "rmc_20_no_mode", line: line("GNRMC,000000,V,,,,,,,010126,,"),
			want: with(func(s *Sentence) {
				s.Talker, s.Type, s.Kind = "GN", "RMC", KindRMC
				s.Time, s.HasTime = Time{}, true
				s.Date, s.HasDate = Date{Year: 2026, Month: 1, Day: 1}, true
				s.Status = 'V'
			})},
		{name: "rmc_41_nav_status", line: line("GNRMC,235960.999999999,A,,,,,,,311216,,,D,S"),
			want: with(func(s *Sentence) {
				s.Talker, s.Type, s.Kind = "GN", "RMC", KindRMC
				s.Time, s.HasTime = Time{Hour: 23, Minute: 59, Second: 60, Nanosecond: 999999999, Digits: 9}, true
				s.Date, s.HasDate = Date{Year: 2016, Month: 12, Day: 31}, true
				s.Status, s.Mode, s.NavStatus = 'A', 'D', 'S'
			})},
		{name: "rmc_no_time_yet", line: line("GPRMC,,V,,,,,,,,,,N"),
			want: with(func(s *Sentence) { s.Talker, s.Type, s.Kind, s.Status, s.Mode = "GP", "RMC", KindRMC, 'V', 'N' })},
		{name: "zda_beidou", line: line("BDZDA,201530.00,04,07,2002,00,00"),
			want: with(func(s *Sentence) {
				s.Talker, s.Type, s.Kind = "BD", "ZDA", KindZDA
				s.Time, s.HasTime = Time{Hour: 20, Minute: 15, Second: 30, Digits: 2}, true
				s.Date, s.HasDate = Date{Year: 2002, Month: 7, Day: 4}, true
			})},
		{name: "zda_no_zone_lower_hex", line: lowerHex(line("QZZDA,000000,29,02,2024")),
			want: with(func(s *Sentence) {
				s.Talker, s.Type, s.Kind = "QZ", "ZDA", KindZDA
				s.Time, s.HasTime = Time{}, true
				s.Date, s.HasDate = Date{Year: 2024, Month: 2, Day: 29}, true
			})},
		{name: "gga_2d", line: line("GAGGA,120000.5,4807.038,N,01131.000,E,1,05,0.9,,M,,M,,"),
			want: with(func(s *Sentence) {
				s.Talker, s.Type, s.Kind = "GA", "GGA", KindGGA
				s.Time, s.HasTime = Time{Hour: 12, Nanosecond: 500000000, Digits: 1}, true
				s.Quality, s.Satellites = 1, 5
			})},
		{name: "gga_short_accepted", line: line("GLGGA,120000,,,,,8,12"),
			want: with(func(s *Sentence) {
				s.Talker, s.Type, s.Kind = "GL", "GGA", KindGGA
				s.Time, s.HasTime = Time{Hour: 12}, true
				s.Quality, s.Satellites = 8, 12
			})},
		{name: "other", line: line("GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00"),
			want: with(func(s *Sentence) { s.Talker, s.Type = "GP", "GSV" })},
		{name: "proprietary", line: line("PUBX,04,073731.00,091202,113851.00,1196,15D,1930035,-2660.664,43"),
			want: with(func(s *Sentence) { s.Talker, s.Type = "P", "UBX" })},
		{name: "encapsulated", line: line("AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0"),
			want: with(func(s *Sentence) { s.Talker, s.Type = "AI", "VDM" })},

		{name: "empty", line: "", err: ReasonNoStart},
		{name: "crlf_only", line: "\r\n", err: ReasonNoStart},
		{name: "no_dollar", line: "GPZDA,201530.00,04,07,2002,00,00*60", err: ReasonNoStart},
		{name: "no_checksum", line: "$GPZDA,201530.00,04,07,2002,00,00", err: ReasonNoChecksum},
		{name: "star_no_digits", line: "$GPZDA,201530.00,04,07,2002,00,00*", err: ReasonNoChecksum},
		{name: "checksum_not_hex", line: "$GPZDA,201530.00,04,07,2002,00,00*G0", err: ReasonNoChecksum},
		{name: "checksum_trailing", line: line("GPZDA,201530.00,04,07,2002,00,00")[:38] + "0", err: ReasonNoChecksum},
		{name: "bad_checksum", line: "$GPZDA,201530.00,04,07,2002,00,00*61", err: ReasonBadChecksum},
		{name: "bit_flip", line: strings.Replace(line("GPZDA,201530.00,04,07,2002,00,00"), "2002", "2003", 1), err: ReasonBadChecksum},
		{name: "control_char", line: line("GPZDA,2015\x0030.00,04,07,2002,00,00"), err: ReasonBadChar},
		{name: "high_byte", line: line("GPZDA,201530.00,04,07,2002,00,00\xff"), err: ReasonBadChar},
		{name: "too_long", line: line("GPTXT," + strings.Repeat("x", MaxLineLen)), err: ReasonTooLong},
		{name: "address_lower", line: line("gpRMC,123519,A,,,,,,,230394,,"), err: ReasonBadAddress},
		{name: "address_short", line: line("GPRM,123519"), err: ReasonBadAddress},
		{name: "rmc_short", line: line("GPRMC,123519,A,,,,,"), err: ReasonShort},
		{name: "zda_short", line: line("GPZDA,123519,01,01"), err: ReasonShort},
		{name: "gga_short", line: line("GPGGA,123519,,,,,1"), err: ReasonShort},
		{name: "hour_24", line: line("GPZDA,240000,01,01,2026"), err: ReasonBadTime},
		{name: "minute_60", line: line("GPZDA,126000,01,01,2026"), err: ReasonBadTime},
		{name: "second_60_not_2359", line: line("GPZDA,235860,31,12,2016"), err: ReasonBadTime},
		{name: "second_61", line: line("GPZDA,235961,31,12,2016"), err: ReasonBadTime},
		{name: "second_60_mid_month", line: line("GPRMC,235960,A,,,,,,,151216,,"), err: ReasonBadTime},
		{name: "ten_fraction_digits", line: line("GPZDA,120000.0000000001,01,01,2026"), err: ReasonBadTime},
		{name: "fraction_empty", line: line("GPZDA,120000.,01,01,2026"), err: ReasonBadTime},
		{name: "fraction_comma", line: line("GPZDA,120000:5,01,01,2026"), err: ReasonBadTime},
		{name: "time_short", line: line("GPZDA,12000,01,01,2026"), err: ReasonBadTime},
		{name: "time_sign", line: line("GPZDA,-12000,01,01,2026"), err: ReasonBadTime},
		{name: "april_31", line: line("GPZDA,120000,31,04,2026"), err: ReasonBadTime},
		{name: "feb_29_2100", line: line("GPZDA,120000,29,02,2100"), err: ReasonBadTime},
		{name: "zda_two_digit_year", line: line("GPZDA,120000,01,01,26"), err: ReasonBadTime},
		{name: "rmc_date_short", line: line("GPRMC,120000,A,,,,,,,01012,,"), err: ReasonBadTime},
		{name: "rmc_month_13", line: line("GPRMC,120000,A,,,,,,,011326,,"), err: ReasonBadTime},
		{name: "rmc_status_x", line: line("GPRMC,120000,X,,,,,,,010126,,"), err: ReasonBadField},
		{name: "rmc_mode_lower", line: line("GPRMC,120000,A,,,,,,,010126,,,a"), err: ReasonBadField},
		{name: "rmc_nav_two", line: line("GPRMC,120000,A,,,,,,,010126,,,A,SS"), err: ReasonBadField},
		{name: "gga_quality_9", line: line("GPGGA,120000,,,,,9,05"), err: ReasonBadField},
		{name: "gga_sats_x", line: line("GPGGA,120000,,,,,1,5x"), err: ReasonBadField},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.line))
			if tc.want.Talker == "" {
				var e *Error
				if !errors.As(err, &e) || e.Reason != tc.err || !errors.Is(err, tc.err) {
					t.Fatalf("Parse(%q) error %v, want reason %v", tc.line, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.line, err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tc.line, d)
			}
		})
	}
}

func TestParseLeapDay(t *testing.T) {
	for _, l := range []string{line("GPZDA,120000,29,02,2000"), line("GPZDA,120000,29,02,2024"), line("GPRMC,235960,A,,,,,,,300615,,")} {
		if _, err := Parse([]byte(l)); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
}

func TestTimeString(t *testing.T) {
	for _, tc := range []struct {
		t    Time
		want string
	}{
		{Time{Hour: 23, Minute: 59, Second: 60}, "23:59:60"},
		{Time{Hour: 1, Minute: 2, Second: 3, Nanosecond: 500000000, Digits: 2}, "01:02:03.50"},
		{Time{Nanosecond: 1, Digits: 9}, "00:00:00.000000001"},
	} {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestReasonStrings(t *testing.T) {
	seen := map[string]bool{}
	for r := range Reason(NumReasons) {
		s := r.String()
		if seen[s] || strings.HasPrefix(s, "reason_") {
			t.Errorf("reason %d: %q duplicate or unnamed", r, s)
		}
		seen[s] = true
	}
}
