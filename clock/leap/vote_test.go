package leap

import (
	"testing"

	"github.com/gnomon-time/gnomon/clock"
)

func TestVote(t *testing.T) {
	const (
		ins  = clock.LeapInsert
		del  = clock.LeapDelete
		none = clock.LeapNone
		un   = clock.LeapUnsync
	)
	type L = []clock.Leap
	tests := []struct {
		name    string
		sources L
		table   string // fixture, "" = none
		now     string
		want    clock.Leap
	}{
		{"majority insert", L{ins, ins, none}, "", "2026-12-31T10:00:00Z", ins},
		{"minority insert", L{ins, none, none}, "", "2026-12-31T10:00:00Z", none},
		{"half is not a majority", L{ins, none}, "", "2026-12-31T10:00:00Z", none},
		{"majority delete", L{del, del, ins}, "", "2026-06-30T10:00:00Z", del},
		{"unsynchronised sources do not vote", L{ins, un, un}, "", "2026-12-31T10:00:00Z", ins},
		{"no sources, no table", nil, "", "2026-12-31T10:00:00Z", none},
		{"not the last day", L{ins, ins, ins}, "", "2026-12-30T23:59:59Z", none},
		{"last day of November", L{ins, ins, ins}, "", "2026-11-30T12:00:00Z", none},
		{"last day of March", L{ins, ins, ins}, "", "2026-03-31T12:00:00Z", none},
		{"after midnight", L{ins, ins, ins}, "", "2027-01-01T00:00:00Z", none},

		// A valid table with an expiry is authoritative both ways.
		{"valid table announces", L{none, none, none}, "future.list", "2026-12-31T00:00:00Z", ins},
		{"valid table announces with no sources", nil, "future.list", "2026-12-31T23:59:59Z", ins},
		{"valid table vetoes a false insert", L{ins, ins, ins}, "future.list", "2026-06-30T12:00:00Z", none},
		{"valid real table vetoes", L{ins, ins, ins}, "leap-seconds.list", "2025-12-31T12:00:00Z", none},
		{"valid table overrides direction", L{ins, ins, ins}, "negative.list", "2026-12-31T12:00:00Z", del},

		// An expired table neither announces nor vetoes.
		{"expired table, sources insert", L{ins, ins, none}, "leap-seconds.list", "2026-12-31T12:00:00Z", ins},
		{"expired table, sources quiet", L{none}, "leap-seconds.list", "2026-12-31T12:00:00Z", none},

		// A table without expiry (TZif v2) may add, not veto (chrony's leapsectz).
		{"tzif fills in", L{none, none}, "zic-future.tzif", "2026-12-31T12:00:00Z", ins},
		{"tzif cannot veto", L{ins, ins}, "right-UTC.tzif", "2026-06-30T12:00:00Z", ins},
		{"sources win over tzif", L{del, del}, "zic-future.tzif", "2026-12-31T12:00:00Z", del},
		{"tzif quiet, sources quiet", L{none}, "right-UTC.tzif", "2026-12-31T12:00:00Z", none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tb *Table
			if tt.table != "" {
				tb = load(t, tt.table)
			}
			if got := Vote(tt.sources, tb, ts(t, tt.now)); got != tt.want {
				t.Errorf("Vote = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestKernelStatus(t *testing.T) {
	for _, tt := range []struct {
		leap clock.Leap
		want int
	}{
		{clock.LeapNone, 0},
		{clock.LeapInsert, 0x10},
		{clock.LeapDelete, 0x20},
		{clock.LeapUnsync, 0},
		{clock.Leap(7), 0},
	} {
		if got := KernelStatus(tt.leap); got != tt.want {
			t.Errorf("KernelStatus(%v) = %#x, want %#x", tt.leap, got, tt.want)
		}
	}
}
