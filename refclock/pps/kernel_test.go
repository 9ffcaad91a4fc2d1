package pps

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
	"github.com/google/go-cmp/cmp"
)

// fakePPS is a kernel PPS device driven by a script. fetch(0) returns the
// latest events at once; each waiting fetch plays one step.
type fakePPS struct {
	caps    int32
	capsErr error
	params  ppsParams
	setErr  error
	sets    []ppsParams
	cur     ppsInfo
	steps   []ppsStep
	waits   []time.Duration // timeouts of the waiting fetches
	done    func()          // called when the script is exhausted
	closed  bool
}

// ppsStep is what happens during one waiting fetch.
type ppsStep struct {
	assert, clear int // events of each edge (the sequence advances by this)
	err           error
	at            time.Time // timestamp of the latest event
}

func (f *fakePPS) getCap() (int32, error)        { return f.caps, f.capsErr }
func (f *fakePPS) getParams() (ppsParams, error) { return f.params, nil }
func (f *fakePPS) setParams(p ppsParams) error {
	if f.setErr != nil {
		return f.setErr
	}
	f.sets = append(f.sets, p)
	f.params = p
	return nil
}
func (f *fakePPS) close() error { f.closed = true; return nil }

func (f *fakePPS) fetch(timeout time.Duration) (ppsInfo, error) {
	if timeout == 0 {
		return f.cur, nil
	}
	f.waits = append(f.waits, timeout)
	if len(f.steps) == 0 {
		f.done()
		return ppsInfo{}, syscall.ETIMEDOUT
	}
	s := f.steps[0]
	f.steps = f.steps[1:]
	if s.assert > 0 {
		f.cur.AssertSeq += uint32(s.assert)
		f.cur.Assert = ppsKtime{Sec: s.at.Unix(), Nsec: int32(s.at.Nanosecond())}
	}
	if s.clear > 0 {
		f.cur.ClearSeq += uint32(s.clear)
		f.cur.Clear = ppsKtime{Sec: s.at.Unix(), Nsec: int32(s.at.Nanosecond())}
	}
	if s.err != nil {
		return ppsInfo{}, s.err // an event during a timeout shows in the next fetch(0)
	}
	return f.cur, nil
}

const fullCaps = ppsCaptureAssert | ppsCaptureClear | ppsOffsetAssert | ppsOffsetClear | ppsCanWait | ppsTSFmtTspec

