package serve

import (
	"testing"
	"time"
)

// TestWaker: sleep ends at its timeout, at once after a notify that came
// before it, early on a notify during it, and returns false at once after
// close (also for a sleeper that close wakes).
func TestWaker(t *testing.T) {
	w, err := newWaker()
	if err != nil {
		t.Fatal(err)
	}
	// A signal (the runtime's preemption) may end a sleep early, so a
	// sleep that should run to its timeout is measured up to 3 times.
	longest := func(d time.Duration) time.Duration {
		var m time.Duration
		for range 3 {
			start := time.Now()
			if !w.sleep(d) {
				t.Fatal("sleep on an open waker returned false")
			}
			if m = max(m, time.Since(start)); m >= d {
				break
			}
		}
		return m
	}
	if d := longest(20 * time.Millisecond); d < 20*time.Millisecond {
		t.Errorf("sleep(20ms) returned after %v without a notify", d)
	}

	w.notify()
	w.notify() // several notifications are one wake-up
	start := time.Now()
	w.sleep(10 * time.Second)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a pending notify did not end the sleep (%v)", d)
	}
	if d := longest(30 * time.Millisecond); d < 30*time.Millisecond { // the notifications were consumed
		t.Errorf("a consumed notify ended a later sleep after %v", d)
	}

	notified := make(chan struct{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		w.notify()
		close(notified)
	}()
	start = time.Now()
	w.sleep(10 * time.Second)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a notify during the sleep did not end it (%v)", d)
	}
	// A signal (the runtime's preemption) may end a sleep early: then that
	// notify is still pending. Consume it, so that only close can end the
	// sleep below; a sleep a signal ended early (true, not closing yet) is
	// slept again.
	<-notified
	w.sleep(0)

	done := make(chan bool)
	go func() {
		for {
			open := w.sleep(10 * time.Second)
			if !open || w.closing.Load() {
				done <- open
				return
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	w.close()
	select {
	case open := <-done:
		if open {
			t.Error("the sleep that close ended returned true")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close did not wake the sleeper")
	}
	if w.sleep(10 * time.Second) {
		t.Error("sleep after close returned true")
	}
	w.notify() // a no-op, not a write to a closed descriptor
	w.close()  // idempotent
}

// TestSleepFor: the sender's sleeps are at most sleepChunk and, short of
// the pass, planned to end at least quietBefore + oversleep before it, so
// that it yields at least every sleepChunk (plus oversleeps) and never in
// the quiet time, also when every sleep ends late.
func TestSleepFor(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct{ d, want time.Duration }{
		{0, 0},
		{ms, ms},
		{sleepChunk, sleepChunk},
		{sleepChunk + ms, sleepChunk + ms - quietBefore - oversleep},
		{sleepChunk + quietBefore + oversleep - 1, sleepChunk - 1},
		{sleepChunk + quietBefore + oversleep, sleepChunk},
		{50 * ms, sleepChunk},
	} {
		if got := sleepFor(c.d); got != c.want {
			t.Errorf("sleepFor(%v) = %v, want %v", c.d, got, c.want)
		}
	}
	// Walking periods as the sender does, each sleep ending late by up to
	// just under oversleep: every sleep but the last ends ≥ quietBefore
	// before the pass (so it yields), and no two yields are more than
	// sleepChunk + oversleep apart.
	for _, period := range []time.Duration{31250 * time.Microsecond, 9 * ms, 10 * ms, 10500 * time.Microsecond, 125 * ms} {
		for _, late := range []time.Duration{0, 50 * time.Microsecond, oversleep - 1} {
			left, elapsed, lastYield := period, time.Duration(0), time.Duration(0)
			for left > 0 {
				s := sleepFor(left)
				if s <= 0 || s > sleepChunk {
					t.Fatalf("sleepFor(%v) = %v", left, s)
				}
				if s < left { // not the last sleep: it may end late
					s = min(s+late, left)
				}
				elapsed, left = elapsed+s, left-s
				switch {
				case left >= quietBefore:
					if elapsed-lastYield > sleepChunk+oversleep {
						t.Errorf("period %v, late %v: yields %v apart", period, late, elapsed-lastYield)
					}
					lastYield = elapsed
				case left > 0:
					t.Errorf("period %v, late %v: a sleep ended %v before the pass, inside the quiet time", period, late, left)
				}
			}
			if period-lastYield > sleepChunk+oversleep {
				t.Errorf("period %v, late %v: last yield %v before the pass", period, late, period-lastYield)
			}
		}
	}
}
