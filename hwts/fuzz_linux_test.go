//go:build linux

package hwts

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cmsgSeed builds a control buffer as the kernel would.
func cmsgSeed(parts ...func(b []byte) int) []byte {
	b := alignedBytes(512)
	n := 0
	for _, p := range parts {
		n += p(b[n:])
	}
	return b[:n]
}

func tsPart(sec, nsec int64, hw bool) func([]byte) int {
	return func(b []byte) int {
		d := cmsgData(b, unix.SOL_SOCKET, unix.SO_TIMESTAMPING_NEW, 48)
		i := 0
		if hw {
			i = 2
		}
		binary.NativeEndian.PutUint64(d[16*i:], uint64(sec))
		binary.NativeEndian.PutUint64(d[16*i+8:], uint64(nsec))
		return unix.CmsgSpace(48)
	}
}

func pktinfo4Part(b []byte) int {
	d := cmsgData(b, unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
	binary.NativeEndian.PutUint32(d, 1)
	copy(d[8:], []byte{127, 0, 0, 2})
	return unix.CmsgSpace(unix.SizeofInet4Pktinfo)
}

func recvErrPart(id uint32) func([]byte) int {
	return func(b []byte) int {
		d := cmsgData(b, unix.IPPROTO_IP, unix.IP_RECVERR, 16+16)
		binary.NativeEndian.PutUint32(d, uint32(unix.ENOMSG))
		d[4] = soEETimestamping
		binary.NativeEndian.PutUint32(d[12:], id)
		return unix.CmsgSpace(32)
	}
}

// TestParseControl checks the decoders on kernel-shaped buffers.
func TestParseControl(t *testing.T) {
	c := &Conn{tsType: unix.SO_TIMESTAMPING_NEW}
	var m Message
	c.parseRXControl(&m, cmsgSeed(pktinfo4Part, tsPart(1700000000, 123456789, false)))
	want := time.Unix(1700000000, 123456789).UTC()
	if m.RX != (Timestamp{Time: want, Kind: KindKernel}) || m.RXHW.Kind != KindNone {
		t.Errorf("RX %+v RXHW %+v, want kernel %v", m.RX, m.RXHW, want)
	}
	if m.Local != netip.MustParseAddr("127.0.0.2") || m.IfIndex != 1 {
		t.Errorf("Local %v IfIndex %d", m.Local, m.IfIndex)
	}
	m = Message{}
	c.parseRXControl(&m, cmsgSeed(tsPart(5, 6, true)))
	if m.RX.Kind != KindNone || m.RXHW != (Timestamp{Time: time.Unix(5, 6).UTC(), Kind: KindHardware}) {
		t.Errorf("hardware only: RX %+v RXHW %+v", m.RX, m.RXHW)
	}
	var got []uint32
	n := c.parseErrqueue(cmsgSeed(tsPart(7, 8, false), recvErrPart(42)), func(id uint32, ts Timestamp) {
		got = append(got, id)
		if ts != (Timestamp{Time: time.Unix(7, 8).UTC(), Kind: KindKernel}) {
			t.Errorf("TX ts %+v", ts)
		}
	})
	if n != 1 || len(got) != 1 || got[0] != 42 {
		t.Errorf("parseErrqueue = %d, ids %v; want 1, [42]", n, got)
	}
	// An error-queue entry that is not a timestamp (ICMP) is skipped.
	icmp := cmsgSeed(tsPart(7, 8, false), recvErrPart(42))
	binary.NativeEndian.PutUint32(icmp[unix.CmsgSpace(48)+unix.CmsgLen(0):], uint32(unix.ECONNREFUSED))
	if n := c.parseErrqueue(icmp, func(uint32, Timestamp) { t.Error("ICMP error reported as stamp") }); n != 0 {
		t.Errorf("parseErrqueue(icmp) = %d", n)
	}
}

// FuzzParseControl: control buffers come from the kernel, but the parsers
// must not panic or read outside the buffer whatever the bytes.
func FuzzParseControl(f *testing.F) {
	f.Add(cmsgSeed(pktinfo4Part, tsPart(1700000000, 1, false)))
	f.Add(cmsgSeed(tsPart(7, 8, true), recvErrPart(1)))
	f.Add([]byte{})
	f.Add(make([]byte, 17))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := alignedBytes(len(data))
		copy(b, data)
		for _, typ := range []int32{unix.SO_TIMESTAMPING_NEW, unix.SO_TIMESTAMPING_OLD} {
			c := &Conn{tsType: typ}
			var m Message
			c.parseRXControl(&m, b)
			c.parseErrqueue(b, func(uint32, Timestamp) {})
		}
	})
}
