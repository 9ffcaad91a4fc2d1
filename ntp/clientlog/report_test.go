package clientlog

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/report"
)

func TestClientLogStatsReport(t *testing.T) {
	st := Stats{Capacity: 4096, Clients: 17, Hits: 150, Drops: 7, KoDs: 3, Leaks: 2, Contended: 1, Evictions: 4}
	want := report.ClientLogStats{Capacity: 4096, Records: 17, Hits: 150, RateLimited: 7, KoDs: 3, Leaks: 2,
		Contended: 1, Evictions: 4}
	if got := st.Report(); got != want {
		t.Errorf("report %+v, want %+v", got, want)
	}
	var l *Log
	if got := l.ClientLogStats(); got != (report.ClientLogStats{}) {
		t.Errorf("nil log report %+v", got)
	}
	l = mustNew(t, Config{Clients: 16})
	l.Hit(netip.MustParseAddr("192.0.2.1"), 1, Exchange{})
	if got := l.ClientLogStats(); got.Capacity != 16 || got.Records != 1 || got.Hits != 1 {
		t.Errorf("log report %+v", got)
	}
}

func TestClients(t *testing.T) {
	l := mustNew(t, Config{Clients: 64, RateLimit: RateLimit{Enabled: true, IntervalLog2: 3, Burst: 1, Leak: 4}})
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::2"), netip.MustParseAddr("192.0.2.3")
	const s = int64(time.Second)
	now := 1000 * s
	// a: every 8 s in interleaved form, its latest TX recorded; b: once, 2 s before now;
	// c: twice in one second, the second request dropped by the limit.
	for i := int64(0); i < 10; i++ {
		l.Hit(a, now-80*s+i*8*s, Exchange{Origin: uint64(2*i + 199), RX: uint64(2*i + 201)})
	}
	if !l.RecordTX(a, 219, 5000) {
		t.Fatal("RecordTX failed")
	}
	l.Hit(b, now-2*s, Exchange{})
	l.Hit(c, now-s, Exchange{})
	if h := l.Hit(c, now-s/2, Exchange{}); h.Decision == Allow {
		t.Fatalf("second request of c allowed: %+v", h)
	}

	all := l.Clients(0, 100, 0, now)
	if all.Indices != 64 || all.Next != 64 || len(all.Clients) != 3 {
		t.Fatalf("page %+v", all)
	}
	byAddr := map[netip.Addr]report.Client{}
	for _, r := range all.Clients {
		if got, ok := l.At(r.Index); !ok || got.Addr != r.Addr {
			t.Errorf("row %+v: slot %d holds %v", r, r.Index, got.Addr)
		}
		byAddr[r.Addr] = r
	}
	if r := byAddr[a]; r.NTPHits != 10 || r.NTPDrops != 0 || !r.IntervalKnown || r.NTPIntervalLog2 != 3 ||
		r.LastNTPHitAgo != 8*time.Second || !r.Interleaved {
		t.Errorf("a: %+v", r)
	}
	if r := byAddr[b]; r.NTPHits != 1 || r.IntervalKnown || r.LastNTPHitAgo != 2*time.Second || r.Interleaved {
		t.Errorf("b: %+v", r)
	}
	if r := byAddr[c]; r.NTPHits != 2 || r.NTPDrops != 1 || r.LastNTPHitAgo != time.Second/2 {
		t.Errorf("c: %+v", r)
	}

	// Paging one row at a time visits the same rows in slot order.
	var paged []report.Client
	for next := 0; next < 64; {
		p := l.Clients(next, 1, 0, now)
		if len(p.Clients) > 1 || p.Next <= next {
			t.Fatalf("page from %d: %+v", next, p)
		}
		paged = append(paged, p.Clients...)
		next = p.Next
	}
	if !slices.Equal(paged, all.Clients) {
		t.Errorf("paged %+v, want %+v", paged, all.Clients)
	}

	if p := l.Clients(0, 100, 2, now); len(p.Clients) != 2 {
		t.Errorf("minHits 2: %+v", p.Clients)
	}
	if p := l.Clients(10, 0, 0, now); p.Next != 10 || len(p.Clients) != 0 {
		t.Errorf("limit 0: %+v", p)
	}
	if p := l.Clients(100, 8, 0, now); p.Next != 64 || len(p.Clients) != 0 {
		t.Errorf("past the end: %+v", p)
	}
	var nilLog *Log
	if p := nilLog.Clients(0, 8, 0, now); p.Indices != 0 || p.Next != 0 || len(p.Clients) != 0 {
		t.Errorf("nil log: %+v", p)
	}
}
