package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ptp"
	ptpserve "github.com/gnomon-time/gnomon/ptp/serve"
)

// openPTP opens the PTP grandmaster when ptp.enabled (nil otherwise). It
// serves the time of the served clock (the NTP server's) from kernel
// timestamps, with Announces from cell; with a disciplined PHC (ref) that
// stamps the packets of ptp.interface in hardware, the PHC's own time from
// those stamps.
func openPTP(ctx context.Context, cfg *config.Config, log *slog.Logger, served clock.Served, cell *clock.StateCell, ref *reference) (*ptpserve.Service, error) {
	p := &cfg.PTP
	if !p.Enabled {
		return nil, nil
	}
	id, err := ptpIdentity(p)
	if err != nil {
		return nil, configError{err: err}
	}
	mode, err := hwts.ParseMode(p.Timestamping)
	if err != nil {
		return nil, configError{err: fmt.Errorf("ptp.timestamping: %w", err)}
	}
	srv, err := ptp.NewServer(ptp.Config{
		Identity: protocol.ClockIdentity(id), Domain: uint8(p.Domain),
		Priority1: uint8(p.Priority1), Priority2: uint8(p.Priority2), Allow: p.AllowPrefixes(),
		Limits: ptp.Limits{MaxClients: p.MaxClients, MinLogAnnounce: int8(p.MinLogAnnounceInterval),
			MinLogSync: int8(p.MinLogSyncInterval), MinLogDelayResp: int8(p.MinLogDelayRespInterval), MaxLogInterval: 30,
			MaxDuration: time.Duration(p.MaxGrantDurationSeconds) * time.Second},
		Multicast: ptp.Multicast{LogSync: int8(p.Multicast.LogSyncInterval), LogAnnounce: int8(p.Multicast.LogAnnounceInterval),
			LogMinDelayReq: int8(p.Multicast.LogMinDelayReqInterval)},
	})
	if err != nil {
		return nil, configError{err: err}
	}
	svc, err := ptpserve.Listen(ctx, ptpserve.Config{
		Listen: p.ListenAddrs(), EventPort: uint16(p.EventPort), GeneralPort: uint16(p.GeneralPort),
		Interface: p.Interface, Timestamping: mode, DSCP: uint8(p.DSCP), Multicast: p.Multicast.Enabled,
		Server: srv, Clock: served, State: cell, Logger: log, PHC: ref.ptpTime(),
	})
	if err != nil {
		return nil, err
	}
	log.Info("PTP grandmaster", "clock_identity", protocol.ClockIdentity(id).String(), "domain", p.Domain,
		"multicast", p.Multicast.Enabled)
	return svc, nil
}

// ptpIdentity is ptp.clock_identity, or the EUI-64 of ptp.interface's MAC.
func ptpIdentity(p *config.PTP) (uint64, error) {
	if p.ClockIdentity != "" {
		id, err := config.ParseClockIdentity(p.ClockIdentity)
		if err != nil {
			return 0, fmt.Errorf("ptp.clock_identity: %q: %w", p.ClockIdentity, err)
		}
		return id, nil
	}
	ifi, err := net.InterfaceByName(p.Interface)
	if err != nil {
		return 0, fmt.Errorf("ptp.interface: %q: %w", p.Interface, err)
	}
	id, err := config.IdentityFromMAC(ifi.HardwareAddr)
	if err != nil {
		return 0, fmt.Errorf("ptp.interface: %q: no clock identity from its MAC: %w", p.Interface, err)
	}
	return id, nil
}

// ptpStatusHandler serves the grandmaster's report.PTPStatus as JSON
// (gnomonctl ptp status reads it).
func ptpStatusHandler(svc *ptpserve.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(svc.PTPStatus())
	})
}

// ptpTime is the PHC whose NIC hardware stamps PTP may use (nil without a
// disciplined PHC device).
func (r *reference) ptpTime() *ptpserve.PHCTime {
	if r == nil || r.index < 0 {
		return nil
	}
	return &ptpserve.PHCTime{Index: r.index, TAI: r.cfg.Timescale == config.TimescaleTAI}
}
