package main

import (
	"log/slog"
	"time"

	"github.com/gnomon-time/gnomon/clockbound"
	"github.com/gnomon-time/gnomon/config"
)

// openClockBound creates the ClockBound segment when clockbound.path is
// set (nil otherwise). The bound is on CLOCK_REALTIME: the served clock's
// distance from it (a virtual clock's correction) is added.
func openClockBound(cfg *config.Config, log *slog.Logger, disc *discipline) (*clockbound.Writer, error) {
	if cfg.ClockBound.Path == "" {
		return nil, nil
	}
	w, err := clockbound.Create(clockbound.WriterConfig{
		Path: cfg.ClockBound.Path, MaxDriftPPB: uint32(cfg.ClockBound.MaxDriftPPB),
		Served:         disc.runner,
		RealtimeOffset: disc.realtimeOffset,
		Disruption:     disc.phcs.disruption,
		Logger:         log,
	})
	if err != nil {
		return nil, err
	}
	log.Info("writing ClockBound segment", "path", cfg.ClockBound.Path, "max_drift_ppb", cfg.ClockBound.MaxDriftPPB)
	return w, nil
}

// realtimeOffset is the served clock minus CLOCK_REALTIME now.
func (d *discipline) realtimeOffset() time.Duration { return d.served.Now().Sub(time.Now()) }
