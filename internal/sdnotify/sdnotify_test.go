package sdnotify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWatchdogInterval(t *testing.T) {
	tests := []struct {
		usec, pid string
		want      time.Duration
		wantErr   bool
	}{
		{"", "", 0, false},
		{"", "42", 0, false},
		{"30000000", "", 15 * time.Second, false},
		{"30000000", "42", 15 * time.Second, false},
		{"30000000", "43", 0, false}, // another process's watchdog
		{"200000", "42", 100 * time.Millisecond, false},
		{"1", "", 500 * time.Nanosecond, false},
		{"0", "", 0, true},
		{"-5", "", 0, true},
		{"abc", "", 0, true},
		{"30000000", "x", 0, true},
		{"30000000", "0", 0, true},
		{"99999999999999999999", "", 0, true},
	}
	for _, tt := range tests {
		got, err := WatchdogInterval(tt.usec, tt.pid, 42)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("WatchdogInterval(%q, %q) = %v, %v; want %v, err %v", tt.usec, tt.pid, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestStatus(t *testing.T) {
	if got := Status("a\nb\rc"); got != "STATUS=a b c" {
		t.Errorf("Status = %q", got)
	}
	if got := MonotonicUsec(1500 * time.Millisecond); got != "MONOTONIC_USEC=1500000" {
		t.Errorf("MonotonicUsec = %q", got)
	}
}

func TestNilNotifier(t *testing.T) {
	n, err := Open("")
	if err != nil || n != nil {
		t.Fatalf("Open(\"\") = %v, %v; want nil, nil", n, err)
	}
	if err := n.Notify(Ready); err != nil {
		t.Error(err)
	}
	if err := n.Close(); err != nil {
		t.Error(err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, s := range []string{"relative/sock", "vsock:2:1234", filepath.Join(t.TempDir(), "absent")} {
		if _, err := Open(s); err == nil {
			t.Errorf("Open(%q) succeeded", s)
		}
	}
}

// The datagrams arrive as sent, over a path and over an abstract name.
func TestNotify(t *testing.T) {
	for _, name := range []string{
		filepath.Join(t.TempDir(), "notify"),
		fmt.Sprintf("@gnomon-sdnotify-test-%d", os.Getpid()),
	} {
		t.Run(name, func(t *testing.T) {
			l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			n, err := Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			if err := n.Notify(Ready, Status("serving")); err != nil {
				t.Fatal(err)
			}
			if err := n.Notify(Stopping); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4096)
			for _, want := range []string{"READY=1\nSTATUS=serving", "STOPPING=1"} {
				l.SetReadDeadline(time.Now().Add(2 * time.Second))
				k, err := l.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				if got := string(buf[:k]); got != want {
					t.Errorf("datagram %q, want %q", got, want)
				}
			}
		})
	}
}

func TestMonotonic(t *testing.T) {
	a, err := Monotonic()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	b, _ := Monotonic()
	if a <= 0 || b-a < time.Millisecond {
		t.Errorf("monotonic %v then %v", a, b)
	}
}
