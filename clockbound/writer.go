package clockbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gnomon-time/gnomon/report"
)

// Served is what the writer exports (source.Runner implements it).
type Served interface {
	Served() (report.Served, bool)
}

// Disruption is the VMClock disruption state gnomond knows (phcsource's):
// the disruption marker last read from the device and whether the clock is
// still disrupted by its last change (not re-locked since).
type Disruption struct {
	Marker    uint64
	Disrupted bool
}

// WriterConfig configures a Writer.
type WriterConfig struct {
	// Path of the segment file; its directory is created (0755).
	Path string
	// MaxDriftPPB is written for readers to grow the bound with.
	MaxDriftPPB uint32
	// Period between updates (0 = 1 s).
	Period time.Duration
	// Served is the state to export; RealtimeOffset returns the served
	// clock minus CLOCK_REALTIME now (nil: 0, the served clock is
	// CLOCK_REALTIME).
	Served         Served
	RealtimeOffset func() time.Duration
	// Disruption, if set, reports the VMClock state (ok false: no marker
	// read yet). The segment then says disruption_support 1 and carries
	// the marker, which ClockBound's clients compare with the device's
	// own: a segment behind the device reads as unknown. Nil: support 0,
	// marker 0.
	Disruption func() (d Disruption, ok bool)
	// Monotonic reads CLOCK_MONOTONIC_COARSE (nil: the real one; tests
	// inject).
	Monotonic func() time.Duration
	Logger    *slog.Logger
}

// Writer owns a segment file.
type Writer struct {
	cfg     WriterConfig
	f       *os.File
	gen     uint16
	synced  bool    // ever synchronised
	last    Segment // the last synchronised segment (what free-running readers extrapolate from)
	body    [Size - offBody]byte
	scratch [2]byte
}

// Create creates (or re-initialises) the segment file: header with version
// and generation 0, zero body, as ClockBound's writer does; readers see
// "not written yet" until the first Update.
func Create(cfg WriterConfig) (*Writer, error) {
	if cfg.Path == "" || cfg.Served == nil {
		return nil, errors.New("clockbound: no path or no state")
	}
	if cfg.Period <= 0 {
		cfg.Period = time.Second
	}
	if cfg.Monotonic == nil {
		cfg.Monotonic = monotonicCoarse
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
		return nil, fmt.Errorf("clockbound: %w", err)
	}
	f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("clockbound: %w", err)
	}
	// Keep an existing segment's generation, so that a reader mapping the
	// file across a gnomond restart never sees a generation it read before
	// with different content.
	var gen uint16
	var old [Size]byte
	if n, _ := f.ReadAt(old[:], 0); n == Size && ne.Uint32(old[0:]) == Magic0 && ne.Uint32(old[4:]) == Magic1 {
		gen = ne.Uint16(old[offGeneration:])
	}
	var hdr [Size]byte
	(&Segment{}).Encode(hdr[:])
	ne.PutUint16(hdr[offVersion:], 0) // not written yet
	ne.PutUint16(hdr[offGeneration:], gen&^1)
	if err := f.Truncate(Size); err != nil {
		f.Close()
		return nil, fmt.Errorf("clockbound: %s: %w", cfg.Path, err)
	}
	if _, err := f.WriteAt(hdr[:], 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("clockbound: %s: %w", cfg.Path, err)
	}
	return &Writer{cfg: cfg, f: f, gen: gen &^ 1}, nil
}

// Close closes the file (the segment stays: readers see its as_of age and
// degrade the status, as for a stopped ClockBound daemon).
func (w *Writer) Close() error { return w.f.Close() }

