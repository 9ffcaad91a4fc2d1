package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/phc"
	"github.com/gnomon-time/gnomon/clock/system"
	"github.com/gnomon-time/gnomon/cmdmon"
	ctlserve "github.com/gnomon-time/gnomon/cmdmon/serve"
	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/metrics"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/serve"
	"github.com/gnomon-time/gnomon/report"
	"github.com/gnomon-time/gnomon/source"
	"github.com/gnomon-time/gnomon/statuspage"
)

// Shutdown bounds and intervals.
const (
	// httpShutdownTimeout bounds the metrics server's graceful shutdown.
	httpShutdownTimeout = 3 * time.Second
)

// daemon holds the running pieces that SIGHUP reload touches.
type daemon struct {
	log   *slog.Logger
	level *slog.LevelVar
	flags *flags
	cmd   *cobra.Command
	srv   *ntp.Server
	cfg   *config.Config // configuration in force (only the reload goroutine touches it)
	hup   <-chan os.Signal
	// reloads carries the control socket's reload requests.
	reloads chan chan error
	// notify tells systemd about reloads; status is its STATUS= text.
	notify *notifier
	status func() string
	// nts, when NTS is on, has its key file checked on every reload.
	nts *ntsRuntime
	// reloadsOK and reloadsFailed count reloads; lastReloadFailed says
	// the last one failed (metrics.ReloadStats).
	reloadsOK, reloadsFailed atomic.Uint64
	lastReloadFailed         atomic.Bool
}

// ReloadStats returns the reload counters (metrics.ReloadStats).
func (d *daemon) ReloadStats() report.ReloadStats {
	return report.ReloadStats{OK: d.reloadsOK.Load(), Failed: d.reloadsFailed.Load(), LastOK: !d.lastReloadFailed.Load()}
}

// newLogger builds the slog logger of cfg.Log writing to w.
func newLogger(w io.Writer, c config.Log) (*slog.Logger, *slog.LevelVar) {
	lv := new(slog.LevelVar)
	lv.Set(parseLevel(c.Level))
	opts := &slog.HandlerOptions{Level: lv}
	if c.Format == config.FormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), lv
	}
	return slog.New(slog.NewTextHandler(w, opts)), lv
}

