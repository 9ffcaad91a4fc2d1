package wire

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Float is chrony's 32-bit floating-point number on the wire: the top 7
// bits a signed exponent e, the low 25 bits a signed (two's complement)
// coefficient c without hidden bit; the value is c × 2^(e−25). About 24
// significant bits, magnitudes from ~2^-89 to ~2^62.
type Float uint32

const (
	floatExpBits  = 7
	floatCoefBits = 32 - floatExpBits
	floatExpMin   = -(1 << (floatExpBits - 1))
	floatExpMax   = -floatExpMin - 1
	floatCoefMin  = -(1 << (floatCoefBits - 1))
	floatCoefMax  = -floatCoefMin - 1
)

// NewFloat encodes x as chronyd does (UTI_FloatHostToNetwork): NaN and
// |x| < 1e-100 become 0; |x| > 1e100 and overflows saturate at the largest
// magnitude; tiny values are denormalised. The exponent is
// trunc(log(|x|)/log(2)) + 1 (towards zero, as C's conversion), then the
// coefficient rounded and shifted down until it fits, so the bytes match
// chronyd's.
func NewFloat(x float64) Float {
	var exp, coef, neg int32
	switch {
	case x < 0:
		x, neg = -x, 1
	case x >= 0:
	default: // NaN
		x = 0
	}
	switch {
	case x < 1e-100:
		exp, coef = 0, 0
	case x > 1e100:
		exp, coef = floatExpMax, floatCoefMax+neg
	default:
		exp = int32(math.Log(x)/math.Log(2) + 1)
		coef = int32(x*math.Pow(2, float64(-exp+floatCoefBits)) + 0.5)
		for coef > floatCoefMax+neg {
			coef >>= 1
			exp++
		}
		if exp > floatExpMax {
			exp, coef = floatExpMax, floatCoefMax+neg
		} else if exp < floatExpMin {
			if exp+floatCoefBits >= floatExpMin {
				coef >>= uint(floatExpMin - exp)
				exp = floatExpMin
			} else {
				exp, coef = 0, 0
			}
		}
	}
	c := uint32(coef)
	if neg == 1 {
		c = uint32(-coef) << floatExpBits >> floatExpBits
	}
	return Float(uint32(exp)<<floatCoefBits | c)
}

// Float64 decodes f (UTI_FloatNetworkToHost); exact.
func (f Float) Float64() float64 {
	x := uint32(f)
	exp := int32(x >> floatCoefBits)
	if exp >= 1<<(floatExpBits-1) {
		exp -= 1 << floatExpBits
	}
	exp -= floatCoefBits
	coef := int32(x % (1 << floatCoefBits))
	if coef >= 1<<(floatCoefBits-1) {
		coef -= 1 << floatCoefBits
	}
	return math.Ldexp(float64(coef), int(exp))
}

func putFloat(b []byte, x float64) { be.PutUint32(b, uint32(NewFloat(x))) }

func getFloat(b []byte) float64 { return Float(be.Uint32(b)).Float64() }

// TimespecLen is the size of a Timespec on the wire.
const TimespecLen = 12

// noHighSec is TV_NOHIGHSEC: a sec_high meaning "32-bit time_t".
const noHighSec = 0x7FFFFFFF

// PutTimespec writes t as a 12-byte Timespec (sec_high, sec_low, nsec)
// into b. The zero time.Time is written as 0/0/0, as chronyd sends an
// unset time.
func PutTimespec(b []byte, t time.Time) {
	_ = b[TimespecLen-1]
	if t.IsZero() {
		clear(b[:TimespecLen])
		return
	}
	s := uint64(t.Unix())
	be.PutUint32(b, uint32(s>>32))
	be.PutUint32(b[4:], uint32(s))
	be.PutUint32(b[8:], uint32(t.Nanosecond()))
}

