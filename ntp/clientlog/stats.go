package clientlog

import (
	"math"
	"net/netip"
	"time"
)

// Stats is an approximate snapshot of the log's counters (each counter is
// read atomically, the set is not read at one instant).
type Stats struct {
	Capacity  int    // slots
	Clients   uint64 // slots holding a record (records are never deleted, only replaced)
	Hits      uint64 // Hit calls with a valid address
	Drops     uint64 // Hit decisions Drop
	KoDs      uint64 // Hit decisions KoD
	Leaks     uint64 // Hit decisions Allow over the limit (the leak)
	Contended uint64 // Hit or RecordTX calls that found their record held by another worker
	Evictions uint64 // records replaced by a new address (chrony: "Client log records dropped")

	// The interleaved timestamp table (Capacity entries).
	TimestampsHeld      uint64 // entries holding a Receive field (chronyc "NTP timestamps held"; approximate under concurrency)
	TimestampEvictions  uint64 // held entries replaced by a newer one before their client asked for them
	TimestampsServed    uint64 // transmit timestamps handed out (interleaved replies)
	TimestampsContended uint64 // timestamp operations that found their entry held by another worker
}

// Stats sums the counter shards.
func (l *Log) Stats() Stats {
	if l == nil {
		return Stats{}
	}
	st := Stats{Capacity: len(l.slots)}
	for i := range l.shards {
		sh := &l.shards[i]
		st.Clients += sh.inserts.Load()
		st.Hits += sh.hits.Load()
		st.Drops += sh.drops.Load()
		st.KoDs += sh.kods.Load()
		st.Leaks += sh.leaks.Load()
		st.Contended += sh.contended.Load()
		st.Evictions += sh.evictions.Load()
	}
	var fills, takes uint64
	for i := range l.stampShards {
		sh := &l.stampShards[i]
		fills += sh.fills.Load()
		takes += sh.takes.Load()
		st.TimestampEvictions += sh.evictions.Load()
		st.TimestampsServed += sh.served.Load()
		st.TimestampsContended += sh.contended.Load()
	}
	if fills > takes {
		st.TimestampsHeld = fills - takes
	}
	return st
}

// Client is a consistent copy of one record.
type Client struct {
	Addr  netip.Addr
	Hits  uint32 // requests seen (saturating)
	Drops uint32 // requests dropped by the rate limit (saturating; KoDs are not drops)
	// LastNS is the time of the last request, Unix ns (the caller subtracts
	// it from its now for "last hit ago").
	LastNS int64
	// Interval is the estimated mean interval between requests, 0 until the
	// client has sent two.
	Interval time.Duration
	// Interleaved: the latest request was in interleaved form (its Origin
	// echoed one of our Receive fields). The timestamps themselves are
	// kept per association, apart from the address records.
	Interleaved bool

	intervalQ8 int16
	hasIntvl   bool
}

// IntervalLog2 is the interval estimate as rounded log2 seconds, the way
// chronyc shows it; ok is false if there is no estimate yet.
func (c Client) IntervalLog2() (log2 int8, ok bool) {
	if !c.hasIntvl {
		return 0, false
	}
	v := (int32(c.intervalQ8) + 128) >> 8 // round half up
	return int8(max(math.MinInt8, min(math.MaxInt8-1, v))), true
}

// readRetries bounds how often a reader retries a slot a writer keeps
// changing; writers hold a slot for tens of nanoseconds.
const readRetries = 64

// At copies slot i (0 ≤ i < Capacity) with a seqlock read. ok is false for
// an empty slot, an index out of range, or a slot that stayed busy.
// Indices are stable, so a control protocol can page through them
// (chrony's CLIENT_ACCESSES_BY_INDEX).
func (l *Log) At(i int) (c Client, ok bool) {
	if l == nil || i < 0 || i >= len(l.slots) {
		return Client{}, false
	}
	s := &l.slots[i]
	for range readRetries {
		seq := s.seq.Load()
		if seq&1 != 0 {
			continue
		}
		meta := s.meta.Load()
		k := key{hi: s.addrHi.Load(), lo: s.addrLo.Load()}
		c = Client{
			Hits:   s.hits.Load(),
			Drops:  s.drops.Load(),
			LastNS: s.lastNS.Load(),
		}
		if s.seq.Load() != seq {
			continue
		}
		if meta&metaValid == 0 {
			return Client{}, false
		}
		c.Addr = k.addr()
		c.Interleaved = meta&metaXleave != 0
		if meta&metaInterval != 0 {
			c.hasIntvl = true
			c.intervalQ8 = int16(meta & metaEstMask)
			c.Interval = time.Duration(math.MaxInt64)
			if ns := math.Exp2(float64(c.intervalQ8)/256) * 1e9; ns < 9e18 {
				c.Interval = time.Duration(ns)
			}
		}
		return c, true
	}
	return Client{}, false
}

// Range calls fn with a consistent copy of every record, in slot order,
// until fn returns false. Records changed while Range runs may be seen
// before or after the change; a slot that stays busy is skipped.
func (l *Log) Range(fn func(Client) bool) {
	for i := range l.Capacity() {
		if c, ok := l.At(i); ok && !fn(c) {
			return
		}
	}
}
