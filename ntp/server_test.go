package ntp

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facebook/time/ntp/protocol"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/wire"
	"github.com/gnomon-time/gnomon/ntp/wire/wiretest"
)

// testNow is the receive time of most test requests.
func testNow() time.Time { return time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC) }

const (
	refIDGPS     = 0x47505300
	clientPort   = 40000
	clientTXTime = wire.Time(0xeeaef30a55dcf000) // a transmit timestamp as ntpdig sends
)

var client = netip.AddrPortFrom(netip.MustParseAddr("192.0.2.10"), clientPort)

// syncedState is a stratum 1 GPS server updated 10 s before testNow.
func syncedState() *clock.SyncState {
	return &clock.SyncState{
		Synchronized:   true,
		Leap:           clock.LeapNone,
		Stratum:        1,
		RefID:          refIDGPS,
		RefTime:        testNow().Add(-10 * time.Second),
		RootDelay:      100 * time.Microsecond,
		RootDispersion: 20 * time.Microsecond,
		DispersionRate: 15e-6,
		Precision:      -24,
	}
}

func allowAll(tb testing.TB) *ACL {
	tb.Helper()
	a, err := NewACL(prefixes("0.0.0.0/0", "::/0"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func newServer(tb testing.TB, log *clientlog.Log, mod func(*ServerConfig)) *Server {
	tb.Helper()
	cfg := DefaultServerConfig()
	cfg.ACL = allowAll(tb)
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewServer(cfg, log)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newLog(tb testing.TB, rl clientlog.RateLimit) *clientlog.Log {
	tb.Helper()
	l, err := clientlog.New(clientlog.Config{Clients: 64, RateLimit: rl, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// request builds a 48-byte request.
func request(lvm byte, poll int8, origin, receive, transmit wire.Time) []byte {
	b := make([]byte, wire.HeaderLen)
	h := wire.Header{
		Leap: clock.Leap(lvm >> 6), Version: (lvm >> 3) & 7, Mode: wire.Mode(lvm & 7), Poll: poll, Precision: 32,
		Origin: origin, Receive: receive, Transmit: transmit,
	}
	_ = h.Put(b)
	return b
}

func basicReq() []byte { return request(wiretest.V4Client, 6, 0, 0, clientTXTime) }

func lvm(leap, version, mode byte) byte { return leap<<6 | version<<3 | mode }

func TestRespondRules(t *testing.T) {
	rx := wire.TimeFromTime(testNow())
	refTime := wire.TimeFromTime(testNow().Add(-10 * time.Second))
	denyClient, err := NewACL(prefixes("192.0.2.0/24"), prefixes("192.0.2.10/32"))
	if err != nil {
		t.Fatal(err)
	}
	mappedOnly, err := NewACL(prefixes("192.0.2.0/24"), nil)
	if err != nil {
		t.Fatal(err)
	}
	stWith := func(mod func(*clock.SyncState)) *clock.SyncState { s := syncedState(); mod(s); return s }

	tests := []struct {
		name   string
		cfg    func(*ServerConfig)
		st     *clock.SyncState
		req    []byte
		from   netip.AddrPort
		outLen int
		wantV  Verdict
		check  func(t *testing.T, h wire.Header)
	}{
		// 1. ACL first.
		{name: "denied_without_acl", cfg: func(c *ServerConfig) { c.ACL = nil }, req: basicReq(), wantV: VerdictDenied},
		{name: "denied_by_more_specific_deny", cfg: func(c *ServerConfig) { c.ACL = denyClient }, req: basicReq(), wantV: VerdictDenied},
		{name: "acl_checked_before_length", cfg: func(c *ServerConfig) { c.ACL = nil }, req: []byte{1}, wantV: VerdictDenied},
		{name: "ipv4_mapped_client_allowed_by_v4_prefix", cfg: func(c *ServerConfig) { c.ACL = mappedOnly }, req: basicReq(),
			from: netip.AddrPortFrom(netip.MustParseAddr("::ffff:192.0.2.10"), clientPort), wantV: VerdictServed},
		// 2. Length.
		{name: "empty_request_malformed", req: []byte{}, wantV: VerdictMalformed},
		{name: "47_bytes_malformed", req: basicReq()[:47], wantV: VerdictMalformed},
		{name: "length_not_multiple_of_4_malformed", req: append(basicReq(), 0, 0), wantV: VerdictMalformed},
		// 3. Version.
		{name: "version_0_dropped", req: request(lvm(0, 0, 3), 0, 0, 0, clientTXTime), wantV: VerdictBadVersion},
		{name: "version_5_dropped", req: request(lvm(0, 5, 3), 0, 0, 0, clientTXTime), wantV: VerdictBadVersion},
		{name: "version_6_dropped", req: request(lvm(0, 6, 3), 0, 0, 0, clientTXTime), wantV: VerdictBadVersion},
		{name: "version_7_dropped", req: request(lvm(0, 7, 3), 0, 0, 0, clientTXTime), wantV: VerdictBadVersion},
		{name: "version_1_echoed", req: request(lvm(0, 1, 3), 0, 0, 0, clientTXTime), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) { wantEq(t, "version", h.Version, 1) }},
		{name: "version_2_echoed", req: request(lvm(0, 2, 3), 0, 0, 0, clientTXTime), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) { wantEq(t, "version", h.Version, 2) }},
		{name: "version_3_echoed", req: request(lvm(0, 3, 3), 0, 0, 0, clientTXTime), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) { wantEq(t, "version", h.Version, 3) }},
		{name: "version_4_echoed", req: basicReq(), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) { wantEq(t, "version", h.Version, 4) }},
		// 4. Mode.
		{name: "mode_1_symmetric_active_dropped", req: request(lvm(0, 4, 1), 0, 0, 0, clientTXTime), wantV: VerdictBadMode},
		{name: "mode_2_dropped", req: request(lvm(0, 4, 2), 0, 0, 0, clientTXTime), wantV: VerdictBadMode},
		{name: "mode_4_reply_never_answered", req: request(lvm(0, 4, 4), 0, 0, 0, clientTXTime), wantV: VerdictBadMode},
		{name: "mode_5_broadcast_dropped", req: request(lvm(0, 4, 5), 0, 0, 0, clientTXTime), wantV: VerdictBadMode},
		{name: "mode_6_control_dropped", req: request(lvm(0, 2, 6), 0, 0, 0, 0), wantV: VerdictBadMode},
		{name: "mode_7_private_monlist_dropped", req: request(lvm(0, 2, 7), 0, 0, 0, 0), wantV: VerdictBadMode},
		{name: "mode_0_ntpv1_from_high_port_answered_in_mode_4", req: request(lvm(0, 1, 0), 0, 0, 0, clientTXTime), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) {
				wantEq(t, "mode", h.Mode, wire.ModeServer)
				wantEq(t, "version", h.Version, 1)
			}},
		{name: "mode_0_ntpv1_from_port_123_dropped", req: request(lvm(0, 1, 0), 0, 0, 0, clientTXTime),
			from: netip.AddrPortFrom(client.Addr(), 123), wantV: VerdictBadMode},
		{name: "mode_0_ntpv4_dropped", req: request(lvm(0, 4, 0), 0, 0, 0, clientTXTime), wantV: VerdictBadMode},
		{name: "mode_3_from_port_123_answered", req: basicReq(), from: netip.AddrPortFrom(client.Addr(), 123), wantV: VerdictServed},
		// 5. Extension fields and MACs.
		{name: "unknown_extension_field_ignored", req: append(basicReq(), wiretest.EF(0xF00D, 28, 28)...), wantV: VerdictServed},
		{name: "two_extension_fields_ignored", req: append(append(basicReq(), wiretest.EF(0x0104, 36, 36)...), wiretest.EF(0x0204, 100, 100)...), wantV: VerdictServed},
		{name: "extension_fields_and_mac_no_key", req: append(append(basicReq(), wiretest.EF(0x0104, 36, 36)...), wiretest.MAC(20)...), wantV: VerdictNoKey},
		{name: "legacy_md5_mac_no_key", req: append(basicReq(), wiretest.MAC(20)...), wantV: VerdictNoKey},
		{name: "legacy_sha1_mac_no_key", req: append(basicReq(), wiretest.MAC(24)...), wantV: VerdictNoKey},
		{name: "v3_md5_mac_no_key", req: append(request(wiretest.V3Client, 0, 0, 0, clientTXTime), wiretest.MAC(20)...), wantV: VerdictNoKey},
		{name: "v3_long_mac_no_key", req: append(request(wiretest.V3Client, 0, 0, 0, clientTXTime), wiretest.MAC(68)...), wantV: VerdictNoKey},
		{name: "v3_4_zero_bytes_is_a_mac_no_key", req: append(request(wiretest.V3Client, 0, 0, 0, clientTXTime), 0, 0, 0, 0), wantV: VerdictNoKey},
		{name: "v1_mode_0_with_mac_no_key", req: append(request(lvm(0, 1, 0), 0, 0, 0, clientTXTime), wiretest.MAC(20)...), wantV: VerdictNoKey},
		{name: "crypto_nak_served", req: append(basicReq(), 0, 0, 0, 0), wantV: VerdictServed},
		{name: "mac_checked_after_acl", cfg: func(c *ServerConfig) { c.ACL = nil }, req: append(basicReq(), wiretest.MAC(20)...), wantV: VerdictDenied},
		{name: "mac_checked_after_mode", req: append(request(lvm(0, 4, 4), 0, 0, 0, clientTXTime), wiretest.MAC(20)...), wantV: VerdictBadMode},
		{name: "mac_after_broken_extension_field_malformed", req: append(append(basicReq(), wiretest.EF(1, 28, 12)...), wiretest.MAC(20)...), wantV: VerdictMalformed},
		{name: "extension_field_too_short_malformed", req: append(basicReq(), wiretest.EF(1, 28, 12)...), wantV: VerdictMalformed},
		{name: "extension_field_overruns_packet_malformed", req: append(basicReq(), wiretest.EF(1, 28, 64)...), wantV: VerdictMalformed},
		{name: "stray_trailer_malformed", req: append(basicReq(), make([]byte, 8)...), wantV: VerdictMalformed},
		// Output buffer.
		{name: "output_buffer_too_short", req: basicReq(), outLen: 47, wantV: VerdictShortBuffer},
		{name: "output_buffer_larger_reply_still_48", req: basicReq(), outLen: 1500, wantV: VerdictServed},
		// 7. Reply contents.
		{name: "basic_reply_fields", req: basicReq(), wantV: VerdictServed, check: func(t *testing.T, h wire.Header) {
			wantEq(t, "leap", h.Leap, clock.LeapNone)
			wantEq(t, "mode", h.Mode, wire.ModeServer)
			wantEq(t, "stratum", h.Stratum, 1)
			wantEq(t, "poll", h.Poll, 6)
			wantEq(t, "precision", h.Precision, -24)
			wantEq(t, "refid", h.RefID, refIDGPS)
			wantEq(t, "origin = request transmit", h.Origin, clientTXTime)
			wantEq(t, "receive = rx with bit 0 set", h.Receive, rx|1)
			wantEq(t, "transmit left for wire.PutTransmit", h.Transmit, 0)
			wantEq(t, "reference = last update", h.Reference, refTime)
			// 100 µs = 6.55 units → 7; 20 µs + 15 ppm × 10 s = 170 µs = 11.14 units → 12.
			wantEq(t, "root delay rounded up", h.RootDelay, 7)
			wantEq(t, "root dispersion grown and rounded up", h.RootDispersion, 12)
		}},
		{name: "leap_insert_announced", st: stWith(func(s *clock.SyncState) { s.Leap = clock.LeapInsert }), req: basicReq(), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) { wantEq(t, "leap", h.Leap, clock.LeapInsert) }},
		{name: "leap_delete_announced", st: stWith(func(s *clock.SyncState) { s.Leap = clock.LeapDelete }), req: basicReq(), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) { wantEq(t, "leap", h.Leap, clock.LeapDelete) }},
		{name: "stratum_2_with_ipv4_refid", st: stWith(func(s *clock.SyncState) { s.Stratum = 2; s.RefID = 0xC0000201 }), req: basicReq(), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) {
				wantEq(t, "stratum", h.Stratum, 2)
				wantEq(t, "refid", h.RefID, 0xC0000201)
			}},
		{name: "stratum_16_sent_as_0", st: stWith(func(s *clock.SyncState) { s.Stratum = 16 }), req: basicReq(), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) { wantEq(t, "stratum", h.Stratum, 0) }},
		{name: "unsynchronised_nil_state", st: nil, req: basicReq(), wantV: VerdictServed, check: func(t *testing.T, h wire.Header) {
			wantEq(t, "leap", h.Leap, clock.LeapUnsync)
			wantEq(t, "stratum", h.Stratum, 0)
			wantEq(t, "refid", h.RefID, 0)
			wantEq(t, "reference", h.Reference, 0)
			wantEq(t, "precision from config", h.Precision, -20)
			wantEq(t, "root delay 1 s", h.RootDelay, 0x10000)
			wantEq(t, "root dispersion 1 s", h.RootDispersion, 0x10000)
			wantEq(t, "origin", h.Origin, clientTXTime)
			wantEq(t, "receive", h.Receive, rx|1)
		}},
		{name: "unsynchronised_state", st: clock.Unsynchronised(-22), req: basicReq(), wantV: VerdictServed, check: func(t *testing.T, h wire.Header) {
			wantEq(t, "leap", h.Leap, clock.LeapUnsync)
			wantEq(t, "stratum", h.Stratum, 0)
			wantEq(t, "precision from state", h.Precision, -22)
		}},
		{name: "local_stratum_served_as_synchronised", st: (&clock.Local{Stratum: 10, Precision: -20}).State(testNow().Add(-time.Second)), req: basicReq(), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) {
				wantEq(t, "leap", h.Leap, clock.LeapNone)
				wantEq(t, "stratum", h.Stratum, 10)
				wantEq(t, "refid", h.RefID, clock.RefIDLocal)
			}},
		{name: "root_dispersion_saturates", st: stWith(func(s *clock.SyncState) { s.RootDispersion = 100000 * time.Second }), req: basicReq(), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) { wantEq(t, "root dispersion", h.RootDispersion, 0xFFFFFFFF) }},
		{name: "reference_after_rx_clamped_before_rx", st: stWith(func(s *clock.SyncState) { s.RefTime = testNow().Add(time.Millisecond) }), req: basicReq(), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) {
				if d := h.Reference.Sub(h.Receive); d >= 0 || d < -time.Nanosecond {
					t.Errorf("reference %v not just before receive %v (%v)", h.Reference, h.Receive, d)
				}
			}},
		{name: "poll_echoed_without_rate_limit", req: request(wiretest.V4Client, -4, 0, 0, clientTXTime), wantV: VerdictServed,
			check: func(t *testing.T, h wire.Header) { wantEq(t, "poll", h.Poll, -4) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, nil, tt.cfg)
			st := tt.st
			if st == nil && !strings.HasPrefix(tt.name, "unsynchronised_nil") {
				st = syncedState()
			}
			from := tt.from
			if !from.IsValid() {
				from = client
			}
			outLen := tt.outLen
			if outLen == 0 {
				outLen = 512
			}
			out := make([]byte, outLen)
			n, v := s.Respond(out, tt.req, from, rx, st)
			if v != tt.wantV {
				t.Fatalf("verdict %v, want %v", v, tt.wantV)
			}
			checkInvariants(t, tt.req, out, n, v)
			if tt.check != nil {
				h, err := wire.ParseHeader(out[:n])
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, h)
			}
		})
	}
}

