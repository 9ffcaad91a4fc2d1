package clientlog

import "sync/atomic"

// stamp is one held interleaved timestamp: the Receive field of a reply and,
// once the shell learns it, that reply's transmit timestamp. It is keyed by
// the Receive field itself (the Origin an interleaved request echoes), not
// by the client, so several associations behind one address (NAT, several
// chronyd instances on one host) each find their own.
//
// rx is both key and lock: 0 = free; odd = a held Receive field (every
// Receive field we send has bit 0 set: the low-bit trick); even and nonzero
// = held by a writer (rx &^ 1 of the entry it is writing). A writer takes
// an entry with one compare-and-swap on rx and never waits: if that fails
// it gives up (the association gets one basic reply).
//
// aux is tag<<32 | delta: tag is 32 bits of the client address hash (an
// echo of someone else's Receive field is not answered from it), delta the
// transmit timestamp minus rx in NTP units (2^-32 s), 0 = not known yet. A
// reply leaves within microseconds of its request's arrival, so 32 bits (up
// to 1 s) hold every useful transmit timestamp exactly; a later one is not
// stored.
type stamp struct {
	rx  atomic.Uint64
	aux atomic.Uint64
}

// stampShard holds the timestamp table's counters, chosen by bucket.
type stampShard struct {
	fills     atomic.Uint64 // saves into a free entry
	evictions atomic.Uint64 // saves that replaced a held entry
	takes     atomic.Uint64 // entries handed out (or found without a TX) and freed
	served    atomic.Uint64 // takes that returned a transmit timestamp
	contended atomic.Uint64 // operations that found their entry held by another worker
	_         [24]byte
}

// Exchange describes the interleaved side of one request. The zero value
// is a request in basic form: nothing is looked up or held for it.
type Exchange struct {
	// Origin is the request's Origin field when the request is in
	// interleaved form (it echoes one of our Receive fields, so bit 0 is
	// set); Hit hands out the transmit timestamp held for it.
	Origin uint64
	// RX is the Receive field of the reply being built (bit 0 set); Hit
	// holds it for the client's next interleaved request. 0 or an even
	// value holds nothing.
	RX uint64
}

// stampBuckets returns the two buckets of Ways entries each that a Receive
// field of a client with address hash h can live in (two-choice hashing:
// a save takes a free entry of either, so buckets overflow far less often
// than with one choice at the same load). The address takes part so that
// equal Receive fields of two clients (two workers stamping the same
// nanosecond) land apart.
func (l *Log) stampBuckets(rx, h uint64) (b0, b1 []stamp, sh *stampShard) {
	m := mum(rx^l.seed2, h^l.seed3)
	i := int(m>>l.stampShift) * Ways
	j := int(mum(m, l.seed2)>>l.stampShift) * Ways
	return l.stamps[i : i+Ways : i+Ways], l.stamps[j : j+Ways : j+Ways], &l.stampShards[uint64(i/Ways)&l.stampShardMask]
}

// entry is the i-th of the 2 × Ways entries of the two buckets.
func entry(b0, b1 []stamp, i int) *stamp {
	if i < Ways {
		return &b0[i]
	}
	return &b1[i-Ways]
}

func stampTag(h uint64) uint64 { return h & 0xffff_ffff }

// take looks up origin for the client with address hash h; if found, it
// frees the entry (a timestamp is handed out once, never replayed) and
// returns its transmit timestamp (0 if none was recorded). An entry of
// another client is left alone.
func (l *Log) take(origin, h uint64) (tx uint64) {
	if origin&1 == 0 {
		return 0
	}
	b0, b1, sh := l.stampBuckets(origin, h)
	tag := stampTag(h)
	for i := range 2 * Ways {
		e := entry(b0, b1, i)
		if v := e.rx.Load(); v != origin {
			if v == origin&^1 {
				sh.contended.Add(1) // its RecordTX or another take holds it
			}
			continue
		}
		if !e.rx.CompareAndSwap(origin, origin&^1) {
			sh.contended.Add(1)
			return 0
		}
		aux := e.aux.Load()
		if aux>>32 != tag {
			e.rx.Store(origin) // another client's: release unchanged
			continue
		}
		e.aux.Store(0)
		e.rx.Store(0)
		sh.takes.Add(1)
		if d := aux & 0xffff_ffff; d != 0 {
			sh.served.Add(1)
			return origin + d
		}
		return 0
	}
	return 0
}

// save holds rx (tx unknown) for the client with address hash h, in a free
// entry of its two buckets, else in place of the oldest held one (by Receive
// field: the one whose association has most likely moved on or gone).
// Entries held by a writer are skipped; if all are, nothing is saved.
func (l *Log) save(rx, h uint64) {
	if rx&1 == 0 {
		return
	}
	b0, b1, sh := l.stampBuckets(rx, h)
	// A free entry of the bucket with more free entries (two-choice
	// balancing), else the oldest held entry of both.
	var free [2]int
	firstFree := [2]int{-1, -1}
	victim, seen := -1, uint64(0)
	for i := range 2 * Ways {
		v := entry(b0, b1, i).rx.Load()
		if v == 0 {
			if firstFree[i/Ways] < 0 {
				firstFree[i/Ways] = i
			}
			free[i/Ways]++
			continue
		}
		if v&1 == 0 {
			continue // held by a writer
		}
		// Oldest by wrap-safe difference (NTP era wrap).
		if victim < 0 || int64(v-seen) < 0 {
			victim, seen = i, v
		}
	}
	switch {
	case free[1] > free[0]:
		victim, seen = firstFree[1], 0
	case free[0] > 0:
		victim, seen = firstFree[0], 0
	}
	if victim < 0 {
		sh.contended.Add(1)
		return
	}
	e := entry(b0, b1, victim)
	if !e.rx.CompareAndSwap(seen, rx&^1) {
		sh.contended.Add(1)
		return
	}
	e.aux.Store(stampTag(h) << 32)
	e.rx.Store(rx)
	if seen == 0 {
		sh.fills.Add(1)
	} else {
		sh.evictions.Add(1)
	}
}

// recordTX stores tx for the held rx of the client with address hash h.
func (l *Log) recordTX(rx, tx, h uint64) bool {
	d := tx - rx // NTP units, wraps correctly across an era
	if rx&1 == 0 || d == 0 || d > 0xffff_ffff {
		return false
	}
	b0, b1, sh := l.stampBuckets(rx, h)
	tag := stampTag(h)
	for i := range 2 * Ways {
		e := entry(b0, b1, i)
		if e.rx.Load() != rx {
			continue
		}
		if !e.rx.CompareAndSwap(rx, rx&^1) {
			sh.contended.Add(1)
			return false
		}
		ok := e.aux.Load()>>32 == tag
		if ok {
			e.aux.Store(tag<<32 | d)
		}
		e.rx.Store(rx)
		if ok {
			return true
		}
	}
	return false
}
