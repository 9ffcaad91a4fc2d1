package client

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

const (
	us = time.Microsecond
	ms = time.Millisecond
)

func TestRequest(t *testing.T) {
	s := newSource(t, Config{MinPoll: 5, MaxPoll: 9})
	var buf [RequestLen]byte
	send, next := s.Poll(base, &buf)
	if !send || !next.Equal(base.Add(32*time.Second)) {
		t.Fatalf("first Poll = %v, %v", send, next)
	}
	want := [RequestLen]byte{0: 4<<3 | 3, 2: 5, 3: 0x20, 47: 1} // cookie 1 from counterRand
	if buf != want {
		t.Errorf("request\n got %x\nwant %x", buf, want)
	}
	// A second request carries a different cookie, never the real time.
	buf = [RequestLen]byte{0xff}
	if send, _ := s.Poll(base.Add(32*time.Second), &buf); !send {
		t.Fatal("second Poll did not send")
	}
	c := binary.BigEndian.Uint64(buf[wire.OffTransmit:])
	if c == 0 || c == 1 || c == uint64(wire.TimeFromTime(base.Add(32*time.Second))) {
		t.Errorf("second cookie %#x", c)
	}
	for i := range wire.OffTransmit {
		if i != wire.OffLVM && i != wire.OffPoll && i != wire.OffPrecision && buf[i] != 0 {
			t.Errorf("request byte %d = %#x, want 0", i, buf[i])
		}
	}
	// Early calls do not send and report the same due time.
	if send, next2 := s.Poll(base.Add(40*time.Second), &buf); send || !next2.Equal(base.Add(64*time.Second)) {
		t.Errorf("early Poll = %v, %v", send, next2)
	}
	// Version 3.
	s3 := newSource(t, Config{Version: 3})
	s3.Poll(base, &buf)
	if buf[0] != 3<<3|3 {
		t.Errorf("v3 request byte 0 = %#x", buf[0])
	}
	// A zero-producing random source still yields distinct non-zero cookies.
	sz := newSource(t, Config{Rand: strings.NewReader("")})
	c1, n := poll(sz, base)
	c2, _ := poll(sz, n)
	if c1 == 0 || c2 == 0 || c1 == c2 {
		t.Errorf("cookies with a failing Rand: %#x %#x", c1, c2)
	}
}

// TestScriptedExchange checks θ and δ against hand-computed values.
func TestScriptedExchange(t *testing.T) {
	tests := []struct {
		name               string
		t1, t2, t3, t4     time.Time // t2, t3 on the server clock
		passT1             bool      // pass t1 to HandleReply (else: Poll time)
		wantOffset, wantDl time.Duration
	}{
		{
			// Server 5 ms ahead; 2 ms out, 3 ms back, 1 ms processing:
			// T1 = 0, T2 = 7, T3 = 8, T4 = 6 (ms). θ = (7 + 2)/2 = 4.5 ms
			// (the asymmetry costs −0.5 ms), δ = 6 − 1 = 5 ms.
			name: "asymmetric", t1: base, t2: base.Add(7 * ms), t3: base.Add(8 * ms), t4: base.Add(6 * ms),
			wantOffset: 4500 * us, wantDl: 5 * ms,
		},
		{
			// Server 250 ms behind, symmetric 1.234567 ms, 20 µs processing.
			name: "behind", t1: base, t2: base.Add(-250*ms + 1234567), t3: base.Add(-250*ms + 1254567),
			t4: base.Add(2489134), wantOffset: -250 * ms, wantDl: 2469134,
		},
		{
			name:   "odd nanoseconds, explicit T1",
			t1:     base.Add(123456789),
			t2:     base.Add(123456789 + 1000 + 777777777),
			t3:     base.Add(123456789 + 1000 + 777777777 + 3000),
			t4:     base.Add(123456789 + 6000),
			passT1: true,
			// θ = ((1000 + 777777777) + (4000 + 777777777 − 6000))/2
			wantOffset: 777777777 - 500, wantDl: 3000,
		},
		{
			// Across the 2036 era rollover: the server is in era 1.
			name: "era rollover",
			t1:   time.Date(2036, 2, 7, 6, 28, 15, 999_000_000, time.UTC),
			t2:   time.Date(2036, 2, 7, 6, 28, 16, 1_000_000, time.UTC),
			t3:   time.Date(2036, 2, 7, 6, 28, 16, 1_000_000, time.UTC),
			t4:   time.Date(2036, 2, 7, 6, 28, 16, 1_000_000, time.UTC),
			// θ = (2 ms + 0)/2, δ = 2 ms
			wantOffset: 1 * ms, wantDl: 2 * ms,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSource(t, Config{})
			c, _ := poll(s, tt.t1)
			var tx time.Time
			if tt.passT1 {
				tx = tt.t1
				// Poll at another time: HandleReply must use tx.
				s.lastSend = tt.t1.Add(-time.Second)
			}
			r := good(c, tt.t2, tt.t3)
			smp, v := s.HandleReply(r.bytes(), tt.t4, tx)
			if v != Accepted {
				t.Fatalf("verdict %v", v)
			}
			if smp.Offset != tt.wantOffset || smp.Delay != tt.wantDl {
				t.Errorf("offset, delay = %v, %v; want %v, %v", smp.Offset, smp.Delay, tt.wantOffset, tt.wantDl)
			}
			// ε = 2^-20 (server) + 2^-20 (ours) + PHI × (T4 − T1)
			wantDisp := 2*wire.Log2Duration(-20) + time.Duration(15e-6*float64(tt.t4.Sub(tt.t1)))
			if smp.Dispersion != wantDisp || !smp.Time.Equal(tt.t4) {
				t.Errorf("dispersion %v time %v; want %v %v", smp.Dispersion, smp.Time, wantDisp, tt.t4)
			}
			e := s.Estimate(tt.t4)
			if !e.Usable || e.Offset != tt.wantOffset || e.Delay != tt.wantDl || e.Samples != 1 ||
				e.Stratum != 2 || e.RefID != 0xC0000201 || e.Leap != clock.LeapNone ||
				e.RootDelay != wire.ShortDuration(0x100) || e.RootDispersion != wire.ShortDuration(0x80) || e.Reach != 1 {
				t.Errorf("estimate %+v", e)
			}
		})
	}
}