// checkInvariants holds for every Respond call.
func checkInvariants(t *testing.T, req, out []byte, n int, v Verdict) {
	t.Helper()
	if v.Replied() != (n > 0) {
		t.Fatalf("verdict %v with n = %d", v, n)
	}
	if n > len(req) || n > len(out) {
		t.Fatalf("reply of %d bytes to a %d-byte request into %d bytes", n, len(req), len(out))
	}
	if n != 0 && n != wire.HeaderLen {
		t.Fatalf("reply length %d", n)
	}
	if n == 0 {
		return
	}
	if mode := wire.Mode(out[0] & 7); mode != wire.ModeServer {
		t.Fatalf("reply mode %d", mode)
	}
	if rv, qv := (out[0]>>3)&7, (req[0]>>3)&7; rv != qv {
		t.Fatalf("reply version %d to request version %d", rv, qv)
	}
	if wire.ReceiveField(out)&1 != 1 {
		t.Fatalf("receive %v without bit 0", wire.ReceiveField(out))
	}
	if v.NeedsTransmit() != (v != VerdictInterleaved) {
		t.Fatalf("verdict %v NeedsTransmit = %v", v, v.NeedsTransmit())
	}
}

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestRespondPollWithRateLimit(t *testing.T) {
	log := newLog(t, clientlog.RateLimit{Enabled: true, IntervalLog2: 3, Burst: 255, Leak: 2})
	s := newServer(t, log, nil)
	for _, tt := range []struct{ reqPoll, want int8 }{{0, 3}, {-6, 3}, {3, 3}, {6, 6}, {17, 17}} {
		out := make([]byte, wire.HeaderLen)
		n, v := s.Respond(out, request(wiretest.V4Client, tt.reqPoll, 0, 0, clientTXTime), client, wire.TimeFromTime(testNow()), syncedState())
		if v != VerdictServed || n != wire.HeaderLen {
			t.Fatalf("poll %d: %v %d", tt.reqPoll, v, n)
		}
		if got := int8(out[wire.OffPoll]); got != tt.want {
			t.Errorf("request poll %d: reply poll %d, want %d", tt.reqPoll, got, tt.want)
		}
	}
}

