package cmdmon

import (
	"math"
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/cmdmon/wire"
	"github.com/gnomon-time/gnomon/report"
)

// The mappings from package report (gnomon's signs and units: offset =
// reference − local, durations, ppb) to chrony's replies (local −
// reference for most offsets, seconds, ppm). report's package doc lists
// each conversion; they are made here and nowhere else.

const never = 0xFFFFFFFF // chrony's "never" for ages in seconds

func seconds(d time.Duration) float64 { return d.Seconds() }

// ageSeconds is an age in whole seconds, saturating below never.
func ageSeconds(d time.Duration, known bool) uint32 {
	if !known {
		return never
	}
	s := math.Round(max(d.Seconds(), 0))
	if s >= never {
		return never - 1
	}
	return uint32(s)
}

// ipAddr is a source's address in a reply: an IP address, or for a
// source without one (a reference clock, an unresolved name) the refid as
// an IPv4 address (SOURCE_DATA's convention for reference clocks) when
// refidAsAddr is set, else unspecified.
func ipAddr(a netip.Addr) wire.IPAddr {
	a = a.Unmap()
	switch {
	case a.Is4():
		return wire.IPAddr{Addr: a, Family: wire.FamilyInet4}
	case a.Is6():
		return wire.IPAddr{Addr: a, Family: wire.FamilyInet6}
	}
	return wire.IPAddr{Family: wire.FamilyUnspec}
}

// refclockAddr is a reference clock's refid as SOURCE_DATA carries it
// (family inet4, the refid's bytes as the address).
func refclockAddr(refid uint32) wire.IPAddr {
	return wire.IPAddr{Addr: netip.AddrFrom4([4]byte{byte(refid >> 24), byte(refid >> 16), byte(refid >> 8), byte(refid)}), Family: wire.FamilyInet4}
}

// unresolvedAddr names the i-th source that has no address yet (chrony's
// IPADDR_ID: chronyc asks NTP_SOURCE_NAME for its name).
func unresolvedAddr(i int) wire.IPAddr {
	return wire.IPAddr{ID: uint32(i) + 1, Family: wire.FamilyID}
}

// trackingReply maps chronyc tracking's report.
func trackingReply(t *report.Tracking) wire.Tracking {
	w := wire.Tracking{
		RefID:              t.RefID,
		Addr:               ipAddr(t.RefAddr),
		Stratum:            uint16(t.Stratum),
		LeapStatus:         uint16(t.Leap),
		RefTime:            t.RefTime,
		CurrentCorrection:  seconds(t.SystemTimeOffset),
		LastOffset:         -seconds(t.LastOffset),
		RMSOffset:          seconds(t.RMSOffset),
		FreqPPM:            -t.FreqEstimatePPB / 1000,
		ResidFreqPPM:       -t.ResidualFreqPPB / 1000,
		SkewPPM:            t.SkewPPB / 1000,
		RootDelay:          seconds(t.RootDelay),
		RootDispersion:     seconds(t.RootDispersion),
		LastUpdateInterval: seconds(t.UpdateInterval),
	}
	if !t.Synchronized {
		// chronyd sends stratum 0 and leap "not synchronised".
		w.Stratum, w.LeapStatus = 0, uint16(clock.LeapUnsync)
	}
	return w
}

// SOURCE_DATA states (RPY_SD_ST_*).
const (
	sdSelected      = 0
	sdNonselectable = 1
	sdFalseticker   = 2
	sdJittery       = 3
	sdUnselected    = 4 // chronyc '+': combined
	sdSelectable    = 5
)

func sourceState(s report.SourceState) uint16 {
	switch s {
	case report.StateSelected:
		return sdSelected
	case report.StateCombined:
		return sdUnselected
	case report.StateSelectable:
		return sdSelectable
	case report.StateJittery:
		return sdJittery
	case report.StateFalseticker:
		return sdFalseticker
	}
	return sdNonselectable
}

// sourceAddr is the address SOURCE_DATA names source i by.
func sourceAddr(s *report.Source, i int) wire.IPAddr {
	switch {
	case s.Mode == report.SourceRefClock:
		return refclockAddr(s.RefID)
	case s.Addr.IsValid():
		return ipAddr(s.Addr)
	}
	return unresolvedAddr(i)
}