func TestKernelRun(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sec := func(n int, ns int) time.Time { return t0.Add(time.Duration(n)*time.Second + time.Duration(ns)) }
	for _, tc := range []struct {
		name   string
		cfg    KernelConfig
		start  ppsInfo
		steps  []ppsStep
		want   []refclock.Edge
		stats  Stats
		setTo  int32 // mode set, 0 = none
		params ppsParams
	}{
		{
			name:   "assert with gaps and compensation",
			cfg:    KernelConfig{Polarity: Rising, Delay: 100 * time.Nanosecond},
			start:  ppsInfo{AssertSeq: 41, Assert: ppsKtime{Sec: t0.Unix() - 100}}, // stale: not delivered
			params: ppsParams{APIVersion: 1, Mode: 0x1001},
			steps: []ppsStep{
				{assert: 1, at: sec(1, 120)},
				{assert: 1, at: sec(2, 80)},
				{assert: 3, at: sec(5, 100)}, // two missed
				{clear: 1, at: sec(5, 100_000_000)},
			},
			want: []refclock.Edge{
				{At: sec(1, 20), Seq: 42},
				{At: sec(1, 999_999_980), Seq: 43},
				{At: sec(5, 0), Seq: 46},
			},
			stats: Stats{Edges: 3, Missed: 2},
		},
		{
			name:   "clear edge, mode widened",
			cfg:    KernelConfig{Polarity: Falling},
			params: ppsParams{APIVersion: 1, Mode: 0x1001},
			setTo:  0x1003,
			steps: []ppsStep{
				{assert: 1, at: sec(1, 0)},
				{clear: 1, at: sec(1, 100_000_000)},
			},
			want:  []refclock.Edge{{At: sec(1, 100_000_000), Seq: 1}},
			stats: Stats{Edges: 1},
		},
		{
			name:   "assert-falling device",
			cfg:    KernelConfig{Polarity: Falling, AssertFalling: true},
			params: ppsParams{Mode: 0x1},
			setTo:  0x1001,
			steps:  []ppsStep{{assert: 1, at: sec(1, 5)}},
			want:   []refclock.Edge{{At: sec(1, 5), Seq: 1}},
			stats:  Stats{Edges: 1},
		},
		{
			name:   "event during a timeout, and EINTR",
			cfg:    KernelConfig{Polarity: Rising, FetchTimeout: 100 * time.Millisecond},
			params: ppsParams{APIVersion: 1, Mode: 0x1001},
			steps: []ppsStep{
				{err: syscall.ETIMEDOUT},
				{assert: 1, at: sec(1, 7), err: syscall.ETIMEDOUT}, // arrived between fetches
				{err: syscall.EINTR},
				{assert: 1, at: sec(2, 9)},
			},
			want:  []refclock.Edge{{At: sec(1, 7), Seq: 1}, {At: sec(2, 9), Seq: 2}},
			stats: Stats{Edges: 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			dev := &fakePPS{caps: fullCaps, params: tc.params, cur: tc.start, steps: tc.steps, done: cancel}
			tc.cfg.Device = "/dev/pps-fake"
			k, err := newKernel(tc.cfg, dev)
			if err != nil {
				t.Fatal(err)
			}
			var got []refclock.Edge
			if err := k.Run(ctx, func(e refclock.Edge) { got = append(got, e) }); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("edges (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.stats, k.Stats()); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			if tc.setTo != 0 {
				if len(dev.sets) != 1 || dev.sets[0].Mode != tc.setTo || dev.sets[0].APIVersion != 1 {
					t.Errorf("PPS_SETPARAMS calls %+v, want one with mode %#x", dev.sets, tc.setTo)
				}
			} else if len(dev.sets) != 0 {
				t.Errorf("PPS_SETPARAMS called (%+v) though the mode already captured the edge", dev.sets)
			}
			want := tc.cfg.FetchTimeout
			if want == 0 {
				want = DefaultFetchTimeout
			}
			for _, w := range dev.waits {
				if w != want {
					t.Fatalf("fetch timeouts %v, want %v", dev.waits, want)
				}
			}
			if err := k.Close(); err != nil || !dev.closed {
				t.Errorf("Close: %v, closed %v", err, dev.closed)
			}
		})
	}
}

func TestKernelErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  KernelConfig
		dev  *fakePPS
		run  bool // the error comes from Run, not the constructor
		want []string
		is   error
	}{
		{"config", KernelConfig{Polarity: Both, Delay: time.Second, FetchTimeout: -1}, &fakePPS{},
			false, []string{"Device is empty", "Polarity: polarity both", "Delay 1s", "FetchTimeout -1ns"}, ErrInvalid},
		{"not a PPS device", KernelConfig{Device: "/tmp/x"}, &fakePPS{capsErr: syscall.ENOTTY},
			false, []string{"kernel PPS /tmp/x: PPS_GETCAP: not a PPS device"}, ErrNotPPS},
		{"no clear capture", KernelConfig{Device: "/dev/pps0", Polarity: Falling}, &fakePPS{caps: ppsCaptureAssert | ppsCanWait | ppsTSFmtTspec},
			false, []string{"kernel PPS /dev/pps0 (falling edge)", "[PPS_CAPTURECLEAR]"}, ErrCapability},
		{"setparams refused", KernelConfig{Device: "/dev/pps0"}, &fakePPS{caps: fullCaps, params: ppsParams{Mode: 0x1002}, setErr: syscall.EPERM},
			true, []string{"PPS_SETPARAMS mode 0x1002 → 0x1003 (needs CAP_SYS_TIME"}, syscall.EPERM},
		{"fetch fails", KernelConfig{Device: "/dev/pps0"}, &fakePPS{caps: fullCaps, params: ppsParams{Mode: 0x1001}, steps: []ppsStep{{err: syscall.ENODEV}}},
			true, []string{"kernel PPS /dev/pps0: PPS_FETCH"}, syscall.ENODEV},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.dev.done = func() { t.Error("script exhausted") }
			k, err := newKernel(tc.cfg, tc.dev)
			if tc.run {
				if err != nil {
					t.Fatal(err)
				}
				err = k.Run(t.Context(), func(refclock.Edge) {})
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