// ParseTimespec reads a 12-byte Timespec from b as chronyd does
// (UTI_TimespecNetworkToHost): sec_high 0x7FFFFFFF counts as 0 and nsec
// is capped at 999999999. 0/0/0 (with either sec_high) gives the zero
// time.Time, so the Unix epoch itself does not round-trip.
func ParseTimespec(b []byte) time.Time {
	_ = b[TimespecLen-1]
	hi, lo, ns := be.Uint32(b), be.Uint32(b[4:]), be.Uint32(b[8:])
	if hi == noHighSec {
		hi = 0
	}
	if hi == 0 && lo == 0 && ns == 0 {
		return time.Time{}
	}
	return time.Unix(int64(uint64(hi)<<32|uint64(lo)), int64(min(ns, 999999999)))
}

// IPAddrLen is the size of an IPAddr on the wire.
const IPAddrLen = 20

// AddrOf is the IPAddr of an IPv4 or IPv6 address (IPv4-mapped IPv6
// addresses become IPv4; a zone is dropped); the invalid Addr gives
// FamilyUnspec.
func AddrOf(a netip.Addr) IPAddr {
	switch {
	case !a.IsValid():
		return IPAddr{}
	case a.Is4() || a.Is4In6():
		return IPAddr{Addr: a.Unmap(), Family: FamilyInet4}
	default:
		return IPAddr{Addr: a.WithZone(""), Family: FamilyInet6}
	}
}

// IDAddr is the IPAddr of an unresolved source named by id.
func IDAddr(id uint32) IPAddr { return IPAddr{ID: id, Family: FamilyID} }

// String prints the address as chronyc does (UTI_IPToString): the
// address, "ID#" and the ID in ten decimal digits, "[UNSPEC]" otherwise.
func (a IPAddr) String() string {
	switch a.Family {
	case FamilyInet4, FamilyInet6:
		if a.Addr.IsValid() {
			return a.Addr.String()
		}
	case FamilyID:
		d := strconv.FormatUint(uint64(a.ID), 10)
		return "ID#" + strings.Repeat("0", 10-len(d)) + d
	}
	return "[UNSPEC]"
}

// Put writes a as a 20-byte IPAddr into b: IPv4 as a u32 in bytes 0–3,
// IPv6 in bytes 0–15, an ID as a u32 in bytes 0–3; family at 16; pad 0.
// An IPv4/IPv6 family whose Addr is not of that kind writes a zero
// address.
func (a IPAddr) Put(b []byte) {
	_ = b[IPAddrLen-1]
	clear(b[:IPAddrLen])
	switch a.Family {
	case FamilyInet4:
		if a.Addr.Is4() || a.Addr.Is4In6() {
			v := a.Addr.Unmap().As4()
			copy(b, v[:])
		}
	case FamilyInet6:
		if a.Addr.Is6() {
			v := a.Addr.As16()
			copy(b, v[:])
		}
	case FamilyID:
		be.PutUint32(b, a.ID)
	}
	be.PutUint16(b[16:], uint16(a.Family))
}

// ParseIPAddr reads a 20-byte IPAddr from b as chronyd does
// (UTI_IPNetworkToHost): an unknown family becomes FamilyUnspec; the pad
// is ignored.
func ParseIPAddr(b []byte) IPAddr {
	_ = b[IPAddrLen-1]
	switch f := Family(be.Uint16(b[16:])); f {
	case FamilyInet4:
		return IPAddr{Addr: netip.AddrFrom4([4]byte(b[:4])), Family: f}
	case FamilyInet6:
		return IPAddr{Addr: netip.AddrFrom16([16]byte(b[:16])), Family: f}
	case FamilyID:
		return IPAddr{ID: be.Uint32(b), Family: f}
	}
	return IPAddr{}
}

// PutInteger64 writes v as chrony's Integer64 (high u32, low u32: the same
// bytes as a big-endian u64).
func PutInteger64(b []byte, v uint64) { be.PutUint64(b, v) }

// ParseInteger64 reads an Integer64.
func ParseInteger64(b []byte) uint64 { return be.Uint64(b) }
