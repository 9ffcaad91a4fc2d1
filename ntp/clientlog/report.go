package clientlog

import (
	"time"

	"github.com/gnomon-time/gnomon/report"
)

// ClientLogStats returns the log's counters as a report (zero for a nil,
// disabled log).
func (l *Log) ClientLogStats() report.ClientLogStats { return l.Stats().Report() }

// Report converts the counters to a report.ClientLogStats.
func (st Stats) Report() report.ClientLogStats {
	return report.ClientLogStats{
		Capacity: st.Capacity, Records: st.Clients, Hits: st.Hits, RateLimited: st.Drops,
		KoDs: st.KoDs, Leaks: st.Leaks, Contended: st.Contended, Evictions: st.Evictions,
		TimestampsHeld: st.TimestampsHeld, TimestampEvictions: st.TimestampEvictions,
	}
}

// Clients returns one page of chronyc clients' rows: up to limit records,
// read from slot first on (At; empty and persistently busy slots are
// skipped, and so are records with fewer than minHits hits). Page.Next is
// the slot to continue from, Page.Indices the capacity: the caller has
// seen every record when Next reaches Indices. nowNS is the time in Unix ns
// on the clock Hit is given, for LastNTPHitAgo. It reads each slot once,
// never blocks writers and allocates the page: it is for control queries,
// not for the packet path. A nil log has no records.
func (l *Log) Clients(first, limit int, minHits uint32, nowNS int64) report.ClientPage {
	n := l.Capacity()
	first = max(first, 0)
	p := report.ClientPage{Indices: n, Next: min(first, n)}
	if limit <= 0 {
		return p
	}
	p.Clients = make([]report.Client, 0, min(limit, 64))
	for i := p.Next; i < n && len(p.Clients) < limit; i++ {
		p.Next = i + 1
		c, ok := l.At(i)
		if !ok || c.Hits < minHits {
			continue
		}
		r := report.Client{
			Index: i, Addr: c.Addr, NTPHits: c.Hits, NTPDrops: c.Drops,
			LastNTPHitAgo: max(time.Duration(nowNS-c.LastNS), 0),
			Interleaved:   c.Interleaved,
		}
		r.NTPIntervalLog2, r.IntervalKnown = c.IntervalLog2()
		p.Clients = append(p.Clients, r)
	}
	return p
}
