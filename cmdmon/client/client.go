package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// DefaultPort is cmdmon's UDP port.
const DefaultPort = 323

// DefaultSocket is gnomond's control socket.
const DefaultSocket = "/run/gnomond/gnomond.sock"

// chronyc's resend policy (client.c: initial_timeout, max_retries).
const (
	DefaultTimeout = 1000 * time.Millisecond
	DefaultRetries = 2
)

// Errors with chronyc's texts.
var (
	ErrNoDaemon = errors.New("506 Cannot talk to daemon")
	ErrBadReply = errors.New("508 Bad reply from daemon")
)

// Target is one address to talk to: Network "udp" with an address:port,
// or "unixgram" with a socket path.
type Target struct {
	Network, Address string
}

func (t Target) String() string { return t.Address }

// ParseTargets reads a comma-separated list as chronyc's -h: a path
// (starting with '/') is a Unix socket; anything else an IP address or
// host name with an optional :port (IPv6 with a port in brackets), port
// defaulting to port. Host names are resolved with the system resolver.
func ParseTargets(ctx context.Context, hosts string, port int) ([]Target, error) {
	var ts []Target
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if strings.HasPrefix(h, "/") {
			ts = append(ts, Target{"unixgram", h})
			continue
		}
		host, p := h, port
		if a, err := netip.ParseAddr(h); err == nil {
			host = a.String()
		} else if hh, ps, err := net.SplitHostPort(h); err == nil {
			n, err := strconv.ParseUint(ps, 10, 16)
			if err != nil {
				return nil, fmt.Errorf("host %q: bad port %q", h, ps)
			}
			host, p = hh, int(n)
		}
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("host %q: port %d out of range", h, p)
		}
		addrs := []netip.Addr{}
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = append(addrs, a)
		} else {
			as, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, fmt.Errorf("host %q: %w", h, err)
			}
			addrs = as
		}
		for _, a := range addrs {
			ts = append(ts, Target{"udp", netip.AddrPortFrom(a.Unmap(), uint16(p)).String()})
		}
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("no host given")
	}
	return ts, nil
}

// DefaultTargets is chronyc's default list for gnomond: the control socket
// if it exists, then 127.0.0.1 and ::1 on port.
func DefaultTargets(socket string, port int) []Target {
	var ts []Target
	if fi, err := os.Stat(socket); err == nil && fi.Mode()&os.ModeSocket != 0 {
		ts = append(ts, Target{"unixgram", socket})
	}
	p := uint16(port)
	return append(ts,
		Target{"udp", netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), p).String()},
		Target{"udp", netip.AddrPortFrom(netip.IPv6Loopback(), p).String()})
}

// Client talks to the first target that answers.
type Client struct {
	targets []Target
	idx     int
	conn    net.Conn
	local   string // our Unix socket's path, removed on close

	// Timeout is the first attempt's timeout (doubled per retry); Retries
	// the number of resends after the first attempt.
	Timeout time.Duration
	Retries int

	buf []byte
}

// New returns a client for targets (tried in order); it opens no socket
// until the first request.
func New(targets []Target) (*Client, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("cmdmon client: no target")
	}
	return &Client{targets: targets, Timeout: DefaultTimeout, Retries: DefaultRetries,
		buf: make([]byte, wire.MaxRequestLen+1)}, nil
}

// Close closes the socket and removes the client's Unix socket file.
func (c *Client) Close() error {
	var err error
	if c.conn != nil {
		err = c.conn.Close()
		c.conn = nil
	}
	if c.local != "" {
		if e := os.Remove(c.local); e != nil && !errors.Is(e, os.ErrNotExist) && err == nil {
			err = e
		}
		c.local = ""
	}
	return err
}

// open connects to c.targets[c.idx].
func (c *Client) open(ctx context.Context) error {
	t := c.targets[c.idx]
	if t.Network != "unixgram" {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "udp", t.Address)
		if err != nil {
			return fmt.Errorf("connect %s: %w", t.Address, err)
		}
		c.conn = conn
		return nil
	}
	// chronyd answers to the sender's path: bind one that only we use and
	// that chronyd (running as its own user) may write to.
	local := filepath.Join(os.TempDir(), fmt.Sprintf("gnomonctl.%d.%08x.sock", os.Getpid(), rand.Uint32()))
	laddr := &net.UnixAddr{Name: local, Net: "unixgram"}
	conn, err := net.DialUnix("unixgram", laddr, &net.UnixAddr{Name: t.Address, Net: "unixgram"})
	if err != nil {
		os.Remove(local) // may exist if bind succeeded and connect failed
		return fmt.Errorf("connect %s: %w", t.Address, err)
	}
	c.conn, c.local = conn, local
	if err := os.Chmod(local, 0o666); err != nil {
		c.Close()
		return fmt.Errorf("chmod %s: %w", local, err)
	}
	return nil
}

