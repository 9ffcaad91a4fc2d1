package phc

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"sync/atomic"
	"time"
)

// Translator turns raw PHC readings, such as the NIC hardware timestamps
// of packets, into CLOCK_REALTIME. It never assumes PHC == system time: it
// measures the PHC against the system clock with cross-timestamps
// (PHC.SysOffset) every Interval and maps a PHC time t read near the last
// measurement as
//
//	realtime = t − (offset + slope·(t − offset − at))
//
// where offset = PHC − CLOCK_REALTIME at realtime `at`, and slope is the
// drift of that offset per second of realtime, smoothed over the
// measurements. A mapping older than MaxAge is not used (ToRealtime
// reports false), so a stuck measurement loop makes packets fall back to
// kernel software stamps instead of carrying a stale mapping's error.
//
// The measurement side (Update, Run) runs in one goroutine; ToRealtime may
// be called from any number of goroutines at the same time. It reads one
// atomic pointer to an immutable mapping and does not allocate.
type Translator struct {
	phc *PHC
	cfg TranslatorConfig
	m   atomic.Pointer[mapping] // the last measurement; only Update stores it
}

// TranslatorConfig tunes a Translator. Zero fields take the defaults.
type TranslatorConfig struct {
	// Interval between measurements (default 1 s).
	Interval time.Duration
	// Samples per measurement, the shortest kept (default 5, at most
	// MaxSamples).
	Samples int
	// MaxAge: a mapping older than this is not used (default 4 × Interval).
	MaxAge time.Duration
	// Now reads CLOCK_REALTIME for the age check (default time.Now).
	Now func() time.Time
	// Logger receives measurement failures (nil = discard).
	Logger *slog.Logger
}

// mapping is one immutable PHC → CLOCK_REALTIME map.
type mapping struct {
	at     time.Time     // CLOCK_REALTIME of the measurement (midpoint)
	offset time.Duration // PHC − CLOCK_REALTIME at `at`
	slope  float64       // d(offset)/d(realtime), dimensionless (1e-9 = 1 ppb)
	sloped bool          // slope is an estimate (false for the first measurement)
}

// slopeWeight is the weight of a new slope estimate in the smoothed slope.
const slopeWeight = 0.3

// NewTranslator returns a Translator for p. It measures nothing until
// Update or Run.
func NewTranslator(p *PHC, cfg TranslatorConfig) (*Translator, error) {
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Samples == 0 {
		cfg.Samples = 5
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 4 * cfg.Interval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case p == nil:
		return nil, fmt.Errorf("phc translator: no PHC: %w", ErrInvalid)
	case cfg.Interval < 0 || cfg.MaxAge < cfg.Interval:
		return nil, fmt.Errorf("phc translator: interval %v, max age %v: want 0 < interval ≤ max age: %w", cfg.Interval, cfg.MaxAge, ErrInvalid)
	case cfg.Samples < 1 || cfg.Samples > MaxSamples:
		return nil, fmt.Errorf("phc translator: %d samples, want 1…%d: %w", cfg.Samples, MaxSamples, ErrInvalid)
	}
	return &Translator{phc: p, cfg: cfg}, nil
}

// Update takes one measurement: offset = PHC − CLOCK_REALTIME at realtime
// at. Measurements must come in time order; one that does not is ignored.
// Call it from one goroutine at a time.
func (t *Translator) Update(offset time.Duration, at time.Time) {
	n := &mapping{at: at, offset: offset}
	if p := t.m.Load(); p != nil {
		dt := at.Sub(p.at).Seconds()
		if dt <= 0 {
			return
		}
		s := (offset - p.offset).Seconds() / dt
		n.slope, n.sloped = s, true // the first estimate
		if p.sloped {
			n.slope = p.slope + slopeWeight*(s-p.slope)
		}
	}
	t.m.Store(n)
}

// ToRealtime maps the PHC time ts to CLOCK_REALTIME. It reports false when
// there is no mapping yet or the last one is older than MaxAge.
func (t *Translator) ToRealtime(ts time.Time) (time.Time, bool) {
	m := t.m.Load()
	if m == nil {
		return time.Time{}, false
	}
	if age := t.cfg.Now().Sub(m.at); age > t.cfg.MaxAge || age < -t.cfg.MaxAge {
		return time.Time{}, false
	}
	// First guess of the realtime of ts, then the offset there.
	rt := ts.Add(-m.offset)
	off := m.offset + time.Duration(math.Round(m.slope*float64(rt.Sub(m.at))))
	return ts.Add(-off), true
}

// Run measures every Interval until ctx ends, then returns nil. A failed
// measurement is logged and skipped; the mapping then ages out.
func (t *Translator) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.Interval)
	defer tick.Stop()
	for {
		offset, _, at, err := t.phc.SysOffset(t.cfg.Samples)
		if err != nil {
			t.cfg.Logger.Warn("phc measurement failed", "phc", t.phc.Name(), "error", err.Error())
		} else {
			t.Update(offset, at)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Translators holds one Translator per PHC index (/dev/ptpN), for NIC
// hardware timestamps from several interfaces. It implements the NTP
// shell's HWClock: ToRealtime looks the PHC up without locking or
// allocating; Add copies the small index on write. The zero value is
// empty and ready.
type Translators struct {
	m atomic.Pointer[map[int]*Translator]
}

// Add registers t for PHC index i, replacing any earlier one.
func (ts *Translators) Add(i int, t *Translator) {
	for {
		old := ts.m.Load()
		n := map[int]*Translator{}
		if old != nil {
			n = maps.Clone(*old)
		}
		n[i] = t
		if ts.m.CompareAndSwap(old, &n) {
			return
		}
	}
}

// Has reports whether PHC index i has a Translator.
func (ts *Translators) Has(i int) bool {
	m := ts.m.Load()
	if m == nil {
		return false
	}
	_, ok := (*m)[i]
	return ok
}

// ToRealtime maps time t of PHC i to CLOCK_REALTIME; false when PHC i has
// no Translator or no fresh mapping.
func (ts *Translators) ToRealtime(i int, t time.Time) (time.Time, bool) {
	m := ts.m.Load()
	if m == nil {
		return time.Time{}, false
	}
	tr := (*m)[i]
	if tr == nil {
		return time.Time{}, false
	}
	return tr.ToRealtime(t)
}
