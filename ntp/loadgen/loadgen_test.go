package loadgen

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gnomon-time/gnomon/ntp/wire"
)

// run builds and runs a generator with small, fast defaults. Tests bound
// their runs by request count, with a long duration as the backstop, so
// that a starved CI machine (the process descheduled for a second) changes
// timings but not counts.
func run(t *testing.T, cfg Config) *Result {
	t.Helper()
	if cfg.Duration == 0 {
		cfg.Duration = 20 * time.Second
	}
	if cfg.Count == 0 && cfg.Duration == 20*time.Second {
		cfg.Count = 400
	}
	if cfg.Clients == 0 {
		cfg.Clients = 4
	}
	if cfg.Drain == 0 {
		cfg.Drain = 2 * time.Second // ends early once every request is answered
	}
	if cfg.Workers == 0 {
		// One busy-polling worker leaves a P free for the in-process fake
		// responder (workers hold their P while they poll).
		cfg.Workers = 1
	}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Count > 0 && res.Sent != cfg.Count {
		t.Fatalf("sent %d requests, want count %d", res.Sent, cfg.Count)
	}
	return res
}

func TestCountsAndRate(t *testing.T) {
	const rate, count = 4000, 1000
	var res *Result
	exactly(t, func(t *testing.T) string {
		f := startFake(t, &fakeServer{})
		res = run(t, Config{Server: f.addr, Rate: rate, Count: count})
		// Every request reached the responder and every reply came back.
		if got := f.requests.Load(); got != res.Sent || res.Received != res.Sent || res.Valid != res.Sent ||
			res.Lost != 0 || res.Invalid != 0 {
			return fmt.Sprintf("responder saw %d requests; sent %d received %d valid %d lost %d invalid %d",
				got, res.Sent, res.Received, res.Valid, res.Lost, res.Invalid)
		}
		return ""
	})
	// Paced: the n-th request cannot leave before n/rate. (No upper bound:
	// a descheduled generator is slower, and says so in Skipped.)
	if min := time.Duration(float64(count-1) / rate * float64(time.Second)); res.SendWindow < min {
		t.Errorf("sent %d requests in %v, faster than %d/s allows (%v)", count, res.SendWindow, rate, min)
	}
	if res.RTT.Count() != res.Valid {
		t.Errorf("RTT samples %d, valid %d", res.RTT.Count(), res.Valid)
	}
	if res.RTT.Min() <= 0 || res.RTT.Max() > 20*time.Second {
		t.Errorf("RTT min %v max %v out of range", res.RTT.Min(), res.RTT.Max())
	}
	if res.UserRxStamps != 0 {
		t.Errorf("%d replies without kernel RX stamps", res.UserRxStamps)
	}
}

func TestBoundedByDuration(t *testing.T) {
	f := startFake(t, &fakeServer{})
	const rate, d = 1000, 300 * time.Millisecond
	t0 := time.Now()
	res := run(t, Config{Server: f.addr, Rate: rate, Duration: d, Drain: 100 * time.Millisecond})
	el := time.Since(t0)
	// The token schedule never runs ahead of rate × elapsed.
	if max := uint64(rate*d.Seconds()) + 1; res.Sent > max {
		t.Errorf("sent %d in %v at %d/s, more than %d", res.Sent, d, rate, max)
	}
	if el > d+100*time.Millisecond+3*time.Second {
		t.Errorf("run took %v, want about %v", el, d+100*time.Millisecond)
	}
}

func TestLossDetection(t *testing.T) {
	var res *Result
	exactly(t, func(t *testing.T) string {
		f := startFake(t, &fakeServer{dropEvery: 10})
		res = run(t, Config{Server: f.addr, Rate: 3000, Count: 1000})
		if f.requests.Load() != res.Sent || res.Lost != f.dropped.Load() || res.Received != f.answered.Load() {
			return fmt.Sprintf("sent %d lost %d received %d; responder saw %d, dropped %d, answered %d",
				res.Sent, res.Lost, res.Received, f.requests.Load(), f.dropped.Load(), f.answered.Load())
		}
		return ""
	})
	if res.Lost != 100 {
		t.Errorf("lost %d of 1000 with every 10th dropped, want 100", res.Lost)
	}
	if want := 10.0; math.Abs(res.LossPct-want) > 1e-9 {
		t.Errorf("loss %.3f %%, want %.3f %%", res.LossPct, want)
	}
}