// Do sends command cmd with body (nil for commands without data), padded
// as wire.AppendRequest pads it (to the newest reply type's length), and
// returns the accepted reply (header included) and its type, which must be
// one of want. A status other than SUCCESS is a *wire.StatusError; another
// type ErrBadReply. It moves to the next target when one does not answer.
func (c *Client) Do(ctx context.Context, cmd wire.Command, body wire.RequestBody, want ...wire.ReplyType) ([]byte, wire.ReplyType, error) {
	if _, err := wire.AppendRequest(nil, cmd, 0, 0, body); err != nil {
		return nil, 0, fmt.Errorf("cmdmon client: %w", err)
	}
	for c.idx < len(c.targets) {
		if c.conn == nil {
			if err := c.open(ctx); err != nil {
				if ctx.Err() != nil {
					return nil, 0, ctx.Err()
				}
				c.idx++
				continue
			}
		}
		b, req, err := c.submit(ctx, cmd, body)
		if err == nil {
			return check(b, req, want)
		}
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		// Not answered: try the next address, as chronyc's open_io.
		c.Close()
		c.idx++
	}
	c.idx = 0
	return nil, 0, ErrNoDaemon
}

// check is chronyc's request_reply after a reply was accepted: the status,
// then the type.
func check(b []byte, req wire.RequestHeader, want []wire.ReplyType) ([]byte, wire.ReplyType, error) {
	h, err := wire.CheckReply(b, req, 0)
	if err != nil {
		return nil, h.Reply, err // *wire.StatusError
	}
	for _, w := range want {
		if h.Reply == w {
			return b, h.Reply, nil
		}
	}
	return nil, h.Reply, ErrBadReply
}

// submit is chronyc's submit_request: send, wait, validate, resend.
func (c *Client) submit(ctx context.Context, cmd wire.Command, body wire.RequestBody) ([]byte, wire.RequestHeader, error) {
	stop := context.AfterFunc(ctx, func() { c.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var pkt []byte
	for attempt := 0; attempt <= c.Retries; attempt++ {
		req := wire.NewRequestHeader(cmd, rand.Uint32(), uint16(attempt))
		var err error
		if pkt, err = wire.AppendRequest(pkt[:0], cmd, req.Sequence, req.Attempt, body); err != nil {
			return nil, req, err
		}
		if _, err := c.conn.Write(pkt); err != nil {
			return nil, req, fmt.Errorf("send: %w", err)
		}
		if err := c.conn.SetReadDeadline(time.Now().Add(c.Timeout << attempt)); err != nil {
			return nil, req, err
		}
		if ctx.Err() != nil { // cancelled before the deadline was set
			return nil, req, ctx.Err()
		}
	wait:
		for {
			n, err := c.conn.Read(c.buf)
			if err != nil {
				if ctx.Err() != nil {
					return nil, req, ctx.Err()
				}
				// A timeout, or e.g. ECONNREFUSED from an ICMP port
				// unreachable: chronyc resends (at once in the latter case).
				break wait
			}
			switch accept(c.buf[:n], req) {
			case replyOK:
				return append([]byte(nil), c.buf[:n]...), req, nil
			case replyTooShort:
				break wait // chronyc resends at once
			}
		}
	}
	return nil, wire.RequestHeader{}, fmt.Errorf("no reply after %d attempts", c.Retries+1)
}

type verdict int

const (
	replyIgnore   verdict = iota // not a reply to this request: keep waiting
	replyTooShort                // shorter than its stated type: resend
	replyOK
)

// accept is chronyc's check of a received datagram (client.c
// submit_request): the header (wire.ParseReplyHeader: type, reserved
// bytes, version 6 or BADPKTVERSION), the echoed command and sequence,
// then the length the stated type needs.
func accept(b []byte, req wire.RequestHeader) verdict {
	if len(b) < wire.ReplyHeaderLen {
		return replyIgnore
	}
	h, err := wire.ParseReplyHeader(b)
	if h.Command != req.Command || h.Sequence != req.Sequence {
		return replyIgnore
	}
	switch {
	case err == nil:
		return replyOK
	case errors.Is(err, wire.ErrShort):
		return replyTooShort
	}
	return replyIgnore
}
