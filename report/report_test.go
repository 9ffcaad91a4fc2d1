package report

import "testing"

func TestNames(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{SyncUnsynchronised.String(), "unsynchronised"},
		{SyncLocal.String(), "local"},
		{SyncLocking.String(), "locking"},
		{NumSyncModes.String(), "mode(5)"},
		{StateUnusable.String(), "unusable"},
		{StateSelected.String(), "selected"},
		{NumSourceStates.String(), "state(6)"},
		{SourceRefClock.String(), "refclock"},
		{string([]byte{StateUnusable.Char(), StateFalseticker.Char(), StateJittery.Char(),
			StateSelectable.Char(), StateCombined.Char(), StateSelected.Char(), NumSourceStates.Char()}), "?x~-+*?"},
		{string([]byte{SourceServer.Char(), SourcePeer.Char(), SourceRefClock.Char(), SourceMode(9).Char()}), "^=#?"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestServerStatsVerdict(t *testing.T) {
	s := ServerStats{Requests: []VerdictCount{{"served", 3}, {"denied", 2}}}
	if got := s.Verdict("denied"); got != 2 {
		t.Errorf("denied = %d, want 2", got)
	}
	if got := s.Verdict("nonesuch"); got != 0 {
		t.Errorf("unknown verdict = %d, want 0", got)
	}
}
