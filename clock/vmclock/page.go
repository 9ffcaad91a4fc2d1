package vmclock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"time"
)

// Magic is the page's first word, "VCLK" little-endian.
const Magic = 0x4b4c4356

// Version is the ABI version this package decodes.
const Version = 1

// Size is the number of bytes decoded and read: the structure up to and
// including vm_generation_counter. MinSize is the structure of the first
// kernels, without vm_generation_counter; a shorter region is invalid.
const (
	Size    = 112
	MinSize = 104
)

// Byte offsets of the fields (see the package doc).
const (
	offMagic        = 0
	offSize         = 4
	offVersion      = 8
	offCounterID    = 10
	offTimeType     = 11
	offSeq          = 12
	offDisruption   = 16
	offFlags        = 24
	offStatus       = 34
	offSmearHint    = 35
	offTAIOffset    = 36
	offLeap         = 38
	offPeriodShift  = 39
	offCounterValue = 40
	offPeriod       = 48
	offPeriodEst    = 56
	offPeriodMax    = 64
	offTimeSec      = 72
	offTimeFrac     = 80
	offTimeEst      = 88
	offTimeMax      = 96
	offVMGeneration = 104
)

// Errors Decode returns; callers can branch on them.
var (
	ErrShort   = errors.New("vmclock: page too short")
	ErrMagic   = errors.New("vmclock: bad magic")
	ErrVersion = errors.New("vmclock: unsupported version")
	ErrSize    = errors.New("vmclock: region size smaller than the structure")
	// ErrBusy: seq_count stayed odd or kept changing (the hypervisor is
	// writing, or stuck).
	ErrBusy = errors.New("vmclock: no consistent snapshot")
)

// Flags are the page's flag bits.
type Flags uint64

// Flag bits (VMCLOCK_FLAG_*).
const (
	FlagTAIOffsetValid      Flags = 1 << 0
	FlagDisruptionSoon      Flags = 1 << 1 // a disruption in about a day
	FlagDisruptionImminent  Flags = 1 << 2 // a disruption in about an hour
	FlagPeriodEstErrorValid Flags = 1 << 3
	FlagPeriodMaxErrorValid Flags = 1 << 4
	FlagTimeEstErrorValid   Flags = 1 << 5
	FlagTimeMaxErrorValid   Flags = 1 << 6
	FlagTimeMonotonic       Flags = 1 << 7
	FlagVMGenCounterPresent Flags = 1 << 8
)

// TimeType is the timescale of time_sec/time_frac_sec.
type TimeType uint8

// Time types (VMCLOCK_TIME_*).
const (
	TimeUTC                 TimeType = 0
	TimeTAI                 TimeType = 1
	TimeMonotonic           TimeType = 2
	TimeInvalidSmeared      TimeType = 3
	TimeInvalidMaybeSmeared TimeType = 4
)

func (t TimeType) String() string {
	switch t {
	case TimeUTC:
		return "utc"
	case TimeTAI:
		return "tai"
	case TimeMonotonic:
		return "monotonic"
	case TimeInvalidSmeared:
		return "smeared"
	case TimeInvalidMaybeSmeared:
		return "maybe_smeared"
	}
	return fmt.Sprintf("time_type(%d)", uint8(t))
}

// Status is the hypervisor's view of its own clock (VMCLOCK_STATUS_*).
type Status uint8

// Clock statuses.
const (
	StatusUnknown      Status = 0
	StatusInitializing Status = 1
	StatusSynchronized Status = 2
	StatusFreeRunning  Status = 3
	StatusUnreliable   Status = 4
)

