package engine

import (
	"math"
	"time"
)

// steerLog remembers what the engine did to the clock, as the cumulative
// correction K(t) in ns at local time t: the sum of the steps and the
// integral of the frequency correction (ppb × s = ns). A sample taken at
// Ts with offset θ (reference − local) is referred to now as
//
//	θ(now) ≈ θ(Ts) − (K(now) − K(Ts)) + f̂·(now − Ts)
//
// where f̂ is the current estimate of the correction that cancels the
// oscillator's own frequency error: the clock moved by K(now) − K(Ts)
// because of us, and by −f̂·(now − Ts) on its own.
type steerLog struct {
	ents []steerEnt // ascending by at
}

type steerEnt struct {
	at   time.Time
	cum  float64 // K(at), ns
	freq float64 // correction in force from at, ppb
}

// maxSteerEnts bounds the log; samples older than the oldest entry are
// referred with the oldest entry's frequency (a small error: the clock
// filters keep 8 polls of history, far less than this many updates).
const maxSteerEnts = 512

func (l *steerLog) reset(at time.Time, freq float64) {
	l.ents = append(l.ents[:0], steerEnt{at: at, freq: freq})
}

// k returns K(t).
func (l *steerLog) k(t time.Time) float64 {
	if len(l.ents) == 0 {
		return 0
	}
	i := len(l.ents) - 1
	for i > 0 && l.ents[i].at.After(t) {
		i--
	}
	e := l.ents[i]
	return e.cum + e.freq*t.Sub(e.at).Seconds()
}

func (l *steerLog) freq() float64 {
	if len(l.ents) == 0 {
		return 0
	}
	return l.ents[len(l.ents)-1].freq
}

func (l *steerLog) push(e steerEnt) {
	if len(l.ents) >= maxSteerEnts {
		n := copy(l.ents, l.ents[maxSteerEnts/2:])
		l.ents = l.ents[:n]
	}
	l.ents = append(l.ents, e)
}

// setFreq records a new frequency correction from local time at.
func (l *steerLog) setFreq(at time.Time, freq float64) {
	l.push(steerEnt{at: at, cum: l.k(at), freq: freq})
}

// step records a step by d at local time at.
func (l *steerLog) step(at time.Time, d time.Duration) {
	l.push(steerEnt{at: at, cum: l.k(at) + float64(d), freq: l.freq()})
}

// refer returns offset θ measured at ts referred to now, with fhat the
// correction (ppb) that cancels the oscillator's frequency error.
func (l *steerLog) refer(theta time.Duration, ts, now time.Time, fhat float64) time.Duration {
	if ts.IsZero() {
		return theta
	}
	d := -(l.k(now) - l.k(ts)) + fhat*now.Sub(ts).Seconds()
	return theta + time.Duration(math.Round(d))
}

// sampleHist keeps a source's recent samples as free-running phase
// y = θ + K(t) (ns), which only the oscillator and the source move, for
// chronyc sourcestats-like statistics by linear regression.
type sampleHist struct {
	t   [histLen]time.Time
	y   [histLen]float64
	n   int
	pos int
}

const histLen = 16

func (h *sampleHist) add(t time.Time, y float64) {
	h.t[h.pos], h.y[h.pos] = t, y
	h.pos = (h.pos + 1) % histLen
	h.n = min(h.n+1, histLen)
}

func (h *sampleHist) clear() { *h = sampleHist{} }

// regression fits y = a + b·(t − now) over the history: b in ppb (ns/s),
// a the phase at now (ns), the slope's standard error (ppb) and the
// residual standard deviation (ns). ok is false with fewer than 3 samples.
func (h *sampleHist) regression(now time.Time) (a, b, bErr, sd float64, ok bool) {
	if h.n < 3 {
		return 0, 0, 0, 0, false
	}
	var sx, sy float64
	for i := range h.n {
		sx += h.t[i].Sub(now).Seconds()
		sy += h.y[i]
	}
	n := float64(h.n)
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for i := range h.n {
		dx := h.t[i].Sub(now).Seconds() - mx
		sxx += dx * dx
		sxy += dx * (h.y[i] - my)
	}
	if sxx <= 0 {
		return 0, 0, 0, 0, false
	}
	b = sxy / sxx
	a = my - b*mx
	var ss float64
	for i := range h.n {
		r := h.y[i] - (a + b*h.t[i].Sub(now).Seconds())
		ss += r * r
	}
	sd = math.Sqrt(ss / (n - 2))
	bErr = sd / math.Sqrt(sxx)
	return a, b, bErr, sd, true
}
