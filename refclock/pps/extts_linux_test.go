package pps

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
	"github.com/google/go-cmp/cmp"
)

// fakePHC is a PHC whose ioctls are recorded and whose event stream is a
// pipe: the real eventReader (poll, read, deadlines) runs on it.
type fakePHC struct {
	eventReader
	w *os.File

	mu       sync.Mutex
	c        phcCaps
	pins     []pinInfo
	calls    []string
	refuse   map[uint32]error // request flags → error
	requests []uint32
}

func newFakePHC(t *testing.T, c phcCaps, pins []pinInfo) *fakePHC {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	er, err := newEventReader(r)
	if err != nil {
		t.Fatal(err)
	}
	return &fakePHC{eventReader: er, w: w, c: c, pins: pins}
}

func (f *fakePHC) caps() (phcCaps, error) { return f.c, nil }
func (f *fakePHC) pin(i int) (pinInfo, error) {
	if i >= len(f.pins) {
		return pinInfo{}, syscall.EINVAL
	}
	return f.pins[i], nil
}
func (f *fakePHC) setPin(i int, fn, ch uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "setpin")
	f.pins[i].Func, f.pins[i].Channel = fn, ch
	return nil
}
func (f *fakePHC) request(ch, flags uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "request")
	f.requests = append(f.requests, flags)
	return f.refuse[flags]
}
func (f *fakePHC) drain(b []byte) error {
	f.mu.Lock()
	f.calls = append(f.calls, "drain")
	f.mu.Unlock()
	return f.eventReader.drain(b)
}
func (f *fakePHC) close() error { return nil }

// send writes events as the kernel would queue them.
func (f *fakePHC) send(t *testing.T, evs ...exttsEvent) {
	t.Helper()
	b := make([]byte, len(evs)*exttsEventSize)
	for i, e := range evs {
		encodeExtts(b[i*exttsEventSize:], e)
	}
	if _, err := f.w.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestEXTTSRun(t *testing.T) {
	tai := time.Date(2026, 3, 1, 12, 0, 37, 0, time.UTC)
	pins := []pinInfo{{Name: "SMA1", Index: 0}, {Name: "SMA2", Index: 1}}
	dev := newFakePHC(t, phcCaps{NExtTS: 2, NPins: 2}, pins)
	dev.refuse = map[uint32]error{0xb: syscall.EOPNOTSUPP} // no strict flags
	// A stale event queued before Run: drained, never delivered.
	dev.send(t, exttsEvent{T: tai.Add(-time.Hour), Channel: 1})

	e, err := newEXTTS(EXTTSConfig{Device: "/dev/ptp-fake", Channel: 1, Pin: "SMA2", Delay: 50 * time.Nanosecond}, dev)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	edges := make(chan refclock.Edge)
	errc := make(chan error, 1)
	go func() { errc <- e.Run(ctx, func(ed refclock.Edge) { edges <- ed }) }()

	// Wait until the channel is enabled, then feed events.
	for deadline := time.Now().Add(5 * time.Second); ; {
		dev.mu.Lock()
		n := len(dev.requests)
		dev.mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("channel never enabled")
		}
		time.Sleep(time.Millisecond)
	}
	dev.send(t, exttsEvent{T: tai.Add(50), Channel: 1}, exttsEvent{T: tai.Add(70), Channel: 0})
	dev.send(t, exttsEvent{T: tai.Add(time.Second + 40), Channel: 1})
	var got []refclock.Edge
	for range 2 {
		got = append(got, <-edges)
	}
	want := []refclock.Edge{{At: tai, Seq: 1}, {At: tai.Add(time.Second - 10), Seq: 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}

	// Run blocks in the poller with nothing queued; ctx must stop it.
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if diff := cmp.Diff(Stats{Edges: 2, Dropped: 1}, e.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	// Pin routed to channel 1, disabled, drained, strict refused, plain
	// enabled, disabled on return.
	if diff := cmp.Diff([]string{"setpin", "request", "drain", "request", "request", "request"}, dev.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint32{0, 0xb, 0x3, 0}, dev.requests); diff != "" {
		t.Errorf("request flags (-want +got):\n%s", diff)
	}
	if dev.pins[1].Func != ptpPFExtts || dev.pins[1].Channel != 1 {
		t.Errorf("pin 1 = %+v", dev.pins[1])
	}
}

func TestEXTTSAlreadyRoutedStrict(t *testing.T) {
	dev := newFakePHC(t, phcCaps{NExtTS: 1, NPins: 1}, []pinInfo{{Name: "GNSS", Index: 0, Func: ptpPFExtts, Channel: 0}})
	e, err := newEXTTS(EXTTSConfig{Device: "/dev/ptp-fake", Pin: "0", Polarity: Both}, dev)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := e.Run(ctx, func(refclock.Edge) {}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint32{0, 0xf, 0}, dev.requests); diff != "" {
		t.Errorf("request flags (-want +got):\n%s", diff)
	}
	if len(dev.calls) > 0 && dev.calls[0] == "setpin" {
		t.Errorf("pin already routed, yet PTP_PIN_SETFUNC was called")
	}
}

func TestEXTTSErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    EXTTSConfig
		caps   phcCaps
		pins   []pinInfo
		refuse map[uint32]error
		want   []string
		is     error
	}{
		{name: "config", cfg: EXTTSConfig{Channel: -1, Polarity: 5, Delay: -time.Second},
			want: []string{"Device is empty", "Channel -1", "Polarity: polarity Polarity(5)", "Delay -1s"}, is: ErrInvalid},
		{name: "channel missing", cfg: EXTTSConfig{Device: "/dev/ptp0", Channel: 2}, caps: phcCaps{NExtTS: 2},
			want: []string{"PHC /dev/ptp0 EXTTS channel 2: channel 2 requested, the device has channels 0…1 (n_ext_ts 2)"}, is: ErrCapability},
		{name: "pin name missing", cfg: EXTTSConfig{Device: "/dev/ptp0", Pin: "SMA9"}, caps: phcCaps{NExtTS: 1, NPins: 1}, pins: []pinInfo{{Name: "SMA1"}},
			want: []string{`pin "SMA9" not found; the device's pins are ["SMA1"]`}, is: ErrCapability},
		{name: "no edge selection", cfg: EXTTSConfig{Device: "/dev/ptp0", Polarity: Falling}, caps: phcCaps{NExtTS: 1},
			refuse: map[uint32]error{0xd: syscall.EOPNOTSUPP, 0x5: syscall.EOPNOTSUPP},
			want:   []string{"enable (falling, flags 0x5): the driver does not support this edge selection"}, is: syscall.EOPNOTSUPP},
		{name: "old kernel", cfg: EXTTSConfig{Device: "/dev/ptp0"}, caps: phcCaps{NExtTS: 1},
			refuse: map[uint32]error{0xb: syscall.ENOTTY},
			want:   []string{"PTP_EXTTS_REQUEST2 (Linux ≥ 5.4)"}, is: syscall.ENOTTY},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := newFakePHC(t, tc.caps, tc.pins)
			dev.refuse = tc.refuse
			e, err := newEXTTS(tc.cfg, dev)
			if err == nil {
				err = e.Run(t.Context(), func(refclock.Edge) {})
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}