// shell is what ntp/serve does around Respond: stamp, "send", record TX.
type shell struct {
	t   *testing.T
	s   *Server
	st  *clock.SyncState
	now time.Time
}

// exchange answers req received at the shell's now; the reply is stamped
// 20 µs later and its "kernel" TX timestamp is 25 µs after rx. The clock
// then advances 1 s.
func (sh *shell) exchange(req []byte) (wire.Header, Verdict, wire.Time) {
	sh.t.Helper()
	rx := wire.TimeFromTime(sh.now)
	out := make([]byte, 128)
	n, v := sh.s.Respond(out, req, client, rx, sh.st)
	checkInvariants(sh.t, req, out, n, v)
	var tx wire.Time
	if v.Replied() {
		if v.NeedsTransmit() {
			wire.PutTransmit(out[:n], wire.TimeFromTime(sh.now.Add(20*time.Microsecond)))
		}
		tx = wire.TimeFromTime(sh.now.Add(25 * time.Microsecond))
		sh.s.RecordTX(client.Addr(), wire.ReceiveField(out[:n]), tx)
	}
	sh.now = sh.now.Add(time.Second)
	h, _ := wire.ParseHeader(out[:max(n, wire.HeaderLen)])
	return h, v, tx
}

func TestInterleavedSequence(t *testing.T) {
	sh := &shell{t: t, s: newServer(t, newLog(t, clientlog.RateLimit{}), nil), st: syncedState(), now: testNow()}
	cookie := func(i uint64) wire.Time { return wire.Time(0x5d1976790000000 + i*0x1000) } // random-looking, even

	// 1. A new client's first request (origin 0): basic; nothing held.
	r1, v, _ := sh.exchange(request(wiretest.V4Client, -4, 0, 0, cookie(1)))
	wantEq(t, "first verdict", v, VerdictServed)
	if r1.Transmit == 0 || r1.Transmit&1 != 0 {
		t.Fatalf("stamped transmit %v", r1.Transmit)
	}

	// 2. xleave request: origin = our receive, receive/transmit = cookies.
	// Reply 1 answered a basic-form request, so nothing was held for it:
	// basic again (as from chronyd, the third reply is the first
	// interleaved one), and this reply's receive field is held.
	r2, v, tx2 := sh.exchange(request(wiretest.V4Client, -4, r1.Receive, cookie(2), cookie(3)))
	wantEq(t, "second verdict", v, VerdictServed)
	wantEq(t, "second origin = request transmit", r2.Origin, cookie(3))

	// 3. Interleaved: origin = request receive, transmit = TX of reply 2.
	req3 := request(wiretest.V4Client, -4, r2.Receive, cookie(4), cookie(5))
	r3, v, tx3 := sh.exchange(req3)
	wantEq(t, "third verdict", v, VerdictInterleaved)
	wantEq(t, "interleaved origin = request receive", r3.Origin, cookie(4))
	wantEq(t, "interleaved transmit = previous TX", r3.Transmit, tx2&^1)
	if r3.Transmit.Sub(r3.Receive) >= 0 {
		t.Errorf("interleaved transmit %v not before receive %v", r3.Transmit, r3.Receive)
	}
	if r3.Reference.Sub(r3.Transmit) >= 0 {
		t.Errorf("reference %v not before transmit %v", r3.Reference, r3.Transmit)
	}

	// 4. Replaying request 3 (same origin): handed out once, basic.
	r4, v, _ := sh.exchange(req3)
	wantEq(t, "replayed verdict", v, VerdictServed)
	wantEq(t, "replayed origin = request transmit", r4.Origin, cookie(5))

	// 5. Quoting reply 3's receive field, though reply 4 is newer: its TX
	// is still held and belongs to exactly that receive field, so the
	// reply is interleaved and correct (RFC 9769 pairs them by Receive).
	r5, v, _ := sh.exchange(request(wiretest.V4Client, -4, r3.Receive, cookie(6), cookie(7)))
	wantEq(t, "older held origin verdict", v, VerdictInterleaved)
	wantEq(t, "older held origin transmit", r5.Transmit, tx3&^1)

	// 6. Stale origins: reply 1's (never held), reply 2's (used).
	for _, o := range []wire.Time{r1.Receive, r2.Receive} {
		_, v, _ = sh.exchange(request(wiretest.V4Client, -4, o, cookie(8), cookie(9)))
		wantEq(t, "stale origin verdict", v, VerdictServed)
	}

	// 7. A foreign origin: another address quoting reply 4's receive field
	// gets a basic reply, and the owner still gets its timestamp.
	other := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.99"), client.Port())
	out := make([]byte, wire.HeaderLen)
	if _, v := sh.s.Respond(out, request(wiretest.V4Client, -4, r4.Receive, cookie(10), cookie(11)), other,
		wire.TimeFromTime(sh.now), sh.st); v != VerdictServed {
		t.Errorf("foreign origin verdict = %v, want served", v)
	}
	_, v, _ = sh.exchange(request(wiretest.V4Client, -4, r4.Receive, cookie(12), cookie(13)))
	wantEq(t, "owner after the foreign origin", v, VerdictInterleaved)
}

