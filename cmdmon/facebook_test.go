package cmdmon

// Cross-check against facebook/time's ntp/chrony client (Apache-2.0, a
// decoder written independently of ours): its requests go through Handle
// as if over the Unix socket, and the replies it decodes must agree with
// the fixture's reports in chrony's signs and units.

import (
	"context"
	"errors"
	"math"
	"net"
	"net/netip"
	"testing"
	"time"

	fb "github.com/facebook/time/ntp/chrony"

	"github.com/gnomon-time/gnomon/report"
)

// handlerConn is an io.ReadWriter whose Write runs Handle and whose Read
// returns the reply, as a datagram socket to gnomond would.
type handlerConn struct {
	t      *testing.T
	h      *Handler
	access Access
	reply  []byte
}

func (c *handlerConn) Write(p []byte) (int, error) {
	out, v := c.h.Handle(context.Background(), p, c.access)
	if len(out) > len(p) {
		c.t.Errorf("reply of %d bytes to facebook/time's request of %d", len(out), len(p))
	}
	if out == nil {
		return 0, errors.New("no reply: " + v.String())
	}
	c.reply = out
	return len(p), nil
}

func (c *handlerConn) Read(p []byte) (int, error) {
	if c.reply == nil {
		return 0, errors.New("no reply pending")
	}
	n := copy(p, c.reply)
	c.reply = nil
	return n, nil
}

// fbIP is facebook/time's address as a netip.Addr (invalid for an ID).
func fbIP(a *fb.IPAddr) netip.Addr {
	ip, _ := netip.AddrFromSlice(a.ToNetIP())
	return ip.Unmap()
}

// fbNear reports whether got is want to chrony's float precision (a
// 25-bit coefficient: about 6e-8 relative) or within 1e-12 of zero.
func fbNear(got, want float64) bool {
	return math.Abs(got-want) <= max(1e-7*math.Abs(want), 1e-12)
}