// parseLevel maps a validated log.level to a slog level.
func parseLevel(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// runDaemon wires gnomond together and runs it until ctx ends.
func runDaemon(ctx context.Context, cfg *config.Config, f *flags, cmd *cobra.Command, stderr io.Writer, hup <-chan os.Signal, env procEnv) error {
	log, level := newLogger(stderr, cfg.Log)
	cell := new(clock.StateCell)
	disc, err := buildDiscipline(cfg, cell, log, f.virtualOffset)
	if err != nil {
		return err
	}
	defer disc.close()
	served, precision := disc.served, disc.precision
	log.Info("gnomond starting", "version", version(), "config", configName(f), "clock_mode", cfg.Clock.Mode,
		"precision_log2", precision, "ntp_sources", len(cfg.NTPSources()), "local", cfg.LocalSource() != nil)
	logSources(log, cfg)

	clog, err := clientlog.New(clientLogConfig(cfg))
	if err != nil {
		return configError{err: fmt.Errorf("client log: %w", err)}
	}
	acl, err := buildACL(cfg)
	if err != nil {
		return configError{err: err}
	}
	if len(cfg.NTP.Allow) == 0 {
		log.Warn("ntp.allow is empty: every NTP request is denied")
	}
	scfg := ntp.DefaultServerConfig()
	scfg.Interleave = cfg.NTP.Interleaved
	scfg.Precision = precision
	scfg.ACL = acl
	// checkConfig loaded the key file already (CheckHost); load it again
	// for the keys themselves.
	keys, err := cfg.NTP.LoadKeys()
	if err != nil {
		return configError{err: err}
	}
	if keys != nil {
		log.Info("ntp symmetric keys loaded", "keys_file", cfg.NTP.KeysFile, "keys", keys.Len())
	}
	scfg.Keys = keys
	// NTS: certificate, key file and NTS-KE port are opened now, before
	// the privilege drop; Run serves them afterwards.
	ntsRT, err := openNTS(cfg, log)
	if err != nil {
		return err
	}
	ntsRunning := false
	defer func() {
		if !ntsRunning {
			ntsRT.close()
		}
	}()
	if ntsRT != nil {
		scfg.NTS = ntsRT.core
	}
	srv, err := ntp.NewServer(scfg, clog)
	if err != nil {
		return configError{err: err}
	}

	mode, err := hwts.ParseMode(cfg.NTP.Timestamping)
	if err != nil {
		return configError{err: err}
	}
	// NIC hardware stamps are mapped from their PHC's time to the system
	// clock by translators registered once the sockets say which PHC they
	// use (after Open).
	hwClocks := new(phc.Translators)
	svc, err := serve.New(serve.Config{
		Listen:       cfg.NTP.ListenAddrs(),
		Optional:     cfg.NTP.OptionalListenAddrs(),
		Interface:    cfg.NTP.Interface,
		Workers:      cfg.NTP.EffectiveWorkers(),
		Timestamping: mode,
		DSCP:         uint8(cfg.NTP.DSCP),
		RecvBuffer:   cfg.NTP.RecvBuffer,
		Server:       srv,
		Clock:        served,
		State:        cell,
		HWClock:      hwClocks,
		Logger:       log,
	})
	if err != nil {
		return configError{err: err}
	}
	// Bind before anything runs so that a busy port fails start-up (exit 1)
	// with a clear message.
	if err := svc.Open(ctx); err != nil {
		return err
	}
	raiseGOMAXPROCS(log, svc.BlockingWorkers())
	phcRuns, closePHCs := phcTranslators(log, svc.Sockets(), hwClocks, phc.OpenReadOnly)
	defer closePHCs()

	d := &daemon{log: log, level: level, flags: f, cmd: cmd, srv: srv, cfg: cfg, hup: hup, reloads: make(chan chan error), nts: ntsRT}
	ctlCfg := cmdmon.Config{Discipline: ctlDiscipline{Runner: disc.runner, realtimeOffset: disc.realtimeOffset},
		Server: ntpServer{svc: svc, clog: clog, clk: disc.served, nts: ntsRT}, Reload: d.requestReload}
	if disc.ref != nil {
		// chronyc sources lists the PHC's GNSS receiver after the
		// served clock's sources.
		ctlCfg.Reference = disc.ref.runner
	}
	ctlHandler := cmdmon.New(ctlCfg)

	// PTP announces the disciplined PHC's state when there is one (its
	// time is the served clock's, which follows that PHC).
	ptpCell := cell
	if disc.ref != nil {
		ptpCell = disc.ref.cell
	}
	ptpSvc, err := openPTP(ctx, cfg, log, served, ptpCell, disc.ref)
	if err != nil {
		svc.Close()
		return err
	}
	// The grandmaster's sockets are closed by its Run; a failure before
	// that closes them here.
	ptpRunning := false
	defer func() {
		if ptpSvc != nil && !ptpRunning {
			ptpSvc.Close()
		}
	}()

	var httpSrv *http.Server
	var httpLn net.Listener
	var sampler *statuspage.Sampler
	if cfg.Metrics.Listen != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		msrc := metrics.Sources{Serve: svc, ClientLog: clog, Served: disc.runner, Control: ctlHandler, Reload: d, Version: version()}
		if ptpSvc != nil {
			msrc.PTP = ptpSvc
		}
		if disc.steered {
			msrc.Discipline = disc.runner
		}
		if disc.ref != nil {
			msrc.Reference = disc.ref.runner
		}
		if len(disc.gnss) > 0 {
			msrc.GNSS = disc.gnss
		}
		if ntsRT != nil {
			msrc.NTSKE = ntsRT
		}
		if _, err := metrics.Register(reg, msrc); err != nil {
			svc.Close()
			return fmt.Errorf("metrics: %w", err)
		}
		httpLn, err = net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			svc.Close()
			return fmt.Errorf("metrics: listen %s: %w", cfg.Metrics.Listen, err)
		}
		mux := http.NewServeMux()
		// "GET /metrics" also matches HEAD; any other method gets 405 Method
		// Not Allowed with "Allow: GET, HEAD" from the mux (read-only).
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
		status, s, err := statusPage(disc, log)
		if err != nil {
			svc.Close()
			httpLn.Close()
			return fmt.Errorf("status page: %w", err)
		}
		sampler = s
		mux.Handle("GET /status", status)
		if ptpSvc != nil {
			mux.Handle("GET /ptp/status", ptpStatusHandler(ptpSvc))
		}
		httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	}
	ctl, err := openControl(cfg, log, ctlHandler)
	if err != nil {
		svc.Close()
		if httpLn != nil {
			httpLn.Close()
		}
		return err
	}

	cb, err := openClockBound(cfg, log, disc)
	if err != nil {
		svc.Close()
		ctl.Close()
		if httpLn != nil {
			httpLn.Close()
		}
		return err
	}

	// Everything that needs root is open: sockets, devices, files. The
	// notification socket too (systemd's is writable by anyone, but a
	// test's may not be).
	nt := openNotifier(env, log)
	defer nt.close()
	if env.dropPrivileges {
		if err := dropPrivileges(cfg, ctl.SocketPath(), log); err != nil {
			svc.Close()
			ctl.Close()
			if httpLn != nil {
				httpLn.Close()
			}
			if cb != nil {
				cb.Close()
			}
			return err
		}
	} else if cfg.Process.User != "" {
		log.Warn("process.user ignored: gnomond runs inside another program (a test) and keeps its credentials")
	}
	d.notify = nt
	d.status = func() string { return statusLine(disc.runner.Tracking()) }

	logServing(log, cfg, svc, httpLn, ctl)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return svc.Run(gctx) })
	if ptpSvc != nil {
		ptpRunning = true
		g.Go(func() error { return ptpSvc.Run(gctx) })
	}
	g.Go(func() error { return ctl.Run(gctx) })
	if ntsRT != nil {
		ntsRunning = true
		g.Go(func() error { return ntsRT.Run(gctx) })
	}
	if cb != nil {
		g.Go(func() error { return cb.Run(gctx) })
	}
	for _, run := range phcRuns {
		g.Go(func() error { return run(gctx) })
	}
	g.Go(func() error { return disc.runner.Run(gctx) })
	if r := disc.ref; r != nil {
		start := time.Now()
		g.Go(func() error { return r.runner.Run(gctx) })
		g.Go(func() error { return r.runOutages(gctx, start, log) })
	}
	if sampler != nil {
		g.Go(func() error { return sampler.Run(gctx) })
	}
	if httpSrv != nil {
		g.Go(func() error {
			if err := httpSrv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
			defer cancel()
			if err := httpSrv.Shutdown(sctx); err != nil {
				httpSrv.Close()
			}
			return nil
		})
	}
	g.Go(func() error { return d.reloadLoop(gctx) })
	g.Go(func() error { return nt.run(gctx, d.status) })
	err = g.Wait()
	if err != nil && ctx.Err() == nil {
		log.Error("gnomond failed", "error", err.Error())
		return err
	}
	log.Info("gnomond stopped")
	return nil
}