// TestInterleavedNAT: two and four chronyd-like xleave associations from
// one address (NAT, or several chronyd instances on one host), polling
// alternately, each get interleaved replies with their own previous
// reply's TX from their third exchange on.
func TestInterleavedNAT(t *testing.T) {
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			sh := &shell{t: t, s: newServer(t, newLog(t, clientlog.RateLimit{}), nil), st: syncedState(), now: testNow()}
			type association struct {
				prevRX, prevTX wire.Time
				replies        int
			}
			as := make([]association, n)
			for i := range 20 * n {
				k := i % n
				a := &as[k]
				c1, c2 := wire.Time(0x7000_0000_0000_0000+uint64(i)<<17), wire.Time(0x7100_0000_0000_0000+uint64(i)<<17)
				r, v, tx := sh.exchange(request(wiretest.V4Client, -4, a.prevRX, c1, c2))
				a.replies++
				if a.replies <= 2 {
					wantEq(t, fmt.Sprintf("association %d reply %d verdict", k, a.replies), v, VerdictServed)
				} else {
					wantEq(t, fmt.Sprintf("association %d reply %d verdict", k, a.replies), v, VerdictInterleaved)
					wantEq(t, fmt.Sprintf("association %d reply %d transmit", k, a.replies), r.Transmit, a.prevTX&^1)
					wantEq(t, fmt.Sprintf("association %d reply %d origin", k, a.replies), r.Origin, c1)
				}
				a.prevRX, a.prevTX = r.Receive, tx
			}
		})
	}
}

