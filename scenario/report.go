package scenario

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

func fmtD(d time.Duration) string {
	switch {
	case d.Abs() < time.Microsecond:
		return d.String()
	case d.Abs() < time.Millisecond:
		return d.Round(10 * time.Nanosecond).String()
	case d.Abs() < time.Second:
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func fmtT(d time.Duration) string { return d.Round(time.Millisecond).String() }

// WriteText prints a human-readable report of r.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s, servo %s, seed %d, %v simulated\n", r.Scenario, r.Servo, r.Seed, r.Duration)
	// "Settled" is the score (|TE| stayed under the scenario's threshold
	// for its sustain time), not the engine's mode "locked" below.
	if r.Locked {
		fmt.Fprintf(&b, "settled within:      %s\n", fmtT(r.LockTime))
		fmt.Fprintf(&b, "after settling:      max |TE| %s, RMS TE %s\n", fmtD(r.MaxTE), fmtD(r.RMSTE))
	} else {
		fmt.Fprintf(&b, "settled within:      never\n")
		fmt.Fprintf(&b, "second half:         max |TE| %s, RMS TE %s\n", fmtD(r.MaxTE), fmtD(r.RMSTE))
	}
	fmt.Fprintf(&b, "final TE:            %s\n", fmtD(r.FinalTE))
	fmt.Fprintf(&b, "final freq error:    %+.3f ppb\n", r.FinalFreqErrorPPB)
	fmt.Fprintf(&b, "error bound:         %d violations, min margin %s, max |TE|/bound %.3f\n",
		r.BoundViolations, fmtD(r.MinBoundMargin), r.MaxBoundRatio)
	fmt.Fprintf(&b, "time per mode:      ")
	for _, m := range []string{"unsynchronised", "locking", "locked", "holdover", "local"} {
		if d, ok := r.ModeTime[m]; ok {
			fmt.Fprintf(&b, " %s %s (max |TE| %s)", m, fmtT(d), fmtD(r.ModeMaxTE[m]))
		}
	}
	b.WriteString("\n")
	if r.RejectedReplies > 0 {
		fmt.Fprintf(&b, "rejected replies:    %d\n", r.RejectedReplies)
	}
	if k := r.Kernel; k != nil {
		fmt.Fprintf(&b, "kernel:              %d leap bit changes, %d seconds leapt, %d sync / %d unsync writes, synced %v at the end\n",
			len(k.Armed), len(k.Leaps), k.SyncCalls, k.UnsyncCalls, k.Synced)
		for _, e := range k.Armed {
			fmt.Fprintf(&b, "  %12s  kernel leap bits: %s\n", fmtT(e.T), e.To)
		}
		for _, e := range k.Leaps {
			fmt.Fprintf(&b, "  %12s  kernel leapt: %s (%s)\n", fmtT(e.T), e.To, fmtD(e.Step))
		}
	}
	if sm := r.Smear; sm != nil {
		fmt.Fprintf(&b, "served (smeared):    max |served − smear curve| after settling %s (smear alone %s), max LI served %d, "+
			"refid 127.127.1.255 for %s, monotonic %v\n",
			fmtD(sm.MaxCurveError), fmtD(sm.MaxOffsetError), sm.MaxServedLeap, fmtT(sm.SmearRefIDTime), sm.Monotonic)
		fmt.Fprintf(&b, "                     absorbed %s, final served − UTC %s\n", fmtD(sm.Absorbed), fmtD(sm.FinalServedTE))
	}
	if g := r.Ref; g != nil {
		locked := "never"
		if g.EngineLockedAt >= 0 {
			locked = fmtT(g.EngineLockedAt)
		}
		fmt.Fprintf(&b, "reference chain:     engine mode locked from %s; from then (outside PPS outages) max |TE| %s, RMS %s\n",
			locked, fmtD(g.MaxTELocked), fmtD(g.RMSTELocked))
		fmt.Fprintf(&b, "pairing:             %d edges accepted, %d labelled, %d wrong labels, %d accepted as 23:59:60\n",
			g.Accepted, g.Labelled, g.WrongLabels, g.Second60)
		for _, c := range g.Classes {
			fmt.Fprintf(&b, "  %12s  clockClass %d, stratum %d (%s)\n", fmtT(c.T), uint8(c.Class), c.Stratum, c.Mode)
		}
		for _, o := range g.Outages {
			fmt.Fprintf(&b, "PPS outage %s–%s:  TE %s → %s, largest drift %s\n", fmtT(o.From), fmtT(o.To), fmtD(o.TEStart), fmtD(o.TEEnd), fmtD(o.MaxDriftTE))
		}
		if y := g.Sys; y != nil {
			fmt.Fprintf(&b, "system clock:        %d steps; from %s: sys − PHC RMS %s max %s, sys − UTC RMS %s max %s\n",
				len(y.Steps), fmtT(y.StatsFrom), fmtD(y.RMSvsPHC), fmtD(y.MaxVsPHC), fmtD(y.RMSvsUTC), fmtD(y.MaxVsUTC))
		}
	}
	fmt.Fprintf(&b, "steps taken:         %d\n", len(r.Steps))
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "  %12s  step %s (%s)\n", fmtT(s.T), fmtD(s.Step), s.Reason)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "server\tselected\tcombined\t")
	for _, s := range r.Servers {
		fmt.Fprintf(tw, "%s\t%.1f %%\t%.1f %%\t\n", s.Name, 100*s.Selected, 100*s.Combined)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.Reset()
	fmt.Fprintf(&b, "timeline (source selections, modes, leap):\n")
	shown, hidden := 0, 0
	for _, e := range r.Timeline {
		switch e.Kind {
		case "source":
			// Peer changes can be many (the fresh sample's low dispersion
			// makes its source the best for a moment); the text shows the
			// first ones, --json all of them.
			if shown >= maxTextSourceChanges {
				hidden++
				continue
			}
			shown++
			fmt.Fprintf(&b, "  %12s  source %q (was %q)\n", fmtT(e.T), e.To, e.From)
		case "mode":
			fmt.Fprintf(&b, "  %12s  mode %s → %s (%s)\n", fmtT(e.T), e.From, e.To, e.Source)
		case "leap":
			if e.LeapAt.IsZero() {
				fmt.Fprintf(&b, "  %12s  leap cancelled\n", fmtT(e.T))
			} else {
				fmt.Fprintf(&b, "  %12s  leap %s armed for %s\n", fmtT(e.T), e.To, e.LeapAt.UTC().Format(time.RFC3339))
			}
		}
	}
	if hidden > 0 {
		fmt.Fprintf(&b, "  (%d more source changes; --json lists them all)\n", hidden)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// maxTextSourceChanges bounds the source changes WriteText prints.
const maxTextSourceChanges = 30