func TestDelayFloor(t *testing.T) {
	// A server whose processing time exceeds our round trip (its clock
	// runs fast) gives a negative δ; it is floored at our precision.
	s := newSource(t, Config{Precision: -20})
	c, _ := poll(s, base)
	smp, v := s.HandleReply(good(c, base.Add(ms), base.Add(3*ms)).bytes(), base.Add(1*ms), time.Time{})
	if v != Accepted || smp.Delay != wire.Log2Duration(-20) {
		t.Errorf("verdict %v delay %v, want accepted %v", v, smp.Delay, wire.Log2Duration(-20))
	}
}

func TestValidation(t *testing.T) {
	t2 := base.Add(10 * ms)
	rx := base.Add(2 * ms)
	tests := []struct {
		name      string
		noPoll    bool
		mutate    func(r *reply, cookie wire.Time)
		raw       func(b []byte) []byte
		rx        time.Time
		want      Verdict
		reach     uint8 // register afterwards
		pending   bool  // request still outstanding afterwards
		state     State
		kiss      string
		nextDelta time.Duration // NextPoll − base, 0 = not checked
	}{
		{name: "valid", want: Accepted, reach: 1},
		{name: "short", raw: func(b []byte) []byte { return b[:47] }, want: Malformed, pending: true},
		{name: "empty", raw: func(b []byte) []byte { return nil }, want: Malformed, pending: true},
		{name: "with extension field", raw: func(b []byte) []byte { return append(b, make([]byte, 20)...) },
			want: Accepted, reach: 1},
		{name: "version 0", mutate: func(r *reply, _ wire.Time) { r.version = 8 /* wraps to 0 in 3 bits */ },
			raw: func(b []byte) []byte { b[0] &^= 7 << 3; return b }, want: BadVersion, pending: true},
		{name: "version 5", mutate: func(r *reply, _ wire.Time) { r.version = 5 }, want: BadVersion, pending: true},
		{name: "version 3", mutate: func(r *reply, _ wire.Time) { r.version = 3 }, want: Accepted, reach: 1},
		{name: "mode 3", mutate: func(r *reply, _ wire.Time) { r.mode = 3 }, want: BadMode, pending: true},
		{name: "mode 5", mutate: func(r *reply, _ wire.Time) { r.mode = 5 }, want: BadMode, pending: true},
		{name: "nothing sent", noPoll: true, want: NotExpected},
		{name: "wrong origin", mutate: func(r *reply, c wire.Time) { r.org = c ^ 1 }, want: BogusOrigin, pending: true},
		{name: "zero origin", mutate: func(r *reply, _ wire.Time) { r.org = 0 }, want: BogusOrigin, pending: true},
		{name: "zero transmit", mutate: func(r *reply, _ wire.Time) { r.xmt = 0 }, want: BadTimestamps, pending: true},
		{name: "zero receive", mutate: func(r *reply, _ wire.Time) { r.rcv = 0 }, want: BadTimestamps, pending: true},
		{name: "transmit before receive", mutate: func(r *reply, _ wire.Time) { r.xmt = r.rcv - 1 },
			want: BadTimestamps, pending: true},
		{name: "local rx before tx", rx: base.Add(-time.Nanosecond), want: BadTimestamps, pending: true},
		{name: "LI 3", mutate: func(r *reply, _ wire.Time) { r.leap = 3 }, want: Unsynchronised, reach: 1},
		{name: "stratum 16", mutate: func(r *reply, _ wire.Time) { r.stratum = 16 }, want: Unsynchronised, reach: 1},
		{name: "stratum 255", mutate: func(r *reply, _ wire.Time) { r.stratum = 255 }, want: Unsynchronised, reach: 1},
		{name: "root distance 16 s", mutate: func(r *reply, _ wire.Time) { r.rootDelay = 16 << 16; r.rootDisp = 8 << 16 },
			want: BadHeader, reach: 1},
		{name: "root distance just below 16 s", mutate: func(r *reply, _ wire.Time) { r.rootDelay = 0; r.rootDisp = 16<<16 - 1 },
			want: Accepted, reach: 1},
		{name: "reference after transmit", mutate: func(r *reply, _ wire.Time) { r.ref = r.xmt + 1<<32 },
			want: BadHeader, reach: 1},
		{name: "precision 2^4 s", mutate: func(r *reply, _ wire.Time) { r.precision = 4 }, want: BadHeader, reach: 1},
		{name: "precision 2^3 s", mutate: func(r *reply, _ wire.Time) { r.precision = 3 }, want: Accepted, reach: 1},
		{name: "KoD RATE", mutate: func(r *reply, _ wire.Time) { r.leap, r.stratum, r.refID = 3, 0, 0x52415445 },
			want: KoDRate, kiss: "RATE", nextDelta: 128 * time.Second},
		{name: "KoD DENY", mutate: func(r *reply, _ wire.Time) { r.leap, r.stratum, r.refID = 3, 0, 0x44454E59 },
			want: KoDDeny, state: StateDemobilised, kiss: "DENY"},
		{name: "KoD RSTR", mutate: func(r *reply, _ wire.Time) { r.stratum, r.refID = 0, 0x52535452 },
			want: KoDDeny, state: StateDemobilised, kiss: "RSTR"},
		{name: "KoD INIT ignored", mutate: func(r *reply, _ wire.Time) { r.stratum, r.refID = 0, 0x494E4954 },
			want: KoDOther, kiss: "INIT", nextDelta: 64 * time.Second},
		{name: "KoD binary code", mutate: func(r *reply, _ wire.Time) { r.stratum, r.refID = 0, 0x00FF0A41 },
			want: KoDOther, kiss: "???A"},
		{name: "spoofed DENY", mutate: func(r *reply, c wire.Time) { r.stratum, r.refID, r.org = 0, 0x44454E59, c+7 },
			want: BogusOrigin, pending: true, nextDelta: 64 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSource(t, Config{MinPoll: 6, MaxPoll: 10})
			var c wire.Time
			if !tt.noPoll {
				c, _ = poll(s, base)
			}
			r := good(c, t2, t2)
			if tt.mutate != nil {
				tt.mutate(&r, c)
			}
			b := r.bytes()
			if tt.raw != nil {
				b = tt.raw(b)
			}
			at := rx
			if !tt.rx.IsZero() {
				at = tt.rx
			}
			smp, v := s.HandleReply(b, at, time.Time{})
			if v != tt.want {
				t.Fatalf("verdict %v, want %v", v, tt.want)
			}
			if (v == Accepted) != !smp.Time.IsZero() {
				t.Errorf("sample %+v with verdict %v", smp, v)
			}
			if s.Reach() != tt.reach || s.pending != tt.pending || s.State() != tt.state || s.KissCode() != tt.kiss {
				t.Errorf("reach %o pending %v state %v kiss %q; want %o %v %v %q",
					s.Reach(), s.pending, s.State(), s.KissCode(), tt.reach, tt.pending, tt.state, tt.kiss)
			}
			if tt.nextDelta != 0 && !s.NextPoll().Equal(base.Add(tt.nextDelta)) {
				t.Errorf("next poll %v, want base+%v", s.NextPoll().Sub(base), tt.nextDelta)
			}
			if got := s.Estimate(at).Usable; got != (v == Accepted) {
				t.Errorf("Usable = %v after %v", got, v)
			}
			if got := s.Stats().Verdicts[tt.want]; got != 1 {
				t.Errorf("verdict counter = %d", got)
			}
			// A correct reply after a rejected one that left the request
			// outstanding is still accepted.
			if tt.pending {
				if _, v := s.HandleReply(good(c, t2, t2).bytes(), rx, time.Time{}); v != Accepted {
					t.Errorf("genuine reply after %v: %v", tt.want, v)
				}
			}
		})
	}
}

