package clockbound

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Layout constants (clock-bound-shm).
const (
	Magic0  = 0x414D5A4E
	Magic1  = 0x43420200
	Version = 2
	// Size is the segment's size in bytes.
	Size = 80
	// DefaultPath is where ClockBound clients look.
	DefaultPath = "/var/run/clockbound/shm0"
	// VoidAfter is how long after as_of the bound stays usable (ClockBound's
	// daemon: 1000 s).
	VoidAfter = 1000 * time.Second
	// offsets
	offVersion    = 12
	offGeneration = 14
	offBody       = 16
)

// Status is the clock status field.
type Status int32

const (
	StatusUnknown      Status = 0
	StatusSynchronized Status = 1
	StatusFreeRunning  Status = 2
	StatusDisrupted    Status = 3
)

func (s Status) String() string {
	switch s {
	case StatusUnknown:
		return "unknown"
	case StatusSynchronized:
		return "synchronized"
	case StatusFreeRunning:
		return "free_running"
	case StatusDisrupted:
		return "disrupted"
	}
	return fmt.Sprintf("status(%d)", int32(s))
}

// Segment is the segment's content. AsOf and VoidAfter are
// CLOCK_MONOTONIC_COARSE readings as durations since its epoch (boot).
type Segment struct {
	Generation        uint16
	AsOf, VoidAfter   time.Duration
	Bound             time.Duration
	DisruptionMarker  uint64
	MaxDriftPPB       uint32
	Status            Status
	DisruptionSupport bool
}

var ne = binary.NativeEndian

// Errors of Decode.
var (
	ErrShort   = errors.New("clockbound: segment too short")
	ErrMagic   = errors.New("clockbound: not a ClockBound segment (magic)")
	ErrVersion = errors.New("clockbound: unsupported segment version")
	ErrEmpty   = errors.New("clockbound: segment not written yet")
)

// Encode writes s as a whole segment (header included) into b[:Size].
func (s *Segment) Encode(b []byte) {
	_ = b[Size-1]
	clear(b[:Size])
	ne.PutUint32(b[0:], Magic0)
	ne.PutUint32(b[4:], Magic1)
	ne.PutUint32(b[8:], Size)
	ne.PutUint16(b[offVersion:], Version)
	ne.PutUint16(b[offGeneration:], s.Generation)
	s.encodeBody(b[offBody:Size])
}

// encodeBody writes bytes 16..80.
func (s *Segment) encodeBody(b []byte) {
	putTimespec(b[0:], s.AsOf)
	putTimespec(b[16:], s.VoidAfter)
	ne.PutUint64(b[32:], uint64(s.Bound.Nanoseconds()))
	ne.PutUint64(b[40:], s.DisruptionMarker)
	ne.PutUint32(b[48:], s.MaxDriftPPB)
	ne.PutUint32(b[52:], uint32(s.Status))
	if s.DisruptionSupport {
		b[56] = 1
	}
}

func putTimespec(b []byte, d time.Duration) {
	ne.PutUint64(b[0:], uint64(d/time.Second))
	ne.PutUint64(b[8:], uint64(d%time.Second))
}

func timespec(b []byte) time.Duration {
	return time.Duration(int64(ne.Uint64(b[0:])))*time.Second + time.Duration(int64(ne.Uint64(b[8:])))
}

// Decode reads a segment, checking magic, size and version. A segment whose
// version or generation is 0 has never been written: ErrEmpty.
func Decode(b []byte) (Segment, error) {
	if len(b) < Size {
		return Segment{}, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	if ne.Uint32(b[0:]) != Magic0 || ne.Uint32(b[4:]) != Magic1 {
		return Segment{}, ErrMagic
	}
	if n := ne.Uint32(b[8:]); n < Size {
		return Segment{}, fmt.Errorf("%w: segment size %d", ErrShort, n)
	}
	v, g := ne.Uint16(b[offVersion:]), ne.Uint16(b[offGeneration:])
	if v == 0 || g == 0 {
		return Segment{}, ErrEmpty
	}
	if v != Version {
		return Segment{}, fmt.Errorf("%w: %d", ErrVersion, v)
	}
	body := b[offBody:Size]
	return Segment{
		Generation: g,
		AsOf:       timespec(body[0:]), VoidAfter: timespec(body[16:]),
		Bound:             time.Duration(int64(ne.Uint64(body[32:]))),
		DisruptionMarker:  ne.Uint64(body[40:]),
		MaxDriftPPB:       ne.Uint32(body[48:]),
		Status:            Status(int32(ne.Uint32(body[52:]))),
		DisruptionSupport: body[56] != 0,
	}, nil
}

// BoundAt is the bound a ClockBound reader derives at monotonic time mono
// (clock-bound-shm's compute_bound_at): the bound grown by max drift since
// as_of, and the status it would report (synchronized and free-running
// degrade after the 5 s grace period and void_after). ok is false when mono
// is before as_of by more than a reading's imprecision.
func (s *Segment) BoundAt(mono time.Duration) (bound time.Duration, st Status, ok bool) {
	const grace = 5 * time.Second
	const epsilon = time.Millisecond
	st = s.Status
	if st == StatusSynchronized || st == StatusFreeRunning {
		switch {
		case mono < s.AsOf+grace:
		case mono < s.VoidAfter:
			st = StatusFreeRunning
		default:
			st = StatusUnknown
		}
	}
	elapsed := mono - s.AsOf
	if elapsed < -epsilon {
		return 0, st, false
	}
	elapsed = max(elapsed, 0)
	grow := time.Duration(float64(elapsed) * float64(s.MaxDriftPPB) * 1e-9)
	return s.Bound + grow, st, true
}
