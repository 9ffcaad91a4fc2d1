package main

import (
	"log/slog"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/cmdmon"
	ctlserve "github.com/gnomon-time/gnomon/cmdmon/serve"
	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/serve"
	"github.com/gnomon-time/gnomon/report"
	"github.com/gnomon-time/gnomon/source"
)

// ctlDiscipline is the discipline as the control protocol reads it: the
// Runner's reports, with tracking's SystemTimeOffset on CLOCK_REALTIME
// (chronyc's "System time", which ClockBound's chrony reader adds to its
// bound): the served clock's estimated error plus the served clock's
// distance from CLOCK_REALTIME (a virtual clock's correction; 0 when
// gnomond steers or serves CLOCK_REALTIME).
type ctlDiscipline struct {
	*source.Runner
	realtimeOffset func() time.Duration
}

func (d ctlDiscipline) Tracking() (report.Tracking, bool) {
	t, ok := d.Runner.Tracking()
	if ok && t.Synchronized {
		t.SystemTimeOffset += d.realtimeOffset()
	}
	return t, ok
}

// ntpServer is the NTP server as the control protocol reads it: the
// service's counters with the client log's, and the client log's records.
type ntpServer struct {
	svc  *serve.Service
	clog *clientlog.Log
	clk  clock.Served // the clock the client log's times are on
	nts  *ntsRuntime  // nil: NTS off
}

func (s ntpServer) ServerStats() report.ServerStats {
	st := s.svc.ServerStats()
	st.ClientLog = s.clog.ClientLogStats()
	if s.nts != nil {
		st.NTSKE = s.nts.NTSKEStats()
	}
	return st
}

func (s ntpServer) Clients(first, limit int, minHits uint32) report.ClientPage {
	return s.clog.Clients(first, limit, minHits, s.clk.Now().UnixNano())
}

// openControl opens the control protocol's sockets for h. A UDP address of
// control.listen that cannot be bound is an error; control.listen_optional
// addresses and the Unix socket are skipped with a warning (the socket as
// chronyd does when its directory is not usable).
func openControl(cfg *config.Config, log *slog.Logger, h *cmdmon.Handler) (*ctlserve.Service, error) {
	return ctlserve.Listen(ctlserve.Config{
		Listen: cfg.Control.ListenAddrs(), Optional: cfg.Control.OptionalListenAddrs(),
		Socket: cfg.Control.Socket, SocketMode: cfg.Control.Mode(), SocketGroup: cfg.Control.SocketGroup,
		SocketOptional: true, Handler: h, Logger: log,
	})
}
