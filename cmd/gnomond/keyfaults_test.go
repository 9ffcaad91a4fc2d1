package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/ntske"
	"github.com/gnomon-time/gnomon/ntp/symkey"
)

// Issue 12 §4, the key files removed at run time: gnomond keeps serving
// with the keys it has, a reload says what failed (log line naming the
// file and the error, gnomon_config_reloads_total, gnomon_nts_key_file_*),
// and putting the file back heals it.
func TestKeyFileFaults(t *testing.T) {
	t.Run("symmetric-keys-removed", testSymKeysRemoved)
	t.Run("nts-reader-file-removed", testNTSReaderFileRemoved)
	t.Run("nts-writer-file-removed", testNTSWriterFileRemoved)
}

const symKeyLine = "30 AES128 HEX:7EA62AE64D190114D46D5A082F948EC1\n"

// macQuery sends a client request MAC'd with k and returns the reply.
func macQuery(t *testing.T, d *inproc, k *symkey.Key) []byte {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(d.ntp))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := make([]byte, 48, 48+k.MACLen(4))
	req[0] = 4<<3 | 3 // LI 0, version 4, mode 3 (client)
	copy(req[40:], "transmit")
	var s symkey.Scratch
	req = req[:48+k.MACLen(4)]
	k.Put(&s, 4, req[48:], req[:48])
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("MAC'd request with key %d: no reply: %v", k.ID(), err)
	}
	return buf[:n]
}

// checkMACReply: the reply is 48 bytes + k's MAC, and it verifies.
func checkMACReply(t *testing.T, when string, rep []byte, k *symkey.Key) {
	t.Helper()
	var s symkey.Scratch
	if len(rep) != 48+k.MACLen(4) || !k.Verify(&s, 4, rep[:48], rep[48:]) {
		t.Errorf("%s: reply of %d bytes, want %d with a MAC of key %d that verifies", when, len(rep), 48+k.MACLen(4), k.ID())
	}
}

// reloadCounts returns gnomon_config_reloads_total ok, failed and
// gnomon_config_last_reload_successful.
func reloadCounts(m string) string {
	return fmt.Sprintf("ok %v failed %v last_successful %v", sample(m, `gnomon_config_reloads_total{result="ok"}`),
		sample(m, `gnomon_config_reloads_total{result="failed"}`), sample(m, "gnomon_config_last_reload_successful"))
}