func TestDuplicate(t *testing.T) {
	s := newSource(t, Config{})
	c, next := poll(s, base)
	b := good(c, base.Add(ms), base.Add(ms)).bytes()
	if _, v := s.HandleReply(b, base.Add(2*ms), time.Time{}); v != Accepted {
		t.Fatalf("first copy: %v", v)
	}
	if _, v := s.HandleReply(b, base.Add(3*ms), time.Time{}); v != Duplicate {
		t.Errorf("second copy: %v, want duplicate", v)
	}
	// A late copy after the next request went out is still a duplicate,
	// and does not disturb the new request.
	c2, _ := poll(s, next)
	if _, v := s.HandleReply(b, next.Add(ms), time.Time{}); v != Duplicate {
		t.Errorf("late copy: %v, want duplicate", v)
	}
	// A server that repeats its previous Transmit for a new request.
	r := good(c2, base.Add(ms), base.Add(ms))
	if _, v := s.HandleReply(r.bytes(), next.Add(2*ms), time.Time{}); v != Duplicate {
		t.Errorf("repeated transmit: %v, want duplicate", v)
	}
	if s.Estimate(next).Samples != 1 {
		t.Errorf("duplicates reached the filter")
	}
}

func TestKoDDenyDemobilises(t *testing.T) {
	s := newSource(t, Config{IBurst: true})
	for i := range 3 {
		if _, v := exchange(t, s, base.Add(time.Duration(i)*BurstInterval), ms, 100*us); v != Accepted {
			t.Fatalf("exchange %d: %v", i, v)
		}
	}
	c, _ := poll(s, base.Add(6*time.Second))
	kod := reply{leap: 3, stratum: 0, refID: uint32(wire.KissDENY), org: c, rcv: 1, xmt: 1}
	if _, v := s.HandleReply(kod.bytes(), base.Add(6*time.Second+ms), time.Time{}); v != KoDDeny {
		t.Fatalf("verdict %v", v)
	}
	var buf [RequestLen]byte
	for i := range 10 {
		if send, next := s.Poll(base.Add(time.Duration(i)*time.Hour), &buf); send || !next.IsZero() {
			t.Fatalf("demobilised source polls: %v %v", send, next)
		}
	}
	e := s.Estimate(base.Add(7 * time.Second))
	if e.Usable || e.State != StateDemobilised || s.KissCode() != "DENY" {
		t.Errorf("estimate after DENY: %+v kiss %q", e, s.KissCode())
	}
	if _, v := s.HandleReply(good(c, base, base).bytes(), base.Add(7*time.Second), time.Time{}); v != Demobilised {
		t.Errorf("reply after DENY: %v", v)
	}
	s.Burst(4)
	if send, _ := s.Poll(base.Add(8*time.Second), &buf); send {
		t.Error("Burst woke a demobilised source")
	}
	// Restart re-arms everything.
	s.Restart()
	if send, _ := s.Poll(base.Add(10*time.Second), &buf); !send || s.State() != StateActive || s.Reach() != 0 {
		t.Errorf("after Restart: send %v state %v reach %o", send, s.State(), s.Reach())
	}
	if s.Stats().Verdicts[KoDDeny] != 1 {
		t.Errorf("Restart lost the counters")
	}
}

