package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes shared by gnomon's commands.
const (
	// ExitOK: success (gnomond also exits 0 after SIGTERM/SIGINT).
	ExitOK = 0
	// ExitFailure: the command ran and failed (e.g. a socket cannot be
	// bound, no server answered).
	ExitFailure = 1
	// ExitUsage: usage or configuration error (bad flags or arguments,
	// unreadable or invalid configuration).
	ExitUsage = 2
)

// SignalContext returns a context derived from parent that is cancelled
// by SIGINT or SIGTERM, and the stop function that releases the signal
// handlers (restoring the default action: a further signal then kills the
// process). Callers must call stop.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}
