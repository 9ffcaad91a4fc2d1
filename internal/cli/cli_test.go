package cli

import (
	"context"
	"syscall"
	"testing"
	"time"
)

func TestExitCodes(t *testing.T) {
	// The values are part of the commands' documented interface.
	for _, tc := range []struct {
		name      string
		got, want int
	}{
		{"ExitOK", ExitOK, 0},
		{"ExitFailure", ExitFailure, 1},
		{"ExitUsage", ExitUsage, 2},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

func TestSignalContextCancelledBySIGTERM(t *testing.T) {
	ctx, stop := SignalContext(context.Background())
	defer stop()
	if ctx.Err() != nil {
		t.Fatal("context cancelled before any signal")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not cancel the context within 10 s")
	}
}

func TestSignalContextStopReleases(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ctx, stop := SignalContext(parent)
	defer stop()
	cancel()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("parent cancellation did not propagate within 10 s")
	}
}
