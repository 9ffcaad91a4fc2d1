package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/ntp"
)

// SIGHUP re-reads ntp.keys_file: new keys replace the old ones; a key
// file that no longer loads (world-readable, broken) keeps the old keys and
// logs why; removing the key drops the keys.
func TestReloadKeys(t *testing.T) {
	dir := t.TempDir()
	keysPath := filepath.Join(dir, "ntp.keys")
	cfgPath := filepath.Join(dir, "gnomond.yaml")
	writeKeys := func(data string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(keysPath, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(keysPath, mode); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg := func(keysFile string) {
		t.Helper()
		y := "ntp:\n  listen: [\"127.0.0.1:11123\"]\n  keys_file: \"" + keysFile + "\"\n"
		if err := os.WriteFile(cfgPath, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeKeys("30 AES128 HEX:7EA62AE64D190114D46D5A082F948EC1\n", 0o600)
	writeCfg(keysPath)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := cfg.NTP.LoadKeys()
	if err != nil {
		t.Fatal(err)
	}
	scfg := ntp.DefaultServerConfig()
	scfg.Keys = keys
	srv, err := ntp.NewServer(scfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := newRootCmd(io.Discard, io.Discard, nil, procEnv{})
	d := &daemon{log: slog.New(slog.NewTextHandler(&logs, nil)), level: new(slog.LevelVar),
		flags: &flags{configFile: cfgPath}, cmd: cmd, srv: srv, cfg: cfg}
	has := func(id uint32) bool { return srv.Keys().Lookup(id) != nil }

	writeKeys("31 AES128 HEX:00112233445566778899AABBCCDDEEFF\n", 0o640)
	if err := d.reload(); err != nil || !has(31) || has(30) {
		t.Fatalf("reload with new keys: %v; key 31 %v, key 30 %v", err, has(31), has(30))
	}
	if !strings.Contains(logs.String(), "reload: ntp symmetric keys loaded") {
		t.Errorf("log lacks the reload message:\n%s", logs.String())
	}

	writeKeys("32 AES128 HEX:00112233445566778899AABBCCDDEEFF\n", 0o644)
	if err := d.reload(); err == nil || !has(31) || has(32) {
		t.Fatalf("reload of a world-readable key file: %v; old key kept %v", err, has(31))
	}
	if !strings.Contains(logs.String(), "keeping the running configuration and keys") ||
		!strings.Contains(logs.String(), "world-readable") {
		t.Errorf("log does not say why:\n%s", logs.String())
	}

	writeKeys("32 AES128 HEX:0011\n", 0o600)
	if err := d.reload(); err == nil || !strings.Contains(err.Error(), "ntp.keys:1:") || !has(31) {
		t.Fatalf("reload of a broken key file: %v; old key kept %v", err, has(31))
	}

	writeCfg("")
	if err := d.reload(); err != nil || srv.Keys() != nil {
		t.Fatalf("reload without keys_file: %v; keys %v", err, srv.Keys().IDs())
	}
}
