package ntske

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/nts"
)

func TestKeyFilePermissions(t *testing.T) {
	path := keyPath(t)
	s := nts.NewKeySet(time.Unix(1_800_000_000, 0), [32]byte{1}, [32]byte{2})
	if err := SaveKeyFile(path, s); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved with mode %04o, want 0600", fi.Mode().Perm())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadKeyFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "mode 0644") {
		t.Fatalf("loose permissions: %v", err)
	}
	core := nts.NewCore(nil, rand.Reader)
	if _, err := OpenKeyStore(KeysConfig{Path: path, Rotate: week, Keep: 2}, core); err == nil {
		t.Fatal("OpenKeyStore accepted a world-readable key file")
	}
	// Save leaves no temporary file behind and replaces atomically.
	if err := SaveKeyFile(path, s); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after saving", len(entries))
	}
}

// TestUnwritableKeyFile: a writer that cannot save keeps serving from
// memory; the error names the path.
func TestUnwritableKeyFile(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(blocker, "nts.keys") // a path under a regular file
	err := SaveKeyFile(path, nts.NewKeySet(time.Unix(0, 0), [32]byte{1}, [32]byte{2}))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("save under a file: %v", err)
	}
	core := nts.NewCore(nil, rand.Reader)
	if _, err := OpenKeyStore(KeysConfig{Path: filepath.Join(dir, "missing-dir", "nts.keys"), Rotate: week, Keep: 1}, core); err != nil {
		t.Fatalf("writer with an unwritable directory: %v", err)
	}
	if core.Ring() == nil {
		t.Fatal("no keys in memory")
	}
}

// TestSharedKeyFile: one writer rotates, a reader (Rotate 0) reloads the
// file and accepts cookies sealed with the writer's new current key.
func TestSharedKeyFile(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	path := keyPath(t)
	wcore, rcore := nts.NewCore(nil, rand.Reader), nts.NewCore(nil, rand.Reader)
	writer, err := OpenKeyStore(KeysConfig{Path: path, Rotate: week, Keep: 2, Now: clk.Now}, wcore)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := OpenKeyStore(KeysConfig{Path: path, Keep: 2, Now: clk.Now}, rcore)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		clk.Add(week)
		writer.Tick()
		reader.Tick()
		var keys [nts.SessionKeysLen]byte
		cookie := make([]byte, nts.CookieLen)
		if err := wcore.Ring().SealCookie(cookie, &keys, &[16]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		var got [nts.SessionKeysLen]byte
		if err := rcore.Ring().OpenCookie(&got, cookie); err != nil {
			t.Fatalf("rotation %d: reader cannot open the writer's cookie: %v", i, err)
		}
		if rcore.Ring().CurrentID() != wcore.Ring().CurrentID() {
			t.Fatalf("rotation %d: reader current %d, writer %d", i, rcore.Ring().CurrentID(), wcore.Ring().CurrentID())
		}
	}
	// A broken file is not loaded: the reader keeps its keys.
	before := rcore.Ring()
	if err := os.WriteFile(path, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reader.Tick()
	if rcore.Ring() != before {
		t.Fatal("reader replaced its keys with a broken file")
	}
	// A reader needs the file.
	if _, err := OpenKeyStore(KeysConfig{Path: path + ".missing", Keep: 2}, nts.NewCore(nil, rand.Reader)); err == nil {
		t.Fatal("reader without a key file started")
	}
}
