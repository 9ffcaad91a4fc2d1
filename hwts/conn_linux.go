//go:build linux

package hwts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Conn is a timestamping UDP socket. ReadBatch, WriteBatch and ReadTX may
// run concurrently with each other (each owns its own preallocated
// buffers), but each of them must be called from one goroutine at a time.
// Close may be called from any goroutine and unblocks a blocked ReadBatch.
type Conn struct {
	uc     *net.UDPConn
	rc     syscall.RawConn
	ipv6   bool
	info   Info
	now    func() time.Time
	batch  int
	tsType int32 // SCM_TIMESTAMPING or SCM_TIMESTAMPING_NEW, 0 = none
	// txCmsgFlags are the SOF_TIMESTAMPING_TX_* flags a datagram with
	// Message.WantTX carries (Config.TXOnDemand); 0 = the socket stamps
	// every datagram.
	txCmsgFlags uint32
	log         *slog.Logger

	r rxState
	w txState
	e errqState

	drops atomic.Uint32 // last receive-queue drop count Drops read

	// fixedLocal is the address a socket bound to one unicast address
	// receives on and sends from (see fixedAddr); invalid = bound to the
	// wildcard or a multicast socket, which reads IP_PKTINFO per datagram.
	fixedLocal netip.Addr

	// unp is the socket outside the netpoller (Config.SendOnly or
	// Config.BlockingRead); nil for a socket in it.
	unp *unpolled
}

// Listen opens a UDP socket as cfg says and enables timestamping. ctx
// bounds only the setup; to stop a worker blocked in ReadBatch, Close the
// Conn (or set a read deadline).
func Listen(ctx context.Context, cfg Config) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	log = log.With("addr", cfg.Addr.String(), "interface", cfg.Interface)
	if cfg.Interface != "" {
		if _, err := net.InterfaceByName(cfg.Interface); err != nil {
			return nil, fmt.Errorf("hwts: interface %q: %w", cfg.Interface, err)
		}
	}
	network := "udp4"
	ipv6 := cfg.Addr.Addr().Is6()
	if ipv6 {
		network = "udp6"
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = presetSocket(int(fd), cfg) })
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(ctx, network, cfg.Addr.String())
	if err != nil {
		return nil, fmt.Errorf("hwts: listen %s: %w", cfg.Addr, err)
	}
	uc := pc.(*net.UDPConn)
	rc, err := uc.SyscallConn()
	if err != nil {
		uc.Close()
		return nil, fmt.Errorf("hwts: %s: raw conn: %w", cfg.Addr, err)
	}
	c := &Conn{uc: uc, rc: rc, ipv6: ipv6, now: cfg.Now, batch: cfg.BatchSize, log: log}
	if c.now == nil {
		c.now = defaultNow
	}
	if c.batch == 0 {
		c.batch = DefaultBatchSize
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = c.setup(int(fd), cfg, log) }); err != nil {
		serr = errors.Join(serr, err)
	}
	if serr != nil {
		uc.Close()
		return nil, fmt.Errorf("hwts: %s: %w", cfg.Addr, serr)
	}
	if cfg.SendOnly || cfg.BlockingRead || cfg.NoWait {
		if err := c.leavePoller(cfg.BlockingRead && !cfg.SendOnly, cfg.NoWait); err != nil {
			return nil, fmt.Errorf("hwts: %s: %w", cfg.Addr, err)
		}
	}
	c.r.init(c)
	c.w.init(c)
	c.e.init(c)
	log.Info("hwts socket ready", "send_only", cfg.SendOnly, "blocking_read", cfg.BlockingRead, "no_wait", cfg.NoWait,
		"rx_timestamp", c.info.RX.String(), "tx_timestamp", c.info.TX.String(),
		"phc_index", c.info.PHCIndex, "rx_filter", c.info.RXFilter.String(),
		"tx_id_per_packet", c.info.TXIDPerPacket, "tx_on_demand", c.txCmsgFlags != 0,
		"recv_buffer_requested", c.info.RecvBufferRequested, "recv_buffer_granted", c.info.RecvBuffer,
		"fallback", c.info.Fallback)
	return c, nil
}

