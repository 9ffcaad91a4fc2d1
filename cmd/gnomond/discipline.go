package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/leap"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/ntp/upstream"
	"github.com/gnomon-time/gnomon/source"
	"github.com/gnomon-time/gnomon/source/ntpsource"
)

// secs converts a validated seconds value from the configuration.
func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// engineConfig maps the validated configuration to the engine's. events
// receives steps, selections and mode changes.
func engineConfig(cfg *config.Config, precision int8, events engine.EventSink) (engine.Config, error) {
	ec := engine.DefaultConfig()
	s := &cfg.Selection
	ec.Selection.MinSources = s.MinSources
	ec.Selection.MaxDistance = secs(s.MaxDistance)
	ec.Selection.MaxJitter = secs(s.MaxJitter)
	ec.Selection.MaxStratum = uint8(s.MaxStratum)
	ec.Selection.ReselectDistance = secs(s.ReselectDist)
	ec.Selection.StratumWeight = secs(s.StratumWeight)
	ec.Selection.CombineLimit = s.CombineLimit
	ec.Selection.OwnRefIDs = ownRefIDs(cfg)
	ec.Servo = cfg.Servo.Name
	ec.Policy.StepThreshold = secs(cfg.Servo.MakeStep.Threshold)
	ec.Policy.StepLimit = cfg.Servo.MakeStep.Limit
	ec.Policy.MaxFreqPPB = cfg.Servo.MaxFreq * 1000
	ec.Policy.MaxSlewPPB = cfg.Servo.MaxSlew * 1000
	ec.Precision = precision
	ec.Holdover.After = secs(cfg.Holdover.After)
	ec.Holdover.Duration = secs(cfg.Holdover.Duration)
	if cfg.Holdover.Duration == 0 {
		ec.Holdover.Duration = -1 // the engine's "disabled"
	}
	h := &cfg.Holdover
	ec.Holdover.StabilityPPB, ec.Holdover.WanderPPBPerHour = h.StabilityPPB, h.WanderPPBPerHour
	ec.Holdover.InSpec, ec.Holdover.InSpecErrorBound = secs(h.InSpec), secs(h.InSpecErrorBound)
	ec.Holdover.OutOfSpecClass = clock.ClockClass(h.OutOfSpecClass)
	ec.Holdover.OutOfSpecStratumAdd, ec.Holdover.OutOfSpecStratum = uint8(h.OutOfSpecStratumAdd), uint8(h.OutOfSpecStratum)
	ec.Holdover.RecoverySlewLimit = secs(h.RecoverySlewLimit)
	ec.Lock.Threshold, ec.Lock.Updates = secs(h.LockThreshold), h.LockUpdates
	if h.LockThreshold < 0 {
		ec.Lock.Threshold = -1
	}
	switch cfg.Leap.Mode {
	case config.LeapSystem:
		ec.LeapMode = engine.LeapModeSystem
	case config.LeapSmear:
		ec.LeapMode = engine.LeapModeSmear
	case config.LeapNone:
		ec.LeapMode = engine.LeapModeNone
	default:
		ec.LeapMode = engine.LeapModeStep
	}
	ec.Smear = leap.Smear{Enabled: ec.LeapMode == engine.LeapModeSmear,
		WanderPPMPerSecond: cfg.Leap.Smear.Wander, MaxFrequencyPPM: cfg.Leap.Smear.MaxFreq}
	if cfg.Leap.Table != "" {
		t, err := leap.LoadFile(cfg.Leap.Table)
		if err != nil {
			return ec, fmt.Errorf("leap.table: %w", err)
		}
		ec.LeapSource = t
	}
	ec.Sink = events
	if err := ec.Validate(); err != nil {
		return ec, fmt.Errorf("engine: %w", err)
	}
	return ec, nil
}

// ownRefIDs returns the reference IDs of this host's addresses (every
// interface address, and the listen addresses): a source whose reference
// ID is one of them is synchronised to us, a loop selection refuses.
// Interface enumeration failing only weakens loop detection.
func ownRefIDs(cfg *config.Config) []uint32 {
	var ids []uint32
	add := func(a netip.Addr) {
		if a.IsValid() && !a.IsUnspecified() {
			if id := selection.RefIDForAddr(a.Unmap()); !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	for _, ap := range cfg.NTP.ListenAddrs() {
		add(ap.Addr())
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				add(p.Addr())
			}
		}
	}
	return ids
}

// buildSources builds the configured sources, each entry of `sources:` a
// case of config.Source: the ntp entries as one poller (nil without any)
// and the local entry as the local reference. It does no I/O.
func buildSources(cfg *config.Config, clk clock.Served, precision int8, log *slog.Logger) ([]source.Source, error) {
	var srcs []source.Source
	if uc := upstreamConfig(cfg, precision); len(uc.Servers) > 0 {
		ntp, err := ntpsource.New(uc, clk, log)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, ntp)
	}
	if l := cfg.LocalSource(); l != nil {
		srcs = append(srcs, &source.Local{Stratum: uint8(l.Stratum)})
	}
	return srcs, nil
}

// upstreamConfig maps the ntp sources to ntp/upstream's servers.
func upstreamConfig(cfg *config.Config, precision int8) upstream.Config {
	var uc upstream.Config
	for _, n := range cfg.NTPSources() {
		uc.Servers = append(uc.Servers, upstream.ServerConfig{
			Address: n.Address, MinPoll: int8(n.MinPoll), MaxPoll: int8(n.MaxPoll),
			IBurst: n.IBurst, Burst: n.Burst,
			Prefer: n.Prefer, NoSelect: n.NoSelect, Trust: n.Trust, Require: n.Require,
		})
	}
	uc.Precision = precision
	return uc
}

// logSources logs the configured sources once at start.
func logSources(log *slog.Logger, cfg *config.Config) {
	for _, n := range cfg.NTPSources() {
		log.Info("ntp source", "address", n.Address, "iburst", n.IBurst, "minpoll", n.MinPoll, "maxpoll", n.MaxPoll,
			"prefer", n.Prefer, "noselect", n.NoSelect, "trust", n.Trust, "require", n.Require)
	}
	if l := cfg.LocalSource(); l != nil {
		log.Info("local source", "stratum", l.Stratum)
	}
	if len(cfg.Sources) == 0 {
		log.Warn("no sources configured: replies say unsynchronised (LI=3, stratum 0)")
	} else if cfg.LocalSource() == nil {
		log.Info("no local source: with no selectable ntp source, replies say unsynchronised (LI=3, stratum 0)")
	}
}
