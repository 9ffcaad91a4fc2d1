package main

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/phc"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp/serve"
)

// wallClock is CLOCK_REALTIME as a clock.Clock for the simulated PHC.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

var _ clock.Clock = wallClock{}

// One translator per PHC used by a socket (none for software-only sockets);
// a PHC that cannot be opened is skipped.
func TestPHCTranslators(t *testing.T) {
	sockets := []serve.Socket{
		{Info: hwts.Info{PHCIndex: -1}},
		{Info: hwts.Info{PHCIndex: 0}},
		{Info: hwts.Info{PHCIndex: 0}}, // a second worker on the same NIC
		{Info: hwts.Info{PHCIndex: 4}}, // cannot be opened
	}
	var opened []string
	open := func(dev string) (*phc.PHC, error) {
		opened = append(opened, dev)
		if dev != "/dev/ptp0" {
			return nil, errors.New("no such device")
		}
		sim, err := phc.NewSim(phc.SimConfig{Base: wallClock{}, Offset: 37 * time.Second})
		if err != nil {
			return nil, err
		}
		return phc.New(sim)
	}
	set := new(phc.Translators)
	runs, closeAll := phcTranslators(slog.New(slog.DiscardHandler), sockets, set, open)
	defer closeAll()
	if len(runs) != 1 || !set.Has(0) || set.Has(4) {
		t.Fatalf("%d runs, has 0: %v, has 4: %v; want 1, true, false", len(runs), set.Has(0), set.Has(4))
	}
	if len(opened) != 2 {
		t.Errorf("opened %v, want /dev/ptp0 once and /dev/ptp4", opened)
	}
	// Until Run measures, hardware stamps are not mapped (software stamps
	// are used); then PHC 0's time maps back to the system clock.
	if _, ok := set.ToRealtime(0, time.Now().Add(37*time.Second)); ok {
		t.Error("mapped before any measurement")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runs[0](ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	var got time.Time
	var ok bool
	for !ok && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		got, ok = set.ToRealtime(0, time.Now().Add(37*time.Second))
	}
	if !ok || time.Since(got).Abs() > 50*time.Millisecond {
		t.Errorf("PHC 0 time mapped to %v (%v); want about now", got, ok)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestPHCIndex(t *testing.T) {
	for path, want := range map[string]int{"/dev/ptp3": 3, "/dev/ptp12": 12, "/dev/ptpx": -1, "/dev/pps0": -1, "/tmp/ptp3": -1, "/dev/ptp3a": -1} {
		if got := phcIndex(path); got != want {
			t.Errorf("phcIndex(%q) = %d, want %d", path, got, want)
		}
	}
}