// Run updates the segment every Period until ctx ends.
func (w *Writer) Run(ctx context.Context) error {
	defer w.Close()
	t := time.NewTicker(w.cfg.Period)
	defer t.Stop()
	for {
		if err := w.Update(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// segment returns what Update would write now (generation aside).
//
// Synchronised: as_of now, the served error bound (plus the virtual clock's
// distance from CLOCK_REALTIME). Free-running after a loss: the last
// synchronised as_of, bound and void_after unchanged, so a reader grows the
// bound from the last measurement at max_drift (as ClockBound's daemon
// does). Never synchronised, or only to the local clock: status unknown with
// bound 0, which readers must not use. Disrupted (the served state says so,
// or the VMClock source has not re-locked since the marker changed):
// status disrupted with the served, widened bound (0 if there is none), and
// the bound from before the disruption is forgotten: a later loss of
// synchronisation reads unknown, not free-running from it.
func (w *Writer) segment() Segment {
	mono := w.cfg.Monotonic() // before the state: as_of is no later than the bound's instant
	s := Segment{AsOf: mono, VoidAfter: mono + VoidAfter, MaxDriftPPB: w.cfg.MaxDriftPPB}
	// The marker before the state: a marker this new is already in the
	// state's Disrupted, or the source's (they are set together).
	var d Disruption
	dok := false
	if w.cfg.Disruption != nil {
		d, dok = w.cfg.Disruption()
	}
	r, ok := w.cfg.Served.Served()
	switch {
	case !ok:
	case r.Disrupted || dok && d.Disrupted:
		w.synced = false
		s.Status = StatusDisrupted
		if r.Synchronized && r.Source != "local" {
			s.Bound = satAdd(r.ErrorBound, w.realtimeOffset())
		}
	case r.Synchronized && r.Source == "local":
		// The local clock declared a reference: no bound on true time.
	case r.Synchronized:
		w.synced = true
		s.Status = StatusSynchronized
		s.Bound = satAdd(r.ErrorBound, w.realtimeOffset())
		w.last = s
	case w.synced:
		s = w.last
		s.Status = StatusFreeRunning
	}
	if dok {
		s.DisruptionSupport, s.DisruptionMarker = true, d.Marker
	}
	return s
}

// realtimeOffset is |served clock − CLOCK_REALTIME| now.
func (w *Writer) realtimeOffset() time.Duration {
	if w.cfg.RealtimeOffset == nil {
		return 0
	}
	return w.cfg.RealtimeOffset().Abs()
}

func satAdd(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Update writes the current state in four pwrites: odd generation, body,
// version, even generation.
func (w *Writer) Update() error {
	s := w.segment()
	odd := w.gen + 1
	if odd == 0 {
		odd = 1
	}
	even := odd + 1
	if even == 0 {
		even = 2 // rolls over to 2, never to 0 (0 = not written)
	}
	if err := w.putGen(odd); err != nil {
		return err
	}
	s.encodeBody(w.body[:])
	if _, err := w.f.WriteAt(w.body[:], offBody); err != nil {
		return fmt.Errorf("clockbound: %s: %w", w.cfg.Path, err)
	}
	var ver [2]byte
	ne.PutUint16(ver[:], Version)
	if _, err := w.f.WriteAt(ver[:], offVersion); err != nil {
		return fmt.Errorf("clockbound: %s: %w", w.cfg.Path, err)
	}
	if err := w.putGen(even); err != nil {
		return err
	}
	w.gen = even
	return nil
}

func (w *Writer) putGen(g uint16) error {
	ne.PutUint16(w.scratch[:], g)
	if _, err := w.f.WriteAt(w.scratch[:], offGeneration); err != nil {
		return fmt.Errorf("clockbound: %s: %w", w.cfg.Path, err)
	}
	return nil
}

func monotonicCoarse() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC_COARSE, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// Monotonic is CLOCK_MONOTONIC_COARSE now, the clock as_of is on.
func Monotonic() time.Duration { return monotonicCoarse() }

// Read reads a consistent snapshot of the segment at path, as a ClockBound
// reader does: two reads that agree, with an even generation; while an
// update is in progress it retries (every 50 µs, for at most 1 s).
func Read(path string) (Segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return Segment{}, fmt.Errorf("clockbound: %w", err)
	}
	defer f.Close()
	var a, b [Size]byte
	deadline := time.Now().Add(time.Second)
	for {
		if _, err := f.ReadAt(a[:], 0); err != nil {
			return Segment{}, fmt.Errorf("clockbound: %s: %w", path, err)
		}
		if _, err := f.ReadAt(b[:], 0); err != nil {
			return Segment{}, fmt.Errorf("clockbound: %s: %w", path, err)
		}
		if a == b && ne.Uint16(a[offGeneration:])%2 == 0 {
			return Decode(a[:])
		}
		// An update in progress.
		if time.Now().After(deadline) {
			return Segment{}, fmt.Errorf("clockbound: %s: no consistent snapshot within 1 s", path)
		}
		time.Sleep(50 * time.Microsecond)
	}
}
