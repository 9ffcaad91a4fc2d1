package interop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testCA is a certificate authority made by a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a server certificate for addr (IP SAN) and its key into dir.
func (ca *testCA) issue(t *testing.T, dir string, addr netip.Addr) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: addr.String()},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{addr.AsSlice()}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.pem...)
	if err := os.WriteFile(certPath, chain, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// ntsClient is a chronyd NTS client of TestChronydNTS.
type ntsClient struct {
	name string
	c    *chronydClient
}

// startNTSClient runs chronyd -x in pair.Cli with `server ADDR … nts`,
// trusting ca (its own copy, readable by chronyd's user) and dumping its
// NTS state into its own directory.
func startNTSClient(t *testing.T, g *server, name string, ca *testCA, opts string, limit time.Duration) *ntsClient {
	t.Helper()
	dir := stateDir(t, "chronyd-nts-"+name)
	caPath := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caPath, ca.pem, 0o644); err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(dir, "ntsdump")
	if err := os.Mkdir(dump, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dump, suite.chronyUID, suite.chronyGID); err != nil {
		t.Fatal(err)
	}
	p := startChronyd(t, g.pair.Cli, dir, "chronyd-nts-"+name, "chronyd NTS client "+name, limit,
		[]string{fmt.Sprintf("server %s iburst minpoll -4 maxpoll -4 nts%s", g.addr, opts)},
		[]string{"ntstrustedcerts " + caPath, "ntsdumpdir " + dump, "port 0", "logdir " + dir})
	return &ntsClient{name: name, c: &chronydClient{pair: g.pair, dir: dir, proc: p}}
}

// sourceRow returns the fields of addr's row of `chronyc -n sources`
// (mode/state, address, stratum, poll, reach, …).
func (n *ntsClient) sourceRow(ctx context.Context, addr netip.Addr) ([]string, string, error) {
	out, err := n.c.chronyc(ctx, "sources")
	if err != nil {
		return nil, out, err
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 && f[1] == addr.String() {
			return f, out, nil
		}
	}
	return nil, out, fmt.Errorf("no row for %s", addr)
}

// ntsAuth is a row of chrony 4.3's `chronyc -n authdata`:
// Name/IP address, Mode, KeyID, Type, KLen, Last, Atmp, NAK, Cook, CLen.
type ntsAuth struct {
	mode       string
	keID       int    // KeyID: for NTS, the number of NTS-KE sessions done
	last       string // time since the last NTS-KE ("-": none)
	attempts   int    // NTS-KE attempts since the last success
	nak        int    // 1 once an NTS NAK was received since the last KE
	cookies    int
	cookieLen  int
	raw, table string
}

func (n *ntsClient) authdata(ctx context.Context, addr netip.Addr) (ntsAuth, error) {
	out, err := n.c.chronyc(ctx, "authdata")
	if err != nil {
		return ntsAuth{table: out}, err
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 10 || f[0] != addr.String() {
			continue
		}
		a := ntsAuth{mode: f[1], last: f[5], raw: l, table: out}
		var errs [5]error
		a.keID, errs[4] = strconv.Atoi(f[2])
		a.attempts, errs[0] = strconv.Atoi(f[6])
		a.nak, errs[1] = strconv.Atoi(f[7])
		a.cookies, errs[2] = strconv.Atoi(f[8])
		a.cookieLen, errs[3] = strconv.Atoi(f[9])
		for _, e := range errs {
			if e != nil {
				return a, fmt.Errorf("authdata row %q: %w", l, e)
			}
		}
		return a, nil
	}
	return ntsAuth{table: out}, fmt.Errorf("authdata: no row for %s", addr)
}

// lastSeconds converts authdata's Last column (chrony's %I: 45, 12m, 3h,
// 2d, 1y) to seconds; -1 for "-".
func lastSeconds(s string) int {
	mult := 1
	switch {
	case strings.HasSuffix(s, "m"):
		mult = 60
	case strings.HasSuffix(s, "h"):
		mult = 3600
	case strings.HasSuffix(s, "d"):
		mult = 86400
	case strings.HasSuffix(s, "y"):
		mult = 365 * 86400
	}
	v, err := strconv.Atoi(strings.TrimRight(s, "mhdy"))
	if err != nil {
		return -1
	}
	return v * mult
}