// presetSocket sets the options that must precede bind.
func presetSocket(fd int, cfg Config) error {
	if cfg.ReusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fmt.Errorf("set SO_REUSEPORT: %w", err)
		}
	}
	if cfg.Interface != "" {
		// By name: SO_BINDTODEVICE takes the interface name, not an index.
		if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, cfg.Interface); err != nil {
			return fmt.Errorf("set SO_BINDTODEVICE %q: %w", cfg.Interface, err)
		}
	}
	return nil
}

// setup sets the options after bind and enables timestamping.
func (c *Conn) setup(fd int, cfg Config, log *slog.Logger) error {
	tos := int(cfg.DSCP) << 2
	c.fixedLocal = fixedAddr(cfg)
	pktinfo := 0
	if !c.fixedLocal.IsValid() {
		pktinfo = 1
	}
	if c.ipv6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos); err != nil {
			return fmt.Errorf("set IPV6_TCLASS %d: %w", tos, err)
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, pktinfo); err != nil {
			return fmt.Errorf("set IPV6_RECVPKTINFO: %w", err)
		}
	} else {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TOS, tos); err != nil {
			return fmt.Errorf("set IP_TOS %d: %w", tos, err)
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_PKTINFO, pktinfo); err != nil {
			return fmt.Errorf("set IP_PKTINFO: %w", err)
		}
	}
	// Go's net package enables SO_BROADCAST on every UDP socket; a server
	// must not answer a (spoofed) request by broadcasting.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 0); err != nil {
		return fmt.Errorf("clear SO_BROADCAST: %w", err)
	}
	if cfg.RecvBuffer > 0 {
		// SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, cfg.RecvBuffer); err != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, cfg.RecvBuffer); err != nil {
				return fmt.Errorf("set SO_RCVBUF %d: %w", cfg.RecvBuffer, err)
			}
		}
	}
	rb, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		return fmt.Errorf("get SO_RCVBUF: %w", err)
	}
	c.info.RecvBufferRequested, c.info.RecvBuffer = cfg.RecvBuffer, rb
	if err := c.setupMulticast(fd, cfg); err != nil {
		return err
	}
	c.info.PHCIndex = -1
	c.info.RXFilter = FilterUnknown
	return c.setupTimestamping(fd, cfg, log)
}

// fixedAddr returns the address every datagram of a socket bound to one
// unicast address arrives on (the kernel delivers it no other), without a
// zone, as IP_PKTINFO would report it; such a socket needs no IP_PKTINFO:
// ReadBatch reports this address as Local (and IfIndex 0: the arrival
// interface is not known, so a reply follows the routing table rather than
// being pinned to it; with Config.Interface the socket is bound to that
// device anyway) and WriteBatch sends from it without a control message.
// Invalid for the wildcard, multicast and 255.255.255.255 addresses and for
// multicast sockets, which take IP_PKTINFO.
func fixedAddr(cfg Config) netip.Addr {
	a := cfg.Addr.Addr().WithZone("")
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) ||
		len(cfg.Multicast) > 0 || cfg.MulticastSend {
		return netip.Addr{}
	}
	return a
}

// Flags common to every kernel-timestamping socket: software RX and TX
// stamps reported in ts[0], TX stamps tagged with an ID and returned
// without the payload.
const swFlags = unix.SOF_TIMESTAMPING_RX_SOFTWARE | unix.SOF_TIMESTAMPING_TX_SOFTWARE |
	unix.SOF_TIMESTAMPING_SOFTWARE | unix.SOF_TIMESTAMPING_OPT_ID | unix.SOF_TIMESTAMPING_OPT_TSONLY

// hwFlags add NIC stamps (ts[2], raw PHC time). OPT_TX_SWHW keeps the
// software TX stamp as a second error-queue message, so a packet the NIC
// failed to stamp (many NICs stamp one TX packet at a time) still has one.
const hwFlags = unix.SOF_TIMESTAMPING_RX_HARDWARE | unix.SOF_TIMESTAMPING_TX_HARDWARE |
	unix.SOF_TIMESTAMPING_RAW_HARDWARE | unix.SOF_TIMESTAMPING_OPT_TX_SWHW