func TestInterleavedConditions(t *testing.T) {
	type step struct {
		version  byte
		originFn func(prevRX wire.Time) wire.Time
		receive  wire.Time
		transmit wire.Time
		record   bool // shell records TX for the previous reply
	}
	tests := []struct {
		name  string
		cfg   func(*ServerConfig)
		nilog bool
		other bool // the second request comes from another address
		req   step
		want  Verdict
	}{
		{name: "all_conditions_met", req: step{4, func(p wire.Time) wire.Time { return p }, 11, 12, true}, want: VerdictInterleaved},
		{name: "no_tx_recorded", req: step{4, func(p wire.Time) wire.Time { return p }, 11, 12, false}, want: VerdictServed},
		{name: "version_3", req: step{3, func(p wire.Time) wire.Time { return p }, 11, 12, true}, want: VerdictServed},
		{name: "origin_is_not_our_receive", req: step{4, func(p wire.Time) wire.Time { return p + 2 }, 11, 12, true}, want: VerdictServed},
		{name: "origin_bit0_clear", req: step{4, func(p wire.Time) wire.Time { return p &^ 1 }, 11, 12, true}, want: VerdictServed},
		{name: "receive_equals_transmit", req: step{4, func(p wire.Time) wire.Time { return p }, 12, 12, true}, want: VerdictServed},
		{name: "interleave_disabled", cfg: func(c *ServerConfig) { c.Interleave = false }, req: step{4, func(p wire.Time) wire.Time { return p }, 11, 12, true}, want: VerdictServed},
		{name: "no_client_log", nilog: true, req: step{4, func(p wire.Time) wire.Time { return p }, 11, 12, true}, want: VerdictServed},
		{name: "other_address", other: true, req: step{4, func(p wire.Time) wire.Time { return p }, 11, 12, true}, want: VerdictServed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log *clientlog.Log
			if !tt.nilog {
				log = newLog(t, clientlog.RateLimit{})
			}
			s := newServer(t, log, tt.cfg)
			st := syncedState()
			out := make([]byte, wire.HeaderLen)
			rx1 := wire.TimeFromTime(testNow())
			// The first request in interleaved form (an Origin we never
			// sent), so that its reply's receive field is held.
			n, v := s.Respond(out, request(lvm(0, tt.req.version, 3), 0, 0x101, 5, 7), client, rx1, st)
			if v != VerdictServed {
				t.Fatalf("first: %v", v)
			}
			rxField := wire.ReceiveField(out[:n])
			if tt.req.record {
				s.RecordTX(client.Addr(), rxField, rx1.Add(30*time.Microsecond))
			}
			req := request(lvm(0, tt.req.version, 3), 0, tt.req.originFn(rxField), tt.req.receive, tt.req.transmit)
			from := client
			if tt.other {
				from = netip.AddrPortFrom(netip.MustParseAddr("192.0.2.99"), client.Port())
			}
			n, v = s.Respond(out, req, from, rx1.Add(time.Second), st)
			if v != tt.want {
				t.Fatalf("verdict %v, want %v", v, tt.want)
			}
			checkInvariants(t, req, out, n, v)
		})
	}
}

