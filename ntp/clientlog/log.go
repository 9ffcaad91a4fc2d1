package clientlog

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"sync/atomic"
)

// Decision is what the server should do with a request.
type Decision uint8

const (
	Allow Decision = iota // answer normally
	Drop                  // send nothing (over the rate limit)
	KoD                   // answer with a RATE kiss-o'-death (over the rate limit)

	NumDecisions = 3 // for counter arrays indexed by Decision
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "allow"
	case Drop:
		return "drop"
	case KoD:
		return "kod"
	}
	return fmt.Sprintf("decision(%d)", uint8(d))
}

// Hit is the outcome of one request.
type Hit struct {
	Decision Decision
	// Found is true if the address already had a record.
	Found bool
	// PrevTX is the transmit timestamp held for the reply whose Receive
	// field the request's Exchange.Origin echoes (0 = none: unknown,
	// already handed out, evicted, another client's, or its TX never
	// recorded). Set only when Decision is Allow; each is handed out once.
	PrevTX uint64
	// Contended is true if another worker held the address record: the
	// request was not counted or rate limited, and Decision is Allow. The
	// interleaved timestamps, kept apart, were still looked up and held.
	Contended bool
}

// slot is one address record (SlotBytes; a 4-way bucket is three cache
// lines). seq guards all other fields: even = free, odd = held by a
// writer. Every field is atomic so that the seqlock readers are race-free in
// the Go memory model. The interleaved timestamps live apart, in stamps.
type slot struct {
	seq    atomic.Uint32
	meta   atomic.Uint32 // metaValid | metaInterval | uint16 interval estimate (log2 s, Q8)
	hits   atomic.Uint32 // requests, saturating
	drops  atomic.Uint32 // requests answered with Drop, saturating
	addrHi atomic.Uint64 // address as 16 bytes (IPv4 in mapped form), big-endian halves
	addrLo atomic.Uint64
	lastNS atomic.Int64 // time of the last request, Unix ns
	tatNS  atomic.Int64 // token bucket: theoretical arrival time, Unix ns
}

const (
	metaValid    = 1 << 16
	metaInterval = 1 << 17 // the interval estimate holds a value
	metaXleave   = 1 << 18 // the latest request was in interleaved form
	metaEstMask  = 0xffff
)

// shard holds a slice of the global counters, one cache line each, chosen
// by bucket so that workers serving different clients rarely share one.
type shard struct {
	hits, drops, kods, leaks, contended, evictions, inserts atomic.Uint64
	_                                                       [8]byte
}

// Log is the client log. It is safe for concurrent use; Hit and RecordTX
// never block and never allocate. A nil *Log is a disabled log (chrony's
// noclientlog): Hit allows everything, nothing is recorded.
type Log struct {
	slots       []slot
	shards      []shard
	bucketShift uint   // bucket = hash >> bucketShift
	shardMask   uint64 // shard = bucket & shardMask
	seed0       uint64
	seed1       uint64
	rate        rateParams
	limit       RateLimit // as configured: the one owner of these settings

	// The interleaved timestamps: Config.Clients entries in 4-way buckets
	// of one cache line, keyed by Receive field (stamps.go).
	stamps         []stamp
	stampShards    []stampShard
	stampShift     uint
	stampShardMask uint64
	seed2, seed3   uint64
}

type key struct{ hi, lo uint64 }

// New returns an empty log, or an error if cfg is invalid.
func New(cfg Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	buckets := cfg.Clients / Ways
	nShards := min(buckets, 64)
	seed := cfg.Seed
	if seed == 0 {
		seed = 0x6e6f6d6f6e6c6f67 // "nomonlog"
	}
	s0 := splitmix64(seed)
	s1 := splitmix64(s0)
	s2 := splitmix64(s1)
	s3 := splitmix64(s2)
	// As many timestamp entries as address records: one interleaved
	// association per address on average (BytesPerClient in all).
	stampBuckets := cfg.Clients / Ways
	return &Log{
		slots:          make([]slot, cfg.Clients),
		shards:         make([]shard, nShards),
		bucketShift:    uint(64 - bits.TrailingZeros(uint(buckets))),
		shardMask:      uint64(nShards - 1),
		seed0:          s0 | 1, // never 0: IPv4 keys have hi = 0
		seed1:          s1,
		rate:           newRateParams(cfg.RateLimit),
		limit:          cfg.RateLimit,
		stamps:         make([]stamp, cfg.Clients),
		stampShards:    make([]stampShard, nShards),
		stampShift:     uint(64 - bits.TrailingZeros(uint(stampBuckets))),
		stampShardMask: uint64(nShards - 1),
		seed2:          s2,
		seed3:          s3,
	}, nil
}

