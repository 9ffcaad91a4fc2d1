package ntske

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gnomon-time/gnomon/ntp/nts"
)

// Config configures an NTS-KE Server.
type Config struct {
	// Listen is the TCP addresses to serve (default ":4460").
	Listen []string
	// Certificate is the server's TLS certificate (chain and key).
	Certificate tls.Certificate
	// NTPServer and NTPPort, when set, are sent as NTPv4 Server and Port
	// records: clients then send NTP there instead of to this address
	// and port 123.
	NTPServer string
	NTPPort   uint16
	// MaxConnections bounds concurrent connections (default 100); more
	// are closed at once and counted.
	MaxConnections int
	// MaxRequest bounds a request's size in bytes (default 1024; a real
	// request is about 20 bytes; chrony allows 16 KiB).
	MaxRequest int
	// Timeout bounds a whole exchange: TLS handshake, request, response
	// (default 5 s).
	Timeout time.Duration
	// Cookies per response (default 8, at most 16).
	Cookies int
	Rand    io.Reader // default crypto/rand.Reader
	Log     *slog.Logger
}

// Stats are a Server's counters since start.
type Stats struct {
	Accepted        uint64 // TCP connections accepted
	Refused         uint64 // closed at once: MaxConnections reached
	HandshakeFailed uint64 // TLS handshake failed or no ALPN ntske/1
	Served          uint64 // responses with cookies
	Refusals        uint64 // responses with an Error record or empty negotiation records
	Failed          uint64 // read or write failed: timeout, oversized or truncated request, reset
	Cookies         uint64 // cookies issued
}

// Server is the NTS-KE server (RFC 8915 §4): TLS 1.3, ALPN ntske/1.
type Server struct {
	cfg   Config
	core  *nts.Core
	tls   *tls.Config
	log   *slog.Logger
	sem   chan struct{}
	lns   []net.Listener
	stats struct {
		accepted, refused, handshakeFailed, served, refusals, failed, cookies atomic.Uint64
	}
}