func TestInvalidDetection(t *testing.T) {
	tests := []struct {
		name   string
		mangle func(b []byte)
		reason Reason
		lost   bool // unmatched: counts as lost as well
	}{
		{"origin", func(b []byte) { b[wire.OffOrigin+7] ^= 0x55 }, ReasonOrigin, true},
		{"mode", func(b []byte) { b[0] = b[0]&^7 | 5 }, ReasonMode, false},
		{"version", func(b []byte) { b[0] = b[0]&^0x38 | 3<<3 }, ReasonVersion, false},
		{"stratum16", func(b []byte) { b[1] = 16 }, ReasonStratum, false},
		{"alarm", func(b []byte) { b[0] |= 0xC0 }, ReasonLeap, false},
		{"kod", func(b []byte) { b[1] = 0; b[0] |= 0xC0; copy(b[12:16], "RATE") }, ReasonKoD, false},
		{"zero_transmit", func(b []byte) { clear(b[wire.OffTransmit:]) }, ReasonZeroTime, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res *Result
			var m uint64
			exactly(t, func(t *testing.T) string {
				f := startFake(t, &fakeServer{mangleEvery: 5, mangle: tt.mangle})
				res = run(t, Config{Server: f.addr, Rate: 2000, Count: 500})
				m = f.mangled.Load()
				var read uint64
				for _, c := range res.Reasons {
					read += c
				}
				if f.requests.Load() != res.Sent || read != f.answered.Load() {
					return fmt.Sprintf("sent %d, responder saw %d and answered %d, generator read %d",
						res.Sent, f.requests.Load(), f.answered.Load(), read)
				}
				return ""
			})
			if m != 100 {
				t.Fatalf("responder mangled %d of 500 replies, want 100", m)
			}
			if got := res.Reasons[tt.reason.String()]; got != m {
				t.Errorf("reason %s counted %d, responder mangled %d (reasons %v)", tt.reason, got, m, res.Reasons)
			}
			if got := res.Valid; got != res.Sent-m {
				t.Errorf("valid %d, want %d", got, res.Sent-m)
			}
			wantLost := uint64(0)
			if tt.lost {
				wantLost = m
			}
			if res.Lost != wantLost {
				t.Errorf("lost %d, want %d", res.Lost, wantLost)
			}
			if tt.reason == ReasonKoD && (res.KoD != m || res.Invalid != 0) {
				t.Errorf("kod %d invalid %d, want %d and 0", res.KoD, res.Invalid, m)
			}
			if tt.reason != ReasonKoD && res.Invalid != m {
				t.Errorf("invalid %d, want %d", res.Invalid, m)
			}
		})
	}
}

func TestGarbageReplies(t *testing.T) {
	tests := []struct {
		name   string
		reply  func(req []byte) []byte
		reason Reason
	}{
		{"short", func([]byte) []byte { return []byte{0x24, 1, 2} }, ReasonShort},
		{"empty", func([]byte) []byte { return nil }, ReasonShort},
		{"long", func(req []byte) []byte {
			b := make([]byte, 68)
			b[0], b[1] = 0x24, 1
			copy(b[wire.OffOrigin:], req[wire.OffTransmit:wire.OffTransmit+8])
			return b
		}, ReasonLong},
		{"echo", func(req []byte) []byte { return append([]byte(nil), req...) }, ReasonOrigin}, // origin 0: not ours
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exactly(t, func(t *testing.T) string {
				// A "long" reply carries our cookie and answers its request.
				// The others answer nothing, so each is followed by the valid
				// reply to the same request: the drain then ends as soon as
				// every request is answered instead of running out its time,
				// and whatever the responder sent has been read.
				matches := tt.reason == ReasonLong
				f := startFake(t, &fakeServer{reply: tt.reply, thenValid: !matches})
				res := run(t, Config{Server: f.addr, Rate: 2000, Count: 200, Drain: MaxDrain})
				garbage, answered := f.custom.Load(), f.answered.Load()
				want := map[string]uint64{tt.reason.String(): garbage}
				if !matches {
					want[ReasonValid.String()] = answered
				}
				if d := cmp.Diff(want, res.Reasons); d != "" || res.RTT.Count() != res.Valid {
					return fmt.Sprintf("reasons (-want +got):\n%s\nrtt samples %d, valid %d", d, res.RTT.Count(), res.Valid)
				}
				if garbage != res.Sent || answered != res.Sent || res.Lost != 0 {
					return fmt.Sprintf("responder answered %d of %d requests (%d garbage datagrams), generator lost %d",
						answered, res.Sent, garbage, res.Lost)
				}
				return ""
			})
		})
	}
}