func TestKoDRate(t *testing.T) {
	s := newSource(t, Config{MinPoll: 6, MaxPoll: 8, IBurst: true, Burst: true})
	now := base
	rate := func() {
		t.Helper()
		c, _ := poll(s, now)
		if c == 0 {
			t.Fatalf("no request at %v", now.Sub(base))
		}
		kod := reply{leap: 3, stratum: 0, refID: uint32(wire.KissRATE), org: c, rcv: 1, xmt: 1}
		if _, v := s.HandleReply(kod.bytes(), now.Add(ms), time.Time{}); v != KoDRate {
			t.Fatalf("verdict %v", v)
		}
	}
	rate() // during iburst: the burst is cancelled and poll goes 6 → 7
	if s.PollExponent() != 7 || !s.NextPoll().Equal(now.Add(128*time.Second)) {
		t.Fatalf("after RATE: poll %d next +%v", s.PollExponent(), s.NextPoll().Sub(now))
	}
	now = s.NextPoll()
	rate()
	if s.PollExponent() != 8 {
		t.Fatalf("after 2nd RATE: poll %d", s.PollExponent())
	}
	now = s.NextPoll()
	rate()
	if s.PollExponent() != 8 || !s.NextPoll().Equal(now.Add(256*time.Second)) {
		t.Fatalf("RATE at maxpoll: poll %d next +%v", s.PollExponent(), s.NextPoll().Sub(now))
	}
	if got := s.SetPoll(6); got != 8 {
		t.Errorf("SetPoll below the RATE floor = %d, want 8", got)
	}
	// Burst mode stays off after RATE: answered polls are single requests.
	now = s.NextPoll()
	for i := range 3 {
		c, next := poll(s, now)
		if c == 0 || !next.Equal(now.Add(256*time.Second)) {
			t.Fatalf("poll %d: cookie %d next +%v", i, c, next.Sub(now))
		}
		s.HandleReply(good(c, now.Add(ms), now.Add(ms)).bytes(), now.Add(2*ms), time.Time{})
		now = next
	}
	s.Restart()
	if s.PollExponent() != 6 || s.SetPoll(6) != 6 {
		t.Errorf("Restart kept the RATE floor: poll %d", s.PollExponent())
	}
}

