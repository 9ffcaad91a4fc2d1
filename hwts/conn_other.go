//go:build !linux

package hwts

import (
	"context"
	"net/netip"
	"time"
)

// Conn is a timestamping UDP socket. Only Linux has an implementation;
// elsewhere Listen returns ErrUnsupported and no Conn exists.
type Conn struct{}

// Listen returns ErrUnsupported on this platform (after validating cfg).
func Listen(ctx context.Context, cfg Config) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return nil, ErrUnsupported
}

// Info reports nothing on this platform.
func (c *Conn) Info() Info { return Info{PHCIndex: -1, RXFilter: FilterUnknown} }

// LocalAddr returns the zero AddrPort on this platform.
func (c *Conn) LocalAddr() netip.AddrPort { return netip.AddrPort{} }

// Drops returns 0 on this platform.
func (c *Conn) Drops() uint32 { return 0 }

// ReadBatch returns ErrUnsupported on this platform.
func (c *Conn) ReadBatch(msgs []Message) (int, error) { return 0, ErrUnsupported }

// WriteBatch returns ErrUnsupported on this platform.
func (c *Conn) WriteBatch(msgs []Message) (int, error) { return 0, ErrUnsupported }

// ReadTX returns ErrUnsupported on this platform.
func (c *Conn) ReadTX(fn func(id uint32, ts Timestamp)) (int, error) { return 0, ErrUnsupported }

// SetReadDeadline returns ErrUnsupported on this platform.
func (c *Conn) SetReadDeadline(t time.Time) error { return ErrUnsupported }

// SetWriteDeadline returns ErrUnsupported on this platform.
func (c *Conn) SetWriteDeadline(t time.Time) error { return ErrUnsupported }

// Close returns nil on this platform.
func (c *Conn) Close() error { return nil }

// Poller waits for several sockets; only Linux has an implementation.
type Poller struct{}

// NewPoller returns ErrUnsupported on this platform.
func NewPoller(conns ...*Conn) (*Poller, error) { return nil, ErrUnsupported }

// Wait returns ErrUnsupported on this platform.
func (p *Poller) Wait(timeout time.Duration) (int, error) { return 0, ErrUnsupported }

// Readable reports false on this platform.
func (p *Poller) Readable(i int) bool { return false }