func TestDuplicatesAreLate(t *testing.T) {
	exactly(t, func(t *testing.T) string {
		// Every reply but the last is sent twice, back to back. The drain
		// ends as soon as every request is answered, so a duplicate of the
		// last reply could arrive after it and would not be counted: there
		// is none, and every duplicate precedes the last reply.
		const count = 400
		f := startFake(t, &fakeServer{dupFirst: count - 1})
		res := run(t, Config{Server: f.addr, Rate: 2000, Count: count})
		if res.Valid != f.answered.Load() || res.Late != f.dups.Load() || res.Invalid != 0 || res.Lost != 0 {
			return fmt.Sprintf("sent %d valid %d late %d invalid %d lost %d; responder answered %d and sent %d duplicates",
				res.Sent, res.Valid, res.Late, res.Invalid, res.Lost, f.answered.Load(), f.dups.Load())
		}
		if f.dups.Load() != count-1 {
			t.Fatalf("responder sent %d duplicates, want %d", f.dups.Load(), count-1)
		}
		return ""
	})
}

func TestRTTAtLeastServerDelay(t *testing.T) {
	const delay = 2 * time.Millisecond
	f := startFake(t, &fakeServer{delay: delay})
	res := run(t, Config{Server: f.addr, Rate: 100, Count: 20, Clients: 1})
	if res.Valid == 0 {
		t.Fatal("no valid replies")
	}
	// A reply cannot arrive before the responder's sleep ends; the RTT is
	// measured on one clock, so this bound holds whatever the machine load.
	if res.RTT.Min() < delay {
		t.Errorf("min RTT %v below the responder's %v delay", res.RTT.Min(), delay)
	}
	if q := res.RTT.Quantile(0.5); q < delay || q > res.RTT.Max() {
		t.Errorf("p50 %v outside [%v, max %v]", q, delay, res.RTT.Max())
	}
}