func TestPollSchedule(t *testing.T) {
	sec := time.Second
	tests := []struct {
		name   string
		cfg    Config
		answer bool
		want   []time.Duration // send times relative to base
	}{
		{"plain", Config{MinPoll: 6, MaxPoll: 10}, true, []time.Duration{0, 64 * sec, 128 * sec}},
		{"iburst", Config{MinPoll: 6, MaxPoll: 10, IBurst: true}, true,
			[]time.Duration{0, 2 * sec, 4 * sec, 6 * sec, 70 * sec, 134 * sec}},
		{"iburst unanswered", Config{MinPoll: 6, MaxPoll: 10, IBurst: true}, false,
			[]time.Duration{0, 2 * sec, 4 * sec, 6 * sec, 70 * sec, 134 * sec}},
		{"burst while reachable", Config{MinPoll: 4, MaxPoll: 10, Burst: true}, true,
			[]time.Duration{0, 16 * sec, 18 * sec, 20 * sec, 22 * sec, 38 * sec, 40 * sec}},
		{"burst needs reachability", Config{MinPoll: 4, MaxPoll: 10, Burst: true}, false,
			[]time.Duration{0, 16 * sec, 32 * sec, 48 * sec}},
		{"sub-second poll", Config{MinPoll: -2, MaxPoll: 0}, true,
			[]time.Duration{0, 250 * ms, 500 * ms, 750 * ms}},
		// 8 unanswered polls at 16 s, then the poll backs off to maxpoll.
		{"unreachable backoff", Config{MinPoll: 4, MaxPoll: 6}, false, []time.Duration{
			0, 16 * sec, 32 * sec, 48 * sec, 64 * sec, 80 * sec, 96 * sec, 112 * sec, 128 * sec,
			160 * sec, 224 * sec, 288 * sec}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSource(t, tt.cfg)
			var got []time.Duration
			now := base
			for len(got) < len(tt.want) {
				c, next := poll(s, now)
				if c != 0 {
					got = append(got, now.Sub(base))
					if tt.answer {
						s.HandleReply(good(c, now.Add(ms), now.Add(ms)).bytes(), now.Add(ms), time.Time{})
					}
				}
				now = next
			}
			if !equalDurations(got, tt.want) {
				t.Errorf("sends at %v, want %v", got, tt.want)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBackoffRecovers(t *testing.T) {
	s := newSource(t, Config{MinPoll: 4, MaxPoll: 6})
	now := base
	for range 12 {
		_, now = poll(s, now)
	}
	if s.PollExponent() != 6 {
		t.Fatalf("poll after 12 misses = %d", s.PollExponent())
	}
	if _, v := exchange(t, s, now, 0, ms); v != Accepted {
		t.Fatal(v)
	}
	if s.PollExponent() != 4 {
		t.Errorf("poll after recovery = %d, want minpoll 4", s.PollExponent())
	}
	if st := s.Stats(); st.Timeouts != 12 || st.Sent != 13 {
		t.Errorf("stats %+v", st)
	}
}

func TestReachability(t *testing.T) {
	s := newSource(t, Config{MinPoll: 4, MaxPoll: 10})
	now := base
	step := func(answer bool) {
		t.Helper()
		c, next := poll(s, now)
		if c == 0 {
			t.Fatalf("no request at %v", now.Sub(base))
		}
		if answer {
			if _, v := s.HandleReply(good(c, now.Add(ms), now.Add(ms)).bytes(), now.Add(2*ms), time.Time{}); v != Accepted {
				t.Fatalf("verdict %v", v)
			}
		}
		now = next
	}
	script := []struct {
		answer bool
		reach  string
		usable bool
	}{
		{true, "1", true}, {true, "3", true}, {true, "7", true}, {true, "17", true},
		{true, "37", true}, {true, "77", true}, {true, "177", true}, {true, "377", true},
		{false, "376", true}, {false, "374", true}, {false, "370", true}, {true, "361", true},
		{false, "342", true}, {false, "304", true}, {false, "210", true}, {false, "20", true},
		{false, "40", true}, {false, "100", true}, {false, "200", true}, {false, "0", true},
		// Dummy samples went in at steps 10, 11 and 14–21 (whenever the two
		// previous requests were unanswered); at step 21 they have pushed
		// the last real sample (step 11) out of the filter: unusable.
		{false, "0", true}, {false, "0", false},
	}
	for i, st := range script {
		step(st.answer)
		if got := s.ReachOctal(); got != st.reach {
			t.Errorf("step %d: reach %s, want %s", i, got, st.reach)
		}
		if got := s.Estimate(now).Usable; got != st.usable {
			t.Errorf("step %d: usable %v, want %v", i, got, st.usable)
		}
	}
	if st := s.Stats(); st.Timeouts != 12 {
		t.Errorf("timeouts %d, want 12", st.Timeouts)
	}
}

func TestSetPollAndBurst(t *testing.T) {
	s := newSource(t, Config{MinPoll: 4, MaxPoll: 10})
	_, next := poll(s, base)
	if !next.Equal(base.Add(16 * time.Second)) {
		t.Fatal(next)
	}
	if got := s.SetPoll(8); got != 8 || !s.NextPoll().Equal(next) {
		t.Errorf("SetPoll(8) = %d next %v: a longer poll must not delay the pending one", got, s.NextPoll())
	}
	if got := s.SetPoll(20); got != 10 {
		t.Errorf("SetPoll(20) = %d, want maxpoll", got)
	}
	if got := s.SetPoll(-5); got != 4 {
		t.Errorf("SetPoll(-5) = %d, want minpoll", got)
	}
	s.SetPoll(10)
	_, next = poll(s, next)
	if !next.Equal(base.Add(16*time.Second + 1024*time.Second)) {
		t.Fatalf("next at poll 10: %v", next.Sub(base))
	}
	s.SetPoll(5)
	if !s.NextPoll().Equal(base.Add(48 * time.Second)) {
		t.Errorf("shorter poll did not bring the next poll forward: %v", s.NextPoll().Sub(base))
	}
	// Burst: n requests BurstInterval apart starting now.
	s.Burst(3)
	now := base.Add(20 * time.Second)
	var sends []time.Duration
	for len(sends) < 4 {
		c, n := poll(s, now)
		if c != 0 {
			sends = append(sends, now.Sub(base))
		}
		now = n
	}
	want := []time.Duration{20 * time.Second, 22 * time.Second, 24 * time.Second, 56 * time.Second}
	if !equalDurations(sends, want) {
		t.Errorf("burst sends %v, want %v", sends, want)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{MinPoll: -8, MaxPoll: 4},
		{MinPoll: 4, MaxPoll: 18},
		{MinPoll: 8, MaxPoll: 6},
		{Version: 2},
		{Version: 5},
		{Precision: 3},
	}
	for _, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.MinPoll != 6 || s.cfg.MaxPoll != 10 || s.cfg.Version != 4 || s.cfg.Precision != -20 {
		t.Errorf("defaults %+v", s.cfg)
	}
	// The default random source gives non-zero, distinct cookies.
	c1, n := poll(s, base)
	c2, _ := poll(s, n)
	if c1 == 0 || c2 == 0 || c1 == c2 {
		t.Errorf("crypto/rand cookies %#x %#x", c1, c2)
	}
}

func TestStrings(t *testing.T) {
	seen := map[string]bool{}
	for v := range NumVerdicts {
		n := v.String()
		if seen[n] || strings.HasPrefix(n, "verdict(") || n != strings.ToLower(n) {
			t.Errorf("verdict %d name %q", v, n)
		}
		seen[n] = true
	}
	if StateActive.String() != "active" || StateDemobilised.String() != "demobilised" || State(9).String() != "state(9)" {
		t.Error("state strings")
	}
}

func BenchmarkHandleReply(b *testing.B) {
	s := newSource(b, Config{MinPoll: 0, MaxPoll: 0})
	now := base
	var buf [RequestLen]byte
	pkt := good(0, now.Add(ms), now.Add(ms)).bytes()
	b.ReportAllocs()
	for b.Loop() {
		_, next := s.Poll(now, &buf)
		binary.BigEndian.PutUint64(pkt[wire.OffOrigin:], binary.BigEndian.Uint64(buf[wire.OffTransmit:]))
		// Fresh server timestamps each round so the reply is no duplicate.
		binary.BigEndian.PutUint64(pkt[wire.OffReceive:], uint64(wire.TimeFromTime(now.Add(ms))))
		binary.BigEndian.PutUint64(pkt[wire.OffTransmit:], uint64(wire.TimeFromTime(now.Add(ms))))
		if _, v := s.HandleReply(pkt, now.Add(2*ms), time.Time{}); v != Accepted {
			b.Fatal(v)
		}
		_ = s.Estimate(now)
		now = next
	}
}

func TestHandleReplyAllocs(t *testing.T) {
	s := newSource(t, Config{MinPoll: 0, MaxPoll: 0})
	now := base
	var buf [RequestLen]byte
	pkt := good(0, now, now).bytes()
	allocs := testing.AllocsPerRun(100, func() {
		_, next := s.Poll(now, &buf)
		copy(pkt[wire.OffOrigin:wire.OffOrigin+8], buf[wire.OffTransmit:])
		binary.BigEndian.PutUint64(pkt[wire.OffReceive:], uint64(wire.TimeFromTime(now.Add(ms))))
		binary.BigEndian.PutUint64(pkt[wire.OffTransmit:], uint64(wire.TimeFromTime(now.Add(ms))))
		if _, v := s.HandleReply(pkt, now.Add(2*ms), time.Time{}); v != Accepted {
			t.Fatal(v)
		}
		s.Estimate(now)
		now = next
	})
	if allocs != 0 {
		t.Errorf("Poll+HandleReply+Estimate allocate %v times", allocs)
	}
}

// An iburst never polls slower than the poll interval: with minpoll −2 the
// first requests go out 0.25 s apart, not 2 s (chrony: "2 seconds or less").
func TestIBurstNotSlowerThanPoll(t *testing.T) {
	for _, tt := range []struct {
		minpoll int8
		gap     time.Duration
	}{{-2, 250 * time.Millisecond}, {0, time.Second}, {1, BurstInterval}, {6, BurstInterval}} {
		s := newSource(t, Config{MinPoll: tt.minpoll, MaxPoll: max(tt.minpoll, 6), IBurst: true})
		now := base
		var sends []time.Duration
		for range 100 {
			if len(sends) == IBurstCount {
				break
			}
			c, n := poll(s, now)
			if c != 0 {
				sends = append(sends, now.Sub(base))
			}
			now = n
		}
		want := []time.Duration{0, tt.gap, 2 * tt.gap, 3 * tt.gap}
		if !equalDurations(sends, want) {
			t.Errorf("minpoll %d: iburst sends at %v, want %v", tt.minpoll, sends, want)
		}
	}
}
