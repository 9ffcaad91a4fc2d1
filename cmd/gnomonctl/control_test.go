package main

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
	"github.com/gnomon-time/gnomon/internal/cli"
)

// cmdmonFake answers every request with status st and a NULL reply, and
// keeps the last request.
func cmdmonFake(t *testing.T, st wire.Status) (port string, last func() []byte) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var req []byte
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1024)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			h, err := wire.ParseRequestHeader(buf[:n])
			if err != nil {
				continue
			}
			mu.Lock()
			req = append([]byte(nil), buf[:n]...)
			mu.Unlock()
			conn.WriteToUDPAddrPort(wire.AppendErrorReply(nil, h, st), from)
		}
	}()
	return strconv.Itoa(conn.LocalAddr().(*net.UDPAddr).Port), func() []byte {
		mu.Lock()
		defer mu.Unlock()
		return req
	}
}

func TestControlStatusLines(t *testing.T) {
	port, last := cmdmonFake(t, wire.StatusSuccess)
	for _, args := range [][]string{{"makestep"}, {"reset", "sources"}, {"burst", "2/10"}} {
		code, out, errs := runCmd(t, append([]string{"--host", "127.0.0.1", "--port", port}, args...)...)
		if code != cli.ExitOK || out != "200 OK\n" || errs != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	code, out, _ := runCmd(t, "--host", "127.0.0.1", "--port", port, "burst", "3/7", "192.0.2.0/24", "--json")
	if code != cli.ExitOK || out != "{\n  \"status\": \"200 OK\"\n}\n" {
		t.Errorf("burst --json: exit %d, %q", code, out)
	}
	req := last()
	if len(req) != 68 || wire.Command(req[4])<<8|wire.Command(req[5]) != wire.CmdBurst ||
		net.IP(req[20:24]).String() != "255.255.255.0" || net.IP(req[40:44]).String() != "192.0.2.0" ||
		req[63] != 3 || req[67] != 7 {
		t.Errorf("burst request % x", req)
	}

	port, _ = cmdmonFake(t, wire.StatusUnauth)
	code, out, errs := runCmd(t, "--host", "127.0.0.1", "--port", port, "makestep")
	if code != cli.ExitFailure || out != "501 Not authorised\n" || errs != "" {
		t.Errorf("unauthorised makestep: exit %d, stdout %q, stderr %q (want chronyc's line on stdout only)", code, out, errs)
	}
	code, out, errs = runCmd(t, "--host", "127.0.0.1", "--port", port, "tracking", "--json")
	if code != cli.ExitFailure || out != "" || errs != "gnomonctl: 501 Not authorised\n" {
		t.Errorf("unauthorised tracking --json: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestControlUsage(t *testing.T) {
	for _, args := range [][]string{
		{"reset"}, {"reset", "all"}, {"burst"}, {"burst", "1-2"}, {"burst", "1/2", "not-an-address/8"},
		{"burst", "1/2", "192.0.2.1/::1"}, {"tracking", "extra"}, {"--port", "0", "tracking"},
		{"--host", "127.0.0.1:x", "tracking"}, {"clients", "-p", "x"}, {"ntpdata", "ID#x"},
	} {
		if code, _, _ := runCmd(t, args...); code != cli.ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, cli.ExitUsage)
		}
	}
}

func TestParseBurst(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args       []string
		mask, addr string
	}{
		{[]string{"1/2"}, "[UNSPEC]", "[UNSPEC]"},
		{[]string{"1/2", "192.0.2.1"}, "255.255.255.255", "192.0.2.1"},
		{[]string{"1/2", "192.0.2.0/20"}, "255.255.240.0", "192.0.2.0"},
		{[]string{"1/2", "255.255.0.0/192.0.0.0"}, "255.255.0.0", "192.0.0.0"},
		{[]string{"1/2", "2001:db8::/33"}, "ffff:ffff:8000::", "2001:db8::"},
		{[]string{"1/2", "2001:db8::1"}, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::1"},
		{[]string{"1/2", "ID#5"}, "[UNSPEC]", "ID#0000000005"},
		{[]string{"1/2", "192.0.2.0/99"}, "255.255.255.255", "192.0.2.0"},
	} {
		r, err := parseBurst(ctx, tc.args)
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if m, a := addrText(r.Mask), addrText(r.Addr); m != tc.mask || a != tc.addr || r.NGood != 1 || r.NTotal != 2 {
			t.Errorf("%v: mask %s addr %s (%d/%d), want %s %s", tc.args, m, a, r.NGood, r.NTotal, tc.mask, tc.addr)
		}
	}
}

func addrText(a wire.IPAddr) string {
	switch a.Family {
	case wire.FamilyInet4, wire.FamilyInet6:
		return a.Addr.String()
	case wire.FamilyID:
		return "ID#" + strconv.FormatUint(uint64(a.ID)+10000000000, 10)[1:]
	}
	return "[UNSPEC]"
}
