package loadgen

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/symkey"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

func TestParseMix(t *testing.T) {
	m, err := ParseMix("basic=40,xleave=30,nts=15,mac=15")
	if err != nil || m != (Mix{KindBasic: 40, KindXleave: 30, KindNTS: 15, KindMAC: 15}) {
		t.Fatalf("got %v, %v", m, err)
	}
	if m.String() != "basic=40,xleave=30,nts=15,mac=15" {
		t.Errorf("String %q", m.String())
	}
	for _, bad := range []string{"", "basic=50", "basic=50,basic=50", "foo=100", "basic", "basic=101", "basic=-1,mac=101"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
}

// Every kind gets its rounded share, at least one socket, and every worker
// a similar mix.
func TestSocketKinds(t *testing.T) {
	m := Mix{KindBasic: 40, KindXleave: 30, KindNTS: 15, KindMAC: 10, KindMalformed: 5}
	ks, err := socketKinds(m, 64, 2)
	if err != nil {
		t.Fatal(err)
	}
	var all [NumKinds]int
	var per [2][NumKinds]int
	for j, k := range ks {
		all[k]++
		per[j%2][k]++
	}
	if all != [NumKinds]int{26, 19, 10, 6, 3} {
		t.Errorf("counts %v", all)
	}
	for w := range per {
		for k := range NumKinds {
			if d := per[w][k] - all[k]/2; d < -1 || d > 1 {
				t.Errorf("worker %d: %d sockets of %v out of %d", w, per[w][k], k, all[k])
			}
		}
	}
	if ks, _ := socketKinds(Mix{KindBasic: 98, KindMAC: 1, KindNTS: 1}, 10, 1); count(ks, KindMAC) != 1 || count(ks, KindNTS) != 1 {
		t.Errorf("small shares: %v", ks)
	}
	if _, err := socketKinds(m, 4, 1); err == nil {
		t.Error("5 kinds on 4 sockets accepted")
	}
}

func count(ks []Kind, k Kind) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}

func TestValidateMix(t *testing.T) {
	keys, _ := symkey.Parse("test", []byte(testKeys))
	base := Config{Server: mustAP("127.0.0.1:123"), Rate: 100, Duration: time.Second}
	tests := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"mac without key", func(c *Config) { c.Mix = Mix{KindMAC: 100} }, "needs a MAC key"},
		{"nts without server", func(c *Config) { c.Mix = Mix{KindNTS: 100}; c.NTSTLS = nil }, "nts server"},
		{"malformed with max", func(c *Config) { c.Mix = Mix{KindBasic: 90, KindMalformed: 10}; c.Rate = 0; c.Max = true }, "only a paced"},
		{"xleave and mix", func(c *Config) { c.Mix = Mix{KindBasic: 100}; c.Xleave = true }, "xleave and mix"},
		{"sum", func(c *Config) { c.Mix = Mix{KindBasic: 90} }, "sum to 90"},
		{"version", func(c *Config) { c.Mix = Mix{KindBasic: 50, KindXleave: 50}; c.Version = 3 }, "version 3"},
		{"few clients", func(c *Config) {
			c.Mix = Mix{KindBasic: 50, KindXleave: 30, KindMalformed: 20}
			c.Clients = 2
		}, "at least one socket per kind"},
		{"reserved key id", func(c *Config) {
			k, _ := symkey.Parse("x", []byte("4294967294 AES128 HEX:7EA62AE64D190114D46D5A082F948EC1"))
			c.MACKey = k.Lookup(UnknownKeyID)
		}, "reserved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mod(&c)
			err := c.withDefaults(1).Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	ok := base
	ok.Mix, ok.MACKey = Mix{KindBasic: 50, KindMAC: 25, KindMalformed: 25}, keys.Lookup(30)
	if err := ok.withDefaults(1).Validate(); err != nil {
		t.Fatal(err)
	}
}

