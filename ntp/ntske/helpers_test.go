package ntske

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/nts/ntstest"
)

// testCert returns a self-signed certificate for 127.0.0.1 and a client
// TLS configuration trusting it.
func testCert(t *testing.T) (tls.Certificate, *tls.Config) {
	t.Helper()
	cert, pool, err := ntstest.Certificate([]net.IP{net.IPv4(127, 0, 0, 1)}, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	return cert, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13, NextProtos: []string{ALPN}}
}

// fakeClock is a hand-moved clock for KeyStore tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const week = 7 * 24 * time.Hour

// startServer opens a key store on path (writer, weekly, keep 2) and an
// NTS-KE server on 127.0.0.1:0 for it; it returns the core, the store, the
// server and its address. The server stops with the test.
func startServer(t *testing.T, path string, clk *fakeClock, cfg Config) (*nts.Core, *KeyStore, *Server, string) {
	t.Helper()
	core := nts.NewCore(nil, rand.Reader)
	ks, err := OpenKeyStore(KeysConfig{Path: path, Rotate: week, Keep: 2, Now: clk.Now}, core)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = []string{"127.0.0.1:0"}
	if len(cfg.Certificate.Certificate) == 0 {
		cfg.Certificate, _ = testCert(t)
	}
	s, err := New(cfg, core)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return core, ks, s, s.Addrs()[0].String()
}

func keyPath(t *testing.T) string { return filepath.Join(t.TempDir(), "nts.keys") }