// discipline is what keeps the served clock and its SyncState: a source
// Runner (the engine and its sources) and what the rest of gnomond reads
// from it.
type discipline struct {
	runner *source.Runner
	// served is the clock servers hand out; precision is log2 s of a
	// reading of it.
	served    clock.Served
	precision int8
	// steered is false with clock.mode none (or system without ntp
	// sources): CLOCK_REALTIME served as it is, never adjusted.
	steered bool
	// ref is the disciplined PHC of the phc section (nil when off);
	// phcs the phc entries of sources.
	ref  *reference
	phcs *phcSourceSet
	// gnss are every GNSS reference: the phc section's receiver and the
	// gnss entries of sources (for gnomon_gnss_*).
	gnss gnssRefs
}

// close releases the devices the discipline opened.
func (d *discipline) close() {
	if d.phcs != nil {
		d.phcs.close()
	}
	if d.ref != nil {
		d.ref.close()
	}
}

// buildDiscipline builds the discipline: for clock.mode virtual or system
// an engine steering the served clock from the configured sources; for
// none (or system without ntp sources, where there is nothing to steer
// with) an engine over CLOCK_REALTIME that never steers it and publishes
// the local reference or unsynchronised. Either way the engine is the one
// publisher of cell. It does no I/O.
func buildDiscipline(cfg *config.Config, cell *clock.StateCell, log *slog.Logger, virtualOffset time.Duration) (*discipline, error) {
	if virtualOffset != 0 && cfg.Clock.Mode != config.ClockVirtual {
		return nil, configError{err: errors.New("--virtual-clock-offset needs clock.mode virtual")}
	}
	mode := servedMode(cfg)
	if mode != cfg.Clock.Mode {
		log.Info("clock.mode system without ntp, phc or gnss sources: nothing to steer with; CLOCK_REALTIME is served as it is")
	}
	var clk source.Clock
	switch mode {
	case config.ClockNone:
		clk = clock.Unsteered{Served: system.Clock{}}
	case config.ClockSystem:
		log.Warn("clock.mode system: gnomond STEERS THE HOST CLOCK (CLOCK_REALTIME): frequency, steps and leap bits; " +
			"no other time daemon may run")
		clk = system.NewSteeredRealtime(log)
	default:
		v := clock.NewVirtual(system.Clock{})
		if virtualOffset != 0 {
			if err := v.Step(virtualOffset); err != nil {
				return nil, fmt.Errorf("virtual clock offset: %w", err)
			}
			log.Info("virtual clock started off the host clock", "offset", virtualOffset)
		}
		clk = v
	}
	d := &discipline{precision: measurePrecision(clk), steered: mode != config.ClockNone}
	ec, err := engineConfig(cfg, d.precision, engine.NewLogSink(log, nil))
	if err != nil {
		return nil, configError{err: err}
	}
	if !d.steered {
		// Nothing is steered, so nothing is carried out at a leap second,
		// and nothing is announced: the host clock's keeper does leaps.
		ec.LeapMode, ec.LeapSource = engine.LeapModeNone, nil
	}
	srcs, err := buildSources(cfg, clk, d.precision, log)
	if err != nil {
		return nil, configError{err: err}
	}
	if d.ref, err = buildReference(cfg, ec, log); err != nil {
		return nil, err
	}
	if d.phcs, err = buildPHCSources(cfg, clk, d.ref, ec.LeapSource, log); err != nil {
		d.close()
		return nil, err
	}
	for _, s := range d.phcs.sources {
		srcs = append(srcs, s)
	}
	gnss, gnssRefs, err := buildGNSSSources(cfg, clk, d.phcs, log)
	if err != nil {
		d.close()
		return nil, err
	}
	if d.ref != nil {
		d.gnss = append(d.gnss, gnssRef{src: d.ref.gnss, tod: d.ref.tod})
	}
	d.gnss = append(d.gnss, gnssRefs...)
	srcs = append(srcs, gnss...)
	if d.runner, err = source.New(source.Config{Engine: ec}, clk, cell, log, srcs...); err != nil {
		d.close()
		return nil, configError{err: err}
	}
	d.phcs.runner = d.runner
	if ec.LeapMode == engine.LeapModeSmear {
		log.Info("leap seconds are smeared for NTP clients: LI is never sent, refid 127.127.1.255 while smearing; "+
			"clients must not mix this server with unsmeared ones", "smear_duration", ec.Smear.Duration(),
			"smear_peak_ppm", ec.Smear.PeakFrequencyPPM())
	}
	// Servers read the engine's served clock: the disciplined clock, plus
	// the smear around a leap in leap.mode smear.
	d.served = d.runner.Engine().Served()
	return d, nil
}