// A server that follows the rules: every kind gets valid replies, no reply
// is wrong, malformed requests get nothing but crypto-NAKs for the unknown
// key, NTS cookies keep flowing.
func TestMixAgainstServer(t *testing.T) {
	a := startAuthServer(t, true, nil)
	cfg := a.mixConfig(t, "basic=20,xleave=20,nts=20,mac=20,malformed=20")
	cfg.Count = 2000
	res := run(t, cfg)
	if res.Invalid != 0 || res.Lost != 0 {
		t.Fatalf("invalid %d (%v), lost %d", res.Invalid, res.Reasons, res.Lost)
	}
	for k := range KindMalformed {
		if kr := res.Kinds[k]; kr.Sockets != 2 || kr.Sent == 0 || kr.Valid != kr.Sent {
			t.Errorf("%v: %+v", k, kr)
		}
	}
	if mk := res.Kinds[KindMalformed]; mk.Sent == 0 || res.MalformedSent != mk.Sent || res.CryptoNAKs == 0 || res.CryptoNAKs > mk.Sent/6+1 {
		t.Errorf("malformed %+v, crypto-NAKs %d", mk, res.CryptoNAKs)
	}
	if res.NTSKeyExchanges != 2 || res.NTSCookies < res.Kinds[KindNTS].Valid || res.NTSNAKs != 0 {
		t.Errorf("NTS: %d KEs, %d cookies for %d replies, %d NAKs", res.NTSKeyExchanges, res.NTSCookies, res.Kinds[KindNTS].Valid, res.NTSNAKs)
	}
	if res.Received+res.MalformedSent != res.Sent {
		t.Errorf("received %d + malformed %d != sent %d", res.Received, res.MalformedSent, res.Sent)
	}
}

// Each way a server can get a mode wrong is a wrong reply with its reason.
func TestMixWrongReplies(t *testing.T) {
	isMAC := func(rep []byte) bool { return len(rep) == wire.HeaderLen+20 }
	isNTS := func(rep []byte) bool { return len(rep) > 100 }
	tests := []struct {
		name, mix string
		tamper    func(req, rep []byte) []byte
		answer    bool
		reason    Reason
	}{
		{"mac flipped", "basic=50,mac=50", func(_, rep []byte) []byte {
			if isMAC(rep) {
				rep[len(rep)-1] ^= 1
			}
			return rep
		}, false, ReasonBadMAC},
		{"mac stripped", "basic=50,mac=50", func(_, rep []byte) []byte {
			if isMAC(rep) {
				return rep[:wire.HeaderLen]
			}
			return rep
		}, false, ReasonBadMAC},
		{"mac reply is a crypto-NAK", "mac=100", func(_, rep []byte) []byte {
			clear(rep[wire.HeaderLen : wire.HeaderLen+4])
			return rep[:wire.HeaderLen+4]
		}, false, ReasonBadMAC},
		{"mac header changed after signing", "mac=100", func(_, rep []byte) []byte {
			rep[wire.OffStratum] = 2
			return rep
		}, false, ReasonBadMAC},
		{"nts authenticator", "basic=50,nts=50", func(_, rep []byte) []byte {
			if isNTS(rep) {
				rep[len(rep)-1] ^= 1
			}
			return rep
		}, false, ReasonBadNTS},
		{"nts unique identifier", "nts=100", func(_, rep []byte) []byte {
			rep[wire.HeaderLen+4] ^= 1
			return rep
		}, false, ReasonBadNTS},
		{"nts stripped", "nts=100", func(_, rep []byte) []byte { return rep[:wire.HeaderLen] }, false, ReasonBadNTS},
		{"nts header changed", "nts=100", func(_, rep []byte) []byte {
			rep[wire.OffPoll] ^= 1
			return rep
		}, false, ReasonBadNTS},
		{"basic reply longer than 48", "basic=50,mac=50", func(_, rep []byte) []byte {
			if len(rep) == wire.HeaderLen {
				return append(rep, 0, 0, 0, 0)
			}
			return rep
		}, false, ReasonLong},
		{"malformed answered", "basic=80,malformed=20", nil, true, ReasonAnswered},
		{"unknown key answered without NAK", "basic=80,malformed=20", func(req, rep []byte) []byte {
			if len(req) == wire.HeaderLen+20 && binary.BigEndian.Uint32(req[wire.HeaderLen:]) == UnknownKeyID {
				return rep[:wire.HeaderLen]
			}
			return rep
		}, false, ReasonAnswered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := startAuthServer(t, strings.Contains(tc.mix, "nts"), func(a *authServer) {
				a.tamper, a.answerDropped = tc.tamper, tc.answer
			})
			cfg := a.mixConfig(t, tc.mix)
			cfg.Count, cfg.Clients = 600, 4
			cfg.Drain = 300 * time.Millisecond
			res := run(t, cfg)
			if res.Invalid == 0 || res.Reasons[tc.reason.String()] == 0 {
				t.Fatalf("tampered replies not caught: invalid %d, reasons %v", res.Invalid, res.Reasons)
			}
		})
	}
}

