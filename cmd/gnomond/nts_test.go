package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/nts/ntstest"
	"github.com/gnomon-time/gnomon/ntp/ntske"
)

// writeCert writes a self-signed certificate and its key (PEM) into dir.
func writeCert(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	cert, _, err := ntstest.Certificate(nil, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ntstest.PEM(cert)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// checkNTS (gnomond validate and a run) refuses what openNTS would: an
// unreadable certificate or key, a key file with loose permissions or
// broken content, a reader's missing key file, a writer's missing
// directory.
func TestCheckNTS(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	good := filepath.Join(dir, "nts.keys")
	var k [nts.MasterKeyLen]byte
	if err := ntske.SaveKeyFile(good, nts.NewKeySet(time.Now(), k, k)); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose.keys")
	b, _ := os.ReadFile(good)
	if err := os.WriteFile(loose, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.keys")
	if err := os.WriteFile(broken, []byte("not a key file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func() config.NTS {
		return config.NTS{Listen: []string{"127.0.0.1:4460"}, Certificate: cert, Key: key, KeyFile: good, RotateSeconds: 86400}
	}
	for _, tc := range []struct {
		name string
		mod  func(*config.NTS)
		want string // "" = accepted
	}{
		{"good", func(*config.NTS) {}, ""},
		{"off", func(n *config.NTS) { n.Listen = nil; n.Certificate = "/nonexistent" }, ""},
		{"writer_creates_file", func(n *config.NTS) { n.KeyFile = filepath.Join(dir, "new.keys") }, ""},
		{"memory_only", func(n *config.NTS) { n.KeyFile = "" }, ""},
		{"no_certificate", func(n *config.NTS) { n.Certificate = filepath.Join(dir, "missing.pem") }, "nts.certificate"},
		{"key_not_matching", func(n *config.NTS) { n.Key = cert }, "nts.certificate"},
		{"loose_key_file", func(n *config.NTS) { n.KeyFile = loose }, "nts.key_file"},
		{"broken_key_file", func(n *config.NTS) { n.KeyFile = broken }, "nts.key_file"},
		{"reader_missing_file", func(n *config.NTS) { n.KeyFile = filepath.Join(dir, "new.keys"); n.RotateSeconds = 0 }, "nts.key_file"},
		{"writer_missing_dir", func(n *config.NTS) { n.KeyFile = filepath.Join(dir, "nodir", "k") }, "directory must exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := base()
			tc.mod(&n)
			err := checkNTS(&n)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}