func (s Status) String() string {
	switch s {
	case StatusUnknown:
		return "unknown"
	case StatusInitializing:
		return "initializing"
	case StatusSynchronized:
		return "synchronized"
	case StatusFreeRunning:
		return "free_running"
	case StatusUnreliable:
		return "unreliable"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Page is one decoded VMClock structure.
type Page struct {
	// RegionSize is the size field: the bytes of the region holding the
	// structure (normally a page).
	RegionSize uint32
	Version    uint16
	CounterID  uint8 // 0 arm64 CNTVCT, 1 x86 TSC, 0xff none
	TimeType   TimeType
	SeqCount   uint32
	// DisruptionMarker changes to a new value whenever the CPU counter
	// was disrupted (live migration, snapshot restore).
	DisruptionMarker uint64
	Flags            Flags
	Status           Status
	SmearingHint     uint8
	TAIOffsetSec     int16 // valid with FlagTAIOffsetValid
	LeapIndicator    uint8
	// Counter calibration: counter_value is read at TimeSec/TimeFrac; the
	// period and its error rates are in units of 2^−(64+PeriodShift) s.
	PeriodShift                                    uint8
	CounterValue                                   uint64
	Period, PeriodEstErrorRate, PeriodMaxErrorRate uint64
	TimeSec, TimeFrac                              uint64 // TimeFrac in 2^−64 s
	TimeEstErrorNS, TimeMaxErrorNS                 uint64
	// VMGeneration changes when the guest was restored from a snapshot;
	// valid with FlagVMGenCounterPresent (0 on a region of MinSize).
	VMGeneration uint64
}

// Decode decodes the structure at the start of b (at least MinSize bytes;
// vm_generation_counter is read when b and the region hold it).
func Decode(b []byte) (Page, error) {
	if len(b) < MinSize {
		return Page{}, fmt.Errorf("%w: %d bytes, want ≥ %d", ErrShort, len(b), MinSize)
	}
	le := binary.LittleEndian
	if m := le.Uint32(b[offMagic:]); m != Magic {
		return Page{}, fmt.Errorf("%w: %#08x, want %#08x", ErrMagic, m, Magic)
	}
	p := Page{
		RegionSize: le.Uint32(b[offSize:]),
		Version:    le.Uint16(b[offVersion:]),
	}
	if p.Version != Version {
		return Page{}, fmt.Errorf("%w: %d, want %d", ErrVersion, p.Version, Version)
	}
	if p.RegionSize < MinSize {
		return Page{}, fmt.Errorf("%w: %d, want ≥ %d", ErrSize, p.RegionSize, MinSize)
	}
	p.CounterID = b[offCounterID]
	p.TimeType = TimeType(b[offTimeType])
	p.SeqCount = le.Uint32(b[offSeq:])
	p.DisruptionMarker = le.Uint64(b[offDisruption:])
	p.Flags = Flags(le.Uint64(b[offFlags:]))
	p.Status = Status(b[offStatus])
	p.SmearingHint = b[offSmearHint]
	p.TAIOffsetSec = int16(le.Uint16(b[offTAIOffset:]))
	p.LeapIndicator = b[offLeap]
	p.PeriodShift = b[offPeriodShift]
	p.CounterValue = le.Uint64(b[offCounterValue:])
	p.Period = le.Uint64(b[offPeriod:])
	p.PeriodEstErrorRate = le.Uint64(b[offPeriodEst:])
	p.PeriodMaxErrorRate = le.Uint64(b[offPeriodMax:])
	p.TimeSec = le.Uint64(b[offTimeSec:])
	p.TimeFrac = le.Uint64(b[offTimeFrac:])
	p.TimeEstErrorNS = le.Uint64(b[offTimeEst:])
	p.TimeMaxErrorNS = le.Uint64(b[offTimeMax:])
	if len(b) >= Size && p.RegionSize >= Size {
		p.VMGeneration = le.Uint64(b[offVMGeneration:])
	}
	return p, nil
}

// Encode writes p in the page layout (Size bytes, magic included): a
// simulated page for tests and tools.
func Encode(p Page) []byte {
	b := make([]byte, Size)
	le := binary.LittleEndian
	le.PutUint32(b[offMagic:], Magic)
	le.PutUint32(b[offSize:], p.RegionSize)
	le.PutUint16(b[offVersion:], p.Version)
	b[offCounterID] = p.CounterID
	b[offTimeType] = uint8(p.TimeType)
	le.PutUint32(b[offSeq:], p.SeqCount)
	le.PutUint64(b[offDisruption:], p.DisruptionMarker)
	le.PutUint64(b[offFlags:], uint64(p.Flags))
	b[offStatus] = uint8(p.Status)
	b[offSmearHint] = p.SmearingHint
	le.PutUint16(b[offTAIOffset:], uint16(p.TAIOffsetSec))
	b[offLeap] = p.LeapIndicator
	b[offPeriodShift] = p.PeriodShift
	le.PutUint64(b[offCounterValue:], p.CounterValue)
	le.PutUint64(b[offPeriod:], p.Period)
	le.PutUint64(b[offPeriodEst:], p.PeriodEstErrorRate)
	le.PutUint64(b[offPeriodMax:], p.PeriodMaxErrorRate)
	le.PutUint64(b[offTimeSec:], p.TimeSec)
	le.PutUint64(b[offTimeFrac:], p.TimeFrac)
	le.PutUint64(b[offTimeEst:], p.TimeEstErrorNS)
	le.PutUint64(b[offTimeMax:], p.TimeMaxErrorNS)
	le.PutUint64(b[offVMGeneration:], p.VMGeneration)
	return b
}

// Time is the page's reference time (time_sec + time_frac_sec) on its
// timescale; ok is false for a monotonic or smeared time type.
func (p *Page) Time() (t time.Time, ok bool) {
	if p.TimeType != TimeUTC && p.TimeType != TimeTAI {
		return time.Time{}, false
	}
	ns, _ := bits.Mul64(p.TimeFrac, 1e9) // 2^−64 s → ns, truncated
	return time.Unix(int64(p.TimeSec), int64(ns)).UTC(), true
}

// TAIOffset returns TAI − UTC; ok is false unless FlagTAIOffsetValid.
func (p *Page) TAIOffset() (d time.Duration, ok bool) {
	if p.Flags&FlagTAIOffsetValid == 0 {
		return 0, false
	}
	return time.Duration(p.TAIOffsetSec) * time.Second, true
}

// MaxError returns the hypervisor's maximum error of its time; ok is false
// unless FlagTimeMaxErrorValid.
func (p *Page) MaxError() (d time.Duration, ok bool) {
	if p.Flags&FlagTimeMaxErrorValid == 0 {
		return 0, false
	}
	return nsDuration(p.TimeMaxErrorNS), true
}

// EstError returns the hypervisor's estimated error of its time; ok is
// false unless FlagTimeEstErrorValid.
func (p *Page) EstError() (d time.Duration, ok bool) {
	if p.Flags&FlagTimeEstErrorValid == 0 {
		return 0, false
	}
	return nsDuration(p.TimeEstErrorNS), true
}

// nsDuration converts nanoseconds, saturating.
func nsDuration(ns uint64) time.Duration {
	if ns > uint64(1<<63-1) {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(ns)
}