// RateLimit returns the rate limiting the log was built with (disabled
// for a nil log). Whoever needs the interval (the server advertising it
// as a poll floor) reads it here rather than keeping a copy.
func (l *Log) RateLimit() RateLimit {
	if l == nil {
		return RateLimit{}
	}
	return l.limit
}

// Capacity is the number of slots (Config.Clients after defaults).
func (l *Log) Capacity() int {
	if l == nil {
		return 0
	}
	return len(l.slots)
}

// keyOf normalises addr: IPv4 and IPv4-mapped IPv6 both become the mapped
// 16-byte form (As16), so they share a key; the zone is ignored.
func keyOf(addr netip.Addr) (key, bool) {
	if !addr.IsValid() {
		return key{}, false
	}
	b := addr.As16()
	return key{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}, true
}

func (k key) addr() netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	return netip.AddrFrom16(b).Unmap()
}

// mum is the wyhash mixing step: the folded 128-bit product.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (l *Log) hash(k key) uint64 {
	return mum(mum(k.hi^l.seed0, k.lo^l.seed1)^0xe7037ed1a0b428db, l.seed1^0x8ebc6af09c88c6e3)
}

func (l *Log) bucket(h uint64) (bucket []slot, sh *shard) {
	b := h >> l.bucketShift
	i := int(b) * Ways
	return l.slots[i : i+Ways : i+Ways], &l.shards[b&l.shardMask]
}

// probe is what one unlocked pass over a bucket saw.
type probe struct {
	match, victim       int    // slot index in the bucket, −1 = none
	matchSeq, victimSeq uint32 // their sequence words when seen
	victimValid         bool   // the victim holds a record (eviction)
	busy                bool   // some slot was held by a writer
}

// scan looks for k in the bucket without locking, and picks the slot a new
// record would take: an empty one, else the least recently used. What it
// reads may be torn; the caller's compare-and-swap on the sequence word
// validates it.
func scan(bs []slot, k key) probe {
	p := probe{match: -1, victim: -1}
	var oldest int64
	for i := range bs {
		s := &bs[i]
		seq := s.seq.Load()
		if seq&1 != 0 {
			p.busy = true
			continue
		}
		if s.meta.Load()&metaValid == 0 {
			if p.victim < 0 || p.victimValid {
				p.victim, p.victimSeq, p.victimValid = i, seq, false
			}
			continue
		}
		if s.addrHi.Load() == k.hi && s.addrLo.Load() == k.lo {
			p.match, p.matchSeq = i, seq
			return p
		}
		if last := s.lastNS.Load(); p.victim < 0 || (p.victimValid && last < oldest) {
			p.victim, p.victimSeq, p.victimValid, oldest = i, seq, true, last
		}
	}
	return p
}

// claim takes the victim slot for a new record of k, or returns nil. While
// holding it, it re-checks the rest of the bucket: if any slot is busy or
// already holds k, it backs off. Two workers inserting the same address can
// therefore not both succeed (each sees the other's held slot or its key).
func claim(bs []slot, k key, p probe) *slot {
	if p.busy || p.victim < 0 {
		return nil
	}
	v := &bs[p.victim]
	if !v.seq.CompareAndSwap(p.victimSeq, p.victimSeq+1) {
		return nil
	}
	for j := range bs {
		if j == p.victim {
			continue
		}
		s := &bs[j]
		if s.seq.Load()&1 != 0 ||
			s.meta.Load()&metaValid != 0 && s.addrHi.Load() == k.hi && s.addrLo.Load() == k.lo {
			v.seq.Store(p.victimSeq + 2) // release unchanged
			return nil
		}
	}
	return v
}

