package nmea

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gnomon-time/gnomon/refclock"
)

// openPTY opens a pseudo-terminal master and returns it with its slave's
// path (posix_openpt, unlockpt, ptsname by hand).
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	rc, err := m.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr != nil {
			return
		}
		n, ierr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
	}); err != nil || ierr != nil {
		t.Fatalf("unlockpt/ptsname: %v %v", err, ierr)
	}
	return m, fmt.Sprintf("/dev/pts/%d", n)
}

func termios(t *testing.T, path string) *unix.Termios {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var tio *unix.Termios
	var ierr error
	if err := rc.Control(func(fd uintptr) { tio, ierr = unix.IoctlGetTermios(int(fd), unix.TCGETS) }); err != nil || ierr != nil {
		t.Fatalf("TCGETS %s: %v %v", path, err, ierr)
	}
	return tio
}

func epochLines(e Epoch) []byte {
	b := AppendRMC(nil, e)
	b = AppendGGA(b, e)
	b = AppendGSA(b, e)
	return AppendZDA(b, e)
}

// TestSerialPTY drives the real open/termios/read path through a pty.
func TestSerialPTY(t *testing.T) {
	m, slave := openPTY(t)
	rx := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := Open(slave, Config{Baud: 115200, Now: func() time.Time { return rx }})
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != slave || s.Status().Baud != 115200 {
		t.Errorf("path %q status %+v", s.Path(), s.Status())
	}
	tio := termios(t, slave)
	if got := tio.Cflag & unix.CBAUD; got != unix.B115200 {
		t.Errorf("speed bits %#o, want B115200 %#o", got, unix.B115200)
	}
	if tio.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 || tio.Iflag&(unix.ICRNL|unix.IXON) != 0 || tio.Oflag&unix.OPOST != 0 {
		t.Errorf("not raw: %+v", tio)
	}
	if tio.Cflag&(unix.CSIZE|unix.PARENB|unix.CSTOPB) != unix.CS8 || tio.Cflag&unix.CLOCAL == 0 {
		t.Errorf("not 8N1/CLOCAL: cflag %#o", tio.Cflag)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	reports := make(chan refclock.TimeOfDay, 16)
	done := make(chan error, 1)
	started := make(chan struct{})
	s.onStart = func() { close(started) }
	go func() { done <- s.Run(ctx, func(tod refclock.TimeOfDay) { reports <- tod }) }()
	next := func() refclock.TimeOfDay {
		t.Helper()
		select {
		case tod := <-reports:
			return tod
		case err := <-done:
			t.Fatalf("Run returned %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("no report within 5 s")
		}
		return refclock.TimeOfDay{}
	}

	base := time.Date(2016, 12, 31, 23, 59, 58, 0, time.UTC)
	e := Epoch{UTC: base, Valid: true, Fix: refclock.Fix3D, Satellites: 7, Talker: "GN"}
	// Run flushes what was buffered before it: wait until it reads.
	<-started
	// First epoch: reported after the quiet gap. Garbage and an overlong
	// line on the way are counted, not fatal.
	m.Write([]byte("$GPZDA,garbage*00\r\n" + strings.Repeat("y", 1000) + "\r\n"))
	m.Write(epochLines(e))
	if tod := next(); !tod.UTC.Equal(base) || !tod.Valid || tod.Fix != refclock.Fix3D || !tod.Received.Equal(rx) {
		t.Errorf("first report %+v", tod)
	}
	// Then the leap second and the next day, each reported as soon as its
	// cycle (RMC, GGA, ZDA) is complete.
	e.UTC, e.Second60 = base.Add(time.Second), true
	b := epochLines(e)
	e.Second60 = false
	e.UTC = time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	b = append(b, epochLines(e)...)
	m.Write(b)
	if tod := next(); !tod.UTC.Equal(base.Add(time.Second)) || !tod.Second60 {
		t.Errorf("leap report %+v", tod)
	}
	if tod := next(); !tod.UTC.Equal(e.UTC) || tod.Second60 {
		t.Errorf("new year report %+v", tod)
	}
	st := s.Status()
	if st.Reports != 3 || st.Rejected[ReasonBadChecksum] != 1 || st.Rejected[ReasonTooLong] != 1 || !st.Last.UTC.Equal(e.UTC) || !st.LastLine.Equal(rx) {
		t.Errorf("status %+v", st)
	}

	// A silent receiver: Run blocks in read without a deadline; ctx ends it.
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if err := s.Run(t.Context(), func(refclock.TimeOfDay) {}); err == nil {
		t.Error("second Run succeeded")
	}
}

// TestSerialHangUp: closing the master side (a receiver unplugged) ends
// Run with an error naming the device.
func TestSerialHangUp(t *testing.T) {
	m, slave := openPTY(t)
	s, err := Open(slave, Config{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(t.Context(), func(refclock.TimeOfDay) {}) }()
	time.Sleep(50 * time.Millisecond)
	m.Close()
	select {
	case err := <-done:
		t.Logf("Run: %v", err)
		if err == nil || !strings.Contains(err.Error(), slave) {
			t.Errorf("Run after hang-up: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after hang-up")
	}
}

func TestSerialDefaultClockHasNoMonotonic(t *testing.T) {
	now := Config{}.withDefaults().Now()
	if strings.Contains(now.String(), "m=") {
		t.Errorf("default clock carries a monotonic reading: %v", now)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("$GPZDA\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "ttyMISSING")
	tests := []struct {
		name string
		path string
		cfg  Config
		is   error
		text string
	}{
		{name: "missing", path: missing, is: fs.ErrNotExist, text: missing},
		{name: "regular_file", path: regular, is: unix.ENOTTY, text: regular + " is not a terminal"},
		{name: "bad_baud", path: regular, cfg: Config{Baud: 12345}, text: "baud 12345"},
		{name: "negative_gap", path: regular, cfg: Config{QuietGap: -1}, text: "quiet gap"},
	}
	if os.Geteuid() != 0 {
		noperm := filepath.Join(dir, "noperm")
		if err := os.WriteFile(noperm, nil, 0); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name string
			path string
			cfg  Config
			is   error
			text string
		}{name: "permission", path: noperm, is: fs.ErrPermission, text: noperm})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.path, tc.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not say %q", err, tc.text)
			}
		})
	}
}