// New validates cfg and returns a Server that seals cookies with core's ring.
func New(cfg Config, core *nts.Core) (*Server, error) {
	if len(cfg.Listen) == 0 {
		cfg.Listen = []string{fmt.Sprintf(":%d", DefaultPort)}
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = 100
	}
	if cfg.MaxRequest == 0 {
		cfg.MaxRequest = 1024
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Cookies == 0 {
		cfg.Cookies = 8
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if cfg.MaxConnections < 1 {
		errs = append(errs, fmt.Errorf("ntske: max connections = %d: want ≥ 1", cfg.MaxConnections))
	}
	if cfg.MaxRequest < 16 || cfg.MaxRequest > 65536 {
		errs = append(errs, fmt.Errorf("ntske: max request = %d: want 16…65536 bytes", cfg.MaxRequest))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("ntske: timeout = %v: want > 0", cfg.Timeout))
	}
	if cfg.Cookies < 1 || cfg.Cookies > 16 {
		errs = append(errs, fmt.Errorf("ntske: cookies = %d: want 1…16", cfg.Cookies))
	}
	if len(cfg.NTPServer) > 255 {
		errs = append(errs, fmt.Errorf("ntske: ntp server name of %d bytes: at most 255", len(cfg.NTPServer)))
	}
	if len(cfg.Certificate.Certificate) == 0 {
		errs = append(errs, errors.New("ntske: no TLS certificate"))
	}
	if core == nil {
		errs = append(errs, errors.New("ntske: no nts.Core"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Server{
		cfg:  cfg,
		core: core,
		log:  cfg.Log,
		sem:  make(chan struct{}, cfg.MaxConnections),
		tls: &tls.Config{
			MinVersion:   tls.VersionTLS13,
			NextProtos:   []string{ALPN},
			Certificates: []tls.Certificate{cfg.Certificate},
		},
	}, nil
}

// Open binds the listeners (Run does it if not done).
func (s *Server) Open() error {
	if s.lns != nil {
		return nil
	}
	for _, a := range s.cfg.Listen {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range s.lns {
				_ = l.Close()
			}
			s.lns = nil
			return fmt.Errorf("ntske: listen %s: %w", a, err)
		}
		s.lns = append(s.lns, ln)
	}
	return nil
}

// Close closes the listeners of a Server that was opened but will not Run
// (Run closes them itself when its context ends).
func (s *Server) Close() error {
	var errs []error
	for _, l := range s.lns {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Addrs returns the bound addresses (after Open).
func (s *Server) Addrs() []net.Addr {
	var out []net.Addr
	for _, l := range s.lns {
		out = append(out, l.Addr())
	}
	return out
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Accepted: s.stats.accepted.Load(), Refused: s.stats.refused.Load(),
		HandshakeFailed: s.stats.handshakeFailed.Load(), Served: s.stats.served.Load(),
		Refusals: s.stats.refusals.Load(), Failed: s.stats.failed.Load(), Cookies: s.stats.cookies.Load(),
	}
}

// Run serves until ctx ends, then closes the listeners and waits for the
// connections in progress (each bounded by Timeout).
func (s *Server) Run(ctx context.Context) error {
	if err := s.Open(); err != nil {
		return err
	}
	s.log.Info("nts-ke listening", "addrs", s.Addrs())
	var wg sync.WaitGroup
	errc := make(chan error, len(s.lns))
	for _, ln := range s.lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- s.accept(ctx, ln, &wg)
		}()
	}
	stop := context.AfterFunc(ctx, func() {
		for _, ln := range s.lns {
			_ = ln.Close()
		}
	})
	defer stop()
	var first error
	for range s.lns {
		if err := <-errc; err != nil && first == nil {
			first = err
			for _, ln := range s.lns {
				_ = ln.Close()
			}
		}
	}
	wg.Wait()
	return first
}

func (s *Server) accept(ctx context.Context, ln net.Listener, wg *sync.WaitGroup) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("ntske: accept on %s: %w", ln.Addr(), err)
		}
		s.stats.accepted.Add(1)
		select {
		case s.sem <- struct{}{}:
		default:
			s.stats.refused.Add(1)
			_ = c.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-s.sem }()
			s.handle(ctx, c)
		}()
	}
}

// handle runs one exchange under one deadline.
func (s *Server) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	deadline := time.Now().Add(s.cfg.Timeout)
	_ = c.SetDeadline(deadline)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	tc := tls.Server(c, s.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		s.stats.handshakeFailed.Add(1)
		s.log.Debug("nts-ke handshake failed", "client", c.RemoteAddr().String(), "err", err)
		return
	}
	cs := tc.ConnectionState()
	if cs.NegotiatedProtocol != ALPN {
		s.stats.handshakeFailed.Add(1)
		s.log.Debug("nts-ke client without ALPN ntske/1", "client", c.RemoteAddr().String())
		return
	}
	msg, err := ReadMessage(tc, s.cfg.MaxRequest)
	if err != nil {
		s.stats.failed.Add(1)
		s.log.Debug("nts-ke read", "client", c.RemoteAddr().String(), "err", err)
		if errors.Is(err, ErrTooLong) {
			_, _ = tc.Write(errorResponse(ErrCodeBadRequest))
		}
		return
	}
	resp, n, rerr := respond(msg, cs.ExportKeyingMaterial, respondParams{
		ring: s.core.Ring(), cookies: s.cfg.Cookies, server: s.cfg.NTPServer, port: s.cfg.NTPPort, rand: s.cfg.Rand,
	})
	if _, err := tc.Write(resp); err != nil {
		s.stats.failed.Add(1)
		s.log.Debug("nts-ke write", "client", c.RemoteAddr().String(), "err", err)
		return
	}
	_ = tc.CloseWrite()
	if rerr != nil {
		s.stats.refusals.Add(1)
		s.log.Debug("nts-ke request refused", "client", c.RemoteAddr().String(), "err", rerr)
		return
	}
	s.stats.served.Add(1)
	s.stats.cookies.Add(uint64(n))
}