func TestInterleaved(t *testing.T) {
	var res *Result
	exactly(t, func(t *testing.T) string {
		f := startFake(t, &fakeServer{xleave: true})
		res = run(t, Config{Server: f.addr, Rate: 2000, Xleave: true, Count: 1000})
		if res.Valid != res.Sent || res.Lost != 0 || res.Interleaved != f.interleaved.Load() {
			return fmt.Sprintf("sent %d valid %d lost %d interleaved %d; responder sent %d interleaved replies",
				res.Sent, res.Valid, res.Lost, res.Interleaved, f.interleaved.Load())
		}
		return ""
	})
	if res.Interleaved == 0 {
		t.Errorf("no interleaved replies")
	}
	// Only the first request(s) of each socket go out before any reply.
	if res.Interleaved < res.Sent/2 {
		t.Errorf("only %d of %d replies interleaved", res.Interleaved, res.Sent)
	}

	// Many requests in flight on one socket (batches of several at
	// 20,000/s): each continues an association of its own, so a server
	// that hands each pair out once still answers nearly all interleaved
	// (a generator echoing the last Receive in every request of a batch
	// got 13 % from gnomond at 100,000/s).
	// Each association starts with one or two basic replies (a first
	// request has no Origin, so the server holds nothing for the second),
	// and a socket starts as many as it has requests in flight: 90–95 %
	// interleaved here (89.7 % under -race, which slows the fake), 21 %
	// with the old generator. A stall of the fake (a loaded machine: the
	// CI's parallel -race packages) puts more requests in flight, each
	// starting an association: 72.7 % once. So the share is re-measured,
	// at most interleaveAttempts times, before it is judged.
	const interleaveAttempts = 3
	for attempt := 1; ; attempt++ {
		exactly(t, func(t *testing.T) string {
			f := startFake(t, &fakeServer{xleave: true})
			res = run(t, Config{Server: f.addr, Rate: 20000, Xleave: true, Count: 4000, Clients: 1})
			if res.Valid != res.Sent || res.Lost != 0 {
				return fmt.Sprintf("20k/s: sent %d valid %d lost %d", res.Sent, res.Valid, res.Lost)
			}
			return ""
		})
		if res.Interleaved >= res.Sent*75/100 || attempt == interleaveAttempts || t.Failed() {
			break
		}
		t.Logf("attempt %d: %d of %d replies interleaved (< 75 %%), %d eligible: measuring again", attempt, res.Interleaved, res.Sent, res.XleaveEligible)
	}
	if res.Interleaved < res.Sent*75/100 {
		t.Errorf("20k/s on one socket: only %d of %d replies interleaved, want ≥ 75 %%", res.Interleaved, res.Sent)
	}
	// Every eligible request got an interleaved answer from this server,
	// and the requests that were not eligible (sent while no unechoed
	// reply was at hand) got basic ones.
	if res.XleaveEligibleInterleaved != res.XleaveEligible || res.XleaveEligible > res.Interleaved ||
		res.XleaveEligible < res.Sent*75/100 {
		t.Errorf("eligible %d, of them interleaved %d; interleaved %d of %d sent",
			res.XleaveEligible, res.XleaveEligibleInterleaved, res.Interleaved, res.Sent)
	}

	// A basic-only server answers interleaved requests in basic mode: all
	// valid, none interleaved.
	exactly(t, func(t *testing.T) string {
		b := startFake(t, &fakeServer{})
		res = run(t, Config{Server: b.addr, Rate: 2000, Xleave: true})
		if res.Interleaved != 0 {
			t.Fatalf("basic server: %d replies counted interleaved", res.Interleaved)
		}
		if res.Valid != res.Sent {
			return fmt.Sprintf("basic server: sent %d valid %d", res.Sent, res.Valid)
		}
		return ""
	})
}

func TestIPv6(t *testing.T) {
	exactly(t, func(t *testing.T) string {
		f := startFakeOn(t, &fakeServer{}, net.IPv6loopback)
		res := run(t, Config{Server: f.addr, Rate: 2000})
		if res.Sent == 0 || res.UserRxStamps != 0 {
			t.Fatalf("sent %d user stamps %d", res.Sent, res.UserRxStamps)
		}
		if res.Valid != res.Sent {
			return fmt.Sprintf("sent %d valid %d", res.Sent, res.Valid)
		}
		return ""
	})
}

func TestMaxMode(t *testing.T) {
	exactly(t, func(t *testing.T) string {
		f := startFake(t, &fakeServer{})
		res := run(t, Config{Server: f.addr, Max: true, Outstanding: 4, Clients: 2, Count: 2000})
		if res.Sent == 0 || res.Lost != 0 || res.Valid != res.Sent {
			return fmt.Sprintf("sent %d valid %d lost %d", res.Sent, res.Valid, res.Lost)
		}
		return ""
	})
}

func TestMaxModeSurvivesLoss(t *testing.T) {
	// With every 3rd request dropped, each socket's window would fill with
	// lost requests; the stall timeout must write them off and keep going.
	exactly(t, func(t *testing.T) string {
		f := startFake(t, &fakeServer{dropEvery: 3})
		res := run(t, Config{Server: f.addr, Max: true, Outstanding: 2, Clients: 1, StallAfter: 5 * time.Millisecond, Count: 60})
		if res.Lost != f.dropped.Load() || f.requests.Load() != res.Sent {
			return fmt.Sprintf("sent %d lost %d; responder saw %d, dropped %d", res.Sent, res.Lost, f.requests.Load(), f.dropped.Load())
		}
		return ""
	})
}