// TestGoldenChronydXleave replays the captured chronyd xleave requests. The
// Origin of request k+1 is the Receive field we sent in reply to request k,
// so the test answers request k with exactly that receive time.
func TestGoldenChronydXleave(t *testing.T) {
	g := wiretest.Golden(t, "testdata")
	reqs := [][]byte{g["chronyd-xleave-0-basic.bin"], g["chronyd-xleave-1.bin"], g["chronyd-xleave-2.bin"]}
	s := newServer(t, newLog(t, clientlog.RateLimit{}), nil)
	st := syncedState()
	origin := func(b []byte) wire.Time { h, _ := wire.ParseHeader(b); return h.Origin }
	// Request 0 is in basic form, so nothing is held for its reply and
	// request 1 (the first in interleaved form) gets a basic reply too;
	// request 2 is the first interleaved one, as from chronyd.
	want := []Verdict{VerdictServed, VerdictServed, VerdictInterleaved}
	var prevTX wire.Time
	for i := range 3 {
		rx := origin(reqs[min(i+1, 2)]) + wire.Time(max(i-1, 0))<<32 // odd: our receive field had bit 0 set
		st.RefTime = rx.Time(time.Unix(wire.DefaultEraPivot, 0)).Add(-time.Second)
		out := make([]byte, wire.HeaderLen)
		n, v := s.Respond(out, reqs[i], client, rx, st)
		if v != want[i] {
			t.Fatalf("request %d: verdict %v, want %v", i, v, want[i])
		}
		checkInvariants(t, reqs[i], out, n, v)
		h, _ := wire.ParseHeader(out)
		wantEq(t, "receive field", h.Receive, rx)
		if v == VerdictInterleaved {
			q, _ := wire.ParseHeader(reqs[i])
			wantEq(t, "origin", h.Origin, q.Receive)
			wantEq(t, "transmit", h.Transmit, prevTX&^1)
		}
		prevTX = rx.Add(40 * time.Microsecond)
		if stored := s.RecordTX(client.Addr(), wire.ReceiveField(out), prevTX); stored != (i > 0) {
			t.Fatalf("request %d: RecordTX stored = %v, want %v (only for interleaved-form requests)", i, stored, i > 0)
		}
	}
}

func TestKoDAndRateLimit(t *testing.T) {
	rl := clientlog.RateLimit{Enabled: true, IntervalLog2: 4, Burst: 1, Leak: 4, KoD: 1}
	s := newServer(t, newLog(t, rl), nil)
	st := syncedState()
	counts := make([]int, NumVerdicts)
	rx := wire.TimeFromTime(testNow())
	var lastRX wire.Time
	const n = 400
	for i := range n {
		// A chronyd xleave client polling every 10 ms, far faster than
		// the allowed 1/16 s, always quoting our latest receive field.
		tx := clientTXTime + wire.Time(2*i)
		req := request(wiretest.V4Client, 0, lastRX, wire.Time(0x1234567800000000)+wire.Time(i), tx)
		out := make([]byte, wire.HeaderLen)
		now := rx.Add(time.Duration(i) * 10 * time.Millisecond)
		m, v := s.Respond(out, req, client, now, st)
		checkInvariants(t, req, out, m, v)
		counts[v]++
		if !v.Replied() {
			continue
		}
		h, _ := wire.ParseHeader(out)
		lastRX = h.Receive
		s.RecordTX(client.Addr(), h.Receive, now.Add(20*time.Microsecond))
		wantEq(t, "poll raised to the rate-limit interval", h.Poll, 4)
		if v == VerdictKoDRate {
			wantEq(t, "kod leap", h.Leap, clock.LeapUnsync)
			wantEq(t, "kod stratum", h.Stratum, 0)
			wantEq(t, "kod refid", h.RefID, uint32(wire.KissRATE))
			wantEq(t, "kod origin = request transmit (never interleaved)", h.Origin, tx)
			wantEq(t, "kod transmit left for stamping", h.Transmit, 0)
		}
	}
	answered := counts[VerdictServed] + counts[VerdictInterleaved]
	t.Logf("verdicts over %d requests: served %d, interleaved %d, kod %d, dropped %d", n,
		counts[VerdictServed], counts[VerdictInterleaved], counts[VerdictKoDRate], counts[VerdictRateLimited])
	// 4 s of requests at one per 16 s allowed: the first conforms, the rest
	// are over the limit; of those 1/16 leak (answered) and half of the
	// others get a KoD. The bounds fail with probability < 1e-9.
	if answered < 1 || answered > 70 {
		t.Errorf("answered %d, want 1..70", answered)
	}
	if counts[VerdictKoDRate] < 120 || counts[VerdictKoDRate] > 260 {
		t.Errorf("kod %d, want 120..260", counts[VerdictKoDRate])
	}
	if counts[VerdictRateLimited] < 120 || counts[VerdictRateLimited] > 260 {
		t.Errorf("rate_limited %d, want 120..260", counts[VerdictRateLimited])
	}
	if got := answered + counts[VerdictKoDRate] + counts[VerdictRateLimited]; got != n {
		t.Errorf("other verdicts: %v", counts)
	}
}

