package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// symkeyRun is how long the authenticated chronyd clients poll (16 Hz after
// iburst): long enough for a few dozen exchanges.
const symkeyRun = 8 * time.Second

// Keys of TestChronydSymmetricKey (test material only).
const (
	symkeyAES  = "HEX:7EA62AE64D190114D46D5A082F948EC1"
	symkeyBad  = "HEX:00112233445566778899AABBCCDDEEFF" // same ID, other key
	symkeySHA1 = "HEX:0102030405060708090A0B0C0D0E0F1011121314"
)

// writeKeyFile writes a chrony key file readable by the chrony user only
// (chronyd reads it after dropping root; gnomond refuses a world-readable
// one).
func writeKeyFile(t *testing.T, dir, data string) string {
	t.Helper()
	p := filepath.Join(dir, "ntp.keys")
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, suite.chronyUID, suite.chronyGID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestChronydSymmetricKey: chronyd 4.3 clients with `server ADDR key N`
// against gnomond with ntp.keys_file. AES128 (AES-CMAC, RFC 8573) and SHA1
// clients authenticate (chronyc ntpdata: Authenticated Yes, valid replies;
// authdata: the key); a client with a wrong AES128 key for the same ID
// gets no reply (gnomond: auth_failed); a client with a key ID gnomond lacks
// gets crypto-NAKs, which chronyd does not accept as samples.
func TestChronydSymmetricKey(t *testing.T) {
	requirePeers(t)
	limit := symkeyRun + 60*time.Second
	pair := suite.h.NewPairT(t)
	gdir := stateDir(t, "gnomond-keys")
	keys := writeKeyFile(t, gdir, fmt.Sprintf("# gnomond test keys\n30 AES128 %s\n31 SHA1 %s\n", symkeyAES, symkeySHA1))
	g := startGnomond(t, pair, gnomondOpts{ntpExtra: fmt.Sprintf("  keys_file: %q\n", keys)}, limit)
	g.waitReady(t)

	type client struct {
		name, keyLine string
		keyID         int
		wantAuth      bool
		c             *chronydClient
	}
	clients := []*client{
		{name: "aes128", keyLine: "30 AES128 " + symkeyAES, keyID: 30, wantAuth: true},
		{name: "sha1", keyLine: "31 SHA1 " + symkeySHA1, keyID: 31, wantAuth: true},
		{name: "wrong_aes128_key", keyLine: "30 AES128 " + symkeyBad, keyID: 30},
		{name: "unknown_key_id", keyLine: "40 AES128 " + symkeyAES, keyID: 40},
	}
	for _, cl := range clients {
		dir := stateDir(t, "chronyd-"+cl.name)
		kf := writeKeyFile(t, dir, cl.keyLine+"\n")
		p := startChronyd(t, pair.Cli, dir, "chronyd-"+cl.name, "chronyd client "+cl.name, limit,
			[]string{fmt.Sprintf("server %s key %d iburst minpoll -4 maxpoll -4", g.addr, cl.keyID)},
			[]string{"keyfile " + kf, "port 0"})
		cl.c = &chronydClient{pair: pair, dir: dir, proc: p}
	}
	time.Sleep(symkeyRun)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for _, cl := range clients {
		select {
		case <-cl.c.proc.Done():
			t.Fatalf("%s: chronyd exited early: %v\n%s", cl.name, cl.c.proc.Err(), cl.c.proc.Output())
		default:
		}
		out, err := cl.c.chronyc(ctx, "ntpdata")
		if err != nil {
			t.Fatalf("%s: chronyc ntpdata: %v\n%s", cl.name, err, out)
		}
		blk := parseColonBlock(out)
		rx, _ := strconv.Atoi(blk["Total RX"])
		valid, _ := strconv.Atoi(blk["Total valid RX"])
		t.Logf("%s: Authenticated %q, Total TX %s, RX %d, valid RX %d", cl.name, blk["Authenticated"], blk["Total TX"], rx, valid)
		if cl.wantAuth {
			if blk["Authenticated"] != "Yes" || valid < 5 {
				t.Errorf("%s: Authenticated %q, %d valid replies; want Yes and ≥ 5\n%s", cl.name, blk["Authenticated"], valid, out)
			}
			auth, err := cl.c.chronyc(ctx, "authdata")
			if err != nil {
				t.Errorf("%s: chronyc authdata: %v\n%s", cl.name, err, auth)
			} else if !strings.Contains(auth, " SK ") || !strings.Contains(auth, fmt.Sprint(cl.keyID)) {
				t.Errorf("%s: authdata does not show symmetric key %d:\n%s", cl.name, cl.keyID, auth)
			}
			continue
		}
		if valid != 0 {
			t.Errorf("%s: %d valid replies, want none\n%s", cl.name, valid, out)
		}
		switch cl.name {
		case "wrong_aes128_key":
			if rx != 0 {
				t.Errorf("%s: %d replies received, want none (a MAC that fails gets no reply)", cl.name, rx)
			}
		case "unknown_key_id":
			if rx == 0 {
				t.Errorf("%s: no reply received, want crypto-NAKs", cl.name)
			}
		}
	}

	m := g.scrape(t)
	for _, c := range []struct {
		name, labels string
	}{
		{"gnomon_ntp_authenticated_replies_total", ""},
		{"gnomon_ntp_requests_total", `verdict="auth_failed"`},
		{"gnomon_ntp_requests_total", `verdict="crypto_nak"`},
	} {
		v, err := metricValue(m, c.name, c.labels)
		if err != nil || v < 5 {
			t.Errorf("gnomond %s{%s} = %v (%v), want ≥ 5", c.name, c.labels, v, err)
		}
	}
	if v, err := metricValue(m, "gnomon_ntp_seal_failures_total", ""); err != nil || v != 0 {
		t.Errorf("gnomon_ntp_seal_failures_total = %v (%v), want 0", v, err)
	}
}