func (c *Conn) setupTimestamping(fd int, cfg Config, log *slog.Logger) error {
	mode := cfg.Timestamping
	if mode == ModeNone {
		c.info.RX = KindDaemon
		return nil
	}
	var reasons []string
	flags := swFlags
	hw := false
	if mode == ModeAuto || mode == ModeHardware {
		if cfg.Interface == "" {
			reasons = append(reasons, "hardware: no interface configured")
		} else if err := c.enableHW(fd, cfg.Interface, cfg.Traffic, log); err != nil {
			if mode == ModeHardware {
				return fmt.Errorf("%w on %s: %w", ErrNoHardware, cfg.Interface, err)
			}
			reasons = append(reasons, "hardware: "+err.Error())
			log.Info("hardware timestamping unavailable, using kernel timestamps", "reason", err.Error())
		} else {
			flags |= hwFlags
			hw = true
		}
	}
	if cfg.TXOnDemand {
		// The socket keeps the reporting flags; the TX generation flags
		// move to the control message of each datagram that wants one.
		tx := flags & (unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_TX_HARDWARE)
		flags &^= tx
		c.txCmsgFlags = uint32(tx)
	}
	if err := setTimestamping(fd, flags, &c.tsType); err != nil {
		if mode != ModeAuto {
			return fmt.Errorf("enable SO_TIMESTAMPING %#x: %w", flags, err)
		}
		reasons = append(reasons, "kernel: "+err.Error())
		log.Info("kernel timestamping unavailable, using daemon timestamps", "reason", err.Error())
		c.info.RX = KindDaemon
		c.info.PHCIndex = -1
		c.info.RXFilter = FilterUnknown
		c.info.Fallback = joinReasons(reasons)
		c.txCmsgFlags = 0
		return nil
	}
	c.info.RX, c.info.TX = KindKernel, KindKernel
	if hw {
		c.info.RX, c.info.TX = KindHardware, KindHardware
	}
	perPacket, err := probeTSOptID()
	if err != nil {
		log.Info("cannot probe SCM_TS_OPT_ID, matching TX timestamps by the socket counter", "err", err.Error())
	}
	c.info.TXIDPerPacket = perPacket
	c.info.Fallback = joinReasons(reasons)
	return nil
}

func joinReasons(r []string) string { return strings.Join(r, "; ") }

// setTimestamping prefers SO_TIMESTAMPING_NEW (64-bit timespecs on every
// architecture, Linux ≥ 5.1) and falls back to the old option.
func setTimestamping(fd, flags int, tsType *int32) error {
	err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING_NEW, flags)
	if err == nil {
		*tsType = unix.SO_TIMESTAMPING_NEW
		return nil
	}
	if err2 := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING_OLD, flags); err2 != nil {
		return errors.Join(err, err2)
	}
	*tsType = unix.SO_TIMESTAMPING_OLD
	return nil
}

// enableHW makes the NIC timestamp the configured traffic in hardware without
// narrowing what another daemon configured (see planHW).
func (c *Conn) enableHW(fd int, ifname string, need Traffic, log *slog.Logger) error {
	ti, err := unix.IoctlGetEthtoolTsInfo(fd, ifname)
	if err != nil {
		return fmt.Errorf("ETHTOOL_GET_TS_INFO: %w", err)
	}
	caps := hwCaps{soTimestamping: ti.So_timestamping, phcIndex: ti.Phc_index,
		txTypes: ti.Tx_types, rxFilters: ti.Rx_filters}
	cur, gerr := unix.IoctlGetHwTstamp(fd, ifname)
	var curCfg hwConfig
	if gerr == nil {
		curCfg = hwConfig{txType: cur.Tx_type, rxFilter: RXFilter(cur.Rx_filter)}
	} else {
		log.Debug("SIOCGHWTSTAMP failed, assuming timestamping off", "err", gerr.Error())
	}
	plan, err := planHW(caps, curCfg, gerr == nil, need)
	if err != nil {
		return err
	}
	got := curCfg
	if plan.set {
		var errs []error
		ok := false
		for _, f := range plan.rxTry {
			hc := unix.HwTstampConfig{Tx_type: plan.txType, Rx_filter: int32(f)}
			err := unix.IoctlSetHwTstamp(fd, ifname, &hc)
			if err == nil {
				// The driver writes back what it set (it may widen).
				got = hwConfig{txType: hc.Tx_type, rxFilter: RXFilter(hc.Rx_filter)}
				ok = true
				break
			}
			errs = append(errs, fmt.Errorf("SIOCSHWTSTAMP tx %d rx %s: %w", plan.txType, f, err))
			if !errors.Is(err, unix.ERANGE) {
				break // EINVAL, EOPNOTSUPP, EPERM: another filter will not help
			}
		}
		if !ok {
			return errors.Join(errs...)
		}
		log.Info("NIC hardware timestamping configured", "before_rx_filter", curCfg.rxFilter.String(),
			"before_tx_type", curCfg.txType, "rx_filter", got.rxFilter.String(), "tx_type", got.txType)
	}
	if !got.rxFilter.Covers(need) || got.txType == hwtxOff {
		return fmt.Errorf("NIC reports rx filter %s tx type %d after setup", got.rxFilter, got.txType)
	}
	c.info.PHCIndex = int(ti.Phc_index)
	c.info.RXFilter = got.rxFilter
	return nil
}

