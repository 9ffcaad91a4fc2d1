package ntp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/wire"
	"github.com/gnomon-time/gnomon/ntp/wire/wiretest"
)

func TestRespondAllocs(t *testing.T) {
	st := syncedState()
	rx := wire.TimeFromTime(testNow())
	out := make([]byte, 1500)

	t.Run("basic_no_log", func(t *testing.T) {
		s := newServer(t, nil, nil)
		req := basicReq()
		if n := testing.AllocsPerRun(200, func() {
			if _, v := s.Respond(out, req, client, rx, st); v != VerdictServed {
				t.Fatalf("verdict %v", v)
			}
		}); n != 0 {
			t.Errorf("Respond allocates %v times per call", n)
		}
	})
	t.Run("basic_with_log_and_ef", func(t *testing.T) {
		s := newServer(t, newLog(t, clientlog.RateLimit{}), nil)
		req := append(append(basicReq(), wiretest.EF(0x0104, 36, 36)...), wiretest.EF(0x0204, 28, 28)...)
		mapped := netip.AddrPortFrom(netip.MustParseAddr("::ffff:192.0.2.10"), clientPort)
		if n := testing.AllocsPerRun(200, func() {
			if _, v := s.Respond(out, req, mapped, rx, st); v != VerdictServed {
				t.Fatalf("verdict %v", v)
			}
		}); n != 0 {
			t.Errorf("Respond allocates %v times per call", n)
		}
	})
	t.Run("no_key_ef_and_mac", func(t *testing.T) {
		s := newServer(t, newLog(t, clientlog.RateLimit{}), nil)
		req := append(append(basicReq(), wiretest.EF(0x0104, 36, 36)...), wiretest.MAC(24)...)
		if n := testing.AllocsPerRun(200, func() {
			if _, v := s.Respond(out, req, client, rx, st); v != VerdictNoKey {
				t.Fatalf("verdict %v", v)
			}
		}); n != 0 {
			t.Errorf("no_key path allocates %v times per call", n)
		}
	})
	t.Run("interleaved", func(t *testing.T) {
		s := newServer(t, newLog(t, clientlog.RateLimit{}), nil)
		now := rx
		// The first request in interleaved form (an Origin we never sent):
		// basic, and its reply's Receive field is held.
		req := basicReq()
		wire.PutTransmit(req, 0x1111) // receive ≠ transmit
		binOrigin(req, 1)
		n, _ := s.Respond(out, req, client, now, st)
		prev := wire.ReceiveField(out[:n])
		s.RecordTX(client.Addr(), prev, now.Add(time.Microsecond))
		interleaved := 0
		calls := 0
		allocs := testing.AllocsPerRun(200, func() {
			now = now.Add(time.Second)
			wire.PutTransmit(req, 0x1111) // receive ≠ transmit
			binOrigin(req, prev)
			_, v := s.Respond(out, req, client, now, st)
			calls++
			if v == VerdictInterleaved {
				interleaved++
			}
			prev = wire.ReceiveField(out)
			s.RecordTX(client.Addr(), prev, now.Add(time.Microsecond))
		})
		if interleaved != calls {
			t.Fatalf("%d of %d replies interleaved", interleaved, calls)
		}
		if allocs != 0 {
			t.Errorf("interleaved Respond+RecordTX allocates %v times per call", allocs)
		}
	})
	t.Run("denied_and_dropped", func(t *testing.T) {
		s := newServer(t, nil, func(c *ServerConfig) { c.ACL = nil })
		req := basicReq()
		if n := testing.AllocsPerRun(200, func() { s.Respond(out, req, client, rx, st) }); n != 0 {
			t.Errorf("denied path allocates %v times", n)
		}
		s.SetACL(allowAll(t))
		bad := request(lvm(0, 4, 6), 0, 0, 0, 0)
		if n := testing.AllocsPerRun(200, func() { s.Respond(out, bad, client, rx, st) }); n != 0 {
			t.Errorf("bad mode path allocates %v times", n)
		}
	})
}

