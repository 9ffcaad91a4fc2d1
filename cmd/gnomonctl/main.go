// Command gnomonctl is gnomon's command-line tool: chronyc's monitoring and
// control commands over cmdmon (tracking, sources, ..., against gnomond or
// chronyd), the NTP load generator (`gnomonctl bench ntp`) and discipline
// simulations (`gnomonctl sim`).
//
// Exit codes: 0 success, 1 failure (the command ran and failed, e.g. no
// server answered), 2 usage error (bad flags or arguments).
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
	fmt.Fprintf(stderr, "gnomonctl: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "Run 'gnomonctl --help' for usage.")
		return cli.ExitUsage
	}
	return cli.ExitFailure
}

// usageError marks errors caused by how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }
