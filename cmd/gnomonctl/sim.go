package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/scenario"
)

// maxSimDuration bounds --duration: a simulated day runs in well under a
// minute, and nobody needs more from the command line.
const maxSimDuration = 7 * 24 * time.Hour

// newSimCmd returns `gnomonctl sim`: run a discipline scenario on
// simulated time (never the real clock) and print how it went.
func newSimCmd() *cobra.Command {
	var (
		duration time.Duration
		seed     uint64
		servo    string
		jsonOut  bool
		list     bool
		compare  int
		from     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "sim SCENARIO [--duration D] [--seed N] [--servo NAME] [--json] [--compare N [--from D]] | sim --list",
		Short: "Run a clock-discipline scenario on simulated time",
		Long: `Runs the discipline engine (selection, servo, steering, leap seconds, holdover)
against simulated upstream NTP servers and a simulated oscillator, on simulated
time: the real clock is never read or touched, and the same --seed gives the
same run. Prints when the run settled (from then on |TE| stayed under the
scenario's threshold for its sustain time; not the engine's mode "locked"),
max |TE| and RMS TE after settling, the final frequency error, the steps
taken, the time spent per mode, how often each server was selected or
combined, the timeline of source selections, mode changes and leap seconds,
and whether the published error bound always held the true error. The scenarios and the limits the tests assert on them are
described in docs/simulation.md.

With --compare N, every servo runs on the same N traces (seeds --seed …
--seed+N−1) and a Markdown table compares RMS and max |TE| over the common
window from --from to the end (the servo comparison of docs/simulation.md:
gnomonctl sim step-at-start --duration 1h --compare 5 --from 10m).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if list {
				if len(args) > 0 {
					return usagef("--list takes no scenario")
				}
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				for _, sc := range scenario.Builtin() {
					fmt.Fprintf(tw, "%s\t%v\t%s\n", sc.Name, sc.Duration, sc.Summary)
				}
				return tw.Flush()
			}
			if len(args) != 1 {
				return usagef("want exactly one scenario (one of %v), or --list", scenario.Names())
			}
			sc, err := scenario.Lookup(args[0])
			if err != nil {
				return usageError{err}
			}
			if servo != "" && !slices.Contains(engine.ServoNames(), servo) {
				return usagef("--servo %q: want one of %v", servo, engine.ServoNames())
			}
			if duration < 0 || duration > maxSimDuration {
				return usagef("--duration %v: want 0 (the scenario's) up to %v", duration, maxSimDuration)
			}
			if compare < 0 || compare > 100 {
				return usagef("--compare %d: want 0…100 seeds", compare)
			}
			if compare > 0 {
				if servo != "" {
					return usagef("--compare runs every servo; drop --servo")
				}
				d := duration
				if d == 0 {
					d = sc.Duration
				}
				if from < 0 || from >= d {
					return usagef("--from %v: want 0 ≤ from < duration %v", from, d)
				}
				var seeds []uint64
				for i := range compare {
					seeds = append(seeds, seed+uint64(i))
				}
				ss, err := scenario.Compare(sc, engine.ServoNames(), seeds, d, from)
				if err != nil {
					return err
				}
				if jsonOut {
					enc := json.NewEncoder(out)
					enc.SetIndent("", "  ")
					return enc.Encode(ss)
				}
				return scenario.WriteCompare(out, sc.Name, ss)
			}
			r, err := scenario.Run(sc, scenario.Options{Seed: seed, Servo: servo, Duration: duration})
			if err != nil {
				return err
			}
			if jsonOut {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return scenario.WriteText(out, r)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&duration, "duration", 0, "simulated time to run (0: the scenario's own duration)")
	f.Uint64Var(&seed, "seed", 1, "noise realisation (oscillator, network, cookies)")
	f.StringVar(&servo, "servo", "", fmt.Sprintf("servo, one of %v (default kalman)", engine.ServoNames()))
	f.BoolVar(&jsonOut, "json", false, "print the result as JSON (durations in ns)")
	f.BoolVar(&list, "list", false, "list the scenarios")
	f.IntVar(&compare, "compare", 0, "compare every servo on this many seeds")
	f.DurationVar(&from, "from", 0, "with --compare: start of the common statistics window")
	return cmd
}
