package clientlog

import (
	"net/netip"
	"sync/atomic"
	"testing"
)

func benchAddrs(n int, base byte) []netip.Addr {
	a := make([]netip.Addr, n)
	for i := range a {
		a[i] = netip.AddrFrom4([4]byte{base, 0, byte(i >> 8), byte(i)})
	}
	return a
}

// BenchmarkHit: 1024 clients round-robin in a 4096-slot log with chrony's
// default limiting (most requests conform: each client is seen every 1024
// requests, 1 ms apart).
func BenchmarkHit(b *testing.B) {
	cfg := Config{Clients: 4096, RateLimit: DefaultRateLimit()}
	b.Run("single", func(b *testing.B) {
		l := mustNew(b, cfg)
		addrs := benchAddrs(1024, 10)
		b.ReportAllocs()
		var i int
		for b.Loop() {
			i++
			l.Hit(addrs[i&1023], int64(i)*1e6, Exchange{})
		}
	})
	// Four clients: the table lines stay in L1, so this is the compute cost.
	b.Run("single_hot", func(b *testing.B) {
		l := mustNew(b, cfg)
		addrs := benchAddrs(4, 10)
		b.ReportAllocs()
		var i int
		for b.Loop() {
			i++
			l.Hit(addrs[i&3], int64(i)*1e9, Exchange{})
		}
	})
	b.Run("single_ipv6", func(b *testing.B) {
		l := mustNew(b, cfg)
		addrs := make([]netip.Addr, 1024)
		for i := range addrs {
			addrs[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 8: byte(i >> 8), 15: byte(i)})
		}
		b.ReportAllocs()
		var i int
		for b.Loop() {
			i++
			l.Hit(addrs[i&1023], int64(i)*1e6, Exchange{})
		}
	})
	// Over the limit: one client flooding, every request takes the leak/KoD path.
	b.Run("limited", func(b *testing.B) {
		c := cfg
		c.RateLimit.KoD = 2
		l := mustNew(b, c)
		a := netip.MustParseAddr("192.0.2.1")
		b.ReportAllocs()
		var i int
		for b.Loop() {
			i++
			l.Hit(a, int64(i)*1e3, Exchange{})
		}
	})
	// Churn: every request is a new address (a scan or spoofed flood); every
	// Hit evicts.
	b.Run("evicting", func(b *testing.B) {
		l := mustNew(b, cfg)
		b.ReportAllocs()
		var i uint32
		for b.Loop() {
			i++
			l.Hit(netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}), int64(i)*1e3, Exchange{})
		}
	})
	// Workers with disjoint clients, as SO_REUSEPORT hashing arranges.
	b.Run("parallel_disjoint", func(b *testing.B) {
		l := mustNew(b, cfg)
		var id atomic.Int32
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			addrs := benchAddrs(256, byte(id.Add(1)))
			var i int
			for pb.Next() {
				i++
				l.Hit(addrs[i&255], int64(i)*1e6, Exchange{})
			}
		})
		b.ReportMetric(float64(l.Stats().Contended)/float64(b.N), "contended/op")
	})
	// Worst case: all workers on the same 4 clients.
	b.Run("parallel_shared", func(b *testing.B) {
		l := mustNew(b, cfg)
		addrs := benchAddrs(4, 10)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var i int
			for pb.Next() {
				i++
				l.Hit(addrs[i&3], int64(i)*1e6, Exchange{})
			}
		})
		b.ReportMetric(float64(l.Stats().Contended)/float64(b.N), "contended/op")
	})
	// Interleaved: 1024 associations behind 16 addresses (NAT), each
	// request echoing its association's previous Receive field, the TX of
	// every reply recorded: Hit (take + hold) and RecordTX per request.
	b.Run("interleaved_nat", func(b *testing.B) {
		l := mustNew(b, cfg)
		addrs := benchAddrs(16, 10)
		var prev [1024]uint64
		b.ReportAllocs()
		var i int
		for b.Loop() {
			i++
			k := i & 1023
			rx := uint64(i)<<20 | 1
			l.Hit(addrs[k&15], int64(i)*1e6, Exchange{Origin: prev[k], RX: rx})
			l.RecordTX(addrs[k&15], rx, rx+4096)
			prev[k] = rx
		}
		st := l.Stats()
		b.ReportMetric(float64(st.TimestampsServed)/float64(b.N), "interleaved/op")
	})
	// All workers on the same address, distinct associations.
	b.Run("parallel_interleaved_one_address", func(b *testing.B) {
		l := mustNew(b, cfg)
		a := netip.MustParseAddr("192.0.2.1")
		var id atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			g := id.Add(1)
			var prev [64]uint64
			var i uint64
			for pb.Next() {
				i++
				k := i & 63
				rx := g<<56 | i<<8 | 1
				l.Hit(a, int64(i)*1e6, Exchange{Origin: prev[k], RX: rx})
				l.RecordTX(a, rx, rx+4096)
				prev[k] = rx
			}
		})
		st := l.Stats()
		b.ReportMetric(float64(st.TimestampsServed)/float64(b.N), "interleaved/op")
		b.ReportMetric(float64(st.Contended+st.TimestampsContended)/float64(b.N), "contended/op")
	})
}

func BenchmarkRecordTX(b *testing.B) {
	l := mustNew(b, Config{Clients: 4096})
	addrs := benchAddrs(1024, 10)
	for i, a := range addrs {
		l.Hit(a, 0, Exchange{Origin: 1, RX: uint64(2*i + 3)})
	}
	b.ReportAllocs()
	var i int
	for b.Loop() {
		i++
		k := i & 1023
		l.RecordTX(addrs[k], uint64(2*k+3), uint64(2*k+3+i&0xffff+1))
	}
}

func BenchmarkRange(b *testing.B) {
	l := mustNew(b, Config{Clients: 4096})
	for _, a := range benchAddrs(4096, 10) {
		l.Hit(a, 0, Exchange{})
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		l.Range(func(Client) bool { n++; return true })
	}
}