// Hit records a request from addr received at nowNS (Unix ns) and decides
// whether to answer it (rate limiting is per address). When the decision
// is Allow and x is not zero (the request is in interleaved form), it hands
// out the transmit timestamp held for x.Origin (Hit.PrevTX) and holds x.RX,
// the Receive field of the reply being built, for the client's next
// interleaved request. Drop and KoD leave the timestamps alone. An invalid
// addr is allowed and not recorded.
func (l *Log) Hit(addr netip.Addr, nowNS int64, x Exchange) Hit {
	k, ok := keyOf(addr)
	if !ok || l == nil {
		return Hit{Decision: Allow}
	}
	h := l.hash(k)
	out := l.hitAddr(k, h, nowNS, x != (Exchange{}))
	if out.Decision == Allow && x != (Exchange{}) {
		out.PrevTX = l.take(x.Origin, h)
		l.save(x.RX, h)
	}
	return out
}

// hitAddr applies a request to the address record of k (hash h).
func (l *Log) hitAddr(k key, h uint64, nowNS int64, xleave bool) Hit {
	bs, sh := l.bucket(h)
	sh.hits.Add(1)
	p := scan(bs, k)
	if p.match >= 0 {
		s := &bs[p.match]
		if !s.seq.CompareAndSwap(p.matchSeq, p.matchSeq+1) {
			sh.contended.Add(1)
			return Hit{Decision: Allow, Contended: true}
		}
		out := l.update(s, sh, h, nowNS, xleave)
		s.seq.Store(p.matchSeq + 2)
		return out
	}
	s := claim(bs, k, p)
	if s == nil {
		sh.contended.Add(1)
		return Hit{Decision: Allow, Contended: true}
	}
	if p.victimValid {
		sh.evictions.Add(1)
	} else {
		sh.inserts.Add(1)
	}
	meta := uint32(metaValid)
	if xleave {
		meta |= metaXleave
	}
	s.addrHi.Store(k.hi)
	s.addrLo.Store(k.lo)
	s.meta.Store(meta)
	s.hits.Store(1)
	s.drops.Store(0)
	s.lastNS.Store(nowNS)
	s.tatNS.Store(l.rate.first(nowNS))
	s.seq.Store(p.victimSeq + 2)
	return Hit{Decision: Allow}
}

// update applies a request to an existing record held by the caller.
func (l *Log) update(s *slot, sh *shard, h uint64, nowNS int64, xleave bool) Hit {
	hits := s.hits.Load()
	if hits < math.MaxUint32 {
		hits++
		s.hits.Store(hits)
	}
	meta := updateInterval(s.meta.Load(), s.lastNS.Load(), nowNS) &^ metaXleave
	if xleave {
		meta |= metaXleave
	}
	s.meta.Store(meta)
	s.lastNS.Store(nowNS)

	d := Allow
	if l.rate.enabled {
		var leaked bool
		d, leaked = l.rate.decide(s, nowNS, splitmix64(l.seed1^h^uint64(nowNS)^uint64(hits)*0x9e3779b97f4a7c15))
		if leaked {
			sh.leaks.Add(1)
		}
	}
	switch d {
	case Drop:
		if n := s.drops.Load(); n < math.MaxUint32 {
			s.drops.Store(n + 1)
		}
		sh.drops.Add(1)
	case KoD:
		sh.kods.Add(1)
	}
	return Hit{Decision: d, Found: true}
}

// RecordTX stores tx as the transmit timestamp of the reply to addr whose
// Receive field was rx, if rx is still held for addr (Hit held it and no
// request has taken it or evicted it since). It reports whether it did;
// false means not held, rx even, tx not within 1 s after rx, or
// contention.
func (l *Log) RecordTX(addr netip.Addr, rx, tx uint64) bool {
	k, ok := keyOf(addr)
	if !ok || l == nil {
		return false
	}
	return l.recordTX(rx, tx, l.hash(k))
}