// probeTSOptID reports whether the kernel accepts SCM_TS_OPT_ID (Linux ≥
// 6.13). It sends from a throw-away IPv4 socket to 255.255.255.255 without
// SO_BROADCAST: the kernel parses control messages before it routes, so a
// kernel that does not know the control message answers EINVAL and one
// that does answers EACCES (or a routing error); nothing is transmitted.
func probeTSOptID() (bool, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("probe socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, swFlags); err != nil {
		return false, fmt.Errorf("probe SO_TIMESTAMPING: %w", err)
	}
	oob := alignedBytes(unix.CmsgSpace(4))
	putCmsgU32(oob, unix.SOL_SOCKET, scmTSOptID, 1)
	to := &unix.SockaddrInet4{Port: 9, Addr: [4]byte{255, 255, 255, 255}}
	err = unix.Sendmsg(fd, nil, oob, to, 0)
	return !errors.Is(err, unix.EINVAL), nil
}

// Info reports the timestamping Listen obtained.
func (c *Conn) Info() Info {
	in := c.info
	in.TXIDPerPacket = c.w.perPacket.Load()
	return in
}

// LocalAddr is the bound address and port (with the kernel-chosen port
// when Config.Addr had port 0).
func (c *Conn) LocalAddr() netip.AddrPort {
	if c.unp != nil {
		return c.unp.local
	}
	return c.uc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Drops returns the kernel's cumulative count of datagrams dropped on this
// socket's receive queue, read from the socket at the call (SO_MEMINFO,
// SK_MEMINFO_DROPS; Linux ≥ 4.7). After Close, or where the kernel does not
// report it, it returns the last count read. Safe to call from any
// goroutine. (SO_RXQ_OVFL, which attaches the count to every datagram
// received after a drop, costs each one a control message; the count is
// only needed when statistics are read.)
func (c *Conn) Drops() uint32 {
	var d uint32
	var ok bool
	if err := c.rc.Control(func(fd uintptr) { d, ok = socketDrops(int(fd)) }); err == nil && ok {
		c.drops.Store(d)
		return d
	}
	return c.drops.Load()
}

// skMeminfoDrops is SK_MEMINFO_DROPS, the index of the drop count in
// SO_MEMINFO's array of uint32 (include/uapi/linux/sock_diag.h).
const skMeminfoDrops = 8

// socketDrops reads the socket's receive-queue drop count (sk_drops).
func socketDrops(fd int) (uint32, bool) {
	var mi [skMeminfoDrops + 1]uint32
	l := uint32(unsafe.Sizeof(mi))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&mi[0])), uintptr(unsafe.Pointer(&l)), 0)
	if errno != 0 || l < uint32(unsafe.Sizeof(mi)) {
		return 0, false
	}
	return mi[skMeminfoDrops], true
}

// SetReadDeadline sets the deadline for ReadBatch; a blocked ReadBatch
// returns an error wrapping os.ErrDeadlineExceeded.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.unp != nil {
		return ErrUnsupported
	}
	return c.uc.SetReadDeadline(t)
}

// SetWriteDeadline sets the deadline for WriteBatch when the send buffer is
// full.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.unp != nil {
		return ErrUnsupported
	}
	return c.uc.SetWriteDeadline(t)
}

// Close closes the socket; blocked ReadBatch and WriteBatch calls return an
// error wrapping net.ErrClosed (with Config.BlockingRead, Close waits until
// they have returned, which shutdown(2) makes immediate). NIC timestamping
// stays enabled: the setting is NIC-wide and other daemons may rely on it.
func (c *Conn) Close() error {
	c.Drops() // keep the last drop count for readers after Close
	if c.unp != nil {
		return c.unp.close()
	}
	return c.uc.Close()
}
