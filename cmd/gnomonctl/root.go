package main

import (
	"io"

	"github.com/spf13/cobra"
)

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "gnomonctl",
		Short:         "Control and measure gnomon time servers",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	bench := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	bench.AddCommand(newBenchNTPCmd())
	bench.AddCommand(newBenchPTPCmd()) // benchptp.go: unicast PTP clients against a grandmaster
	root.AddCommand(bench)
	root.AddCommand(newSimCmd())   // sim.go: discipline scenarios on simulated time
	root.AddCommand(newProbeCmd()) // probe.go: one-shot NTP check with monitoring-plugin exit codes
	root.AddCommand(newPTPCmd())   // ptp.go: the PTP grandmaster's status
	addControlCmds(root)           // control.go: chronyc's commands over cmdmon
	return root
}

// noArgs rejects positional arguments as a usage error (an unknown
// subcommand lands here too).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command or argument %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}