// sourceDataReply maps the i-th row of chronyc sources.
func sourceDataReply(s *report.Source, i int) wire.SourceData {
	w := wire.SourceData{
		Addr:         sourceAddr(s, i),
		Poll:         int16(s.Poll),
		Stratum:      uint16(s.Stratum),
		State:        sourceState(s.State),
		Mode:         uint16(s.Mode),
		Reachability: uint16(s.Reach),
		SinceSample:  ageSeconds(s.LastRxAgo, s.Sampled),
	}
	if s.Sampled {
		w.OrigLatestMeas = -seconds(s.LastSampleOffset)
		w.LatestMeas = -seconds(s.Offset)
		w.LatestMeasErr = seconds(s.Error)
	}
	return w
}

// statsAddr: SOURCESTATS and SELECT_DATA name a reference clock by refid
// with an unspecified address.
func statsAddr(id string, a netip.Addr, srcs []report.Source, i int) (uint32, wire.IPAddr) {
	if i < len(srcs) && srcs[i].ID == id {
		s := &srcs[i]
		if s.Mode == report.SourceRefClock {
			return s.RefID, wire.IPAddr{Family: wire.FamilyUnspec}
		}
		if !a.IsValid() {
			return 0, unresolvedAddr(i)
		}
	}
	return 0, ipAddr(a)
}

// sourceStatsReply maps the i-th row of chronyc sourcestats.
func sourceStatsReply(s *report.SourceStats, srcs []report.Source, i int) wire.SourceStats {
	refid, addr := statsAddr(s.ID, s.Addr, srcs, i)
	w := wire.SourceStats{
		RefID: refid, Addr: addr,
		NSamples: uint32(max(s.Samples, 0)),
		// Not computed (report.SourceStats): 0.
		NRuns:       uint32(max(s.Runs, 0)),
		SpanSeconds: uint32(max(math.Round(s.Span.Seconds()), 0)),
	}
	if s.Fitted {
		w.StdDev = seconds(s.StdDev)
		w.ResidFreqPPM = -s.ResidFreqPPB / 1000
		w.SkewPPM = s.SkewPPB / 1000
		w.EstOffset = -seconds(s.Offset)
		// chrony's est_offset_err is the offset's standard error, which
		// the engine does not keep; the residuals' deviation bounds it
		// from below.
		w.EstOffsetErr = seconds(s.StdDev)
	}
	return w
}

// Selection option bits (RPY_SD_OPTION_*).
const (
	optNoSelect = 0x1
	optPrefer   = 0x2
	optTrust    = 0x4
	optRequire  = 0x8
)

func options(o report.SelectOptions) uint16 {
	var b uint16
	if o.NoSelect {
		b |= optNoSelect
	}
	if o.Prefer {
		b |= optPrefer
	}
	if o.Trust {
		b |= optTrust
	}
	if o.Require {
		b |= optRequire
	}
	return b
}

// selectDataReply maps the i-th row of chronyc selectdata.
func selectDataReply(s *report.SelectData, srcs []report.Source, i int) wire.SelectData {
	refid, addr := statsAddr(s.ID, s.Addr, srcs, i)
	w := wire.SelectData{
		RefID: refid, Addr: addr,
		StateChar:     s.StateChar,
		Leap:          uint8(s.Leap),
		ConfOptions:   options(s.Options),
		EffOptions:    options(s.EffectiveOptions),
		LastSampleAgo: ageSeconds(s.LastSampleAgo, s.Sampled),
		// chrony's score is its reselection hysteresis, which gnomon does
		// not keep: the source's weight in the combined offset (0…1) is
		// sent instead (report.SelectData).
		Score: s.Weight,
		// chrony's interval is local − reference: negate and swap.
		LoLimit: -seconds(s.Hi),
		HiLimit: -seconds(s.Lo),
	}
	if s.Authenticated {
		w.Authenticated = 1
	}
	return w
}

// ntpTests is every NTP_DATA test bit (tests 1–3, 5–7, A–D): the latest
// sample exists only because its packet passed them all.
const ntpTests = 0x3FF