func TestClosedPort(t *testing.T) {
	// Find a free port and close it: requests draw ICMP port unreachable.
	f := startFake(t, &fakeServer{})
	addr := f.addr
	f.conn.Close()
	res := run(t, Config{Server: addr, Rate: 500, Count: 100, Drain: 50 * time.Millisecond})
	if res.Received != 0 || res.Lost != res.Sent {
		t.Errorf("received %d lost %d sent %d", res.Received, res.Lost, res.Sent)
	}
	if res.ICMPErrors == 0 {
		t.Errorf("no ICMP errors counted")
	}
}

func TestCancel(t *testing.T) {
	f := startFake(t, &fakeServer{})
	g, err := New(Config{Server: f.addr, Rate: 1000, Duration: time.Minute, Workers: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	res, err := g.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el > 3*time.Second {
		t.Errorf("cancelled run took %v", el)
	}
	if !res.Interrupted {
		t.Errorf("result not marked interrupted (sent %d)", res.Sent)
	}
}

func TestValidate(t *testing.T) {
	lo := netip.MustParseAddrPort("127.0.0.1:123")
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = valid
	}{
		{"ok", Config{Server: lo, Rate: 10, Duration: time.Second}, ""},
		{"ok private", Config{Server: netip.MustParseAddrPort("10.200.0.1:123"), Max: true, Duration: time.Second}, ""},
		{"ok ula", Config{Server: netip.MustParseAddrPort("[fd00::1]:123"), Rate: 1, Duration: time.Second}, ""},
		{"public refused", Config{Server: netip.MustParseAddrPort("8.8.8.8:123"), Rate: 10, Duration: time.Second}, "not a loopback"},
		{"public allowed", Config{Server: netip.MustParseAddrPort("8.8.8.8:123"), Rate: 10, Duration: time.Second, AllowPublic: true}, ""},
		{"multicast", Config{Server: netip.MustParseAddrPort("224.0.1.1:123"), Rate: 10, Duration: time.Second, AllowPublic: true}, "unicast"},
		{"no port", Config{Server: netip.MustParseAddrPort("127.0.0.1:0"), Rate: 10, Duration: time.Second}, "port"},
		{"no server", Config{Rate: 10, Duration: time.Second}, "server"},
		{"both", Config{Server: lo, Rate: 10, Max: true, Duration: time.Second}, "exactly one"},
		{"neither", Config{Server: lo, Duration: time.Second}, "rate"},
		{"negative rate", Config{Server: lo, Rate: -1, Duration: time.Second}, "rate"},
		{"rate cap", Config{Server: lo, Rate: MaxRate + 1, Duration: time.Second}, "limit"},
		{"duration cap", Config{Server: lo, Rate: 10, Duration: MaxDuration + 1}, "duration"},
		{"no duration", Config{Server: lo, Rate: 10}, "duration"},
		{"clients", Config{Server: lo, Rate: 10, Duration: time.Second, Clients: MaxClients + 1}, "clients"},
		{"batch", Config{Server: lo, Rate: 10, Duration: time.Second, Batch: MaxBatch + 1}, "batch"},
		{"version", Config{Server: lo, Rate: 10, Duration: time.Second, Version: 5}, "version"},
		{"xleave v3", Config{Server: lo, Rate: 10, Duration: time.Second, Version: 3, Xleave: true}, "xleave"},
		{"source family", Config{Server: lo, Rate: 10, Duration: time.Second, Sources: []netip.Addr{netip.MustParseAddr("::1")}}, "source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, nil)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	f := startFake(t, &fakeServer{dropEvery: 4})
	res := run(t, Config{Server: f.addr, Rate: 1000, Count: 300})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"sent": m["sent"], "lost": m["lost"], "mode": m["mode"], "server": m["server"]}
	want := map[string]any{"sent": float64(res.Sent), "lost": float64(res.Lost), "mode": "rate", "server": f.addr.String()}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("json (-want +got):\n%s", d)
	}
	for _, k := range []string{"rtt_p50_us", "rtt_p99_us", "loss_pct", "request_rate", "interleaved", "generator_limited"} {
		if _, ok := m[k]; !ok {
			t.Errorf("json lacks %q", k)
		}
	}
	var sb strings.Builder
	if err := res.WriteTable(&sb); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"sent", "lost", "rtt min / p50 / p90", "rtt p99 / max"} {
		if !strings.Contains(sb.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, sb.String())
		}
	}
}