func TestRateLimitWithoutKoDNeverSendsKoD(t *testing.T) {
	rl := clientlog.RateLimit{Enabled: true, IntervalLog2: 4, Burst: 1, Leak: 2}
	s := newServer(t, newLog(t, rl), nil)
	rx := wire.TimeFromTime(testNow())
	counts := make([]int, NumVerdicts)
	for i := range 200 {
		out := make([]byte, wire.HeaderLen)
		_, v := s.Respond(out, basicReq(), client, rx.Add(time.Duration(i)*time.Millisecond), syncedState())
		counts[v]++
	}
	if counts[VerdictKoDRate] != 0 {
		t.Errorf("KoD sent %d times with kod 0", counts[VerdictKoDRate])
	}
	if counts[VerdictRateLimited] == 0 || counts[VerdictServed] == 0 {
		t.Errorf("verdicts %v: want both served and rate_limited", counts)
	}
}

// TestNoKeyNeverReachesClientLog sends MAC requests far over the rate limit:
// each is dropped as no_key (never a KoD, never a reply) and the client log
// records none of them, so they cannot use up a client's rate either.
func TestNoKeyNeverReachesClientLog(t *testing.T) {
	rl := clientlog.RateLimit{Enabled: true, IntervalLog2: 4, Burst: 1, Leak: 4, KoD: 1}
	log := newLog(t, rl)
	s := newServer(t, log, nil)
	rx := wire.TimeFromTime(testNow())
	reqs := [][]byte{
		append(basicReq(), wiretest.MAC(20)...),
		append(append(basicReq(), wiretest.EF(0x0104, 36, 36)...), wiretest.MAC(24)...),
		append(request(wiretest.V3Client, 0, 0, 0, clientTXTime), wiretest.MAC(20)...),
	}
	for i := range 300 {
		req := reqs[i%len(reqs)]
		out := make([]byte, wire.HeaderLen)
		n, v := s.Respond(out, req, client, rx.Add(time.Duration(i)*time.Millisecond), syncedState())
		if v != VerdictNoKey {
			t.Fatalf("request %d: verdict %v, want no_key", i, v)
		}
		checkInvariants(t, req, out, n, v)
		if !bytes.Equal(out, make([]byte, wire.HeaderLen)) {
			t.Fatalf("request %d: output written for a dropped request", i)
		}
	}
	if st := log.Stats(); st.Hits != 0 || st.Clients != 0 {
		t.Errorf("client log saw no_key requests: %+v", st)
	}
	// The same client without a MAC is then served: its rate is untouched.
	out := make([]byte, wire.HeaderLen)
	if _, v := s.Respond(out, basicReq(), client, rx.Add(time.Second), syncedState()); v != VerdictServed {
		t.Errorf("first request without a MAC: %v, want served", v)
	}
}

func TestGoldenRequests(t *testing.T) {
	want := map[string]Verdict{
		"beevik-v3.bin":              VerdictServed,
		"beevik-v4.bin":              VerdictServed,
		"beevik-v5.bin":              VerdictBadVersion,
		"chronyd-q-basic.bin":        VerdictServed,
		"chronyd-xleave-0-basic.bin": VerdictServed,
		"chronyd-xleave-1.bin":       VerdictServed, // no previous reply from this server: basic
		"chronyd-xleave-2.bin":       VerdictServed,
		"ntpdig.bin":                 VerdictServed,
		"ntpdig-mac-md5.bin":         VerdictNoKey, // ntpdig -a: we have no keys
		"ntpdig-mac-sha1.bin":        VerdictNoKey,
	}
	g := wiretest.Golden(t, "testdata")
	for name := range g {
		if _, ok := want[name]; !ok {
			t.Errorf("golden file %s has no expectation", name)
		}
	}
	for name, v := range want {
		t.Run(name, func(t *testing.T) {
			req, ok := g[name]
			if !ok {
				t.Fatalf("missing testdata/%s", name)
			}
			s := newServer(t, newLog(t, clientlog.RateLimit{}), nil)
			out := make([]byte, 1500)
			rx := wire.TimeFromTime(testNow())
			n, got := s.Respond(out, req, client, rx, syncedState())
			if got != v {
				t.Fatalf("verdict %v, want %v", got, v)
			}
			checkInvariants(t, req, out, n, got)
			if !got.Replied() {
				return
			}
			wire.PutTransmit(out[:n], rx.Add(10*time.Microsecond))
			// Cross-check the reply with facebook/time's decoder.
			p, err := protocol.BytesToPacket(out[:n])
			if err != nil {
				t.Fatal(err)
			}
			q, _ := protocol.BytesToPacket(req[:wire.HeaderLen])
			if p.Settings&7 != 4 || (p.Settings>>3)&7 != (q.Settings>>3)&7 {
				t.Errorf("settings %#x for request %#x", p.Settings, q.Settings)
			}
			if p.OrigTimeSec != q.TxTimeSec || p.OrigTimeFrac != q.TxTimeFrac {
				t.Errorf("origin %08x.%08x, request transmit %08x.%08x", p.OrigTimeSec, p.OrigTimeFrac, q.TxTimeSec, q.TxTimeFrac)
			}
			recv := protocol.Unix(p.RxTimeSec, p.RxTimeFrac)
			xmit := protocol.Unix(p.TxTimeSec, p.TxTimeFrac)
			if d := recv.Sub(testNow()); d < 0 || d > time.Nanosecond {
				t.Errorf("receive %v, want %v", recv, testNow())
			}
			if d := xmit.Sub(recv); d < 9*time.Microsecond || d > 11*time.Microsecond {
				t.Errorf("transmit − receive = %v, want 10µs", d)
			}
			if p.Stratum != 1 || p.ReferenceID != refIDGPS || p.Precision != -24 {
				t.Errorf("stratum %d refid %#x precision %d", p.Stratum, p.ReferenceID, p.Precision)
			}
		})
	}
}

