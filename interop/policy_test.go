package interop

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// rawReply is the part of an NTP reply the policy tests look at.
type rawReply struct {
	li, version, mode, stratum uint8
	refID                      string
	origin                     uint64
}

func (r rawReply) kod() bool { return r.stratum == 0 }

// burst sends n basic mode-3 requests back to back from ns (source laddr,
// "" = default) to addr and collects the replies that arrive within wait,
// keyed by the request's transmit timestamp (a cookie, echoed as origin).
func burst(ns *netns.NS, laddr, addr string, n int, wait time.Duration) (map[uint64]rawReply, error) {
	conn, err := ns.DialUDP(laddr, addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	base := uint64(time.Now().UnixNano()) << 8
	for i := range n {
		var req [48]byte
		req[0] = 0<<6 | 4<<3 | 3 // LI 0, version 4, mode 3 (client)
		binary.BigEndian.PutUint64(req[40:], base+uint64(i))
		if _, err := conn.Write(req[:]); err != nil {
			return nil, fmt.Errorf("send request %d: %w", i, err)
		}
	}
	got := map[uint64]rawReply{}
	buf := make([]byte, 1500)
	if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return nil, err
	}
	for {
		k, err := conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return got, nil
			}
			return got, err
		}
		if k < 48 {
			return got, fmt.Errorf("short reply (%d bytes)", k)
		}
		r := rawReply{
			li: buf[0] >> 6, version: buf[0] >> 3 & 7, mode: buf[0] & 7, stratum: buf[1],
			refID: strings.TrimRight(string(buf[12:16]), "\x00"), origin: binary.BigEndian.Uint64(buf[24:]),
		}
		if r.origin-base >= uint64(n) {
			return got, fmt.Errorf("reply with unknown origin %#x", r.origin)
		}
		if _, dup := got[r.origin]; dup {
			return got, fmt.Errorf("two replies to request %d", r.origin-base)
		}
		got[r.origin] = r
	}
}

// rateLimitConf: one answer per 16 s with a bucket of one, so every request
// after the first is over the limit; an over-limit request is answered anyway
// with probability 2^−4 (leak) and otherwise gets a RATE KoD with
// probability 2^−1, else it is dropped (gnomond's ntp/clientlog semantics,
// as chrony ≥ 4.4's `ratelimit ... kod`).
const rateLimitConf = `
interval: 4
burst: 1
leak: 4
kod: 1
`

var ntpdigKoDRe = regexp.MustCompile(`(?m)^[0-9a-f]{2} 00 (?:[0-9a-f]{2} ){10}52 41 54 45 `)

// TestRateLimitKoD: with a rate limit and kod configured, a client that
// sends fast is limited and gets KoD RATE replies; beevik/ntp sees
// KissCode "RATE" and ntpdig reports the KoD. (chrony 4.3 has no
// `ratelimit kod`, so there is no chronyd baseline.)
func TestRateLimitKoD(t *testing.T) {
	requirePeers(t)
	t.Parallel()
	pair := suite.h.NewPairT(t)
	g := startGnomond(t, pair, gnomondOpts{ratelimit: rateLimitConf}, 60*time.Second)
	g.waitReady(t) // takes the bucket's single token

	const n = 40
	got, err := burst(pair.Cli, "", g.hostPort(), n, time.Second)
	if err != nil {
		t.Fatalf("burst: %v", err)
	}
	var normal, kod int
	for _, r := range got {
		if r.mode != 4 || r.version != 4 {
			t.Errorf("reply mode %d version %d, want 4 4", r.mode, r.version)
		}
		if !r.kod() {
			normal++
			continue
		}
		kod++
		if r.li != 3 || r.refID != "RATE" {
			t.Errorf("KoD reply LI %d refid %q, want 3 \"RATE\"", r.li, r.refID)
		}
	}
	dropped := n - len(got)
	t.Logf("burst of %d requests: %d answered, %d KoD RATE, %d dropped (expected ≈ %.1f, %.1f, %.1f)",
		n, normal, kod, dropped, n/16.0, n*15/32.0, n*15/32.0)
	// Binomial bounds at > 4 σ from the expectations above.
	if normal > 12 {
		t.Errorf("%d of %d over-limit requests answered normally: not rate limited (leak 2^-4 → ≈ %.1f)", normal, n, n/16.0)
	}
	if kod < 5 {
		t.Errorf("%d KoD RATE replies of %d over-limit requests, want ≥ 5 (kod 1 → ≈ %.1f)", kod, n, n*15/32.0)
	}
	if dropped < 5 {
		t.Errorf("%d of %d over-limit requests dropped, want ≥ 5 (≈ %.1f)", dropped, n, n*15/32.0)
	}

	metrics := g.scrape(t)
	var counters []string
	for _, name := range []string{"gnomon_ntp_client_log_rate_limited_total", "gnomon_ntp_client_log_kod_total",
		"gnomon_ntp_client_log_leaked_total", "gnomon_ntp_client_log_contended_total"} {
		v, err := metricValue(metrics, name, "")
		counters = append(counters, fmt.Sprintf("%s=%v%s", strings.TrimPrefix(name, "gnomon_ntp_client_log_"), v, errSuffix(err)))
	}
	t.Logf("gnomond client log after the burst: %s", strings.Join(counters, " "))
	if v, err := metricValue(metrics, "gnomon_ntp_requests_total", `verdict="kod_rate"`); err != nil || v < float64(kod) {
		t.Errorf("gnomond metrics: kod_rate = %v (%v), want ≥ %d KoDs seen by the client", v, err, kod)
	}
	if v, err := metricValue(metrics, "gnomon_ntp_requests_total", `verdict="rate_limited"`); err != nil || v < float64(dropped) {
		t.Errorf("gnomond metrics: rate_limited = %v (%v), want ≥ %d requests the client saw dropped", v, err, dropped)
	}

	t.Run("beevik", func(t *testing.T) {
		for i := range 20 {
			r, err := beevikQuery(pair.Cli, "", g.hostPort(), 300*time.Millisecond)
			if err != nil {
				continue // dropped
			}
			if r.IsKissOfDeath() {
				if r.KissCode != "RATE" {
					t.Fatalf("KoD with KissCode %q, want RATE", r.KissCode)
				}
				if err := r.Validate(); err == nil {
					t.Errorf("Validate accepted a KoD reply")
				}
				t.Logf("beevik: KissCode RATE on query %d", i+1)
				return
			}
		}
		t.Errorf("no KoD RATE in 20 beevik queries (P ≈ 2e-6 if kod works)")
	})

	t.Run("ntpdig", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// 12 samples, 1 s timeout each; P(no KoD) ≈ (17/32)^12 ≈ 5e-4.
		out, _ := ntpdig(ctx, g, "-D", "2", "-p", "12", "-g", "0", "-t", "1")
		if !strings.Contains(out, "probable KOD packet") {
			t.Errorf("ntpdig did not report a KoD:\n%s", out)
		}
		if !ntpdigKoDRe.MatchString(out) {
			t.Errorf("ntpdig's packet dump shows no stratum-0 reply with refid RATE:\n%s", out)
		}
	})
	g.stop(t)
}