// The NTS and MAC request and reply paths allocate nothing.
func TestAuthPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	var k1, k2 [nts.MasterKeyLen]byte
	_, _ = rand.Read(k1[:])
	ring, err := nts.NewRing(nts.NewKeySet(time.Now(), k1, k2))
	if err != nil {
		t.Fatal(err)
	}
	core := nts.NewCore(ring, rand.Reader)
	var keys [nts.SessionKeysLen]byte
	_, _ = rand.Read(keys[:])
	ses := &ntsSession{c2s: keys[:32], s2c: keys[32:]}
	for range 8 {
		ck := make([]byte, nts.CookieLen)
		if err := ring.SealCookie(ck, &keys, &[16]byte{1}); err != nil {
			t.Fatal(err)
		}
		ses.cookies = append(ses.cookies, ck)
	}
	ns, err := newNTSSock(ses, 16)
	if err != nil {
		t.Fatal(err)
	}
	nw := core.NewWorker()
	var st stats
	req := make([]byte, ntsMaxReq)
	out := make([]byte, ntsMaxReq)
	var seq uint32
	round := func() Reason {
		seq++
		n := ns.putNTSRequest(req, seq, cookie(seq, 7, false), &st)
		ns.reqLen[seq&15] = uint16(n)
		var a nts.ReplyAuth
		if v := nw.Verify(req[:n], &a); v != nts.VerdictAuthentic {
			t.Fatalf("server verdict %v", v)
		}
		copy(out, req[:wire.HeaderLen])
		out[0], out[1] = 0x24, 1
		m := nw.Seal(out, wire.HeaderLen, &a)
		return ns.checkNTSReply(out[:m], seq, 15, ReasonValid, &st)
	}
	if r := round(); r != ReasonValid {
		t.Fatalf("NTS reply: %v", r)
	}
	if allocs := testing.AllocsPerRun(200, func() { round() }); allocs != 0 {
		t.Errorf("NTS request + reply: %v allocations", allocs)
	}
	if !bytes.Equal(req[:4], []byte{0x23, 0, 0, byte(wire.PrecisionNotGiven)}) {
		t.Errorf("request header %x", req[:4])
	}
	sk, _ := symkey.Parse("test", []byte(testKeys))
	key := sk.Lookup(30)
	var sc symkey.Scratch
	rep := make([]byte, 128)
	if allocs := testing.AllocsPerRun(200, func() {
		putRequest(rep, 4, 0, 0, 1)
		n := wire.HeaderLen + key.Put(&sc, 4, rep[wire.HeaderLen:], rep[:wire.HeaderLen])
		if checkMACReply(rep[:n], key, &sc, ReasonValid) != ReasonValid {
			t.Fatal("MAC does not verify")
		}
	}); allocs != 0 {
		t.Errorf("MAC request + reply: %v allocations", allocs)
	}
}

func mustAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
