package probe_test

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/probe"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// FuzzReply answers the probe's request with fuzzed bytes (the request's
// Transmit copied into their Origin field when they are long enough, so
// that they get past beevik's cookie check) and runs the whole path —
// beevik's parsing, Validate, Judge, the text and JSON output — on them:
// it must not panic, and the result must be consistent.
func FuzzReply(f *testing.F) {
	// Seeds: replies of the tree's server core (synchronised and not) to a
	// client request, and a few short or odd packets.
	srv, err := ntp.NewServer(func() ntp.ServerConfig {
		c := ntp.DefaultServerConfig()
		c.ACL, _ = ntp.NewACL([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)
		return c
	}(), nil)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	req := make([]byte, wire.HeaderLen)
	req[0] = 0x23
	for _, st := range []*clock.SyncState{
		{Synchronized: true, Stratum: 1, RefID: 0x47505300, RefTime: now.Add(-time.Second), Precision: -20},
		clock.Unsynchronised(-20),
	} {
		out := make([]byte, wire.HeaderLen)
		n, _ := srv.Respond(out, req, netip.MustParseAddrPort("127.0.0.1:1"), wire.TimeFromTime(now), st)
		wire.PutTransmit(out[:n], wire.TimeFromTime(now))
		f.Add(out[:n])
	}
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 48))
	f.Add(bytes.Repeat([]byte{0x24}, 100))

	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	var payload atomic.Pointer[[]byte]
	done := make(chan struct{})
	f.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			p := payload.Load()
			if p == nil || n < wire.HeaderLen {
				continue
			}
			rep := bytes.Clone(*p)
			if len(rep) >= 32 {
				copy(rep[24:32], buf[40:48])
			}
			_, _ = conn.WriteToUDPAddrPort(rep, from)
		}
	}()
	targets, err := probe.ParseTargets([]string{conn.LocalAddr().String()}, 123)
	if err != nil {
		f.Fatal(err)
	}
	o := probe.DefaultOptions()
	o.Timeout = 100 * time.Millisecond
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1400 {
			return
		}
		payload.Store(&b)
		r, err := probe.Probe(t.Context(), targets, o)
		if err != nil {
			t.Fatal(err)
		}
		x := r.Results[0]
		if x.Status < probe.OK || x.Status > probe.Unknown || r.Status != x.Status {
			t.Fatalf("status %v overall %v", x.Status, r.Status)
		}
		if (x.Reply == nil) != (x.Replies == 0) || (x.Reply == nil) != (x.Err != "") {
			t.Fatalf("reply %v, %d replies, err %q", x.Reply != nil, x.Replies, x.Err)
		}
		// The recover in the probe keeps a run alive; the fuzzer still
		// wants to hear of every panic beevik/ntp has on network bytes.
		if strings.Contains(x.Err, "panicked") {
			t.Fatalf("beevik/ntp panicked on %x: %s", b, x.Err)
		}
		if x.Reply == nil && x.Status != probe.Unknown {
			t.Fatalf("no reply but %v", x.Status)
		}
		if err := probe.WriteText(io.Discard, r); err != nil {
			t.Fatal(err)
		}
		if err := probe.WriteJSON(io.Discard, r); err != nil {
			t.Fatal(err)
		}
	})
}
