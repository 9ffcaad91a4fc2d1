package statuspage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gnomon-time/gnomon/report"
)

// Point is one sample of the discipline's state for the chart.
type Point struct {
	// At is report.Tracking.At: the time of the sample on the served
	// clock.
	At time.Time
	// Synchronized is false in mode unsynchronised; ErrorBound means
	// nothing then.
	Synchronized bool
	Mode         report.SyncMode
	// Offset is report.Tracking.LastOffset (reference − local at the last
	// clock update); ErrorBound the bound on |clock − true time| at At.
	Offset     time.Duration
	ErrorBound time.Duration
}

// PointOf returns the chart's Point of a tracking report.
func PointOf(t report.Tracking) Point {
	return Point{At: t.At, Synchronized: t.Synchronized, Mode: t.Mode, Offset: t.LastOffset, ErrorBound: t.ErrorBound}
}

// History is a fixed-size ring of Points, oldest overwritten first. It is
// safe for concurrent use.
type History struct {
	mu   sync.Mutex
	buf  []Point
	next int // index the next Add writes
	n    int // points held (≤ len(buf))
}

// NewHistory returns an empty ring of size points.
func NewHistory(size int) (*History, error) {
	if size <= 0 {
		return nil, fmt.Errorf("statuspage: history size %d, want > 0", size)
	}
	return &History{buf: make([]Point, size)}, nil
}

// Add records p, replacing the oldest point when the ring is full.
func (h *History) Add(p Point) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf[h.next] = p
	h.next = (h.next + 1) % len(h.buf)
	h.n = min(h.n+1, len(h.buf))
}

// Points returns a copy of the points held, oldest first.
func (h *History) Points() []Point {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Point, 0, h.n)
	start := (h.next - h.n + len(h.buf)) % len(h.buf)
	for i := range h.n {
		out = append(out, h.buf[(start+i)%len(h.buf)])
	}
	return out
}

// Size is the ring's capacity in points.
func (h *History) Size() int { return len(h.buf) }

// Tracker is the discipline's tracking report; source.Runner implements it.
type Tracker interface {
	// Tracking is the engine's latest snapshot; ok is false before the
	// first.
	Tracking() (r report.Tracking, ok bool)
}

// Ticker delivers the sampler's ticks; *time.Ticker behind NewTimeTicker
// in gnomond, a channel a test feeds in tests.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// timeTicker adapts *time.Ticker to Ticker.
type timeTicker struct{ t *time.Ticker }

func (t timeTicker) C() <-chan time.Time { return t.t.C }
func (t timeTicker) Stop()               { t.t.Stop() }

// NewTimeTicker returns a Ticker over time.NewTicker(d).
func NewTimeTicker(d time.Duration) Ticker { return timeTicker{time.NewTicker(d)} }

// Sampler records a Point of its Tracker in its History at start and at
// every tick.
type Sampler struct {
	src       Tracker
	hist      *History
	interval  time.Duration
	newTicker func(time.Duration) Ticker
}

// NewSampler returns a sampler of src into h every interval; newTicker
// makes its ticker (NewTimeTicker if nil).
func NewSampler(src Tracker, h *History, interval time.Duration, newTicker func(time.Duration) Ticker) (*Sampler, error) {
	if src == nil || h == nil {
		return nil, errors.New("statuspage: sampler needs a tracker and a history")
	}
	if interval <= 0 {
		return nil, fmt.Errorf("statuspage: sample interval %v, want > 0", interval)
	}
	if newTicker == nil {
		newTicker = NewTimeTicker
	}
	return &Sampler{src: src, hist: h, interval: interval, newTicker: newTicker}, nil
}

// Interval is the time between samples.
func (s *Sampler) Interval() time.Duration { return s.interval }

// Sample records one point now, if the tracker has a report.
func (s *Sampler) Sample() {
	if t, ok := s.src.Tracking(); ok {
		s.hist.Add(PointOf(t))
	}
}

// Run samples at start and at every tick until ctx ends; it returns nil
// then.
func (s *Sampler) Run(ctx context.Context) error {
	t := s.newTicker(s.interval)
	defer t.Stop()
	s.Sample()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			s.Sample()
		}
	}
}