// servedMode is the clock.mode gnomond runs in: clock.mode, except that
// system without ntp, phc or gnss sources (nothing to steer with) serves
// CLOCK_REALTIME as it is (none).
func servedMode(cfg *config.Config) string {
	if cfg.Clock.Mode == config.ClockSystem && len(cfg.NTPSources())+len(cfg.PHCSources())+len(cfg.GNSSSources()) == 0 {
		return config.ClockNone
	}
	return cfg.Clock.Mode
}

func configName(f *flags) string {
	if f.configFile == "" {
		return "(embedded default)"
	}
	return f.configFile
}

// clientLogConfig maps the configuration to the client log's.
func clientLogConfig(cfg *config.Config) clientlog.Config {
	c := clientlog.Config{Clients: cfg.NTP.ClientLogSize, Seed: randomSeed()}
	if r := cfg.NTP.RateLimit; r != nil {
		c.RateLimit = clientlog.RateLimit{Enabled: true, IntervalLog2: int8(r.Interval), Burst: r.Burst,
			Leak: r.Leak, KoD: r.KoD}
	}
	return c
}

// randomSeed keys the client log's hash so remote hosts cannot aim at one
// bucket. A failing random source leaves the fixed default key.
func randomSeed() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b[:])
}

// buildACL turns the validated allow/deny lists into an ntp.ACL.
func buildACL(cfg *config.Config) (*ntp.ACL, error) {
	acl, err := ntp.NewACL(cfg.NTP.AllowPrefixes(), cfg.NTP.DenyPrefixes())
	if err != nil {
		return nil, fmt.Errorf("ntp.allow/ntp.deny: %w", err)
	}
	return acl, nil
}