// TestACL: gnomond serves by the most specific matching ACL entry. The
// client subnet's upper half is denied, one host in it allowed again:
// allowed sources get replies, the denied one gets nothing (no KoD either),
// like chrony.
func TestACL(t *testing.T) {
	requirePeers(t)
	t.Parallel()
	pair := suite.h.NewPairT(t)
	base := pair.Prefix.Addr().As4()
	host := func(b byte) netip.Addr { a := base; a[3] = b; return netip.AddrFrom4(a) }
	denied, reallowed := host(130), host(131)
	deniedNet := netip.PrefixFrom(host(128), 25)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, a := range []netip.Addr{denied, reallowed} {
		if err := pair.AddCliAddr(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	g := startGnomond(t, pair, gnomondOpts{
		allow: []string{pair.Prefix.String(), reallowed.String() + "/32"},
		deny:  []string{deniedNet.String()},
	}, 60*time.Second)
	g.waitReady(t) // from pair.CliAddr (.2): allowed

	for _, tc := range []struct {
		src  netip.Addr
		want bool
	}{
		{pair.CliAddr, true},
		{reallowed, true},
		{denied, false},
	} {
		got, err := burst(pair.Cli, tc.src.String(), g.hostPort(), 3, time.Second)
		if err != nil {
			t.Fatalf("from %v: %v", tc.src, err)
		}
		switch {
		case tc.want && len(got) != 3:
			t.Errorf("from allowed %v: %d of 3 replies", tc.src, len(got))
		case !tc.want && len(got) != 0:
			t.Errorf("from denied %v (in %v): %d replies %v, want none", tc.src, deniedNet, len(got), got)
		}
		for _, r := range got {
			if r.kod() {
				t.Errorf("from %v: KoD %q", tc.src, r.refID)
			}
		}
		// beevik agrees: an answer when allowed, a timeout when denied.
		_, err = beevikQuery(pair.Cli, tc.src.String(), g.hostPort(), 500*time.Millisecond)
		var ne net.Error
		switch {
		case tc.want && err != nil:
			t.Errorf("beevik from allowed %v: %v", tc.src, err)
		case !tc.want && (err == nil || !errors.As(err, &ne) || !ne.Timeout()):
			t.Errorf("beevik from denied %v: err %v, want a timeout", tc.src, err)
		}
	}
	if v, err := metricValue(g.scrape(t), "gnomon_ntp_requests_total", `verdict="denied"`); err != nil || v < 4 {
		t.Errorf("gnomond metrics: denied = %v (%v), want ≥ 4 (3 raw requests and one beevik query)", v, err)
	}
	g.stop(t)
}

func errSuffix(err error) string {
	if err != nil {
		return " (" + err.Error() + ")"
	}
	return ""
}
