// Command gnomonctl is gnomon's command-line tool: chronyc's monitoring and
// control commands over cmdmon (tracking, sources, ..., against gnomond or
// chronyd), a one-shot NTP check for alerting (`gnomonctl probe`), the NTP
// load generator (`gnomonctl bench ntp`), unicast PTP client simulation
// (`gnomonctl bench ptp`) and discipline simulations
// (`gnomonctl sim`).
//
// Exit codes: 0 success, 1 failure (the command ran and failed, e.g. no
// server answered), 2 usage error (bad flags or arguments); except `probe`,
// which follows the monitoring-plugin convention (0 OK, 1 WARNING,
// 2 CRITICAL, 3 UNKNOWN, bad arguments included).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gnomon-time/gnomon/internal/cli"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes gnomonctl with args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return cli.ExitOK
	}
	var re reportedError
	if errors.As(err, &re) {
		return cli.ExitFailure // printed on stdout as chronyc does
	}
	var ee exitError
	coded := errors.As(err, &ee)
	if coded && ee.err == nil {
		return ee.code // the command has said everything
	}
	fmt.Fprintf(stderr, "gnomonctl: %v\n", err)
	code := cli.ExitFailure
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "Run 'gnomonctl --help' for usage.")
		code = cli.ExitUsage
	}
	if coded {
		code = ee.code
	}
	return code
}

// exitError makes run exit with code: silently if err is nil, otherwise
// after printing err (with the usage hint if it wraps a usageError). For
// commands with their own exit codes (probe's monitoring-plugin codes).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e exitError) Unwrap() error { return e.err }

// usageError marks errors caused by how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }
