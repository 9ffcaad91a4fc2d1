package gpsd

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
)

// Lines gpsd 3.22 sends (testdata/gpsd-3.22-fix.jsonl, shortened).
const (
	lVersion = `{"class":"VERSION","release":"3.22","rev":"3.22","proto_major":3,"proto_minor":14}`
	lDevices = `{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/pts/1","activated":"2026-12-06T20:29:19.965Z","native":0,"bps":4800,"parity":"N","stopbits":1,"cycle":1.00}]}`
	lWatch   = `{"class":"WATCH","enable":true,"json":true,"nmea":false,"raw":0,"scaled":false,"timing":false,"split24":false,"pps":true}`
	lDevice  = `{"class":"DEVICE","path":"/dev/pts/1","driver":"NMEA0183","activated":"2026-12-06T20:29:20.190Z","native":0,"bps":4800,"parity":"N","stopbits":1,"cycle":1.00}`
	lNoTime  = `{"class":"TPV","device":"/dev/pts/1","mode":3,"lat":52.229700000,"lon":21.012200000,"altHAE":144.5000,"altMSL":110.0000,"alt":110.0000,"magvar":6.1,"geoidSep":34.500,"eph":17.100}`
	lTOFF    = `{"class":"TOFF","device":"/dev/pts/1","real_sec":1795334402, "real_nsec":0,"clock_sec":1796588960,"clock_nsec":969949466}`
	lPPS     = `{"class":"PPS","device":"/dev/pts/1","real_sec":1795334403,"real_nsec":0,"clock_sec":1795334403,"clock_nsec":1500,"precision":-20}`
)

func tpv(label string, mode int) string {
	return `{"class":"TPV","device":"/dev/pts/1","mode":` + string(rune('0'+mode)) + `,"time":"` + label + `","ept":0.005,"lat":52.229700000,"lon":21.012200000}`
}

// fakeGPSD is a scripted gpsd on an ephemeral loopback port: each accepted
// connection is handed to the next script (the last one repeats).
type fakeGPSD struct {
	t       *testing.T
	ln      net.Listener
	scripts []func(f *fakeGPSD, c net.Conn, r *bufio.Reader)
	accepts chan time.Time
	watches chan string
	wg      sync.WaitGroup
}

func newFake(t *testing.T, scripts ...func(f *fakeGPSD, c net.Conn, r *bufio.Reader)) *fakeGPSD {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeGPSD{t: t, ln: ln, scripts: scripts, accepts: make(chan time.Time, 100), watches: make(chan string, 100)}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() {
		ln.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fakeGPSD) Addr() string { return f.ln.Addr().String() }

func (f *fakeGPSD) serve() {
	defer f.wg.Done()
	for n := 0; ; n++ {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		select {
		case f.accepts <- time.Now():
		default:
		}
		script := f.scripts[min(n, len(f.scripts)-1)]
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			script(f, c, r)
		}()
	}
}

// greet reads the WATCH command and sends gpsd's opening lines.
func (f *fakeGPSD) greet(c net.Conn, r *bufio.Reader) bool {
	cmd, err := r.ReadString('\n')
	if err != nil {
		return false
	}
	f.watches <- cmd
	return send(c, lVersion, lDevices, lWatch, lDevice)
}

func send(c net.Conn, lines ...string) bool {
	for _, l := range lines {
		if _, err := c.Write([]byte(l + "\r\n")); err != nil {
			return false
		}
	}
	return true
}

// hold keeps the connection open until the client closes it.
func hold(c net.Conn, r *bufio.Reader) {
	_, _ = r.ReadString(0)
}

// fakeClock returns base, base+1 s, base+2 s, … on successive calls.
func fakeClock(base time.Time) func() time.Time {
	var n atomic.Int64
	return func() time.Time { return base.Add(time.Duration(n.Add(1)-1) * time.Second) }
}

type run struct {
	reports chan refclock.TimeOfDay
	done    chan error
	cancel  context.CancelFunc
}

func start(t *testing.T, c *Client) *run {
	t.Helper()
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(t.Context())
	r := &run{reports: make(chan refclock.TimeOfDay, 100), done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- c.Run(ctx, func(tod refclock.TimeOfDay) { r.reports <- tod }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return r
}

func (r *run) next(t *testing.T) refclock.TimeOfDay {
	t.Helper()
	select {
	case tod := <-r.reports:
		return tod
	case <-time.After(5 * time.Second):
		t.Fatal("no report within 5 s")
	}
	return refclock.TimeOfDay{}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClientSession(t *testing.T) {
	base := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	f := newFake(t, func(f *fakeGPSD, c net.Conn, r *bufio.Reader) {
		if !f.greet(c, r) {
			return
		}
		send(c,
			lNoTime,
			tpv("2026-11-22T08:00:02.000Z", 3),
			lTOFF,
			`{"class":"SKY","device":"/dev/pts/1","satellites":[]}`,
			`{"class":"TPV","mode":3,"time":"2026-11-22T08:00:03.000Z"`, // truncated
			`$GPRMC,080003.00,A*00`,                                     // not JSON
			`{"class":"TPV","device":"/dev/pts/1","mode":3,"x":"`+strings.Repeat("x", MaxLine)+`"}`,
			lPPS,
			tpv("2026-11-22T08:00:03.250Z", 2),
			tpv("2026-11-22T08:00:04.000Z", 1),
			`{"class":"ERROR","message":"Unrecognized request"}`,
			tpv("2026-11-22T08:00:05.000Z", 3),
		)
		hold(c, r)
	})
	var pps []refclock.PPSReport
	var toff []refclock.PPSReport
	c := &Client{Addr: f.Addr(), Now: fakeClock(base),
		OnPPS:  func(p refclock.PPSReport) { pps = append(pps, p) },
		OnTOFF: func(p refclock.PPSReport) { toff = append(toff, p) }}
	r := start(t, c)

	want := []struct {
		label string
		valid bool
		fix   refclock.Fix
	}{
		{"", false, refclock.Fix3D},
		{"2026-11-22T08:00:02Z", true, refclock.Fix3D},
		{"2026-11-22T08:00:03.25Z", true, refclock.Fix2D},
		{"2026-11-22T08:00:04Z", false, refclock.FixNone},
		{"2026-11-22T08:00:05Z", true, refclock.Fix3D},
	}
	var last time.Time
	for i, w := range want {
		tod := r.next(t)
		var wantUTC time.Time
		if w.label != "" {
			wantUTC = utc(w.label)
		}
		if !tod.UTC.Equal(wantUTC) || tod.Valid != w.valid || tod.Fix != w.fix {
			t.Errorf("report %d: UTC %v Valid %v Fix %v; want %v %v %v", i, tod.UTC, tod.Valid, tod.Fix, wantUTC, w.valid, w.fix)
		}
		// Received comes from the injected clock, never goes back.
		if tod.Received.Before(base) || tod.Received.Sub(base)%time.Second != 0 || tod.Received.Before(last) {
			t.Errorf("report %d: Received %v not from the fake clock or out of order", i, tod.Received)
		}
		last = tod.Received
	}
	if got := <-f.watches; got != string(WatchCommand("")) {
		t.Errorf("WATCH = %q", got)
	}
	st := c.Status()
	if !st.Connected || st.Release != "3.22" || st.Reports != 5 || st.PPS != 1 || st.TOFF != 1 ||
		st.Malformed != 3 || st.ServerErrors != 1 || st.Sessions != 1 || st.Reconnects != 0 || !st.LastReport.Equal(last) || !st.LastValid {
		t.Errorf("Status = %+v", st)
	}
	var se *ServerError
	if !errors.As(st.LastError, &se) {
		t.Errorf("LastError = %v, want the ERROR message", st.LastError)
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		r.done <- nil
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return")
	}
	// The callbacks ran on Run's goroutine, which has returned.
	wantPPS := refclock.PPSReport{Real: time.Unix(1795334403, 0).UTC(), Clock: time.Unix(1795334403, 1500).UTC(), Precision: -20}
	if len(pps) != 1 || pps[0] != wantPPS {
		t.Errorf("PPS = %+v, want %+v", pps, wantPPS)
	}
	if len(toff) != 1 || !toff[0].Real.Equal(time.Unix(1795334402, 0)) {
		t.Errorf("TOFF = %+v", toff)
	}
}

func TestClientDevice(t *testing.T) {
	f := newFake(t, func(f *fakeGPSD, c net.Conn, r *bufio.Reader) {
		if !f.greet(c, r) {
			return
		}
		send(c,
			`{"class":"TPV","device":"/dev/ttyS1","mode":3,"time":"2026-11-22T08:00:01.000Z"}`,
			`{"class":"PPS","device":"/dev/pps1","real_sec":1,"real_nsec":0,"clock_sec":1,"clock_nsec":0}`,
			`{"class":"TPV","device":"/dev/ttyS0","mode":3,"time":"2026-11-22T08:00:02.000Z"}`)
		hold(c, r)
	})
	c := &Client{Addr: f.Addr(), Device: "/dev/ttyS0", OnPPS: func(refclock.PPSReport) { t.Error("PPS of another device") }}
	r := start(t, c)
	if tod := r.next(t); !tod.UTC.Equal(utc("2026-11-22T08:00:02Z")) {
		t.Errorf("got %v, want the /dev/ttyS0 report", tod.UTC)
	}
	if got := <-f.watches; got != string(WatchCommand("/dev/ttyS0")) {
		t.Errorf("WATCH = %q", got)
	}
}

// TestClientReconnect: gpsd closes the connection after one report; the
// client reconnects (after MinBackoff: the session was good) and goes on.
func TestClientReconnect(t *testing.T) {
	var n atomic.Int32
	f := newFake(t, func(f *fakeGPSD, c net.Conn, r *bufio.Reader) {
		if !f.greet(c, r) {
			return
		}
		k := n.Add(1)
		send(c, tpv("2026-11-22T08:00:0"+string(rune('0'+k))+".000Z", 3))
	})
	c := &Client{Addr: f.Addr(), MinBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}
	r := start(t, c)
	for k := 1; k <= 4; k++ {
		tod := r.next(t)
		if want := utc("2026-11-22T08:00:0" + string(rune('0'+k)) + "Z"); !tod.UTC.Equal(want) {
			t.Errorf("report %d: %v, want %v", k, tod.UTC, want)
		}
	}
	st := c.Status()
	if st.Sessions < 4 || st.Reconnects < 3 || !errors.Is(st.LastError, errClosed) {
		t.Errorf("Status = %+v", st)
	}
	// Good sessions reset the backoff: the gaps between connections stay
	// near MinBackoff, never MaxBackoff's doubling.
	var prev time.Time
	for i := 0; i < 4; i++ {
		at := <-f.accepts
		if i > 0 {
			if gap := at.Sub(prev); gap < 20*time.Millisecond {
				t.Errorf("reconnect %d after %v, want ≥ MinBackoff", i, gap)
			}
		}
		prev = at
	}
}

// TestClientBackoff: a gpsd that closes at once (no report) is retried
// after MinBackoff, doubling up to MaxBackoff.
func TestClientBackoff(t *testing.T) {
	f := newFake(t, func(f *fakeGPSD, c net.Conn, r *bufio.Reader) {})
	minB, maxB := 20*time.Millisecond, 80*time.Millisecond
	c := &Client{Addr: f.Addr(), MinBackoff: minB, MaxBackoff: maxB}
	start(t, c)
	var at []time.Time
	for range 6 {
		select {
		case a := <-f.accepts:
			at = append(at, a)
		case <-time.After(5 * time.Second):
			t.Fatal("no reconnect")
		}
	}
	want := []time.Duration{minB, 2 * minB, maxB, maxB, maxB}
	for i, w := range want {
		gap := at[i+1].Sub(at[i])
		// Lower bound only: a loaded machine may add delay, never remove it.
		if gap < w-2*time.Millisecond {
			t.Errorf("gap %d = %v, want ≥ %v", i, gap, w)
		}
		t.Logf("gap %d = %v (backoff %v)", i, gap, w)
	}
	if st := c.Status(); st.Reconnects < 5 || st.LastError == nil || st.Connected && st.Sessions == 0 {
		t.Errorf("Status = %+v", st)
	}
}

// TestClientSilence: gpsd greets and then says nothing (the receiver
// stopped talking): the session ends with ErrSilent and the client
// reconnects.
func TestClientSilence(t *testing.T) {
	f := newFake(t, func(f *fakeGPSD, c net.Conn, r *bufio.Reader) {
		if f.greet(c, r) {
			send(c, tpv("2026-11-22T08:00:01.000Z", 3), lTOFF) // then silence
			hold(c, r)
		}
	})
	c := &Client{Addr: f.Addr(), Silence: 150 * time.Millisecond, MinBackoff: 10 * time.Millisecond}
	r := start(t, c)
	r.next(t)
	t0 := time.Now()
	waitFor(t, "a silent session", func() bool { return errors.Is(c.Status().LastError, ErrSilent) })
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("silence noticed after %v, Silence 150 ms", d)
	}
	waitFor(t, "a reconnect", func() bool { return c.Status().Sessions >= 2 })
	r.next(t) // the second session's report
}

// TestClientProtocol: a gpsd of another protocol generation ends the
// session with ErrProtocol before any report.
func TestClientProtocol(t *testing.T) {
	f := newFake(t, func(f *fakeGPSD, c net.Conn, r *bufio.Reader) {
		_, _ = r.ReadString('\n')
		send(c, `{"class":"VERSION","release":"2.96","proto_major":2,"proto_minor":1}`, tpv("2026-11-22T08:00:01.000Z", 3))
		hold(c, r)
	})
	c := &Client{Addr: f.Addr(), MinBackoff: 10 * time.Millisecond}
	r := start(t, c)
	waitFor(t, "ErrProtocol", func() bool { return errors.Is(c.Status().LastError, ErrProtocol) })
	select {
	case tod := <-r.reports:
		t.Errorf("report from an incompatible gpsd: %+v", tod)
	default:
	}
}

// TestClientDialFails: nothing listens; attempts fail, are counted, and
// cancel still returns promptly.
func TestClientDialFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := &Client{Addr: addr, MinBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond}
	r := start(t, c)
	waitFor(t, "3 failed attempts", func() bool { return c.Status().Reconnects >= 3 })
	st := c.Status()
	if st.Connected || st.Sessions != 0 || st.LastError == nil || !strings.Contains(st.LastError.Error(), "dial") {
		t.Errorf("Status = %+v", st)
	}
	t0 := time.Now()
	r.cancel()
	if err := <-r.done; err != nil || time.Since(t0) > time.Second {
		t.Errorf("Run = %v after %v", err, time.Since(t0))
	}
	r.done <- nil
}

// TestClientCancel: Run returns nil promptly when ctx ends in the middle of
// a blocked read, and during a long backoff.
func TestClientCancel(t *testing.T) {
	t.Run("reading", func(t *testing.T) {
		f := newFake(t, func(f *fakeGPSD, c net.Conn, r *bufio.Reader) {
			if f.greet(c, r) {
				send(c, tpv("2026-11-22T08:00:01.000Z", 3))
				hold(c, r)
			}
		})
		c := &Client{Addr: f.Addr(), Silence: time.Minute}
		r := start(t, c)
		r.next(t)
		t0 := time.Now()
		r.cancel()
		if err := <-r.done; err != nil || time.Since(t0) > 500*time.Millisecond {
			t.Errorf("Run = %v after %v", err, time.Since(t0))
		}
		r.done <- nil
		if c.Status().Connected {
			t.Error("still Connected after Run returned")
		}
	})
	t.Run("backing off", func(t *testing.T) {
		f := newFake(t, func(f *fakeGPSD, c net.Conn, r *bufio.Reader) {})
		c := &Client{Addr: f.Addr(), MinBackoff: time.Minute}
		r := start(t, c)
		<-f.accepts
		waitFor(t, "the session to end", func() bool { return c.Status().LastError != nil })
		t0 := time.Now()
		r.cancel()
		if err := <-r.done; err != nil || time.Since(t0) > 500*time.Millisecond {
			t.Errorf("Run = %v after %v", err, time.Since(t0))
		}
		r.done <- nil
	})
}

func TestClientBadAddr(t *testing.T) {
	c := &Client{Addr: "localhost"}
	if err := c.Run(t.Context(), func(refclock.TimeOfDay) {}); err == nil {
		t.Error("Run accepted an address without a port")
	}
}

// The client is a refclock.TimeOfDaySource.
var _ refclock.TimeOfDaySource = (*Client)(nil)
