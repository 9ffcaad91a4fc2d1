package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ptp"
)

// Config configures a Service.
type Config struct {
	// Listen holds the addresses to serve on (one socket trio each).
	Listen []netip.Addr
	// EventPort and GeneralPort default to 319 and 320 (tests use others).
	EventPort, GeneralPort uint16
	// Interface binds the sockets to one interface ("" = any).
	Interface string
	// Timestamping is the hwts mode. Hardware stamps are used only with
	// PHC (below); otherwise the kernel stamps hwts delivers beside them.
	Timestamping hwts.Mode
	// PHC, when set, is the hardware clock whose time this grandmaster
	// serves (the phc section's disciplined PHC, on Interface). When the
	// NIC stamps packets with that PHC, its stamps are the time carried,
	// as they are (no conversion through CLOCK_REALTIME, where two clock
	// readings would add their error). Nil: kernel stamps only.
	PHC *PHCTime
	// DSCP of sent messages (0–63).
	DSCP uint8
	// Server decides; Clock is the served clock; State holds the SyncState
	// the Announces describe.
	Server *ptp.Server
	Clock  clock.Served
	State  *clock.StateCell
	// Multicast serves multicast E2E (the default profile) on Interface
	// (required) from every listen address that is unspecified: the event
	// and general sockets join ptp.Group, the sender sends Sync, Follow_Up
	// and Announce to it at Server's Multicast periods, and multicast
	// Delay_Req is answered to the group.
	Multicast bool
	// TXWait bounds the wait for a Sync's TX timestamp (0 = 5 ms).
	TXWait time.Duration
	Logger *slog.Logger
}

// PHCTime says which PHC the NIC's hardware stamps must come from and the
// timescale that PHC keeps.
type PHCTime struct {
	// Index is the /dev/ptpN index (hwts.Info.PHCIndex).
	Index int
	// TAI: the PHC keeps TAI (the PTP timescale, as ts2phc sets it);
	// otherwise UTC.
	TAI bool
}

// packetConn is what the service needs of a socket; *hwts.Conn implements
// it (tests use simulated ones that deliver hardware stamps).
type packetConn interface {
	ReadBatch(msgs []hwts.Message) (int, error)
	WriteBatch(msgs []hwts.Message) (int, error)
	ReadTX(fn func(id uint32, ts hwts.Timestamp)) (int, error)
	LocalAddr() netip.AddrPort
	Info() hwts.Info
	Close() error
}

// Service is the open sockets of a grandmaster.
type Service struct {
	cfg     Config
	log     *slog.Logger
	trios   []*trio
	ctr     counters
	foreign foreignLog
}

type trio struct {
	via     uint16 // the index of its listen address: Client.Via of the grants it takes
	addr    netip.Addr
	event   packetConn
	general packetConn
	send    packetConn
	// hwRX, hwTX: the event socket's receive stamps and the send
	// socket's transmit stamps come from Config.PHC's NIC.
	hwRX, hwTX bool
	genMu      sync.Mutex // one writer at a time on general
	sptp       chan sptpReq
	wake       *waker // the sender sleeps here; SPTP requests and shutdown wake it
	mc         *mcast // nil: no multicast on this trio
}

// sptpReq is an SPTP exchange handed from the event reader to the sender.
type sptpReq struct {
	ev  ptp.Event
	buf [ptp.SyncLen]byte
}

