package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
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

// answer builds the reply to req, nil to stay silent: chronyd's checks in
// its order (wire.ParseRequestHeader), then the command's padding rule
// (BADPKTLENGTH), then the fixture's data.
func (s *fakeCmdmon) answer(req []byte) []byte {
	h, err := wire.ParseRequestHeader(req)
	if err != nil {
		return nil
	}
	f := &s.data
	if int(h.Attempt) < f.dropAttempt {
		s.record(fakeRequest{cmd: h.Command, length: len(req), attempt: h.Attempt})
		return nil
	}
	var rt wire.ReplyType
	var body wire.ReplyBody
	st := wire.StatusSuccess
	rt, ok := wire.ReplyFor(h.Command)
	switch h.Command {
	case wire.CmdServerStats:
		rt, ok = wire.ServerStatsReplyFor(len(req))
		if ok && f.old {
			rt = wire.RpyServerStats3
		}
	case wire.CmdNTPData:
		rt, ok = wire.NTPDataReplyFor(len(req))
		if ok && f.old {
			rt = wire.RpyNTPData
		}
	}
	if n, known := wire.RequestLenFor(h.Command, rt); !known {
		st = wire.StatusInvalid
	} else if !ok || len(req) < n {
		st = wire.StatusBadPktLength
	}
	index := int32(-1)
	if ir, err := wire.ParseIndexRequest(req); err == nil {
		index = ir.Index
	}
	if fs, failing := f.fail[h.Command]; st == wire.StatusSuccess && failing && (f.failIndex < 0 || f.failIndex == index) {
		st = fs
	}
	if st == wire.StatusSuccess {
		switch h.Command {
		case wire.CmdNSources:
			body = &wire.NSources{N: uint32(len(f.sources))}
		case wire.CmdSourceData, wire.CmdSourceStats, wire.CmdSelectData:
			if index < 0 || int(index) >= len(f.sources) {
				st = wire.StatusNoSuchSource
				break
			}
			switch h.Command {
			case wire.CmdSourceData:
				body = &f.sources[index]
			case wire.CmdSourceStats:
				body = &f.stats[index]
			default:
				body = &f.selects[index]
			}
		case wire.CmdTracking:
			body = &f.tracking
		case wire.CmdActivity:
			body = &f.activity
		case wire.CmdServerStats:
			body = &f.server
		case wire.CmdNTPData:
			ar, _ := wire.ParseAddrRequest(req)
			st = wire.StatusNoSuchSource
			for i := range f.ntp {
				if f.ntp[i].RemoteAddr == ar.Addr {
					body, st = &f.ntp[i], wire.StatusSuccess
				}
			}
		case wire.CmdClientAccessesByIndex3:
			cr, _ := wire.ParseClientAccessesRequest(req)
			n := min(cr.NClients, wire.MaxClientsPerReply)
			r := &wire.ClientAccesses{NIndices: uint32(len(f.clients))}
			i := cr.FirstIndex
			for ; i < uint32(len(f.clients)) && uint32(len(r.Clients)) < n; i++ {
				r.Clients = append(r.Clients, f.clients[i])
			}
			r.NextIndex = i
			body = r
		case wire.CmdBurst, wire.CmdMakestep, wire.CmdResetSources:
		default:
			st = wire.StatusInvalid
		}
	}
	var out []byte
	if st != wire.StatusSuccess || body == nil {
		rt = wire.RpyNull
		out = wire.AppendErrorReply(nil, h, st)
	} else if out, err = wire.AppendReply(nil, wire.ReplyTo(h, rt, st), body); err != nil {
		panic(fmt.Sprintf("fake cmdmon: %v", err)) // a fixture the format cannot hold
	}
	s.record(fakeRequest{cmd: h.Command, length: len(req), attempt: h.Attempt, reply: rt, status: st})
	return out
}

func (s *fakeCmdmon) record(r fakeRequest) {
	s.mu.Lock()
	s.seen = append(s.seen, r)
	s.mu.Unlock()
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
