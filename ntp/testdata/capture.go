//go:build ignore

// capture records real NTP client requests for the golden files in this
// directory. It is not part of the ntp package (build-ignored) and only ever
// listens on loopback.
//
// Server mode saves every datagram it receives on 127.0.0.1:PORT as
// DIR/PREFIX-NNN.bin and answers with ntp.Server.Respond (synchronised
// stratum 1 state, interleaved mode on, TX timestamps recorded after each
// send as a daemon timestamp) so that multi-packet clients such as a chronyd
// xleave client carry on:
//
//	go run ./ntp/testdata/capture.go -listen 127.0.0.1:12345 -dir /tmp/cap -prefix chronyd -for 8s
//
// Client mode sends one beevik/ntp query (optionally NTPv3/NTPv5) to ADDR:
//
//	go run ./ntp/testdata/capture.go -beevik 127.0.0.1:12345 -version 4
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	beevik "github.com/beevik/ntp"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

func main() {
	listen := flag.String("listen", "", "loopback address to listen on")
	dir := flag.String("dir", ".", "output directory")
	prefix := flag.String("prefix", "req", "file name prefix")
	dur := flag.Duration("for", 8*time.Second, "how long to listen")
	max := flag.Int("max", 20, "stop after this many datagrams")
	bq := flag.String("beevik", "", "send a beevik/ntp query to this host:port")
	version := flag.Int("version", 4, "NTP version of the beevik query")
	flag.Parse()

	if *bq != "" {
		r, err := beevik.QueryWithOptions(*bq, beevik.QueryOptions{Version: *version, Timeout: 2 * time.Second})
		if err != nil {
			log.Fatalf("beevik query: %v", err)
		}
		fmt.Printf("beevik: stratum %d offset %v rtt %v leap %d\n", r.Stratum, r.ClockOffset, r.RTT, r.Leap)
		return
	}
	ap, err := netip.ParseAddrPort(*listen)
	if err != nil || !ap.Addr().IsLoopback() {
		log.Fatalf("-listen must be a loopback address:port: %q", *listen)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	cl, err := clientlog.New(clientlog.Config{Clients: 16})
	if err != nil {
		log.Fatal(err)
	}
	acl, err := ntp.NewACL([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)
	if err != nil {
		log.Fatal(err)
	}
	cfg := ntp.DefaultServerConfig()
	cfg.ACL = acl
	srv, err := ntp.NewServer(cfg, cl)
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now().Round(0)
	st := &clock.SyncState{
		Synchronized: true, Stratum: 1, RefID: 0x47505300, RefTime: start.Add(-time.Second),
		RootDispersion: 20 * time.Microsecond, DispersionRate: clock.DefaultDispersionRate, Precision: -24,
	}
	deadline := time.Now().Add(*dur)
	buf := make([]byte, 2048)
	out := make([]byte, 2048)
	for i := 0; i < *max; i++ {
		_ = conn.SetReadDeadline(deadline)
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			break
		}
		rx := wire.TimeFromTime(time.Now())
		name := filepath.Join(*dir, fmt.Sprintf("%s-%03d.bin", *prefix, i))
		if err := os.WriteFile(name, buf[:n], 0o644); err != nil {
			log.Fatal(err)
		}
		m, v := srv.Respond(out, buf[:n], from, rx, st)
		fmt.Printf("%s len=%d from=%s verdict=%s\n", name, n, from, v)
		if !v.Replied() {
			continue
		}
		if v.NeedsTransmit() {
			wire.PutTransmit(out[:m], wire.TimeFromTime(time.Now()))
		}
		if _, err := conn.WriteToUDPAddrPort(out[:m], from); err != nil {
			log.Print(err)
			continue
		}
		// Daemon TX timestamp, taken right after the send.
		srv.RecordTX(from.Addr(), wire.ReceiveField(out[:m]), wire.TimeFromTime(time.Now()))
	}
}
