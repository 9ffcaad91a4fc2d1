package scenario

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// ServoSummary aggregates one servo's runs of a scenario over seeds, with
// statistics over a common window [From, end] of every run.
type ServoSummary struct {
	Servo  string        `json:"servo"`
	Runs   int           `json:"runs"`
	Locked int           `json:"locked"`
	From   time.Duration `json:"from_ns"`
	// Median and worst over seeds (lower median).
	MedianRMS, WorstRMS     time.Duration
	MedianMaxTE, WorstMaxTE time.Duration
	// Settling time (Result.LockTime) over the runs that settled (Locked
	// counts them; −1 when none did).
	MedianLock, WorstLock time.Duration
	// Per seed, in seed order.
	RMS []time.Duration
}

// Compare runs sc with each servo on each seed (the same traces for every
// servo) and summarises RMS and max |TE| over [from, end] of each run.
func Compare(sc Scenario, servos []string, seeds []uint64, duration, from time.Duration) ([]ServoSummary, error) {
	var out []ServoSummary
	for _, sv := range servos {
		s := ServoSummary{Servo: sv, Runs: len(seeds), From: from}
		var mx, lock []time.Duration
		for _, seed := range seeds {
			r, err := Run(sc, Options{Seed: seed, Servo: sv, Duration: duration})
			if err != nil {
				return nil, err
			}
			rms, n := r.RMSFrom(from)
			if n == 0 {
				return nil, fmt.Errorf("compare %s: window from %v is after the end of the run", sc.Name, from)
			}
			var m time.Duration
			for _, p := range r.Trace {
				if p.T >= from {
					m = max(m, p.TE.Abs())
				}
			}
			s.RMS = append(s.RMS, rms)
			mx = append(mx, m)
			if r.Locked {
				s.Locked++
				lock = append(lock, r.LockTime)
			}
		}
		s.MedianRMS, s.WorstRMS = medWorst(slices.Clone(s.RMS))
		s.MedianMaxTE, s.WorstMaxTE = medWorst(mx)
		s.MedianLock, s.WorstLock = medWorst(lock)
		out = append(out, s)
	}
	return out, nil
}

func medWorst(x []time.Duration) (time.Duration, time.Duration) {
	if len(x) == 0 {
		return -1, -1
	}
	slices.Sort(x)
	return x[(len(x)-1)/2], x[len(x)-1]
}

// WriteCompare prints summaries as a Markdown table (docs/simulation.md).
func WriteCompare(w io.Writer, scenario string, ss []ServoSummary) error {
	if _, err := fmt.Fprintf(w, "| scenario | servo | RMS TE median / worst | max abs TE median / worst | settled within median / worst | runs settled |\n|---|---|---|---|---|---|\n"); err != nil {
		return err
	}
	for _, s := range ss {
		lock := "never"
		if s.Locked > 0 {
			lock = fmt.Sprintf("%s / %s", fmtT(s.MedianLock), fmtT(s.WorstLock))
		}
		if _, err := fmt.Fprintf(w, "| %s | %s | %s / %s | %s / %s | %s | %d/%d |\n", scenario, s.Servo,
			fmtD(s.MedianRMS), fmtD(s.WorstRMS), fmtD(s.MedianMaxTE), fmtD(s.WorstMaxTE), lock, s.Locked, s.Runs); err != nil {
			return err
		}
	}
	return nil
}
