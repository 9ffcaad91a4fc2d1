package upstream

import (
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/ntp/client"
)

// countSink counts events without allocating.
type countSink struct{ samples, states int }

func (c *countSink) OnSample(string, filter.Sample, client.Estimate) { c.samples++ }
func (c *countSink) OnState(string, time.Time, client.Estimate)      { c.states++ }

// newBareUpstream builds an Upstream whose one source is attached to a real
// socket but has no reader goroutine, so a test can drive the owner's
// steps directly: pollDue, ReadBatch, handleBatch.
func newBareUpstream(t testing.TB, addr string, sink Sink) (*Upstream, *sock, *source) {
	t.Helper()
	u, err := New(Config{Servers: []ServerConfig{{Name: "s", Address: addr, MinPoll: -6, MaxPoll: -6}}}, &offsetClock{}, sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	u.timer = time.NewTimer(time.Hour)
	k, err := u.openSock(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.conn.Close() })
	u.socks[0] = k
	s := u.srcs[0]
	u.resolveAll(t.Context()) // an IP literal: no lookup
	s.k = k
	k.srcs = append(k.srcs, s)
	u.byAddr[s.addr] = s
	return u, k, s
}

// TestZeroAllocsPerPoll: one poll (request built, sent, TX stamp read) and
// its reply (received, matched, sample into the filter, Sink called) do not
// allocate in steady state. The in-process server does not allocate either
// (AllocsPerRun counts every goroutine).
func TestZeroAllocsPerPoll(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	srv := startFake(t, fakeGood)
	sink := &countSink{}
	u, k, s := newBareUpstream(t, srv.addr().String(), sink)
	if err := k.conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	step := func() {
		s.core.Burst(1) // make a poll due now
		u.pollDue()
		n, err := k.conn.ReadBatch(k.rx)
		if err != nil {
			t.Fatalf("ReadBatch: %v", err)
		}
		u.handleBatch(k, n)
	}
	for range 20 { // warm up: fill the clock filter, settle the reach register
		step()
	}
	allocs := testing.AllocsPerRun(200, step)
	if allocs != 0 {
		t.Errorf("%.2f allocations per poll and reply; want 0", allocs)
	}
	if sink.samples < 200 {
		t.Errorf("%d samples; want ≥ 200 (every step should produce one)", sink.samples)
	}
	if st := s.core.Stats(); st.Timeouts != 0 {
		t.Errorf("%d timeouts: steps lost replies", st.Timeouts)
	}
}

func BenchmarkPollReply(b *testing.B) {
	srv := startFake(b, fakeGood)
	u, k, s := newBareUpstream(b, srv.addr().String(), &countSink{})
	if err := k.conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.core.Burst(1)
		u.pollDue()
		n, err := k.conn.ReadBatch(k.rx)
		if err != nil {
			b.Fatal(err)
		}
		u.handleBatch(k, n)
	}
}