// measurePrecision estimates the clock's reading precision as chrony does:
// the smallest non-zero difference between consecutive readings, as log2
// seconds (rounded up), clamped to −30 … −10.
func measurePrecision(c clock.Clock) int8 {
	best := time.Duration(math.MaxInt64)
	prev := c.Now()
	for range 200 {
		t := c.Now()
		if d := t.Sub(prev); d > 0 && d < best {
			best = d
		}
		prev = t
	}
	if best == time.Duration(math.MaxInt64) {
		return -20
	}
	p := int8(math.Ceil(math.Log2(best.Seconds())))
	return max(-30, min(-10, p))
}

// logServing logs where gnomond serves and how to query it.
func logServing(log *slog.Logger, cfg *config.Config, svc *serve.Service, httpLn net.Listener, ctl *ctlserve.Service) {
	for _, s := range svc.Sockets() {
		if s.Worker != 0 {
			continue
		}
		log.Info("serving NTP", "addr", s.Addr.String(), "workers", cfg.NTP.EffectiveWorkers(),
			"rx_timestamp", s.Info.RX.String(), "tx_timestamp", s.Info.TX.String(),
			"interleaved", cfg.NTP.Interleaved, "ratelimit", cfg.NTP.RateLimit != nil)
	}
	log.Info("access control", "allow", cfg.NTP.Allow, "deny", cfg.NTP.Deny)
	if httpLn != nil {
		log.Info("serving metrics", "url", "http://"+httpLn.Addr().String()+"/metrics")
		log.Info("serving status page", "url", "http://"+httpLn.Addr().String()+"/status")
	}
	for _, a := range ctl.Addrs() {
		log.Info("serving control (read-only commands)", "addr", a.String())
	}
	if p := ctl.SocketPath(); p != "" {
		log.Info("serving control socket", "path", p)
	}
	for _, a := range svc.Addrs() {
		log.Info("query it with", "command", queryHint(a))
	}
	if p := ctl.SocketPath(); p != "" {
		log.Info("query it with", "command", "chronyc -h "+p+" tracking")
	} else if as := ctl.Addrs(); len(as) > 0 {
		log.Info("query it with", "command", fmt.Sprintf("chronyc -h %s -p %d tracking", as[0].Addr(), as[0].Port()))
	}
}

// queryHint returns a command that queries an NTP server at a without
// touching the local clock. ntpdig (NTPsec) always uses port 123, so for
// other ports the hint is chronyd -Q (which only prints the offset; -x
// keeps it off the clock anyway).
func queryHint(a netip.AddrPort) string {
	host := a.Addr().String()
	if a.Addr().IsUnspecified() {
		if a.Addr().Is4() {
			host = "127.0.0.1"
		} else {
			host = "::1"
		}
	}
	if a.Port() == 123 {
		return "ntpdig " + host
	}
	return fmt.Sprintf("chronyd -Q -x -t 5 'server %s port %d iburst maxsamples 1'", host, a.Port())
}