// handleFixture is a worker, a socket with request 1 in flight and a valid
// reply to it, for calling handle directly.
func handleFixture() (*worker, *sock, []byte, []byte) {
	w := &worker{cfg: Config{Version: 4}.withDefaults(1), base: time.Now().UnixNano()}
	s := &sock{key: 0x1234_5678, ring: make([]uint64, 16), mask: 15, seq: 1}
	rep := make([]byte, wire.HeaderLen)
	rep[0], rep[1] = 0x24, 1
	binary.BigEndian.PutUint64(rep[wire.OffOrigin:], cookie(1, s.key, false))
	binary.BigEndian.PutUint64(rep[wire.OffReceive:], 1)
	binary.BigEndian.PutUint64(rep[wire.OffTransmit:], 2)
	return w, s, rep, make([]byte, oobLen)
}

// TestHandleAllocs checks that classifying a reply allocates nothing.
func TestHandleAllocs(t *testing.T) {
	w, s, rep, oob := handleFixture()
	allocs := testing.AllocsPerRun(1000, func() {
		s.ring[1] = 1<<relBits | 5
		w.handle(s, rep, oob, w.base+1000)
	})
	if allocs != 0 {
		t.Errorf("handle allocates %v times per reply", allocs)
	}
	if w.st.reasons[ReasonValid] == 0 {
		t.Error("reply not counted valid")
	}
}

func FuzzHandle(f *testing.F) {
	f.Add(make([]byte, 48), []byte{})
	f.Add([]byte{0x24, 1, 0, 0}, make([]byte, 64))
	f.Fuzz(func(t *testing.T, b, oob []byte) {
		w := &worker{cfg: Config{Version: 4, Xleave: true}.withDefaults(1)}
		s := &sock{key: 7, ring: make([]uint64, 16), mask: 15, seq: 3, kind: KindXleave, origins: make([]rxStamp, 16)}
		s.ring[2] = 2<<relBits | 1
		w.handle(s, b, oob, 1)
		var total uint64
		for _, c := range w.st.reasons {
			total += c
		}
		if total != 1 {
			t.Fatalf("reply counted %d times", total)
		}
	})
}

// BenchmarkHandle is the per-reply cost of classification and RTT recording.
func BenchmarkHandle(b *testing.B) {
	w, s, rep, oob := handleFixture()
	b.ReportAllocs()
	for b.Loop() {
		s.ring[1] = 1<<relBits | 5
		w.handle(s, rep, oob, w.base+1000)
	}
}

// TestGSO: with segmentation offload (the default) a batch leaves in one
// UDP_SEGMENT send and still reaches the server as one datagram per request;
// with NoGSO every request has its own sendmmsg entry. Both are exact.
func TestGSO(t *testing.T) {
	for _, noGSO := range []bool{false, true} {
		t.Run(fmt.Sprintf("no_gso=%v", noGSO), func(t *testing.T) {
			var res *Result
			exactly(t, func(t *testing.T) string {
				f := startFake(t, &fakeServer{})
				// 40k/s over 2 sockets: sendQuantum makes batches of about two.
				res = run(t, Config{Server: f.addr, Rate: 40000, Count: 2000, Clients: 2, NoGSO: noGSO})
				if got := f.requests.Load(); got != res.Sent || res.Valid != res.Sent || res.Lost != 0 {
					return fmt.Sprintf("responder saw %d datagrams; sent %d valid %d lost %d", got, res.Sent, res.Valid, res.Lost)
				}
				return ""
			})
			switch {
			case res.GSOFallbacks != 0:
				t.Errorf("kernel refused UDP_SEGMENT (%d fallbacks)", res.GSOFallbacks)
			case noGSO && res.GSOSends != 0:
				t.Errorf("NoGSO: %d GSO sends", res.GSOSends)
			case !noGSO && (res.GSOSends == 0 || res.GSOSends >= res.Sent):
				t.Errorf("GSO: %d sends for %d requests, want batches", res.GSOSends, res.Sent)
			}
		})
	}
}
