package ntske

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/nts"
)

// testCert returns a self-signed certificate for 127.0.0.1 and a client
// TLS configuration trusting it.
func testCert(t *testing.T) (tls.Certificate, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gnomon test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13, NextProtos: []string{ALPN}}
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