// waitReach polls `chronyc sources` until addr's reach register is 377,
// for at most d.
func (n *ntsClient) waitReach(t *testing.T, addr netip.Addr, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-n.c.proc.Done():
			t.Fatalf("%s: chronyd exited: %v\n%s", n.name, n.c.proc.Err(), n.c.proc.Output())
		default:
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		f, out, err := n.sourceRow(ctx, addr)
		cancel()
		last = out
		if err == nil && f[4] == "377" {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: reach not 377 within %v:\n%s", n.name, d, last)
}

// ntsMetrics are gnomond's NTS counters at one scrape.
type ntsMetrics struct {
	authentic, naks, nakVerdicts, keAccepted, keHandshakeErrors, cookies, authReplies float64
}

func scrapeNTS(t *testing.T, g *server) ntsMetrics {
	t.Helper()
	m := g.scrape(t)
	get := func(name, labels string) float64 {
		v, err := metricValue(m, name, labels)
		if err != nil {
			t.Fatalf("gnomond metric %s{%s}: %v", name, labels, err)
		}
		return v
	}
	return ntsMetrics{
		authentic:         get("gnomon_nts_requests_total", `verdict="authentic"`),
		naks:              get("gnomon_nts_naks_total", ""),
		nakVerdicts:       get("gnomon_ntp_requests_total", `verdict="nts_nak"`),
		keAccepted:        get("gnomon_nts_ke_connections_accepted_total", ""),
		keHandshakeErrors: get("gnomon_nts_ke_errors_total", `kind="handshake"`),
		cookies:           get("gnomon_nts_ke_cookies_issued_total", ""),
		authReplies:       get("gnomon_nts_authenticated_replies_total", ""),
	}
}

// TestChronydNTS: chronyd 4.3 NTS clients (`server ADDR … nts`, with and
// without xleave) against gnomond with the nts section, with the test's
// own CA and a certificate for gnomond's address. Both do NTS-KE, reach
// 377 with authenticated samples (authdata: mode NTS, a KE done, cookies);
// gnomond counts authentic NTS requests and no NAK. Then gnomond restarts
// on the same key file while the clients keep running: the new gnomond
// accepts the cookies the old one issued (no NAK, no new NTS-KE
// connection), and the clients keep getting valid replies without redoing
// KE. A client trusting another CA fails KE and never gets a sample.
func TestChronydNTS(t *testing.T) {
	requirePeers(t)
	const limit = 90 * time.Second
	pair := suite.h.NewPairT(t)
	ca := newTestCA(t, "gnomon test CA")
	gdir := gnomondDir(t, "gnomond-nts")
	cert, key := ca.issue(t, gdir, pair.SrvAddr)
	keyFile := filepath.Join(gdir, "nts.keys")
	opts := gnomondOpts{extra: fmt.Sprintf("nts:\n  listen: [%q]\n  certificate: %q\n  key: %q\n  key_file: %q\n",
		netip.AddrPortFrom(pair.SrvAddr, 4460).String(), cert, key, keyFile)}
	g := startGnomond(t, pair, opts, limit)
	g.waitReady(t)
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v, %v; want mode 0600", keyFile, fi, err)
	}

	clients := []*ntsClient{
		startNTSClient(t, g, "xleave", ca, " xleave", limit),
		startNTSClient(t, g, "basic", ca, "", limit),
	}
	wrong := startNTSClient(t, g, "wrong_ca", newTestCA(t, "another CA"), "", limit)
	for _, c := range clients {
		c.waitReach(t, g.addr, 20*time.Second)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	before := map[string]ntsAuth{}
	for _, c := range clients {
		a, err := c.authdata(ctx, g.addr)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, a.table)
		}
		t.Logf("%s authdata: %s", c.name, a.raw)
		if a.mode != "NTS" || a.keID < 1 || a.last == "-" || a.cookies < 1 || a.nak != 0 || a.attempts != 0 {
			t.Errorf("%s: authdata %q: want mode NTS, a KE done, cookies > 0, no NAK, no pending attempt", c.name, a.raw)
		}
		out, err := c.c.chronyc(ctx, "ntpdata", g.addr.String())
		if err != nil {
			t.Fatalf("%s: ntpdata: %v\n%s", c.name, err, out)
		}
		blk := parseColonBlock(out)
		t.Logf("%s ntpdata: Authenticated %s, Interleaved %s, Total valid RX %s", c.name, blk["Authenticated"], blk["Interleaved"], blk["Total valid RX"])
		if blk["Authenticated"] != "Yes" {
			t.Errorf("%s: ntpdata Authenticated %q, want Yes", c.name, blk["Authenticated"])
		}
		if c.name == "xleave" && blk["Interleaved"] != "Yes" {
			t.Errorf("%s: ntpdata Interleaved %q, want Yes (NTS requests served interleaved)", c.name, blk["Interleaved"])
		}
		before[c.name] = a
	}
	m1 := scrapeNTS(t, g)
	t.Logf("gnomond before restart: %+v", m1)
	if m1.authentic < 16 || m1.authReplies < 16 || m1.naks != 0 || m1.nakVerdicts != 0 || m1.keAccepted < 2 || m1.cookies < 16 {
		t.Errorf("gnomond before restart: %+v; want ≥ 16 authentic requests and replies, 0 NAKs, ≥ 2 KE connections, ≥ 16 cookies", m1)
	}
	if f, out, err := wrong.sourceRow(ctx, g.addr); err != nil || f[4] != "0" {
		t.Errorf("wrong CA client: reach %v (%v), want 0\n%s", f, err, out)
	}
	if m1.keHandshakeErrors < 1 {
		t.Errorf("gnomond counted %v failed handshakes, want ≥ 1 (the wrong-CA client)", m1.keHandshakeErrors)
	}
	wrong.c.proc.Stop()

	// Restart gnomond on the same key file. The clients poll every 2 s
	// meanwhile, so that the restart costs them a request or two and not
	// all their cookies (chronyd redoes KE when it runs out).
	for _, c := range clients {
		for _, cmd := range [][]string{{"maxpoll", g.addr.String(), "1"}, {"minpoll", g.addr.String(), "1"}} {
			if out, err := c.c.chronyc(ctx, cmd...); err != nil {
				t.Fatalf("%s: chronyc %v: %v\n%s", c.name, cmd, err, out)
			}
		}
	}
	g.stop(t)
	g2 := startGnomond(t, pair, opts, limit)
	g2.waitReady(t)
	for _, c := range clients {
		for _, cmd := range [][]string{{"minpoll", g.addr.String(), "-4"}, {"maxpoll", g.addr.String(), "-4"}} {
			if out, err := c.c.chronyc(ctx, cmd...); err != nil {
				t.Fatalf("%s: chronyc %v: %v\n%s", c.name, cmd, err, out)
			}
		}
	}
	validBefore := map[string]int{}
	for _, c := range clients {
		blk := parseColonBlock(must(c.c.chronyc(ctx, "ntpdata", g.addr.String())))
		validBefore[c.name], _ = strconv.Atoi(blk["Total valid RX"])
	}
	time.Sleep(4 * time.Second) // ≥ 30 polls at 16 Hz after the 2 s poll in progress
	for _, c := range clients {
		a, err := c.authdata(ctx, g.addr)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, a.table)
		}
		t.Logf("%s authdata after restart: %s", c.name, a.raw)
		b := before[c.name]
		if a.mode != "NTS" || a.keID != b.keID || a.nak != 0 || a.attempts != 0 || a.cookies < 1 || lastSeconds(a.last) < lastSeconds(b.last) {
			t.Errorf("%s: authdata after restart %q (before %q): want no NAK, no new KE (KeyID, the KE count, unchanged; Last not reset), cookies", c.name, a.raw, b.raw)
		}
		blk := parseColonBlock(must(c.c.chronyc(ctx, "ntpdata", g.addr.String())))
		valid, _ := strconv.Atoi(blk["Total valid RX"])
		if valid < validBefore[c.name]+16 || blk["Authenticated"] != "Yes" {
			t.Errorf("%s: %d valid replies after the restart (from %d), Authenticated %q; want ≥ 16 more, Yes",
				c.name, valid, validBefore[c.name], blk["Authenticated"])
		}
	}
	m2 := scrapeNTS(t, g2)
	t.Logf("gnomond after restart: %+v", m2)
	if m2.authentic < 16 || m2.naks != 0 || m2.nakVerdicts != 0 || m2.keAccepted != 0 {
		t.Errorf("gnomond after restart: %+v; want ≥ 16 authentic requests (cookies of the old process), 0 NAKs, 0 KE connections", m2)
	}
	for _, c := range clients {
		c.c.proc.Stop()
	}
	g2.stop(t)
}

func must(s string, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return s
}
