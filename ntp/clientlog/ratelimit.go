package clientlog

import (
	"math"
	"math/bits"
)

// rateParams is RateLimit turned into integer nanoseconds and bit masks.
type rateParams struct {
	enabled    bool
	intervalNS int64  // time to earn one token (2^IntervalLog2 s, rounded to ns)
	tolNS      int64  // (Burst−1) × interval: how far ahead of now the TAT may be and still conform
	maxAheadNS int64  // Burst × interval: the furthest ahead the TAT can legitimately get
	leakMask   uint64 // over the limit, leak if draw & leakMask == 0 (probability 2^−Leak)
	kodMask    uint64 // else KoD if (draw>>32) & kodMask == 0 (probability 2^−KoD)
	kod        bool
}

func newRateParams(r RateLimit) rateParams {
	if !r.Enabled {
		return rateParams{}
	}
	if r.Burst == 0 {
		r.Burst = DefaultBurst
	}
	if r.Leak == 0 {
		r.Leak = DefaultLeak
	}
	// 2^−19 s = 1907.35 ns: rounding to whole ns changes the rate by < 0.02 %.
	iv := int64(math.Round(math.Ldexp(1e9, int(r.IntervalLog2))))
	return rateParams{
		enabled:    true,
		intervalNS: iv,
		tolNS:      int64(r.Burst-1) * iv,
		maxAheadNS: int64(r.Burst) * iv,
		leakMask:   1<<uint(r.Leak) - 1,
		kodMask:    1<<uint(r.KoD) - 1,
		kod:        r.KoD > 0,
	}
}

// first returns the TAT of a new client after its first request: a full
// bucket minus the token that request took.
func (r *rateParams) first(nowNS int64) int64 {
	return satAdd(nowNS, r.intervalNS)
}

// decide applies one request at nowNS to the token bucket of s (held by the
// caller). draw is a uniform random 64-bit value. leaked reports an Allow
// over the limit.
//
// GCRA: the bucket is full when tat ≤ now; each conforming request moves tat
// one interval later; a request conforms while tat − now ≤ (Burst−1) ×
// interval, i.e. while at least one token is left.
func (r *rateParams) decide(s *slot, nowNS int64, draw uint64) (d Decision, leaked bool) {
	tat := s.tatNS.Load()
	var ahead uint64 // tat − now, computed without overflow
	if tat <= nowNS {
		tat = nowNS
	} else {
		ahead = uint64(tat) - uint64(nowNS)
		if ahead > uint64(r.maxAheadNS) {
			// Time went backwards (clock step, or workers' clocks a little
			// apart): act as if the bucket had just been emptied.
			tat, ahead = nowNS+r.maxAheadNS, uint64(r.maxAheadNS)
			if nowNS > math.MaxInt64-r.maxAheadNS {
				tat = math.MaxInt64
			}
		}
	}
	if ahead <= uint64(r.tolNS) {
		s.tatNS.Store(satAdd(tat, r.intervalNS))
		return Allow, false
	}
	s.tatNS.Store(tat)
	if draw&r.leakMask == 0 {
		return Allow, true
	}
	if r.kod && (draw>>32)&r.kodMask == 0 {
		return KoD, false
	}
	return Drop, false
}

func satAdd(a, b int64) int64 { // b ≥ 0
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// splitmix64 is the finaliser of Steele, Lea and Flood's SplitMix64: a cheap
// bijective mix whose output bits are close to uniform for distinct inputs.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Interval estimate: an exponential moving average (weight 1/4) of log2 of
// the seconds between a client's requests, in Q8 fixed point (1/256 log2 s)
// in the low 16 bits of the meta word. It feeds the "Int" column of a
// clients listing.
const (
	log2NSPerSecQ8 = 7654 // log2(1e9) = 29.897 in Q8
	estWeightShift = 2    // new = old + (sample − old)/4
)

// log2Q8 approximates log2(n) for n ≥ 1 in Q8: the exponent plus the top 8
// mantissa bits taken as linear (error < 0.09, plenty for a display).
func log2Q8(n uint64) int32 {
	e := bits.Len64(n) - 1
	var frac uint64
	if e >= 8 {
		frac = n >> uint(e-8) & 0xff
	} else {
		frac = n << uint(8-e) & 0xff
	}
	return int32(e)<<8 | int32(frac)
}

// updateInterval folds the interval lastNS→nowNS into the estimate in meta.
// A first request or time going backwards leaves it unchanged.
func updateInterval(meta uint32, lastNS, nowNS int64) uint32 {
	if nowNS < lastNS {
		return meta
	}
	d := uint64(nowNS) - uint64(lastNS)
	if d == 0 {
		d = 1
	}
	sample := log2Q8(d) - log2NSPerSecQ8
	est := sample
	if meta&metaInterval != 0 {
		old := int32(int16(meta & metaEstMask))
		est = old + (sample-old)/(1<<estWeightShift)
	}
	return meta&^metaEstMask | metaInterval | uint32(uint16(int16(est)))
}
