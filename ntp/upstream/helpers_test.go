package upstream

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/ntp/client"
)

// offsetClock is a served clock = CLOCK_REALTIME + off, steppable from
// tests; FromRealtime applies the same offset, as clock.Virtual does.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) Now() time.Time { return time.Now().Round(0).Add(time.Duration(c.off.Load())) }
func (c *offsetClock) FromRealtime(t time.Time) time.Time {
	return t.Add(time.Duration(c.off.Load()))
}

// recSink records what the Upstream reports. Safe for concurrent reads.
type recSink struct {
	mu      sync.Mutex
	samples map[string][]filter.Sample
	states  map[string][]client.Estimate
}

func newRecSink() *recSink {
	return &recSink{samples: map[string][]filter.Sample{}, states: map[string][]client.Estimate{}}
}

func (r *recSink) OnSample(id string, s filter.Sample, e client.Estimate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples[id] = append(r.samples[id], s)
	r.states[id] = append(r.states[id], e)
}

func (r *recSink) OnState(id string, _ time.Time, e client.Estimate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states[id] = append(r.states[id], e)
}

func (r *recSink) Samples(id string) []filter.Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.samples[id])
}

func (r *recSink) States(id string) []client.Estimate {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.states[id])
}

// testLogger logs to the test at Debug when -v, else Info to stderr is
// too noisy: log Info and above through t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// runUpstream starts u.Run in the background and stops it at cleanup,
// failing the test if Run returns an error or does not return within 5 s.
func runUpstream(t *testing.T, u *Upstream) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5 s of cancel")
		}
	})
}

// status fetches a Status within 2 s.
func status(t *testing.T, u *Upstream) *Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	st, err := u.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st
}

// source returns the status of source id.
func (st *Status) source(t *testing.T, id string) *SourceStatus {
	t.Helper()
	for i := range st.Sources {
		if st.Sources[i].ID == id {
			return &st.Sources[i]
		}
	}
	t.Fatalf("no source %q in status", id)
	return nil
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fakeMode says how fakeServer answers.
type fakeMode int32

const (
	fakeGood fakeMode = iota
	fakeRATE
	fakeDENY
	fakeSilent
)

// fakeServer is a minimal in-process NTP server on loopback that answers
// with user-space time (CLOCK_REALTIME) or with a kiss-o'-death. Its
// receive loop does not allocate.
type fakeServer struct {
	conn     *net.UDPConn
	mode     atomic.Int32
	requests atomic.Int64
	done     chan struct{}
}

func startFake(t testing.TB, mode fakeMode) *fakeServer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return startFakeOn(t, c, mode)
}

// startFakeOn serves on c (closed at cleanup).
func startFakeOn(t testing.TB, c *net.UDPConn, mode fakeMode) *fakeServer {
	f := &fakeServer{conn: c, done: make(chan struct{})}
	f.mode.Store(int32(mode))
	go f.serve()
	t.Cleanup(func() {
		c.Close()
		<-f.done
	})
	return f
}

func (f *fakeServer) addr() netip.AddrPort { return f.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (f *fakeServer) serve() {
	defer close(f.done)
	var buf, out [128]byte
	for {
		n, from, err := f.conn.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		rx := time.Now()
		if n < 48 {
			continue
		}
		f.requests.Add(1)
		mode := fakeMode(f.mode.Load())
		if mode == fakeSilent {
			continue
		}
		out = [128]byte{}
		out[0] = 0<<6 | 4<<3 | 4
		out[1] = 1
		out[2] = buf[2]
		out[3] = byte(0xEC) // precision −20
		binary.BigEndian.PutUint32(out[12:], 0x4C4F434C)
		copy(out[24:32], buf[40:48]) // origin = request transmit (the cookie)
		switch mode {
		case fakeRATE, fakeDENY:
			out[0] = 3<<6 | 4<<3 | 4
			out[1] = 0
			code := uint32(0x52415445) // RATE
			if mode == fakeDENY {
				code = 0x44454E59
			}
			binary.BigEndian.PutUint32(out[12:], code)
		default:
			binary.BigEndian.PutUint64(out[16:], ntpTime(rx.Add(-time.Second)))
			binary.BigEndian.PutUint64(out[32:], ntpTime(rx))
			binary.BigEndian.PutUint64(out[40:], ntpTime(time.Now()))
		}
		f.conn.WriteToUDPAddrPort(out[:48], from)
	}
}

// ntpTime converts t to the NTP 32.32 format (era 0).
func ntpTime(t time.Time) uint64 {
	sec := uint64(t.Unix() + 2208988800)
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	return sec<<32 | frac
}

// median of durations (0 for none).
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// quantile q (0…1) of durations, nearest rank.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q * float64(len(s)-1))
	return s[i]
}

// requireInterop reports whether interop tests must run (fail instead of
// skip when their prerequisites are missing).
func requireInterop() bool { return os.Getenv("GNOMON_REQUIRE_INTEROP") == "1" }

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }

// fullReach reports whether the last seven polls were answered; bit 0 may
// still be clear because the latest request is in flight.
func fullReach(r uint8) bool { return r|1 == 0xff }

// livenessWait bounds waits for things that must happen eventually (a
// server starts, samples arrive, a KoD is acted on). They return as soon
// as the condition holds, so the bound only decides how long a loaded
// 2-CPU CI machine may take before the test calls it a hang; timing claims
// (how fast a dead source is detected) keep their own tighter bounds.
const livenessWait = 15 * time.Second
