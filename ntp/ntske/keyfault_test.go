package ntske

import (
	"bytes"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gnomon-time/gnomon/ntp/nts"
)

// logSink is the store's log (Tick runs in the test's goroutine).
type logSink struct{ bytes.Buffer }

func newLog(b *logSink) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// sameKeys: the file's set is the ring's.
func sameKeys(s nts.KeySet, r *nts.Ring) bool { return slices.Equal(s.Keys, r.KeySet().Keys) }

// sealOpen seals a cookie with from's current key and opens it with to.
func sealOpen(t *testing.T, from, to *nts.Ring, tag byte) error {
	t.Helper()
	keys := [nts.SessionKeysLen]byte{tag}
	cookie := make([]byte, nts.CookieLen)
	if err := from.SealCookie(cookie, &keys, &[16]byte{tag}); err != nil {
		t.Fatal(err)
	}
	var got [nts.SessionKeysLen]byte
	if err := to.OpenCookie(&got, cookie); err != nil {
		return err
	}
	if got != keys {
		t.Fatalf("cookie %d opened to other session keys", tag)
	}
	return nil
}

// Issue 12 §4, the key file removed at run time. A reader (rotate 0)
// keeps its keys, counts a reload error, logs it once (Warn; repeats at
// Debug) and says when the file is back. A writer's next check writes the
// keys in use again, so a restart still loads them.
func TestKeyFileRemoved(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	path := keyPath(t)
	var wlog, rlog logSink
	wcore, rcore := nts.NewCore(nil, rand.Reader), nts.NewCore(nil, rand.Reader)
	writer, err := OpenKeyStore(KeysConfig{Path: path, Rotate: week, Keep: 2, Now: clk.Now, Log: newLog(&wlog)}, wcore)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := OpenKeyStore(KeysConfig{Path: path, Keep: 2, Now: clk.Now, Log: newLog(&rlog)}, rcore)
	if err != nil {
		t.Fatal(err)
	}
	if st := reader.Stats(); !st.HasFile || !st.FileCurrent || st.ReloadErrors != 0 {
		t.Fatalf("reader at start: %+v", st)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	before := rcore.Ring()
	reader.Tick()
	reader.Tick()
	if rcore.Ring() != before {
		t.Fatal("reader dropped its keys when the file was removed")
	}
	if err := sealOpen(t, wcore.Ring(), rcore.Ring(), 1); err != nil {
		t.Fatalf("reader cannot open the writer's cookie after the removal: %v", err)
	}
	st := reader.Stats()
	if st.ReloadErrors != 2 || st.FileCurrent {
		t.Errorf("reader after two failed reloads: %+v, want 2 reload errors, file not current", st)
	}
	l := rlog.String()
	if n := strings.Count(l, "level=WARN msg=\"nts key file reload failed: keeping the loaded keys\""); n != 1 ||
		!strings.Contains(l, path) || !strings.Contains(l, "no such file or directory") {
		t.Errorf("reader log: %d Warn lines, want 1 naming the path and the error:\n%s", n, l)
	}

	// The writer's check restores the file from memory.
	writer.Tick()
	if st := writer.Stats(); st.ReloadErrors != 1 || st.SaveErrors != 0 || !st.FileCurrent || st.Rotations != 0 {
		t.Errorf("writer after restoring: %+v", st)
	}
	if !strings.Contains(wlog.String(), "nts key file unreadable: writing the keys in use again") ||
		!strings.Contains(wlog.String(), "msg=\"nts keys restored\"") {
		t.Errorf("writer log lacks the restore:\n%s", wlog.String())
	}
	got, err := LoadKeyFile(path)
	if err != nil || !sameKeys(got, wcore.Ring()) {
		t.Fatalf("restored file: %v; equal to the keys in use: %v", err, err == nil && sameKeys(got, wcore.Ring()))
	}
	reader.Tick()
	if st := reader.Stats(); !st.FileCurrent || st.ReloadErrors != 2 {
		t.Errorf("reader after the file came back: %+v", st)
	}
	if !strings.Contains(rlog.String(), "nts key file readable again") {
		t.Errorf("reader log does not say the file is back:\n%s", rlog.String())
	}
	// A restart (a new writer on the file) keeps the cookies.
	old := wcore.Ring()
	again := nts.NewCore(nil, rand.Reader)
	if _, err := OpenKeyStore(KeysConfig{Path: path, Rotate: week, Keep: 2, Now: clk.Now}, again); err != nil {
		t.Fatal(err)
	}
	if err := sealOpen(t, old, again.Ring(), 2); err != nil {
		t.Errorf("restarted writer cannot open a cookie of before the removal: %v", err)
	}
}

// Issue 12 §4, a full disk for the NTS key file (root: a 64 KiB tmpfs
// filled up). The rotation happens in memory: cookies sealed with the new
// key open, older ones too; the save fails with ENOSPC, logged and
// counted; the file on disk is the old one, whole (atomic save). Once space
// is freed, the writer's next check saves the rotated keys.
func TestKeyFileDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: needs root to mount a tmpfs (run as root to test the full disk)")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Skipf("SKIPPED: cannot mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	path := filepath.Join(dir, "nts.keys")
	var log logSink
	core := nts.NewCore(nil, rand.Reader)
	ks, err := OpenKeyStore(KeysConfig{Path: path, Rotate: week, Keep: 2, Now: clk.Now, Log: newLog(&log)}, core)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	old := core.Ring()

	clk.Add(week)
	ks.Tick()
	st := ks.Stats()
	if st.Rotations != 1 || st.SaveErrors != 1 || st.FileCurrent {
		t.Fatalf("after a rotation on a full disk: %+v, want 1 rotation, 1 save error, file not current", st)
	}
	l := log.String()
	if !strings.Contains(l, `level=ERROR msg="nts keys rotated but not saved: serving them from memory; cookies will not survive a restart"`) ||
		!strings.Contains(l, path) || !strings.Contains(l, "no space left on device") {
		t.Errorf("log lacks the failed save with ENOSPC and the path:\n%s", l)
	}
	cur := core.Ring()
	if cur == old || cur.CurrentID() == old.CurrentID() {
		t.Fatal("no rotation in memory")
	}
	if err := sealOpen(t, cur, cur, 3); err != nil {
		t.Errorf("cookie sealed with the new key does not open: %v", err)
	}
	if err := sealOpen(t, old, cur, 4); err != nil {
		t.Errorf("cookie of the previous key does not open after the rotation: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, saved) {
		t.Errorf("key file after the failed save: %v; intact: %v", err, bytes.Equal(b, saved))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d entries in the directory, want the key file and the filler (no temporary left)", len(entries))
	}

	// Still full: the retry fails, counted, logged at Debug only.
	ks.Tick()
	if st := ks.Stats(); st.SaveErrors != 2 || st.Rotations != 1 {
		t.Errorf("after a retry on a full disk: %+v", st)
	}
	if n := strings.Count(log.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d Error lines after a repeated failure, want 1:\n%s", n, log.String())
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	ks.Tick()
	if st := ks.Stats(); !st.FileCurrent || st.SaveErrors != 2 {
		t.Errorf("after freeing space: %+v, want the file current", st)
	}
	got, err := LoadKeyFile(path)
	if err != nil || !sameKeys(got, core.Ring()) {
		t.Fatalf("key file after freeing space: %v; holds the keys in use: %v", err, err == nil && sameKeys(got, core.Ring()))
	}
	// The next rotation saves normally.
	clk.Add(week)
	ks.Tick()
	if st := ks.Stats(); st.Rotations != 2 || st.SaveErrors != 2 || !st.FileCurrent {
		t.Errorf("after the next rotation: %+v", st)
	}
}

// fill writes path until the file system is full (ENOSPC), at most 1 MiB.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 512)
	for range 2048 {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
	t.Fatal("the file system did not fill up")
}
