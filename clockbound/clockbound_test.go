package clockbound

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/report"
)

// The layout, byte for byte on a little-endian machine (clock-bound-shm's
// ShmHeader + ClockErrorBound).
func TestEncodeGolden(t *testing.T) {
	if ne.Uint16([]byte{1, 0}) != 1 {
		t.Skip("golden bytes are little-endian")
	}
	s := Segment{Generation: 10, AsOf: 2*time.Second + 3, VoidAfter: 1002*time.Second + 3, Bound: 12345 * time.Nanosecond,
		DisruptionMarker: 0, MaxDriftPPB: 50000, Status: StatusSynchronized}
	var b [Size]byte
	s.Encode(b[:])
	want := "4e5a4d41" + "00024243" + "50000000" + "0200" + "0a00" +
		"0200000000000000" + "0300000000000000" + // as_of
		"ea03000000000000" + "0300000000000000" + // void_after
		"3930000000000000" + "0000000000000000" + // bound, disruption marker
		"50c30000" + "01000000" + "00" + "00000000000000" // max drift, status, support, padding
	if got := hex.EncodeToString(b[:]); got != want {
		t.Errorf("segment\n got %s\nwant %s", got, want)
	}
	d, err := Decode(b[:])
	if err != nil || d != s {
		t.Errorf("decode: %+v %v", d, err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	var b [Size]byte
	(&Segment{Generation: 2}).Encode(b[:])
	for _, tt := range []struct {
		name string
		mod  func(b []byte) []byte
		want error
	}{
		{"short", func(b []byte) []byte { return b[:79] }, ErrShort},
		{"magic", func(b []byte) []byte { b[0] ^= 1; return b }, ErrMagic},
		{"size", func(b []byte) []byte { ne.PutUint32(b[8:], 40); return b }, ErrShort},
		{"version 1", func(b []byte) []byte { ne.PutUint16(b[12:], 1); return b }, ErrVersion},
		{"never written", func(b []byte) []byte { ne.PutUint16(b[14:], 0); return b }, ErrEmpty},
	} {
		c := b
		if _, err := Decode(tt.mod(c[:])); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestBoundAt(t *testing.T) {
	s := Segment{AsOf: 100 * time.Second, VoidAfter: 1100 * time.Second, Bound: time.Microsecond, MaxDriftPPB: 50000, Status: StatusSynchronized}
	for _, tt := range []struct {
		mono  time.Duration
		bound time.Duration
		st    Status
		ok    bool
	}{
		{100 * time.Second, time.Microsecond, StatusSynchronized, true},
		{101 * time.Second, 51 * time.Microsecond, StatusSynchronized, true},
		{110 * time.Second, 501 * time.Microsecond, StatusFreeRunning, true}, // past the 5 s grace
		{1200 * time.Second, 55001 * time.Microsecond, StatusUnknown, true},  // past void_after
		{99 * time.Second, 0, StatusSynchronized, false},                     // before as_of
	} {
		b, st, ok := s.BoundAt(tt.mono)
		if b != tt.bound || st != tt.st || ok != tt.ok {
			t.Errorf("at %v: %v %v %v, want %v %v %v", tt.mono, b, st, ok, tt.bound, tt.st, tt.ok)
		}
	}
}

type fakeServed struct{ r atomic.Pointer[report.Served] }

func (f *fakeServed) Served() (report.Served, bool) {
	r := f.r.Load()
	if r == nil {
		return report.Served{}, false
	}
	return *r, true
}

func TestWriterStatus(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clockbound", "shm0")
	f := &fakeServed{}
	mono := time.Duration(0)
	w, err := Create(WriterConfig{Path: path, MaxDriftPPB: 50000, Served: f,
		RealtimeOffset: func() time.Duration { return -3 * time.Microsecond }, Monotonic: func() time.Duration { return mono }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); !errors.Is(err, ErrEmpty) {
		t.Errorf("fresh segment: %v, want not written yet", err)
	}
	step := func(r *report.Served) Segment {
		t.Helper()
		mono += time.Second
		f.r.Store(r)
		if err := w.Update(); err != nil {
			t.Fatal(err)
		}
		s, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if s.MaxDriftPPB != 50000 || s.Generation%2 != 0 || s.VoidAfter != s.AsOf+VoidAfter {
			t.Errorf("segment %+v at mono %v", s, mono)
		}
		if s.Status != StatusFreeRunning && s.AsOf != mono {
			t.Errorf("%v segment as of %v at mono %v", s.Status, s.AsOf, mono)
		}
		return s
	}
	for _, c := range []struct {
		name string
		r    *report.Served
	}{{"no state", nil}, {"local reference", &report.Served{Synchronized: true, Source: "local", ErrorBound: time.Microsecond}},
		{"never synchronised", &report.Served{Synchronized: false}}} {
		if s := step(c.r); s.Status != StatusUnknown || s.Bound != 0 {
			t.Errorf("%s: %v bound %v, want unknown with bound 0", c.name, s.Status, s.Bound)
		}
	}
	s := step(&report.Served{Synchronized: true, Source: "192.0.2.1", ErrorBound: 40 * time.Microsecond})
	if s.Status != StatusSynchronized || s.Bound != 43*time.Microsecond {
		t.Errorf("synchronised: %v bound %v, want 40 µs + |−3 µs| to CLOCK_REALTIME", s.Status, s.Bound)
	}
	syncedAt := mono
	for range 2 {
		// Free-running keeps the last measurement: readers grow it at
		// max_drift from its as_of.
		fr := step(&report.Served{Synchronized: false})
		if fr.Status != StatusFreeRunning || fr.AsOf != syncedAt || fr.Bound != 43*time.Microsecond {
			t.Errorf("lost synchronisation: %v as of %v bound %v, want free-running as of %v with 43 µs", fr.Status, fr.AsOf, fr.Bound, syncedAt)
		}
	}
	// The generation rolls over to 2, never to 0.
	w.gen = 0xFFFE
	step(&report.Served{Synchronized: true, ErrorBound: time.Microsecond})
	if s, _ := Read(path); s.Generation != 2 {
		t.Errorf("generation after 0xFFFE: %d, want 2", s.Generation)
	}
	step(&report.Served{Synchronized: true, ErrorBound: time.Microsecond})
	w.Close()
	// A restarted writer goes on from the file's generation.
	w2, err := Create(WriterConfig{Path: path, MaxDriftPPB: 50000, Served: f, Monotonic: func() time.Duration { return mono }})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if err := w2.Update(); err != nil {
		t.Fatal(err)
	}
	if s, _ := Read(path); s.Generation != 6 {
		t.Errorf("generation after a restart at 4: %d, want 6", s.Generation)
	}
}

// A VMClock disruption: the segment carries the device's marker with
// disruption_support 1 once one has been read; status disrupted, with the
// served (widened) bound, while the served state or the VMClock source is
// disrupted; the bound from before it is not extrapolated afterwards.
func TestWriterDisruption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shm0")
	f := &fakeServed{}
	mono := time.Duration(0)
	var dis atomic.Pointer[Disruption]
	w, err := Create(WriterConfig{Path: path, MaxDriftPPB: 50000, Served: f, Monotonic: func() time.Duration { return mono },
		Disruption: func() (Disruption, bool) {
			if d := dis.Load(); d != nil {
				return *d, true
			}
			return Disruption{}, false
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	step := func(r report.Served, d *Disruption) Segment {
		t.Helper()
		mono += time.Second
		f.r.Store(&r)
		dis.Store(d)
		if err := w.Update(); err != nil {
			t.Fatal(err)
		}
		s, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	synced := report.Served{Synchronized: true, Source: "/dev/ptp0", ErrorBound: 40 * time.Microsecond}
	widened := synced
	widened.ErrorBound, widened.Disrupted = 1040*time.Microsecond, true
	lost := report.Served{Synchronized: false}
	for _, c := range []struct {
		name    string
		r       report.Served
		d       *Disruption
		st      Status
		bound   time.Duration
		support bool
		marker  uint64
	}{
		{"no marker read yet", synced, nil, StatusSynchronized, 40 * time.Microsecond, false, 0},
		{"marker read", synced, &Disruption{Marker: 100}, StatusSynchronized, 40 * time.Microsecond, true, 100},
		// The source saw the new marker; the engine has not been told yet.
		{"source disrupted first", synced, &Disruption{Marker: 101, Disrupted: true}, StatusDisrupted, 40 * time.Microsecond, true, 101},
		{"engine disrupted", widened, &Disruption{Marker: 101, Disrupted: true}, StatusDisrupted, 1040 * time.Microsecond, true, 101},
		{"source re-locked, engine not", widened, &Disruption{Marker: 101}, StatusDisrupted, 1040 * time.Microsecond, true, 101},
		{"lost while disrupted", report.Served{Disrupted: true}, &Disruption{Marker: 101}, StatusDisrupted, 0, true, 101},
		// The pre-disruption bound is forgotten: unknown, not free-running.
		{"lost after it", lost, &Disruption{Marker: 101}, StatusUnknown, 0, true, 101},
		{"re-locked", synced, &Disruption{Marker: 101}, StatusSynchronized, 40 * time.Microsecond, true, 101},
		{"lost after re-lock", lost, &Disruption{Marker: 101}, StatusFreeRunning, 40 * time.Microsecond, true, 101},
	} {
		s := step(c.r, c.d)
		if s.Status != c.st || s.Bound != c.bound || s.DisruptionSupport != c.support || s.DisruptionMarker != c.marker {
			t.Errorf("%s: status %v bound %v support %v marker %d, want %v %v %v %d", c.name,
				s.Status, s.Bound, s.DisruptionSupport, s.DisruptionMarker, c.st, c.bound, c.support, c.marker)
		}
	}
}

// A reader running while the writer updates thousands of times never sees a
// segment whose fields disagree (each update writes the same number into
// bound, marker-like fields and as_of).
func TestReaderNeverTorn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shm0")
	f := &fakeServed{}
	var n atomic.Int64
	w, err := Create(WriterConfig{Path: path, Served: f, Monotonic: func() time.Duration { return time.Duration(n.Load()) * time.Second }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		for i := int64(1); i <= 2000 && ctx.Err() == nil; i++ {
			n.Store(i)
			f.r.Store(&report.Served{Synchronized: true, Source: "x", ErrorBound: time.Duration(i) * time.Microsecond})
			if err := w.Update(); err != nil {
				done <- err
				return
			}
			// Back to back, updates would starve the reader's retries
			// (gnomond updates once a second); a pause keeps both busy.
			time.Sleep(100 * time.Microsecond)
		}
		done <- nil
	}()
	reads := 0
	for ctx.Err() == nil {
		s, err := Read(path)
		if errors.Is(err, ErrEmpty) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		reads++
		if s.Bound != time.Duration(s.AsOf/time.Second)*time.Microsecond || s.VoidAfter != s.AsOf+VoidAfter {
			t.Fatalf("torn segment: %+v", s)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if reads < 10 {
				t.Fatalf("only %d reads during the writes", reads)
			}
			return
		default:
		}
	}
	t.Fatalf("writer did not finish: %d reads", reads)
}

func TestCreateRefusesBadPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(WriterConfig{Path: filepath.Join(file, "shm0"), Served: &fakeServed{}}); err == nil {
		t.Error("a path under a regular file was accepted")
	}
}