func TestFacebookClientAgrees(t *testing.T) {
	h, d := newFixture()
	// A fourth source, a falseticker over IPv4 with negative offset.
	ft := netip.MustParseAddr("198.51.100.7")
	d.sources = append(d.sources, report.Source{ID: "198.51.100.7", Addr: ft, Mode: report.SourceServer,
		State: report.StateFalseticker, Stratum: 3, Poll: 6, Reach: 0o17, Sampled: true, LastRxAgo: 70 * time.Second,
		Offset: -40 * time.Millisecond, LastSampleOffset: -41 * time.Millisecond, Error: 2 * time.Millisecond})
	c := &fb.Client{Connection: &handlerConn{t: t, h: h, access: AccessSocket}}

	get := func(req fb.RequestPacket) fb.ResponsePacket {
		t.Helper()
		p, err := c.Communicate(req)
		if err != nil {
			t.Fatalf("%T: %v", req, err)
		}
		return p
	}

	tr := get(fb.NewTrackingPacket()).(*fb.ReplyTracking)
	if tr.RefID != 0xC0000201 || !tr.IPAddr.Equal(net.IP(srcA.AsSlice())) || tr.Stratum != 2 || tr.LeapStatus != 0 ||
		!tr.RefTime.Equal(time.Unix(1_800_000_000, 0)) {
		t.Errorf("tracking header fields %+v", tr.Tracking)
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		// report: the local clock is 250 µs behind → chrony's last offset −250 µs
		// ("slow"); FreqEstimatePPB +2000 → freq_ppm −2.0 ("2.000 ppm slow").
		{"last offset", tr.LastOffset, -250e-6}, {"rms offset", tr.RMSOffset, 100e-6},
		{"freq", tr.FreqPPM, -2.0}, {"resid freq", tr.ResidFreqPPM, -0.003}, {"skew", tr.SkewPPM, 0.04},
		{"root delay", tr.RootDelay, 1e-3}, {"root dispersion", tr.RootDispersion, 2e-3},
		{"update interval", tr.LastUpdateInterval, 16},
	} {
		if !fbNear(f.got, f.want) {
			t.Errorf("tracking %s = %g, want %g", f.name, f.got, f.want)
		}
	}

	if n := get(fb.NewSourcesPacket()).(*fb.ReplySources).NSources; n != 4 {
		t.Errorf("sources: %d, want 4", n)
	}
	// Per source: address family, state as facebook/time names it, offset sign.
	for i, want := range []struct {
		family uint16
		addr   netip.Addr
		state  string
		meas   float64
	}{
		{fb.IPAddrInet4, srcA, "sync", -1e-3},
		{fb.IPAddrInet6, srcB, "candidate", 0},
		{fb.IPAddrID, netip.Addr{}, "unreach", 0},
		{fb.IPAddrInet4, ft, "falseticker", 40e-3},
	} {
		sd := get(fb.NewSourceDataPacket(int32(i))).(*fb.ReplySourceData)
		if sd.IPAddr.Family != want.family || fbIP(sd.IPAddr) != want.addr || sd.State.String() != want.state ||
			!fbNear(sd.LatestMeas, want.meas) || sd.Mode.String() != "client" {
			t.Errorf("source %d: %s family %d state %s latest %g, want %v %d %s %g",
				i, sd.IPAddr, sd.IPAddr.Family, sd.State, sd.LatestMeas, want.addr, want.family, want.state, want.meas)
		}
		if i == 2 {
			// The unresolved source: its ID names it.
			n := get(fb.NewNTPSourceNamePacket(sd.IPAddr)).(*fb.ReplyNTPSourceName)
			if n.Name != "ntp.example.net" {
				t.Errorf("name of unresolved source %s: %q", sd.IPAddr, n.Name)
			}
		}
		if i == 3 && (sd.SinceSample != 70 || sd.Poll != 6 || sd.Reachability != 0o17 || !fbNear(sd.OrigLatestMeas, 41e-3) ||
			!fbNear(sd.LatestMeasErr, 2e-3)) {
			t.Errorf("falseticker %+v", sd.SourceData)
		}
	}

	st := get(fb.NewSourceStatsPacket(0)).(*fb.ReplySourceStats)
	if fbIP(st.IPAddr) != srcA || st.NSamples != 8 || !fbNear(st.EstimatedOffset, -1e-3) || !fbNear(st.ResidFreqPPM, -0.5) {
		t.Errorf("sourcestats 0 %+v", st.SourceStats)
	}

	sel := get(fb.NewSelectDataPacket(0)).(*fb.ReplySelectData)
	// report's interval [−1 ms, +3 ms] of reference − local is chrony's
	// [−3 ms, +1 ms] of local − reference.
	if sel.StateChar != '*' || !sel.IPAddr.Equal(net.IP(srcA.AsSlice())) || !fbNear(sel.LoLimit, -3e-3) ||
		!fbNear(sel.HiLimit, 1e-3) || !fbNear(sel.Score, 0.75) {
		t.Errorf("selectdata 0 %+v", sel.SelectData)
	}

	// facebook/time pads to 416 bytes: the newest reply types fit.
	ss, ok := get(fb.NewServerStatsPacket()).(*fb.ReplyServerStats4)
	if !ok {
		t.Fatal("serverstats: not SERVER_STATS4")
	}
	if ss.NTPHits != 1000 || ss.NTPDrops != 10 || ss.NTPInterleavedHits != 7 || ss.CMDHits != h.Stats().Received || ss.CMDDrops != 0 {
		t.Errorf("serverstats %+v (handler %+v)", ss.ServerStats4, h.Stats())
	}

	a4 := srcA.As4()
	nd, ok := get(fb.NewNTPDataPacket(&fb.IPAddr{IP: [16]uint8{a4[0], a4[1], a4[2], a4[3]}, Family: fb.IPAddrInet4})).(*fb.ReplyNTPData2)
	if !ok || !nd.RemoteAddr.Equal(net.IP(srcA.AsSlice())) || nd.RemotePort != 123 || nd.Stratum != 1 || nd.NTPData2.Version != 4 /* nd.Version is the header's */ ||
		nd.Mode != 4 || !fbNear(nd.Offset, -1e-3) || nd.TotalTXCount != 10 || nd.TotalRXCount != 9 || nd.TotalValidCount != 9 ||
		nd.TXTssChar != 'K' || nd.RXTssChar != 'K' ||
		// facebook/time's NTP_DATA2 lacks total_good_count (chrony's
		// candm.h has it after total_valid_count): its TotalKernelTXts
		// is our good count.
		nd.TotalKernelTXts != 8 {
		t.Errorf("ntpdata %+v", nd.NTPData2)
	}

	act := get(fb.NewActivityPacket()).(*fb.ReplyActivity)
	if act.Online != 3 || act.Unresolved != 1 || act.Offline != 0 {
		t.Errorf("activity %+v", act.Activity)
	}

	cl := get(fb.NewClientAccessesByIndexPacket(0, 8, 0)).(*fb.ReplyClientAccessesByIndex)
	if cl.NIndices != 11 || cl.NextIndex != 8 || cl.NClients != 8 || len(cl.Clients) != 8 {
		t.Fatalf("clients page 1: %d indices, next %d, %d clients", cl.NIndices, cl.NextIndex, cl.NClients)
	}
	for i, x := range cl.Clients {
		if !x.IPAddr.ToNetIP().Equal(net.IPv4(10, 0, 0, byte(i))) || x.NTPHits != uint32(i) {
			t.Errorf("client %d: %s hits %d", i, x.IPAddr, x.NTPHits)
		}
	}
	cl = get(fb.NewClientAccessesByIndexPacket(cl.NextIndex, 8, 0)).(*fb.ReplyClientAccessesByIndex)
	if cl.NextIndex != 11 || len(cl.Clients) != 3 {
		t.Errorf("clients page 2: next %d, %d clients, want 11 and 3", cl.NextIndex, len(cl.Clients))
	}
	d.tracking.Synchronized = false
	if tr := get(fb.NewTrackingPacket()).(*fb.ReplyTracking); tr.Stratum != 0 || tr.LeapStatus != 3 {
		t.Errorf("unsynchronised tracking: stratum %d leap %d, want 0 3", tr.Stratum, tr.LeapStatus)
	}
	if _, err := c.Communicate(fb.NewClientAccessesByIndexResetPacket(0, 8, 0)); err == nil {
		t.Error("clients with reset: no error, want FAILED")
	}
}
