package interop

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// fakeCmdmon is a cmdmon server on loopback UDP that answers fixed replies
// built with cmdmon/wire's encoders, as chronyd would: it checks the
// request header and chrony's padding rule (a request shorter than its
// reply gets BADPKTLENGTH), answers SERVER_STATS and NTP_DATA with the
// newest type the request's length leaves room for (SERVER_STATS4 /
// NTP_DATA2 for gnomonctl, SERVER_STATS3 / NTP_DATA for chronyc 4.3), or
// always the old types when old is set (a chrony 4.3 server).
type fakeCmdmon struct {
	conn *net.UDPConn
	data cmdmonFixture

	mu   sync.Mutex
	seen []fakeRequest
}

// fakeRequest is what the fake saw of one request.
type fakeRequest struct {
	cmd     wire.Command
	length  int
	attempt uint16
	reply   wire.ReplyType
	status  wire.Status
}

// cmdmonFixture is one set of values the fake serves.
type cmdmonFixture struct {
	name        string
	tracking    wire.Tracking
	sources     []wire.SourceData
	stats       []wire.SourceStats
	selects     []wire.SelectData
	ntp         []wire.NTPData // matched by RemoteAddr
	server      wire.ServerStats
	clients     []wire.ClientAccess
	activity    wire.Activity
	old         bool                         // answer as chrony 4.3: SERVER_STATS3, NTP_DATA
	fail        map[wire.Command]wire.Status // status for a command
	failIndex   int32                        // with fail: only for this index (-1: all)
	dropAttempt int                          // drop requests with attempt < this (resend test)
}

func startFakeCmdmon(t *testing.T, f cmdmonFixture) *fakeCmdmon {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeCmdmon{conn: conn, data: f}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve()
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return s
}

func (s *fakeCmdmon) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

func (s *fakeCmdmon) requests() []fakeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]fakeRequest(nil), s.seen...)
}

func (s *fakeCmdmon) serve() {
	buf := make([]byte, 2048)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if out := s.answer(buf[:n]); out != nil {
			s.conn.WriteToUDPAddrPort(out, from)
		}
	}
}

