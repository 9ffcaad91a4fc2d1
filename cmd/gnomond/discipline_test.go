package main

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	beevik "github.com/beevik/ntp"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/leap"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/clock/system"
	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/internal/cli"
	"github.com/gnomon-time/gnomon/internal/syncbuf"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/wire"
	"github.com/gnomon-time/gnomon/source"
)

func TestEngineConfigMapping(t *testing.T) {
	cfg := config.Default()
	cfg.Selection = config.Selection{MinSources: 2, MaxDistance: 0.5, MaxJitter: 0.25, MaxStratum: 5,
		ReselectDist: 0.001, StratumWeight: 0.002, CombineLimit: 2}
	cfg.Servo = config.Servo{Name: "pi", MakeStep: config.MakeStep{Threshold: 0.128, Limit: -1}, MaxFreq: 100, MaxSlew: 50}
	cfg.Holdover = config.Holdover{After: 30, Duration: 0}
	cfg.Leap.Mode = config.LeapNone
	cfg.Sources = []config.Source{{Local: &config.LocalSource{Stratum: 7}}}
	ec, err := engineConfig(cfg, -22, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := ec.Selection
	if s.MinSources != 2 || s.MaxDistance != 500*time.Millisecond || s.MaxJitter != 250*time.Millisecond || s.MaxStratum != 5 ||
		s.ReselectDistance != time.Millisecond || s.StratumWeight != 2*time.Millisecond || s.CombineLimit != 2 {
		t.Errorf("selection %+v", s)
	}
	p := ec.Policy
	if ec.Servo != "pi" || p.StepThreshold != 128*time.Millisecond || p.StepLimit != -1 || p.MaxFreqPPB != 100000 || p.MaxSlewPPB != 50000 {
		t.Errorf("servo %q policy %+v", ec.Servo, p)
	}
	if ec.Holdover.After != 30*time.Second || ec.Holdover.Duration >= 0 {
		t.Errorf("holdover %+v: want after 30 s, disabled", ec.Holdover)
	}
	// The local entry is a source like the others; the Runner makes it the
	// engine's fallback.
	srcs, err := buildSources(cfg, clock.NewVirtual(system.Clock{}), -22, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var local *source.Local
	if len(srcs) == 1 {
		local, _ = srcs[0].(*source.Local)
	}
	if local == nil || local.Stratum != 7 || ec.LeapMode != engine.LeapModeNone || ec.Precision != -22 {
		t.Errorf("local %+v leap mode %v precision %d", local, ec.LeapMode, ec.Precision)
	}
	// Loop detection: our own addresses (loopback at least) are known.
	if !slices.Contains(ec.Selection.OwnRefIDs, selection.RefIDForAddr(netip.MustParseAddr("127.0.0.1"))) {
		t.Errorf("own refids %x lack 127.0.0.1", ec.Selection.OwnRefIDs)
	}
	cfg.Leap.Table = "/nonexistent/leap-seconds.list"
	if _, err := engineConfig(cfg, -20, nil); err == nil || !strings.Contains(err.Error(), "leap.table") {
		t.Errorf("missing leap table: %v", err)
	}
}

// Every leap.mode maps to its engine mode; the smear shape is passed on
// (and enabled only for smear).
func TestEngineConfigLeapModes(t *testing.T) {
	for mode, want := range map[string]engine.LeapMode{
		config.LeapSystem: engine.LeapModeSystem, config.LeapStep: engine.LeapModeStep,
		config.LeapSmear: engine.LeapModeSmear, config.LeapNone: engine.LeapModeNone,
	} {
		cfg := config.Default()
		cfg.Leap.Mode = mode
		cfg.Leap.Smear = config.Smear{Wander: 0.004096, MaxFreq: 100}
		ec, err := engineConfig(cfg, -20, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ec.LeapMode != want || ec.Smear.WanderPPMPerSecond != 0.004096 || ec.Smear.MaxFrequencyPPM != 100 ||
			ec.Smear.Enabled != (mode == config.LeapSmear) {
			t.Errorf("%s: leap mode %v smear %+v", mode, ec.LeapMode, ec.Smear)
		}
	}
	// The config package spells chrony's defaults without importing
	// clock/leap; they must agree.
	if config.DefaultSmearWander != leap.DefaultSmearWanderPPMPerSecond || config.DefaultSmearMaxFreq != leap.DefaultSmearMaxFrequencyPPM {
		t.Error("config's smear defaults differ from clock/leap's")
	}
}

// With leap.mode smear the served clock is the engine's smearing clock.
func TestBuildDisciplineServesSmearClock(t *testing.T) {
	cfg := config.Default()
	cfg.Leap.Mode, cfg.Leap.Table = config.LeapSmear, "../../clock/leap/testdata/leap-seconds.list"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	disc, err := buildDiscipline(cfg, new(clock.StateCell), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	served := disc.served
	if sc, ok := served.(*engine.SmearClock); !ok || sc != disc.runner.Engine().Served() {
		t.Errorf("served %T, want the engine's SmearClock", served)
	}
	if d := served.Now().Sub(time.Now()); d.Abs() > 100*time.Millisecond {
		t.Errorf("served − host clock %v outside a leap", d)
	}
}

// Which clock each mode builds: steered (virtual) or served as it is
// (none; system without ntp sources). In every mode the engine is the one
// publisher of the state; the local reference is its fallback. system
// with ntp sources is not built here: it would steer this machine's clock
// once running.
func TestBuildDisciplineModes(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name        string
		mode        string
		sources     []config.Source
		wantSteered bool
		wantLocal   bool
		wantSynced  bool
	}{
		{"virtual local", config.ClockVirtual, []config.Source{{Local: &config.LocalSource{Stratum: 10}}}, true, true, true},
		{"virtual nothing", config.ClockVirtual, nil, true, false, false},
		{"none local", config.ClockNone, []config.Source{{Local: &config.LocalSource{Stratum: 10}}}, false, true, true},
		{"none nothing", config.ClockNone, nil, false, false, false},
		{"system without ntp is read-only", config.ClockSystem, []config.Source{{Local: &config.LocalSource{Stratum: 4}}}, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Clock.Mode, cfg.Sources = tt.mode, tt.sources
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			cell := new(clock.StateCell)
			disc, err := buildDiscipline(cfg, cell, log, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, unsteered := disc.served.(clock.Unsteered)
			if disc.steered != tt.wantSteered || unsteered == tt.wantSteered || disc.served == nil {
				t.Errorf("steered %v, served %T", disc.steered, disc.served)
			}
			if st := disc.runner.Status(); (st.Mode == engine.ModeLocal) != tt.wantLocal {
				t.Errorf("engine mode %v, want local %v", st.Mode, tt.wantLocal)
			}
			if st := cell.Load(); st == nil || st.Synchronized != tt.wantSynced {
				t.Errorf("published state %+v, want synchronised %v", st, tt.wantSynced)
			}
		})
	}
	cfg := config.Default()
	cfg.Clock.Mode = config.ClockNone
	if _, err := buildDiscipline(cfg, new(clock.StateCell), log, time.Millisecond); err == nil {
		t.Error("--virtual-clock-offset accepted with clock.mode none")
	}
}

// startNTPServer answers on loopback with the host clock (stratum 1).
func startNTPServer(t *testing.T) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	acl, _ := ntp.NewACL([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)
	cfg := ntp.DefaultServerConfig()
	cfg.ACL = acl
	srv, err := ntp.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf [512]byte
		out := make([]byte, 512)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf[:])
			if err != nil {
				return
			}
			now := time.Now()
			st := &clock.SyncState{Synchronized: true, Stratum: 1, RefID: 0x47505300, RefTime: now.Add(-time.Second), Precision: -20}
			k, v := srv.Respond(out, buf[:n], from, wire.TimeFromTime(now), st)
			if !v.Replied() {
				continue
			}
			if v.NeedsTransmit() {
				wire.PutTransmit(out[:k], wire.TimeFromTime(time.Now()))
			}
			c.WriteToUDPAddrPort(out[:k], from)
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// In-process: gnomond disciplines its virtual clock from a loopback server
// and serves stratum 2 with the server's address as reference ID; a
// reload that changes sources warns that it needs a restart.
func TestDaemonServesUpstream(t *testing.T) {
	up := startNTPServer(t)
	port := freeUDPPort(t)
	body := "ntp:\n  listen: [\"127.0.0.1:1\"]\n  workers: 1\nmetrics:\n  listen: \"\"\nsources:\n  - ntp: {address: \"" +
		up.String() + "\", iburst: true, minpoll: -3, maxpoll: -3}\n"
	conf := writeFile(t, "g.yaml", body)
	var out, errb syncbuf.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	hup := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", conf, "--ntp-listen", "127.0.0.1:" + itoa(port)}, &out, &errb, hup)
	}()
	waitLog(t, &errb, "sync mode changed", done)
	var r *beevik.Response
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		r, err = beevik.QueryWithOptions("127.0.0.1", beevik.QueryOptions{Port: port, Timeout: time.Second})
		if err == nil && r.Stratum == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stratum-2 reply within 10 s: %+v %v\n%s", r, err, errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.Leap != beevik.LeapNoWarning || r.ReferenceID != 0x7f000001 {
		t.Errorf("leap %v refid %08x, want no warning and 127.0.0.1", r.Leap, r.ReferenceID)
	}
	if err := os.WriteFile(conf, []byte(strings.Replace(body, "minpoll: -3", "minpoll: -4", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- os.Interrupt
	waitLog(t, &errb, "need a restart", done)
	if !strings.Contains(errb.String(), "keys=sources") {
		t.Errorf("reload warning does not name sources:\n%s", errb.String())
	}
	cancel()
	if code := <-done; code != cli.ExitOK {
		t.Errorf("exit %d", code)
	}
}

// Acceptance 2 in-process: sources that never answer and no local → LI=3,
// stratum 0 on the wire.
func TestDaemonUnreachableSourcesUnsynchronised(t *testing.T) {
	dead := freeUDPPort(t) // nothing listens there
	port := freeUDPPort(t)
	conf := writeFile(t, "g.yaml", "ntp:\n  listen: [\"127.0.0.1:1\"]\n  workers: 1\nmetrics:\n  listen: \"\"\nsources:\n  - ntp: {address: \"127.0.0.1:"+
		itoa(dead)+"\", iburst: true, minpoll: -3, maxpoll: -3}\n")
	var out, errb syncbuf.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", conf, "--ntp-listen", "127.0.0.1:" + itoa(port)}, &out, &errb, nil)
	}()
	waitLog(t, &errb, "serving NTP", done)
	time.Sleep(time.Second) // a few polls go unanswered
	r, err := beevik.QueryWithOptions("127.0.0.1", beevik.QueryOptions{Port: port, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Leap != beevik.LeapNotInSync || r.Stratum != 0 {
		t.Errorf("leap %v stratum %d, want LI=3 stratum 0", r.Leap, r.Stratum)
	}
	cancel()
	<-done
}