func binOrigin(req []byte, t wire.Time) {
	h, _ := wire.ParseHeader(req)
	h.Origin = t
	_ = h.Put(req)
}

func BenchmarkRespond(b *testing.B) {
	st := syncedState()
	rx := wire.TimeFromTime(testNow())
	out := make([]byte, 1500)
	b.Run("basic_no_log", func(b *testing.B) {
		s := newServer(b, nil, nil)
		req := basicReq()
		b.ReportAllocs()
		for b.Loop() {
			s.Respond(out, req, client, rx, st)
			wire.PutTransmit(out, rx)
		}
	})
	b.Run("basic_client_log", func(b *testing.B) {
		s := newServer(b, newLog(b, clientlog.RateLimit{}), nil)
		req := basicReq()
		b.ReportAllocs()
		for b.Loop() {
			s.Respond(out, req, client, rx, st)
			wire.PutTransmit(out, rx)
		}
	})
	b.Run("basic_rate_limit_many_clients", func(b *testing.B) {
		log, err := clientlog.New(clientlog.Config{Clients: 4096, RateLimit: clientlog.DefaultRateLimit(), Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		s := newServer(b, log, nil)
		req := basicReq()
		base := netip.MustParseAddr("10.0.0.0").As4()
		i := uint32(0)
		b.ReportAllocs()
		for b.Loop() {
			i++
			a := base
			a[2], a[3] = byte(i>>8), byte(i)
			now := rx.Add(time.Duration(i) * 100 * time.Microsecond)
			s.Respond(out, req, netip.AddrPortFrom(netip.AddrFrom4(a), clientPort), now, st)
		}
	})
	b.Run("interleaved", func(b *testing.B) {
		s := newServer(b, newLog(b, clientlog.RateLimit{}), nil)
		req := basicReq()
		wire.PutTransmit(req, 0x1111)
		binOrigin(req, 1)
		now := rx
		n, _ := s.Respond(out, req, client, now, st)
		prev := wire.ReceiveField(out[:n])
		s.RecordTX(client.Addr(), prev, now.Add(time.Microsecond))
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(time.Second)
			binOrigin(req, prev)
			s.Respond(out, req, client, now, st)
			prev = wire.ReceiveField(out)
			s.RecordTX(client.Addr(), prev, now.Add(time.Microsecond))
		}
	})
	b.Run("denied", func(b *testing.B) {
		s := newServer(b, nil, func(c *ServerConfig) { c.ACL = nil })
		req := basicReq()
		b.ReportAllocs()
		for b.Loop() {
			s.Respond(out, req, client, rx, st)
		}
	})
}

func FuzzRespond(f *testing.F) {
	for _, b := range wiretest.Golden(f, "testdata") {
		f.Add(b, uint16(40000), uint64(wire.TimeFromTime(testNow())), uint16(1500), true, false)
	}
	f.Add(basicReq(), uint16(123), uint64(0), uint16(48), false, true)
	f.Add(request(lvm(0, 1, 0), 0, 0, 0, 1), uint16(1024), uint64(1), uint16(47), true, false)
	f.Add(append(basicReq(), wiretest.EF(1, 28, 28)...), uint16(1), uint64(1<<63), uint16(0), true, true)
	f.Add(append(append(basicReq(), wiretest.EF(1, 28, 28)...), wiretest.MAC(20)...), uint16(40000), uint64(1), uint16(1500), true, false)
	f.Add(append(request(wiretest.V3Client, 0, 0, 0, 1), 0, 0, 0, 0), uint16(40000), uint64(1), uint16(1500), true, true)
	f.Fuzz(func(t *testing.T, req []byte, port uint16, rx uint64, outLen uint16, synced, rateLimit bool) {
		rl := clientlog.RateLimit{}
		if rateLimit {
			rl = clientlog.RateLimit{Enabled: true, IntervalLog2: 0, Burst: 1, Leak: 1, KoD: 1}
		}
		log, err := clientlog.New(clientlog.Config{Clients: 16, RateLimit: rl, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		s := newServer(t, log, nil)
		var st *clock.SyncState
		if synced {
			st = syncedState()
		}
		from := netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1"), port)
		reqCopy := bytes.Clone(req)
		out := bytes.Repeat([]byte{0xA5}, int(outLen))
		// Two requests: the second can take the interleaved path when the
		// fuzzer makes its origin equal our first receive field.
		for i := range 2 {
			n, v := s.Respond(out, req, from, wire.Time(rx)+wire.Time(i)<<32, st)
			if !bytes.Equal(req, reqCopy) {
				t.Fatal("Respond modified the request")
			}
			if n < 0 || n > len(req) || n > len(out) {
				t.Fatalf("n = %d for request %d bytes, out %d bytes", n, len(req), len(out))
			}
			if v.Replied() != (n > 0) || int(v) >= NumVerdicts {
				t.Fatalf("verdict %v with n = %d", v, n)
			}
			// A request carrying a MAC is never answered (we have no
			// keys), and no_key is only given for a well-formed one.
			kind, _, _ := wire.ScanTrailer(req, wire.Version(req))
			if v.Replied() && kind != wire.TrailerOK {
				t.Fatalf("verdict %v for a request with trailer kind %d", v, kind)
			}
			if v == VerdictNoKey && (kind != wire.TrailerMAC || wire.CheckTrailer(req) != nil) {
				t.Fatalf("no_key for trailer kind %d (wire.CheckTrailer %v)", kind, wire.CheckTrailer(req))
			}
			if n == 0 {
				if i == 0 && !bytes.Equal(out, bytes.Repeat([]byte{0xA5}, int(outLen))) {
					t.Fatal("output written without a reply")
				}
				continue
			}
			if n != wire.HeaderLen {
				t.Fatalf("reply of %d bytes", n)
			}
			for j, b := range out[n:] {
				if b != 0xA5 {
					t.Fatalf("byte %d beyond the reply written", n+j)
				}
			}
			if wire.Mode(out[0]&7) != wire.ModeServer || (out[0]>>3)&7 != (req[0]>>3)&7 {
				t.Fatalf("reply LVM %#x to request LVM %#x", out[0], req[0])
			}
			if wire.ReceiveField(out)&1 != 1 {
				t.Fatal("receive bit 0 clear")
			}
		}
	})
}

// TestRespondConcurrent runs Respond and RecordTX from several goroutines
// (like ntp/serve's workers) while the ACL is swapped; run with -race.
func TestRespondConcurrent(t *testing.T) {
	s := newServer(t, newLog(t, clientlog.RateLimit{}), nil)
	st := syncedState()
	allow := allowAll(t)
	done := make(chan struct{})
	errs := make(chan string, 8)
	const workers, perWorker = 4, 2000
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			out := make([]byte, wire.HeaderLen)
			from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(w)}), clientPort)
			rx := wire.TimeFromTime(testNow())
			var prev wire.Time
			for i := range perWorker {
				now := rx.Add(time.Duration(i) * time.Millisecond)
				req := request(wiretest.V4Client, 0, prev, 5, 6)
				n, v := s.Respond(out, req, from, now, st)
				if v.Replied() != (n == wire.HeaderLen) {
					errs <- v.String()
					return
				}
				if v.Replied() {
					prev = wire.ReceiveField(out)
					s.RecordTX(from.Addr(), prev, now.Add(time.Microsecond))
				}
			}
		}()
	}
	for i := range 200 {
		if i%2 == 0 {
			s.SetACL(nil)
		} else {
			s.SetACL(allow)
		}
	}
	s.SetACL(allow)
	for range workers {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Errorf("inconsistent verdict %s", e)
	}
}