// answer builds the reply to req, nil to stay silent.
func (s *fakeCmdmon) answer(req []byte) []byte {
	if len(req) < wire.MinRequestLen || len(req) > wire.MaxRequestLen {
		return nil
	}
	h, err := wire.ParseRequestHeader(req)
	if err != nil || h.PktType != wire.PktRequest || h.Res1 != 0 || h.Res2 != 0 || h.Version != wire.Version {
		return nil
	}
	f := &s.data
	if int(h.Attempt) < f.dropAttempt {
		s.record(fakeRequest{cmd: h.Command, length: len(req), attempt: h.Attempt})
		return nil
	}
	rh := wire.ReplyHeader{Version: wire.Version, PktType: wire.PktReply, Command: h.Command, Sequence: h.Sequence}
	index := int32(-1)
	if len(req) >= 24 {
		index = int32(binary.BigEndian.Uint32(req[20:]))
	}
	var out []byte
	build := func(t wire.ReplyType, enc func([]byte) []byte) {
		if len(req) < wire.ReplyLen(t) {
			rh.Reply, rh.Status = wire.RpyNull, wire.StatusBadPktLength
			return
		}
		rh.Reply = t
		out = enc(wire.AppendReplyHeader(nil, rh))
	}
	if st, ok := f.fail[h.Command]; ok && (f.failIndex < 0 || f.failIndex == index) {
		rh.Reply, rh.Status = wire.RpyNull, st
	} else {
		switch h.Command {
		case wire.CmdNSources:
			build(wire.RpyNSources, func(b []byte) []byte { return wire.EncodeNSources(b, wire.NSources{N: uint32(len(f.sources))}) })
		case wire.CmdSourceData, wire.CmdSourceStats, wire.CmdSelectData:
			if index < 0 || int(index) >= len(f.sources) {
				rh.Reply, rh.Status = wire.RpyNull, wire.StatusNoSuchSource
				break
			}
			switch h.Command {
			case wire.CmdSourceData:
				build(wire.RpySourceData, func(b []byte) []byte { return wire.EncodeSourceData(b, f.sources[index]) })
			case wire.CmdSourceStats:
				build(wire.RpySourceStats, func(b []byte) []byte { return wire.EncodeSourceStats(b, f.stats[index]) })
			default:
				build(wire.RpySelectData, func(b []byte) []byte { return wire.EncodeSelectData(b, f.selects[index]) })
			}
		case wire.CmdTracking:
			build(wire.RpyTracking, func(b []byte) []byte { return wire.EncodeTracking(b, f.tracking) })
		case wire.CmdActivity:
			build(wire.RpyActivity, func(b []byte) []byte { return wire.EncodeActivity(b, f.activity) })
		case wire.CmdServerStats:
			v4 := !f.old && len(req) >= wire.ReplyLen(wire.RpyServerStats4)
			t := wire.RpyServerStats3
			if v4 {
				t = wire.RpyServerStats4
			}
			build(t, func(b []byte) []byte { return wire.EncodeServerStats(b, f.server, v4) })
		case wire.CmdNTPData:
			if len(req) < 40 {
				rh.Reply, rh.Status = wire.RpyNull, wire.StatusBadPktLength
				break
			}
			want := decodeIPAddr(req[20:40])
			var d *wire.NTPData
			for i := range f.ntp {
				if f.ntp[i].RemoteAddr == want {
					d = &f.ntp[i]
				}
			}
			if d == nil {
				rh.Reply, rh.Status = wire.RpyNull, wire.StatusNoSuchSource
				break
			}
			v2 := !f.old && len(req) >= wire.ReplyLen(wire.RpyNTPData2)
			t := wire.RpyNTPData
			if v2 {
				t = wire.RpyNTPData2
			}
			build(t, func(b []byte) []byte { return wire.EncodeNTPData(b, *d, v2) })
		case wire.CmdClientAccessesByIndex3:
			if len(req) < 36 {
				rh.Reply, rh.Status = wire.RpyNull, wire.StatusBadPktLength
				break
			}
			first := binary.BigEndian.Uint32(req[20:])
			n := min(binary.BigEndian.Uint32(req[24:]), wire.MaxClientsPerReply)
			r := wire.ClientAccesses{NIndices: uint32(len(f.clients))}
			i := first
			for ; i < uint32(len(f.clients)) && uint32(len(r.Clients)) < n; i++ {
				r.Clients = append(r.Clients, f.clients[i])
			}
			r.NextIndex = i
			build(wire.RpyClientAccessesByIndex3, func(b []byte) []byte { return wire.EncodeClientAccesses(b, r) })
		case wire.CmdBurst, wire.CmdMakestep, wire.CmdResetSources:
			build(wire.RpyNull, func(b []byte) []byte { return b })
		default:
			rh.Reply, rh.Status = wire.RpyNull, wire.StatusInvalid
		}
	}
	if out == nil {
		out = wire.AppendReplyHeader(nil, rh)
	}
	s.record(fakeRequest{cmd: h.Command, length: len(req), attempt: h.Attempt, reply: rh.Reply, status: rh.Status})
	return out
}

func (s *fakeCmdmon) record(r fakeRequest) {
	s.mu.Lock()
	s.seen = append(s.seen, r)
	s.mu.Unlock()
}

// decodeIPAddr reads a 20-byte IPAddr the way the fake's fixtures compare.
func decodeIPAddr(b []byte) wire.IPAddr {
	a := wire.IPAddr{Family: wire.Family(binary.BigEndian.Uint16(b[16:]))}
	switch a.Family {
	case wire.FamilyInet4:
		a.Addr = netip.AddrFrom4([4]byte(b[:4]))
	case wire.FamilyInet6:
		a.Addr = netip.AddrFrom16([16]byte(b[:16]))
	case wire.FamilyID:
		a.ID = binary.BigEndian.Uint32(b)
	}
	return a
}

// runTool runs name args with a time limit and returns stdout, stderr and
// the exit code.
func runTool(ctx context.Context, t *testing.T, limit time.Duration, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := execCommand(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee interface{ ExitCode() int }
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s %v: timed out after %v", name, args, limit)
		}
	}
	return out.String(), errb.String(), code
}
