// Command gnomond is gnomon's time daemon. Today it serves NTP from a
// configurable clock (read only: nothing in gnomond steers a clock yet) and
// exposes Prometheus metrics.
//
//	gnomond [--config FILE] [--ntp-listen ADDR:PORT]... [--metrics-listen ADDR:PORT]
//	        [--control-socket PATH] [--log-level LEVEL]
//	gnomond validate --config FILE
//	gnomond config default
//
// Without --config gnomond runs on the embedded default configuration
// (`gnomond config default` prints it): NTP on 127.0.0.1:11123 and
// [::1]:11123 for loopback clients, metrics on 127.0.0.1:11124.
//
// Signals: SIGTERM and SIGINT shut down gracefully (exit 0); SIGHUP reloads
// the configuration file and applies what can change at run time (the
// allow/deny lists and log.level), logging what changed; an invalid file
// is logged and the running configuration kept.
//
// Exit codes: 0 success (also after SIGTERM/SIGINT), 1 runtime failure (e.g.
// a socket cannot be bound), 2 usage or configuration error (bad flags,
// unreadable or invalid configuration).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gnomon-time/gnomon/internal/cli"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background())
	// After the first SIGTERM/SIGINT restore the default action, so that a
	// second one kills a shutdown that hangs.
	go func() { <-ctx.Done(); stop() }()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	code := runIn(ctx, os.Args[1:], os.Stdout, os.Stderr, hup, procEnv{getenv: os.Getenv, dropPrivileges: true})
	signal.Stop(hup)
	stop()
	os.Exit(code)
}

// run executes gnomond with args and returns the exit code. hup delivers
// reload requests. It runs as tests run gnomond inside their own process:
// no environment, no change of credentials.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal) int {
	return runIn(ctx, args, stdout, stderr, hup, procEnv{})
}

// runIn is run in the process environment env.
func runIn(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal, env procEnv) int {
	root := newRootCmd(stdout, stderr, hup, env)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return cli.ExitOK
	}
	fmt.Fprintf(stderr, "gnomond: %v\n", err)
	var ce configError
	if errors.As(err, &ce) {
		if ce.usage {
			fmt.Fprintln(stderr, "Run 'gnomond --help' for usage.")
		}
		return cli.ExitUsage
	}
	return cli.ExitFailure
}

// configError marks errors in how gnomond was called or configured (exit
// code 2).
type configError struct {
	err   error
	usage bool
}

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return configError{err: fmt.Errorf(format, args...), usage: true}
}
