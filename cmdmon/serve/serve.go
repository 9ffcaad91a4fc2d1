package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gnomon-time/gnomon/cmdmon"
	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// Config configures the control sockets.
type Config struct {
	// Listen holds UDP addresses (chronyd's cmdport; read-only commands).
	Listen []netip.AddrPort
	// Optional holds UDP addresses served only when they can be bound
	// (port 323 held by chronyd, or no privilege): a failure is logged
	// and the address skipped.
	Optional []netip.AddrPort
	// Socket is the Unix datagram socket's path ("" = none). Its
	// directory is created (0750) when missing; a stale socket file is
	// replaced, any other file is an error.
	Socket string
	// SocketMode is the socket file's permission bits (0 = 0660);
	// SocketGroup the group that owns it ("" = gnomond's), by name or
	// number. The file is bound under a temporary name and renamed into
	// place once both are set. A group that does not resolve is an error
	// even with SocketOptional (a configuration mistake).
	SocketMode  os.FileMode
	SocketGroup string
	// SocketOptional: a socket that cannot be created is logged as a
	// warning and skipped (chronyd's way) instead of failing Listen.
	SocketOptional bool
	// Timeout bounds the work for one request (0 = 2 s).
	Timeout time.Duration
	Handler *cmdmon.Handler
	Logger  *slog.Logger
}

// Service is the open control sockets.
type Service struct {
	cfg  Config
	log  *slog.Logger
	udp  []*net.UDPConn
	unix *net.UnixConn
	path string // socket file to remove at the end

	closeOnce sync.Once
}

// Listen opens every socket (errors name the address or path). Close, or
// Run until its context ends, releases them.
func Listen(cfg Config) (*Service, error) {
	if cfg.Handler == nil {
		return nil, errors.New("control: no handler")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.SocketMode == 0 {
		cfg.SocketMode = 0o660
	}
	s := &Service{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, a := range cfg.Listen {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(a))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("control: listen %s: %w", a, err)
		}
		s.udp = append(s.udp, c)
	}
	for _, a := range cfg.Optional {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(a))
		if err != nil {
			s.log.Warn("control: optional address not served", slog.String("addr", a.String()), slog.Any("error", err))
			continue
		}
		s.udp = append(s.udp, c)
	}
	if cfg.Socket != "" {
		if err := s.listenUnix(cfg.Socket); err != nil {
			if !cfg.SocketOptional || errors.Is(err, errGroup) {
				s.Close()
				return nil, err
			}
			s.log.Warn("control socket not served", slog.String("path", cfg.Socket), slog.Any("error", err))
		}
	}
	return s, nil
}

// errGroup marks a socket_group that does not resolve: a configuration
// mistake, an error even when the socket is optional.
var errGroup = errors.New("unknown group")

func (s *Service) listenUnix(path string) error {
	gid := -1
	if g := s.cfg.SocketGroup; g != "" {
		n, err := LookupGroup(g)
		if err != nil {
			return fmt.Errorf("control: socket %s: group %q: %w: %w", path, g, errGroup, err)
		}
		gid = n
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("control: socket %s: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("control: socket %s: exists and is not a socket", path)
		}
		// A socket someone still reads is another daemon's: never take
		// it over. Only one nobody is bound to (connection refused) is
		// stale; any other answer (permission denied...) leaves it alone.
		c, err := net.Dial("unixgram", path)
		switch {
		case err == nil:
			c.Close()
			return fmt.Errorf("control: socket %s: in use by another process", path)
		case !errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("control: socket %s: cannot tell whether it is stale: %w", path, err)
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("control: socket %s: remove stale socket: %w", path, err)
		}
	}
	// Bind under a temporary name, set mode and group, then rename: the
	// path never exists with the umask's permissions, and a failure leaves
	// no file behind.
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	os.Remove(tmp)
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: tmp, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("control: socket %s: %w", path, err)
	}
	fail := func(err error) error {
		c.Close()
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, s.cfg.SocketMode); err != nil {
		return fail(fmt.Errorf("control: socket %s: chmod %v: %w", path, s.cfg.SocketMode, err))
	}
	if gid >= 0 {
		if err := os.Chown(tmp, -1, gid); err != nil {
			return fail(fmt.Errorf("control: socket %s: chown to group %q: %w", path, s.cfg.SocketGroup, err))
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(fmt.Errorf("control: socket %s: %w", path, err))
	}
	s.unix, s.path = c, path
	return nil
}

// LookupGroup resolves a group given by name or number (control.socket_group).
func LookupGroup(g string) (int, error) {
	if n, err := strconv.Atoi(g); err == nil && n >= 0 {
		return n, nil
	}
	gr, err := user.LookupGroup(g)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(gr.Gid)
}

// Addrs returns the UDP addresses served (ports resolved).
func (s *Service) Addrs() []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(s.udp))
	for _, c := range s.udp {
		out = append(out, c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return out
}

// SocketPath returns the Unix socket's path ("" for none).
func (s *Service) SocketPath() string { return s.path }

// Close closes every socket (the Unix socket's file is removed). It may be
// called more than once, also while Run is running.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		for _, c := range s.udp {
			c.Close()
		}
		if s.unix != nil {
			s.unix.Close()
			os.Remove(s.path)
		}
	})
}

// Run answers requests on every socket until ctx ends; then it closes
// them and returns nil.
func (s *Service) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range s.udp {
		g.Go(func() error { return s.serveUDP(gctx, c) })
	}
	if u := s.unix; u != nil {
		g.Go(func() error { return s.serveUnix(gctx, u) })
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

func (s *Service) serveUDP(ctx context.Context, c *net.UDPConn) error {
	req := make([]byte, wire.MaxRequestLen+1)
	for {
		n, from, err := c.ReadFromUDPAddrPort(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("control: read %s: %w", c.LocalAddr(), err)
		}
		// chronyd answers the network only from loopback (and cmdallow,
		// which gnomond does not have): others are dropped unanswered.
		if !from.Addr().Unmap().IsLoopback() {
			s.cfg.Handler.Drop()
			continue
		}
		if out := s.handle(ctx, req[:n], cmdmon.AccessNetwork); out != nil {
			if _, err := c.WriteToUDPAddrPort(out, from); err != nil {
				s.log.Debug("control: reply not sent", slog.String("to", from.String()), slog.Any("error", err))
			}
		}
	}
}

func (s *Service) serveUnix(ctx context.Context, c *net.UnixConn) error {
	req := make([]byte, wire.MaxRequestLen+1)
	for {
		n, from, err := c.ReadFromUnix(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("control: read %s: %w", s.path, err)
		}
		if out := s.handle(ctx, req[:n], cmdmon.AccessSocket); out != nil && from != nil && from.Name != "" {
			if _, err := c.WriteToUnix(out, from); err != nil {
				s.log.Debug("control: reply not sent", slog.String("to", from.Name), slog.Any("error", err))
			}
		}
	}
}

func (s *Service) handle(ctx context.Context, req []byte, a cmdmon.Access) []byte {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	out, v := s.cfg.Handler.Handle(rctx, req, a)
	s.log.Debug("control request", slog.Int("len", len(req)), slog.String("verdict", v.String()), slog.Int("reply_len", len(out)))
	return out
}
