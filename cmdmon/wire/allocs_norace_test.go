//go:build !race

package wire

import "testing"

// The server's parse-then-reply path makes no allocation (the race
// detector's instrumentation allocates: this test runs without it).
func TestAllocs(t *testing.T) {
	req, _ := AppendRequest(nil, CmdSourceData, 9, 0, &IndexRequest{Index: 0})
	body := &SourceData{Addr: v4, Poll: 6, LatestMeas: 1e-6}
	buf := make([]byte, 0, MaxRequestLen)
	n := testing.AllocsPerRun(100, func() {
		h, err := ParseRequestHeader(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseIndexRequest(req); err != nil {
			t.Fatal(err)
		}
		out, err := AppendReply(buf[:0], ReplyTo(h, RpySourceData, StatusSuccess), body)
		if err != nil || len(out) != 76 {
			t.Fatal(err)
		}
		_ = AppendErrorReply(buf[:0], h, StatusNoSuchSource)
	})
	if n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}
