package ptp_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ptp"
)

// mcServer is a grandmaster configured as the golden captures' ptp4l
// multicast master (logSyncInterval −3, logAnnounceInterval 0,
// logMinDelayReqInterval −3).
func mcServer(t *testing.T) *ptp.Server {
	t.Helper()
	s, err := ptp.NewServer(ptp.Config{Identity: 0x0200_00ff_fe00_0001, Priority1: 128, Priority2: 128, Limits: ptp.DefaultLimits(),
		Allow:     []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")},
		Multicast: ptp.Multicast{LogSync: -3, LogAnnounce: 0, LogMinDelayReq: -3}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// gnomon's multicast messages carry what ptp4l's multicast master sent
// (first flag octet, controlField, logMessageInterval, length); the second
// flag octet is the timescale, which differs by design (ptp4l announced
// ARB).
func TestMulticastMatchesPtp4l(t *testing.T) {
	s := mcServer(t)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	q := ptp.QualityOf(&clock.SyncState{Synchronized: true, UTCOffset: 37, UTCOffsetValid: true})
	for _, c := range []struct {
		golden string
		write  func(out []byte) int
	}{
		{"ptp4l-multicast-sync.hex", func(out []byte) int { return s.AppendMulticastSync(out, 7, now, 37) }},
		{"ptp4l-multicast-followup.hex", func(out []byte) int { return s.AppendMulticastFollowUp(out, 7, now, 37) }},
		{"ptp4l-multicast-announce.hex", func(out []byte) int { return s.AppendMulticastAnnounce(out, q, 7, now) }},
	} {
		want := header(t, decode[protocol.Packet](t, c.golden))
		out := make([]byte, ptp.MaxMessageLen)
		p, err := protocol.DecodePacket(out[:c.write(out)])
		if err != nil {
			t.Fatalf("%s: ours does not decode: %v", c.golden, err)
		}
		got := header(t, p)
		if got.MessageType() != want.MessageType() || got.MessageLength != want.MessageLength ||
			got.FlagField>>8 != want.FlagField>>8 || got.ControlField != want.ControlField ||
			got.LogMessageInterval != want.LogMessageInterval || got.SequenceID != 7 {
			t.Errorf("%s: ours %+v\nptp4l's %+v", c.golden, got, want)
		}
		if got.FlagField&protocol.FlagUnicast != 0 {
			t.Errorf("%s: unicast flag set", c.golden)
		}
	}
	if got := s.MulticastInterval(protocol.MessageSync); got != 125*time.Millisecond {
		t.Errorf("Sync interval %v, want 125ms", got)
	}
	if got := s.MulticastInterval(protocol.MessageAnnounce); got != time.Second {
		t.Errorf("Announce interval %v, want 1s", got)
	}
}

// ptp4l's multicast Delay_Req, sent to the group from port 319, is answered
// to the group's general port with logMessageInterval =
// logMinDelayReqInterval, as ptp4l's master answered it; sent to a unicast
// address or from another port, it is answered to the sender.
func TestMulticastDelayResp(t *testing.T) {
	s := mcServer(t)
	req := golden(t, "ptp4l-multicast-delayreq.hex")
	want := header(t, decode[*protocol.DelayResp](t, "ptp4l-multicast-delayresp.hex"))
	out := make([]byte, ptp.MaxMessageLen)
	rx := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct{ from, local, to string }{
		{"10.0.0.2:319", "224.0.1.129", "224.0.1.129:320"},
		{"[2001:db8::2]:319", "ff0e::181", "[ff0e::181]:320"},
		{"10.0.0.2:319", "10.0.0.1", "10.0.0.2:320"},
		{"10.0.0.2:40000", "224.0.1.129", "10.0.0.2:40000"},
	} {
		ev, v := s.HandleEventTo(req, netip.MustParseAddrPort(c.from), netip.MustParseAddr(c.local), rx, 37, out)
		if v != ptp.VerdictAnswered || ev.Kind != ptp.EventDelayResp || ev.To != netip.MustParseAddrPort(c.to) {
			t.Errorf("%s → %s: %v %+v, want a Delay_Resp to %s", c.from, c.local, v, ev, c.to)
			continue
		}
		got := header(t, decode2(t, out[:ev.N]))
		if got.FlagField != want.FlagField || got.LogMessageInterval != want.LogMessageInterval || got.ControlField != want.ControlField {
			t.Errorf("%s: Delay_Resp flags %#x log %d control %d, ptp4l's %#x %d %d", c.from, got.FlagField,
				int8(got.LogMessageInterval), got.ControlField, want.FlagField, int8(want.LogMessageInterval), want.ControlField)
		}
	}
}

func decode2(t *testing.T, b []byte) protocol.Packet {
	t.Helper()
	p, err := protocol.DecodePacket(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ptp4l's multicast Announce arriving at gnomon's general port is foreign:
// not obeyed, no reply, and its fields are reported as the facebook/time
// decoder reads them.
func TestForeignAnnounce(t *testing.T) {
	s := mcServer(t)
	pkt := golden(t, "ptp4l-multicast-announce.hex")
	a := decode[*protocol.Announce](t, "ptp4l-multicast-announce.hex")
	out := make([]byte, ptp.MaxMessageLen)
	r, v := s.HandleGeneral(pkt, netip.MustParseAddrPort("10.0.0.9:320"), 0, time.Unix(1e9, 0), out)
	if v != ptp.VerdictForeign || r.N != 0 {
		t.Fatalf("%v, reply %d bytes; want foreign, none", v, r.N)
	}
	want := ptp.ForeignAnnounce{Valid: true, Source: a.SourcePortIdentity, Grandmaster: a.GrandmasterIdentity,
		Priority1: a.GrandmasterPriority1, Priority2: a.GrandmasterPriority2,
		ClockClass: uint8(a.GrandmasterClockQuality.ClockClass), StepsRemoved: a.StepsRemoved}
	if r.Foreign != want {
		t.Errorf("foreign %+v, want %+v", r.Foreign, want)
	}
	if want.Priority1 != 1 || want.ClockClass != 6 {
		t.Errorf("golden announce: priority1 %d class %d, want the capture config's 1 and 6", want.Priority1, want.ClockClass)
	}
	// A Follow_Up is foreign too but is no Announce.
	r, v = s.HandleGeneral(golden(t, "ptp4l-multicast-followup.hex"), netip.MustParseAddrPort("10.0.0.9:320"), 0, time.Unix(1e9, 0), out)
	if v != ptp.VerdictForeign || r.Foreign.Valid {
		t.Errorf("Follow_Up: %v foreign %+v", v, r.Foreign)
	}
	// A truncated Announce (messageLength 40) is still noted, without a body.
	short := append([]byte(nil), pkt[:40]...)
	short[2], short[3] = 0, 40
	r, v = s.HandleGeneral(short, netip.MustParseAddrPort("10.0.0.9:320"), 0, time.Unix(1e9, 0), out)
	if v != ptp.VerdictForeign || r.Foreign != (ptp.ForeignAnnounce{Valid: true, Source: a.SourcePortIdentity}) {
		t.Errorf("short Announce: %v %+v", v, r.Foreign)
	}
}

func TestMulticastConfigValidate(t *testing.T) {
	for _, m := range []ptp.Multicast{{LogSync: -8}, {LogAnnounce: 31}, {LogMinDelayReq: -128}} {
		_, err := ptp.NewServer(ptp.Config{Identity: 1, Limits: ptp.DefaultLimits(), Multicast: m})
		if err == nil {
			t.Errorf("%+v accepted", m)
		}
	}
	if g := ptp.Group(false).String(); g != "224.0.1.129" {
		t.Errorf("IPv4 group %s", g)
	}
	if g := ptp.Group(true).String(); g != "ff0e::181" {
		t.Errorf("IPv6 group %s", g)
	}
}
