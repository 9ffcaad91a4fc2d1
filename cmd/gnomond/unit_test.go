package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// docs/gnomond.service parses: `systemd-analyze verify` (offline) prints
// nothing about it, with ExecStart pointed at a file that exists. And the
// unit keeps what docs/operations.md promises.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("..", "..", "docs", "gnomond.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Type=notify\n", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID\n", "NoNewPrivileges=yes\n",
		"ProtectSystem=strict\n", "ProtectHome=yes\n", "PrivateTmp=yes\n", "RestrictAddressFamilies=",
		"StateDirectory=gnomond\n", "RuntimeDirectory=gnomond\n",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	var bounding []string
	for _, l := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(l, "CapabilityBoundingSet="); ok {
			bounding = strings.Fields(v)
		}
	}
	for _, c := range []string{"CAP_SYS_TIME", "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SETGID"} {
		if !slices.Contains(bounding, c) {
			t.Errorf("CapabilityBoundingSet %v lacks %s", bounding, c)
		}
	}

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("SKIP (loud): systemd-analyze not installed: the unit file was not verified")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gnomond.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/gnomond", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), sa, "verify", "--man=no", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// verify exits 0 on unknown keys and bad values; it says so on stderr.
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(l, "gnomond.service") {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
}