func TestSetACL(t *testing.T) {
	s := newServer(t, nil, func(c *ServerConfig) { c.ACL = nil })
	out := make([]byte, wire.HeaderLen)
	if _, v := s.Respond(out, basicReq(), client, 1, nil); v != VerdictDenied {
		t.Fatalf("before SetACL: %v", v)
	}
	s.SetACL(allowAll(t))
	if _, v := s.Respond(out, basicReq(), client, 1, nil); v != VerdictServed {
		t.Fatalf("after SetACL: %v", v)
	}
	if s.ACL() == nil {
		t.Error("ACL() nil after SetACL")
	}
	s.SetACL(nil)
	if _, v := s.Respond(out, basicReq(), client, 1, nil); v != VerdictDenied {
		t.Fatalf("after SetACL(nil): %v", v)
	}
}

func TestServerConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*ServerConfig)
		wantErr string
	}{
		{"defaults_ok", func(*ServerConfig) {}, ""},
		{"precision_positive", func(c *ServerConfig) { c.Precision = 1 }, "precision = 1"},
		{"precision_too_fine", func(c *ServerConfig) { c.Precision = -33 }, "precision = -33"},
		{"era_pivot_in_1900", func(c *ServerConfig) { c.EraPivot = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC) }, "era_pivot = 1900-01-01T00:00:00Z"},
		{"all_problems_reported", func(c *ServerConfig) { c.Precision = 5; c.EraPivot = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC) }, "precision = 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultServerConfig()
			tt.mod(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
			if _, err := NewServer(c, newLog(t, clientlog.RateLimit{})); err == nil {
				t.Error("NewServer accepted an invalid config")
			}
		})
	}
}

func TestVerdictStrings(t *testing.T) {
	seen := map[string]bool{}
	for v := range Verdict(NumVerdicts) {
		s := v.String()
		if s == "" || strings.ToLower(s) != s || strings.ContainsAny(s, " -") || strings.HasPrefix(s, "verdict_") {
			t.Errorf("verdict %d has name %q", v, s)
		}
		if seen[s] {
			t.Errorf("duplicate name %q", s)
		}
		seen[s] = true
	}
	if got := Verdict(NumVerdicts).String(); got != "verdict_"+strconv.Itoa(NumVerdicts) {
		t.Errorf("out of range String = %q", got)
	}
}

// TestRespondAcrossEraRollover serves a request received 2 s after the 2036
// rollover from a state last updated 8 s before it.
func TestRespondAcrossEraRollover(t *testing.T) {
	era1Start := time.Date(2036, time.February, 7, 6, 28, 16, 0, time.UTC) // first instant of NTP era 1
	s := newServer(t, newLog(t, clientlog.RateLimit{}), nil)
	st := syncedState()
	st.RefTime = era1Start.Add(-8 * time.Second)
	st.RootDispersion = 0
	st.DispersionRate = 1e-3 // 1 ms/s: 10 ms after 10 s
	rx := wire.TimeFromTime(era1Start.Add(2 * time.Second))
	if rx.Seconds() != 2 {
		t.Fatalf("rx seconds %d, want 2 (era 1)", rx.Seconds())
	}
	out := make([]byte, wire.HeaderLen)
	n, v := s.Respond(out, basicReq(), client, rx, st)
	if v != VerdictServed {
		t.Fatalf("verdict %v", v)
	}
	checkInvariants(t, basicReq(), out, n, v)
	h, _ := wire.ParseHeader(out)
	wantEq(t, "reference in era 0", h.Reference, wire.TimeFromTime(era1Start.Add(-8*time.Second)))
	if d := h.Receive.Sub(h.Reference); d != 10*time.Second {
		t.Errorf("receive − reference = %v, want 10s", d)
	}
	// 10 ms = 655.36 units → 656.
	wantEq(t, "root dispersion grown over the rollover", h.RootDispersion, 656)
}
