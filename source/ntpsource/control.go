package ntpsource

import (
	"context"
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp/client"
	"github.com/gnomon-time/gnomon/ntp/upstream"
	"github.com/gnomon-time/gnomon/report"
)

// NTPData implements source.NTPReporter: chronyc ntpdata's report for every
// server with a resolved address, from a Status round trip to the poller
// (bounded by ctx; nil when it does not answer in time) and the Cache's
// latest sample.
func (s *Source) NTPData(ctx context.Context) []report.NTPData {
	st, err := s.up.Status(ctx)
	if err != nil {
		return nil
	}
	out := make([]report.NTPData, 0, len(st.Sources))
	for i := range st.Sources {
		src := &st.Sources[i]
		if !src.Addr.IsValid() {
			continue
		}
		out = append(out, ntpData(src, st.Sockets, s.cache))
	}
	return out
}

func ntpData(src *upstream.SourceStatus, socks []upstream.SocketStatus, cache *upstream.Cache) report.NTPData {
	e := &src.Estimate
	remote := netip.AddrPortFrom(src.Addr.Addr().Unmap(), src.Addr.Port())
	d := report.NTPData{
		ID: src.ID, Remote: remote,
		Leap: e.Leap, Version: src.Config.Version, Mode: 4, Stratum: e.Stratum, Precision: e.Precision,
		RootDelay: e.RootDelay, RootDispersion: e.RootDispersion, RefID: e.RefID, Poll: e.Poll,
		TotalTx: src.Stats.Sent,
	}
	if d.Version == 0 {
		d.Version = 4
	}
	if e.Reference != 0 {
		pivot := e.SampleTime
		if pivot.IsZero() {
			pivot = time.Now()
		}
		d.RefTime = e.Reference.Time(pivot)
	}
	for _, k := range socks {
		if k.Local.Addr().Is4() == remote.Addr().Is4() {
			d.Local = k.Local.Addr()
			break
		}
	}
	for v, n := range src.Stats.Verdicts {
		d.TotalRx += n
		switch client.Verdict(v) {
		case client.Malformed, client.BadVersion, client.BadMode, client.NotExpected,
			client.Duplicate, client.BogusOrigin:
		default:
			d.TotalValid += n
		}
	}
	d.TotalGood = src.Stats.Verdicts[client.Accepted]
	d.KernelTx, d.HardwareTx = src.T1Kinds[hwts.KindKernel], src.T1Kinds[hwts.KindHardware]
	d.KernelRx, d.HardwareRx = src.T4Kinds[hwts.KindKernel], src.T4Kinds[hwts.KindHardware]
	d.TxKind, d.RxKind = commonKind(src.T1Kinds), commonKind(src.T4Kinds)
	if smp, ok := cache.LastSample(src.ID); ok {
		d.Offset, d.Delay, d.Dispersion, d.Sampled = smp.Offset, smp.Delay, smp.Dispersion, true
	}
	return d
}

// commonKind is chronyc's letter for the timestamp kind most samples used
// (the latest sample's own kind is not kept): 'D', 'K' or 'H'.
func commonKind(n [hwts.NumKinds]uint64) byte {
	best, kind := uint64(0), hwts.KindDaemon
	for _, k := range []hwts.Kind{hwts.KindDaemon, hwts.KindKernel, hwts.KindHardware} {
		if n[k] > best {
			best, kind = n[k], k
		}
	}
	switch kind {
	case hwts.KindKernel:
		return 'K'
	case hwts.KindHardware:
		return 'H'
	}
	return 'D'
}

// Burst implements source.Burster: every server whose resolved address
// match accepts is asked for a burst of n requests (chronyc burst). It
// returns how many servers were asked.
func (s *Source) Burst(ctx context.Context, match func(netip.Addr) bool, n int) (int, error) {
	st, err := s.up.Status(ctx)
	if err != nil {
		return 0, err
	}
	asked := 0
	for _, src := range st.Sources {
		if !src.Addr.IsValid() || !match(src.Addr.Addr().Unmap()) {
			continue
		}
		if err := s.up.Burst(src.ID, n); err != nil {
			return asked, err
		}
		asked++
	}
	return asked, nil
}