// ntpDataReply maps one server of chronyc ntpdata.
func ntpDataReply(d *report.NTPData) wire.NTPData {
	w := wire.NTPData{
		RemoteAddr:     ipAddr(d.Remote.Addr()),
		LocalAddr:      ipAddr(d.Local),
		RemotePort:     d.Remote.Port(),
		Leap:           uint8(d.Leap),
		Version:        d.Version,
		Mode:           d.Mode,
		Stratum:        d.Stratum,
		Poll:           d.Poll,
		Precision:      d.Precision,
		RootDelay:      seconds(d.RootDelay),
		RootDispersion: seconds(d.RootDispersion),
		RefID:          d.RefID,
		RefTime:        d.RefTime,
		// chrony's ntpdata offset has gnomon's sign (reference − local).
		Offset:          seconds(d.Offset),
		PeerDelay:       seconds(d.Delay),
		PeerDispersion:  seconds(d.Dispersion),
		TxTssChar:       d.TxKind,
		RxTssChar:       d.RxKind,
		TotalTxCount:    sat32(d.TotalTx),
		TotalRxCount:    sat32(d.TotalRx),
		TotalValidCount: sat32(d.TotalValid),
		TotalGoodCount:  sat32(d.TotalGood),
		TotalKernelTxTS: sat32(d.KernelTx),
		TotalKernelRxTS: sat32(d.KernelRx),
		TotalHwTxTS:     sat32(d.HardwareTx),
		TotalHwRxTS:     sat32(d.HardwareRx),
	}
	if d.Sampled {
		w.Flags |= ntpTests
	}
	if d.Interleaved {
		w.Flags |= 0x4000
	}
	return w
}

func sat32(n uint64) uint32 { return uint32(min(n, math.MaxUint32)) }

// serverStatsReply maps chronyc serverstats: the NTP server's counters
// (zero without a server) and the control socket's own.
func serverStatsReply(s *report.ServerStats, cmd Stats) wire.ServerStats {
	return wire.ServerStats{
		NTPHits: s.Received,
		// chronyd's "NTP packets dropped" are rate-limit drops.
		NTPDrops:              s.Verdict("rate_limited"),
		NKEHits:               s.NTSKE.Accepted,
		NKEDrops:              s.NTSKE.Dropped,
		CmdHits:               cmd.Received,
		CmdDrops:              cmd.Dropped,
		LogDrops:              s.ClientLog.Evictions,
		NTPTimestamps:         s.ClientLog.TimestampsHeld,
		NTPInterleavedHits:    s.Interleaved,
		NTPAuthHits:           s.Authenticated + s.NTS.Authenticated, // chronyd counts MAC and NTS
		NTPDaemonRxTimestamps: s.RXTimestamps.Daemon,
		NTPDaemonTxTimestamps: s.TXTimestamps.Daemon,
		NTPKernelRxTimestamps: s.RXTimestamps.Kernel,
		NTPKernelTxTimestamps: s.TXTimestamps.Kernel,
		NTPHwRxTimestamps:     s.RXTimestamps.Hardware,
		NTPHwTxTimestamps:     s.TXTimestamps.Hardware,
	}
}

// noInterval is chrony's "no interval known" log2 value.
const noInterval = 127

// clientReply maps one client log record.
func clientReply(c *report.Client) wire.ClientAccess {
	w := wire.ClientAccess{
		Addr:          ipAddr(c.Addr),
		NTPHits:       c.NTPHits,
		NTPDrops:      c.NTPDrops,
		NTPInterval:   noInterval,
		NKEInterval:   noInterval,
		CmdInterval:   noInterval,
		NTPTimeout:    noInterval,
		LastNTPHitAgo: ageSeconds(c.LastNTPHitAgo, true),
		LastNKEHitAgo: never,
		LastCmdHitAgo: never,
	}
	if c.IntervalKnown {
		w.NTPInterval = c.NTPIntervalLog2
	}
	return w
}

// activityReply counts the sources chronyc activity reports: NTP sources
// with an address are online (gnomon has no offline state, and bursts are
// not tracked as a state), those still without one unresolved.
func activityReply(srcs []report.Source) wire.Activity {
	var a wire.Activity
	for i := range srcs {
		switch {
		case srcs[i].Mode == report.SourceRefClock:
		case srcs[i].Addr.IsValid():
			a.Online++
		default:
			a.Unresolved++
		}
	}
	return a
}