// Listen opens every socket; errors name the address and port.
func Listen(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Server == nil || cfg.Clock == nil || cfg.State == nil {
		return nil, errors.New("ptp serve: no server, clock or state")
	}
	if len(cfg.Listen) == 0 {
		return nil, errors.New("ptp serve: listen: no address")
	}
	if cfg.EventPort == 0 {
		cfg.EventPort = ptp.EventPort
	}
	if cfg.GeneralPort == 0 {
		cfg.GeneralPort = ptp.GeneralPort
	}
	if cfg.TXWait <= 0 {
		cfg.TXWait = 5 * time.Millisecond
	}
	s := &Service{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for i, a := range cfg.Listen {
		t, err := s.open(ctx, a)
		if err != nil {
			s.Close()
			return nil, err
		}
		t.via = uint16(i)
		s.trios = append(s.trios, t)
	}
	return s, nil
}

func (s *Service) open(ctx context.Context, a netip.Addr) (*trio, error) {
	t := &trio{addr: a, sptp: make(chan sptpReq, 256), mc: s.newMcast(a)}
	var err error
	if t.wake, err = newWaker(); err != nil {
		return nil, err
	}
	// listen returns a nil packetConn on failure (never a nil *hwts.Conn
	// in it), so that t.close skips what was not opened.
	listen := func(port uint16, mode hwts.Mode, sendOnly bool) (packetConn, error) {
		hc := hwts.Config{Addr: netip.AddrPortFrom(a, port), Interface: s.cfg.Interface, Traffic: hwts.TrafficPTP,
			DSCP: s.cfg.DSCP, Timestamping: mode, TXOnDemand: true, SendOnly: sendOnly, BatchSize: maxBatch, Logger: s.log}
		if !sendOnly {
			hc.RecvBuffer = recvBuffer
		}
		if t.mc != nil {
			hc.MulticastSend = true
			if !sendOnly {
				hc.Multicast = t.mc.groups()
			}
		}
		c, err := hwts.Listen(ctx, hc)
		if err != nil {
			return nil, fmt.Errorf("ptp: listen %s: %w", netip.AddrPortFrom(a, port), err)
		}
		return c, nil
	}
	if t.event, err = listen(s.cfg.EventPort, s.cfg.Timestamping, false); err != nil {
		t.close()
		return nil, err
	}
	if t.general, err = listen(s.cfg.GeneralPort, hwts.ModeNone, false); err != nil {
		t.close()
		return nil, err
	}
	if t.send, err = listen(0, s.cfg.Timestamping, true); err != nil {
		t.close()
		return nil, err
	}
	s.useHardware(t)
	s.log.Info("serving PTP", "event", t.event.LocalAddr().String(), "general", t.general.LocalAddr().String(),
		"sync_from", t.send.LocalAddr().String(), "rx_timestamps", stampKind(t.hwRX, t.event.Info()),
		"tx_timestamps", stampKind(t.hwTX, t.send.Info()))
	return t, nil
}

// useHardware decides whether trio t uses its sockets' hardware stamps:
// only those of Config.PHC (another PHC's time is not what is served).
func (s *Service) useHardware(t *trio) {
	p := s.cfg.PHC
	ev, snd := t.event.Info(), t.send.Info()
	t.hwRX = p != nil && ev.RX == hwts.KindHardware && ev.PHCIndex == p.Index
	t.hwTX = p != nil && snd.TX == hwts.KindHardware && snd.PHCIndex == p.Index
	if (ev.RX == hwts.KindHardware || snd.TX == hwts.KindHardware) && !(t.hwRX && t.hwTX) {
		s.log.Warn("PTP: NIC hardware timestamps not used: they are not from the served PHC; kernel timestamps instead",
			"phc_index", ev.PHCIndex, "served_phc", p != nil)
		t.hwRX, t.hwTX = false, false
	}
}

// stampKind names the stamps a socket's packets carry.
func stampKind(hw bool, info hwts.Info) string {
	if hw {
		return fmt.Sprintf("hardware (/dev/ptp%d)", info.PHCIndex)
	}
	return hwts.KindKernel.String()
}

// Close closes every socket.
func (s *Service) Close() {
	for _, t := range s.trios {
		t.close()
	}
}

// close closes what t has opened so far: its sockets and its waker.
func (t *trio) close() {
	for _, c := range []packetConn{t.event, t.general, t.send} {
		if c != nil {
			c.Close()
		}
	}
	t.wake.close()
}

// Addrs returns the event and general addresses served (ports resolved).
func (s *Service) Addrs() (event, general []netip.AddrPort) {
	for _, t := range s.trios {
		event = append(event, t.event.LocalAddr())
		general = append(general, t.general.LocalAddr())
	}
	return event, general
}

// Run serves until ctx ends (then it closes the sockets and returns nil)
// or a socket fails.
func (s *Service) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, t := range s.trios {
		g.Go(func() error { return s.generalLoop(gctx, t) })
		g.Go(func() error { return s.eventLoop(gctx, t) })
		g.Go(func() error { return s.sender(gctx, t) })
	}
	g.Go(func() error {
		<-gctx.Done()
		s.Close()
		return nil
	})
	err := g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func errClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// served converts a kernel (or daemon) timestamp to the served clock.
func (s *Service) served(ts hwts.Timestamp) time.Time { return s.cfg.Clock.FromRealtime(ts.Time) }

// fromPHC converts a hardware stamp of Config.PHC to the UTC form package
// ptp takes (it adds utcOffset back for the wire): a TAI PHC's time less
// the offset, a UTC PHC's time as it is. The offset is the one the
// message carries, so a TAI PHC's stamp reaches the wire unchanged.
func (s *Service) fromPHC(t time.Time, utcOffset int) time.Time {
	if s.cfg.PHC.TAI {
		return t.Add(-time.Duration(utcOffset) * time.Second)
	}
	return t
}

// rxTime is m's receive time for package ptp: its hardware stamp when the
// trio uses them (a datagram without one, which a NIC may miss under load,
// falls back to its kernel stamp, counted), else its kernel stamp.
func (s *Service) rxTime(t *trio, m *hwts.Message, utcOffset int) time.Time {
	if t.hwRX {
		if m.RXHW.Kind == hwts.KindHardware {
			s.ctr.stamps[rxStamp][hwStamp].Add(1)
			return s.fromPHC(m.RXHW.Time, utcOffset)
		}
		s.ctr.hwMissing[rxStamp].Add(1)
	}
	s.ctr.stamps[rxStamp][kernelStamp].Add(1)
	return s.served(m.RX)
}

func (s *Service) utcOffset() int { return ptp.QualityOf(s.cfg.State.Load()).UTCOffset }

// writeGeneral sends msgs from the general socket (see writeAll); the
// general socket is shared by its reader and the sender.
func (t *trio) writeGeneral(msgs []hwts.Message, failed func(i int, err error)) error {
	t.genMu.Lock()
	defer t.genMu.Unlock()
	return writeAll(t.general, msgs, failed)
}

// writeAll sends every message of msgs from c, in as many system calls as
// c's batch size needs. A message the kernel refuses (say, a route
// missing for one client) is reported to failed with its index and
// skipped; the rest are still sent. It returns only an error that means
// the socket is closed.
func writeAll(c packetConn, msgs []hwts.Message, failed func(i int, err error)) error {
	for i := 0; i < len(msgs); {
		n, err := c.WriteBatch(msgs[i:])
		if errClosed(err) {
			return err
		}
		i += n
		if i < len(msgs) && (err != nil || n == 0) {
			failed(i, err)
			i++
		}
	}
	return nil
}

func (s *Service) generalLoop(ctx context.Context, t *trio) error {
	rx := make([]hwts.Message, 16)
	for i := range rx {
		rx[i].Buf = make([]byte, ptp.MaxMessageLen)
	}
	out := []hwts.Message{{Buf: make([]byte, ptp.MaxMessageLen)}}
	for {
		n, err := t.general.ReadBatch(rx)
		if err != nil {
			if errClosed(err) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("ptp: read %s: %w", t.general.LocalAddr(), err)
		}
		for i := range n {
			m := &rx[i]
			if m.Trunc {
				s.ctr.received[ptp.VerdictMalformed].Add(1)
				continue
			}
			r, v := s.cfg.Server.HandleGeneral(m.Buf[:m.N], m.Addr, t.via, s.served(m.RX), out[0].Buf)
			s.ctr.received[v].Add(1)
			s.ctr.granted.Add(uint64(r.Granted))
			s.ctr.denied.Add(uint64(r.Denied))
			s.ctr.cancelled.Add(uint64(r.Cancelled))
			for i, n := range r.DenyReasons {
				if n > 0 {
					s.ctr.deniedBy[i].Add(uint64(n))
				}
			}
			if r.Foreign.Valid {
				s.noteForeign(r.Foreign, m.Addr)
			}
			if r.N == 0 {
				continue
			}
			out[0].N, out[0].Addr = r.N, m.Addr
			if err := s.sendGeneral(t, out, sentSignaling); err != nil {
				return nil
			}
		}
	}
}

func (s *Service) eventLoop(ctx context.Context, t *trio) error {
	rx := make([]hwts.Message, 32)
	for i := range rx {
		rx[i].Buf = make([]byte, ptp.MaxMessageLen)
	}
	out := make([]hwts.Message, 32)
	for i := range out {
		out[i].Buf = make([]byte, ptp.DelayRespLen)
	}
	for {
		n, err := t.event.ReadBatch(rx)
		if err != nil {
			if errClosed(err) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("ptp: read %s: %w", t.event.LocalAddr(), err)
		}
		off := s.utcOffset()
		k := 0
		for i := range n {
			m := &rx[i]
			if m.Trunc {
				s.ctr.received[ptp.VerdictMalformed].Add(1)
				continue
			}
			ev, v := s.cfg.Server.HandleEventTo(m.Buf[:m.N], m.Addr, m.Local, s.rxTime(t, m, off), off, out[k].Buf)
			s.ctr.received[v].Add(1)
			switch ev.Kind {
			case ptp.EventDelayResp:
				out[k].N, out[k].Addr = ev.N, ev.To
				k++
			case ptp.EventSPTPSync:
				r := sptpReq{ev: ev}
				copy(r.buf[:], out[k].Buf[:ev.N])
				select {
				case t.sptp <- r:
					t.wake.notify()
				default:
					s.ctr.sptpDropped.Add(1)
				}
			}
		}
		if err := s.sendGeneral(t, out[:k], sentDelayResp); err != nil {
			return nil
		}
	}
}
