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
	start := time.Now()
	if !w.sleep(20 * time.Millisecond) {
		t.Fatal("sleep on an open waker returned false")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("sleep(20ms) returned after %v without a notify", d)
	}

	w.notify()
	w.notify() // several notifications are one wake-up
	start = time.Now()
	w.sleep(10 * time.Second)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a pending notify did not end the sleep (%v)", d)
	}
	start = time.Now()
	w.sleep(30 * time.Millisecond) // the notifications were consumed
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("a consumed notify ended a later sleep after %v", d)
	}

	go func() {
		time.Sleep(20 * time.Millisecond)
		w.notify()
	}()
	start = time.Now()
	w.sleep(10 * time.Second)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a notify during the sleep did not end it (%v)", d)
	}

	done := make(chan bool)
	go func() { done <- w.sleep(10 * time.Second) }()
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
