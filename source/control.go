package source

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/report"
)

// NTPReporter is a source that can fill chronyc ntpdata's report (the NTP
// poller). NTPData answers within ctx, or returns nil.
type NTPReporter interface {
	NTPData(ctx context.Context) []report.NTPData
}

// Burster is a source that can poll in a burst (chronyc burst): every
// reference whose address match accepts sends n requests at short
// intervals. It returns how many references were asked.
type Burster interface {
	Burst(ctx context.Context, match func(netip.Addr) bool, n int) (int, error)
}

// ErrNotRunning: the discipline goroutine has stopped, or has not started
// and did not take the command before ctx ended.
var ErrNotRunning = errors.New("source runner: discipline not running")

// The Runner's control commands (chronyc burst, makestep, reset sources,
// ntpdata; a clock disruption). Each is safe from any goroutine; those that change discipline
// state run on the discipline goroutine and return when it has.

// NTPData is chronyc ntpdata's report of every NTP server of every
// NTPReporter source that answers before ctx ends.
func (r *Runner) NTPData(ctx context.Context) []report.NTPData {
	var out []report.NTPData
	for _, p := range r.srcs {
		if n, ok := p.src.(NTPReporter); ok {
			out = append(out, n.NTPData(ctx)...)
		}
	}
	return out
}

// Burst asks every reference whose address is in prefix (every reference
// with an address when prefix is invalid) for a burst of n requests, and
// returns how many were asked.
func (r *Runner) Burst(ctx context.Context, prefix netip.Prefix, n int) (int, error) {
	match := func(a netip.Addr) bool { return !prefix.IsValid() || prefix.Contains(a) }
	total := 0
	for _, p := range r.srcs {
		b, ok := p.src.(Burster)
		if !ok {
			continue
		}
		k, err := b.Burst(ctx, match, n)
		total += k
		if err != nil {
			return total, fmt.Errorf("burst %s: %w", p.name, err)
		}
	}
	return total, nil
}

// MakeStep makes the engine's next clock update a step of the whole
// measured offset (chronyc makestep; engine.MakeStep).
func (r *Runner) MakeStep(ctx context.Context) error {
	return r.do(ctx, func() { r.e.MakeStep() })
}

// ResetSources drops every reference's samples (chronyc reset sources;
// engine.ResetSources): selection waits for fresh ones.
func (r *Runner) ResetSources(ctx context.Context) error {
	return r.do(ctx, func() { r.e.ResetSources() })
}

// Disrupt tells the engine that the counter under its clock was disrupted
// (a VMClock live migration or snapshot restore; engine.Disrupt): the
// served error bound is widened by widen at once and marked disrupted until
// the engine is locked again, the servo restarts, and every source is
// reset and restarted as after a step (samples in flight straddle the
// disruption).
func (r *Runner) Disrupt(ctx context.Context, widen time.Duration) error {
	return r.do(ctx, func() {
		r.e.Disrupt(widen)
		r.newTimescale()
	})
}

// do runs f on the discipline goroutine and waits for it.
func (r *Runner) do(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case r.cmds <- func() { f(); close(done) }:
	case <-r.stopped:
		return ErrNotRunning
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNotRunning, ctx.Err())
	}
	<-done
	return nil
}