// The symmetric keys file removed, then SIGHUP: the reload fails (log
// line with the file and the error, gnomon_config_reloads_total{failed}),
// the old key still signs replies; the file back and SIGHUP: reload ok.
func testSymKeysRemoved(t *testing.T) {
	t.Parallel()
	keysPath := filepath.Join(t.TempDir(), "ntp.keys")
	if err := os.WriteFile(keysPath, []byte(symKeyLine), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := symkey.Parse("test", []byte(symKeyLine))
	if err != nil {
		t.Fatal(err)
	}
	k := keys.Lookup(30)
	conf := strings.Replace(faultConfig, "  allow: [127.0.0.0/8]\n", "  allow: [127.0.0.0/8]\n  keys_file: "+keysPath+"\n", 1)
	hup := make(chan os.Signal, 1)
	d := startDaemonHUP(t, conf, hup)
	if m := d.metricsText(t); reloadCounts(m) != "ok 0 failed 0 last_successful 1" {
		t.Errorf("at start: %s", reloadCounts(m))
	}
	checkMACReply(t, "at start", macQuery(t, d, k), k)

	if err := os.Remove(keysPath); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	rec := d.findLog(t, 5*time.Second, "reload failed; keeping the running configuration and keys", "keys_file", keysPath)
	if e := rec.str("error"); !strings.Contains(e, keysPath) || !strings.Contains(e, "no such file or directory") {
		t.Errorf("reload error %q: want the file and the error", e)
	}
	if rec.str("level") != "ERROR" {
		t.Errorf("logged at %s, want ERROR", rec.str("level"))
	}
	d.until(t, 5*time.Second, "failed reload counted", func(m string) string {
		if r := reloadCounts(m); r != "ok 0 failed 1 last_successful 0" {
			return r
		}
		return ""
	})
	checkMACReply(t, "after the failed reload", macQuery(t, d, k), k)
	d.query(t) // plain requests are served too

	if err := os.WriteFile(keysPath, []byte(symKeyLine), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	d.findLog(t, 5*time.Second, "reload: ntp symmetric keys loaded", "keys_file", keysPath)
	d.until(t, 5*time.Second, "good reload counted", func(m string) string {
		if r := reloadCounts(m); r != "ok 1 failed 1 last_successful 1" {
			return r
		}
		return ""
	})
	checkMACReply(t, "after the good reload", macQuery(t, d, k), k)
}

// ntsConfig is faultConfig with NTS on (KE on an ephemeral port) and the
// master keys in keyFile.
func ntsConfig(t *testing.T, keyFile string, rotate int) string {
	cert, key := writeCert(t, t.TempDir())
	return faultConfig + fmt.Sprintf("nts:\n  listen: [\"127.0.0.1:0\"]\n  certificate: %s\n  key: %s\n  key_file: %s\n  rotate: %d\n",
		cert, key, keyFile, rotate)
}

// keyFileMetrics returns the gnomon_nts_key_file_* samples.
func keyFileMetrics(m string) string {
	return fmt.Sprintf("current %v save_errors %v reload_errors %v", sample(m, "gnomon_nts_key_file_current"),
		sample(m, `gnomon_nts_key_file_errors_total{op="save"}`), sample(m, `gnomon_nts_key_file_errors_total{op="reload"}`))
}

// A reader (nts.rotate 0) whose key file is removed: on SIGHUP (or its
// minutely check) the reload fails, logged with the file and the error,
// counted; it keeps its keys (gnomon_nts_key_file_current 0: they are in
// memory only) and keeps serving; the configuration reload itself is ok.
// The file back: reloaded, current again.
func testNTSReaderFileRemoved(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nts.keys")
	set := nts.NewKeySet(time.Now(), [nts.MasterKeyLen]byte{1}, [nts.MasterKeyLen]byte{2})
	if err := ntske.SaveKeyFile(path, set); err != nil {
		t.Fatal(err)
	}
	hup := make(chan os.Signal, 1)
	d := startDaemonHUP(t, ntsConfig(t, path, 0), hup)
	if m := d.metricsText(t); keyFileMetrics(m) != "current 1 save_errors 0 reload_errors 0" {
		t.Errorf("at start: %s", keyFileMetrics(m))
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	rec := d.findLog(t, 5*time.Second, "nts key file reload failed: keeping the loaded keys", "path", path)
	if e := rec.str("err"); !strings.Contains(e, "no such file or directory") || rec.str("level") != "WARN" {
		t.Errorf("logged at %s with error %q: want WARN and the error", rec.str("level"), e)
	}
	m := d.until(t, 5*time.Second, "reload error counted", func(m string) string {
		if r := keyFileMetrics(m); r != "current 0 save_errors 0 reload_errors 1" {
			return r
		}
		return ""
	})
	if r := reloadCounts(m); r != "ok 1 failed 0 last_successful 1" {
		t.Errorf("configuration reload: %s, want ok (the NTS key file is counted apart)", r)
	}
	d.query(t)

	if err := ntske.SaveKeyFile(path, set); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	d.findLog(t, 5*time.Second, "nts key file readable again", "path", path)
	d.until(t, 5*time.Second, "file current again", func(m string) string {
		if r := keyFileMetrics(m); r != "current 1 save_errors 0 reload_errors 1" {
			return r
		}
		return ""
	})
}

// A writer (nts.rotate > 0) whose key file is removed: its next check
// (SIGHUP here, else within a minute) writes the keys in use again, so a
// restart keeps the cookies; the removal is counted as a reload error.
func testNTSWriterFileRemoved(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nts.keys")
	hup := make(chan os.Signal, 1)
	d := startDaemonHUP(t, ntsConfig(t, path, 86400), hup)
	before, err := ntske.LoadKeyFile(path)
	if err != nil {
		t.Fatalf("the writer did not create its key file: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	d.findLog(t, 5*time.Second, "nts key file unreadable: writing the keys in use again", "path", path)
	d.findLog(t, 5*time.Second, "nts keys restored", "path", path)
	d.until(t, 5*time.Second, "restore counted", func(m string) string {
		if r := keyFileMetrics(m); r != "current 1 save_errors 0 reload_errors 1" {
			return r
		}
		return ""
	})
	after, err := ntske.LoadKeyFile(path)
	if err != nil || fmt.Sprint(after.Keys) != fmt.Sprint(before.Keys) {
		t.Errorf("restored key file: %v; same keys as before the removal: %v", err, err == nil && fmt.Sprint(after.Keys) == fmt.Sprint(before.Keys))
	}
	d.query(t)
}
