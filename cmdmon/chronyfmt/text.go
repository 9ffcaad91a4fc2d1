package chronyfmt

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// refTime is chronyc's %T: "%a %b %d %T %Y" in UTC. A zero time.Time
// prints as the Unix epoch, as chronyc prints a zero Timespec.
func refTime(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format("Mon Jan 02 15:04:05 2006")
}

// slowFast is chronyc's %.9O (offset: > 0 slow) and %.3F (frequency:
// > 0 fast).
func slowFast(v float64, prec int, unit string, positiveSlow bool) string {
	word := "fast"
	if (v > 0) == positiveSlow {
		word = "slow"
	}
	return fmt.Sprintf("%.*f %s %s", prec, math.Abs(v), unit, word)
}

// WriteTracking writes chronyc's tracking report.
func WriteTracking(w io.Writer, t wire.Tracking) error {
	name := sourceName(t.Addr.Family == wire.FamilyUnspec, t.RefID, t.Addr)
	_, err := fmt.Fprintf(w, "Reference ID    : %08X (%s)\n"+
		"Stratum         : %d\n"+
		"Ref time (UTC)  : %s\n"+
		"System time     : %s of NTP time\n"+
		"Last offset     : %+.9f seconds\n"+
		"RMS offset      : %.9f seconds\n"+
		"Frequency       : %s\n"+
		"Residual freq   : %+.3f ppm\n"+
		"Skew            : %.3f ppm\n"+
		"Root delay      : %.9f seconds\n"+
		"Root dispersion : %.9f seconds\n"+
		"Update interval : %.1f seconds\n"+
		"Leap status     : %s\n",
		t.RefID, name, t.Stratum, refTime(t.RefTime),
		slowFast(t.CurrentCorrection, 9, "seconds", true),
		t.LastOffset, t.RMSOffset,
		slowFast(t.FreqPPM, 3, "ppm", false),
		t.ResidFreqPPM, t.SkewPPM, t.RootDelay, t.RootDispersion, t.LastUpdateInterval,
		Leap(t.LeapStatus, false))
	return err
}

// SourcesLegend is the -v legend printed above the sources header.
const SourcesLegend = "\n" +
	"  .-- Source mode  '^' = server, '=' = peer, '#' = local clock.\n" +
	" / .- Source state '*' = current best, '+' = combined, '-' = not combined,\n" +
	"| /             'x' = may be in error, '~' = too variable, '?' = unusable.\n" +
	"||                                                 .- xxxx [ yyyy ] +/- zzzz\n" +
	"||      Reachability register (octal) -.           |  xxxx = adjusted offset,\n" +
	"||      Log2(Polling interval) --.      |          |  yyyy = measured offset,\n" +
	"||                                \\     |          |  zzzz = estimated error.\n" +
	"||                                 |    |           \\\n"

// SourcesHeader is the sources column header, underlined.
var SourcesHeader = Header("MS Name/IP address         Stratum Poll Reach LastRx Last sample               ")

// Source modes and states of SOURCE_DATA (RPY_SD_MD_*, RPY_SD_ST_*).
const (
	ModeClient   = 0
	ModePeer     = 1
	ModeRefclock = 2
)

// ModeChar is the sources MS column's first character.
func ModeChar(mode uint16) byte {
	switch mode {
	case ModeClient:
		return '^'
	case ModePeer:
		return '='
	case ModeRefclock:
		return '#'
	}
	return ' '
}

// StateChar is the sources MS column's second character.
func StateChar(state uint16) byte {
	if int(state) < len(stateChars) {
		return stateChars[state]
	}
	return ' '
}

// stateChars is indexed by RPY_SD_ST_*: selected, nonselectable,
// falseticker, jittery, unselected (combined), selectable.
const stateChars = "*?x~+-"

// SkipUnresolved says whether a row is left out without -a: sources whose
// address is not resolved yet (family ID).
func SkipUnresolved(a wire.IPAddr, all bool) bool {
	return !all && a.Family == wire.FamilyID
}

// SourceRow is one sources row. A reference clock (mode 2 with an IPv4
// address) is named by its reference ID, carried as the address.
func SourceRow(d wire.SourceData) string {
	return fmt.Sprintf("%c%c %-27s  %2d  %2d   %3o  %s  %s[%s] +/- %s\n",
		ModeChar(d.Mode), StateChar(d.State), sourceDataName(d),
		d.Stratum, d.Poll, d.Reachability, Interval(d.SinceSample),
		SignedOffset(d.LatestMeas), SignedOffset(d.OrigLatestMeas), Offset(d.LatestMeasErr))
}

// sourceDataName names a SOURCE_DATA row: a reference clock (mode 2 with
// an IPv4 address) by its reference ID, carried as the address.
func sourceDataName(d wire.SourceData) string {
	if d.Mode == ModeRefclock && d.Addr.Family == wire.FamilyInet4 {
		return RefIDString(AddressRefID(d.Addr))
	}
	return Address(d.Addr)
}

// SourceStatsLegend is the -v legend printed above the sourcestats header.
const SourceStatsLegend = "" +
	"                             .- Number of sample points in measurement set.\n" +
	"                            /    .- Number of residual runs with same sign.\n" +
	"                           |    /    .- Length of measurement set (time).\n" +
	"                           |   |    /      .- Est. clock freq error (ppm).\n" +
	"                           |   |   |      /           .- Est. error in freq.\n" +
	"                           |   |   |     |           /         .- Est. offset.\n" +
	"                           |   |   |     |          |          |   On the -.\n" +
	"                           |   |   |     |          |          |   samples. \\\n" +
	"                           |   |   |     |          |          |             |\n"

// SourceStatsHeader is the sourcestats column header, underlined.
var SourceStatsHeader = Header("Name/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev")

// SourceStatsRow is one sourcestats row; a reference clock (family
// unspecified) is named by its reference ID.
func SourceStatsRow(s wire.SourceStats) string {
	return fmt.Sprintf("%-25s %3d %3d  %s %s %s  %s  %s\n",
		sourceName(s.Addr.Family == wire.FamilyUnspec, s.RefID, s.Addr),
		s.NSamples, s.NRuns, Interval(s.SpanSeconds),
		SignedPPM(s.ResidFreqPPM), PPM(s.SkewPPM), SignedOffset(s.EstOffset), Offset(s.StdDev))
}

// SelectDataLegend is the -v legend printed above the selectdata header
// (with chronyc 4.3's doubled comma).
const SelectDataLegend = "" +
	"  . State: N - noselect, s - unsynchronised, M - missing samples,\n" +
	" /         d/D - large distance, ~ - jittery, w/W - waits for others,\n" +
	"|          S - stale, O - orphan, T - not trusted, P - not preferred,\n" +
	"|          U - waits for update,, x - falseticker, + - combined, * - best.\n" +
	"|   Effective options   ---------.  (N - noselect, P - prefer\n" +
	"|   Configured options  ----.     \\  T - trust, R - require)\n" +
	"|   Auth. enabled (Y/N) -.   \\     \\     Offset interval --.\n" +
	"|                        |    |     |                       |\n"

// SelectDataHeader is the selectdata column header, underlined.
var SelectDataHeader = Header("S Name/IP Address        Auth COpts EOpts Last Score     Interval  Leap")

// Selection options (RPY_SD_OPTION_*).
const (
	OptNoselect = 0x1
	OptPrefer   = 0x2
	OptTrust    = 0x4
	OptRequire  = 0x8
)

// options is selectdata's 5-character option column: N P T R and '-'.
func options(o uint16) string {
	b := []byte("-----")
	for i, c := range "NPTR" {
		if o&(1<<i) != 0 {
			b[i] = byte(c)
		}
	}
	return string(b)
}

// SelectDataRow is one selectdata row.
func SelectDataRow(s wire.SelectData) string {
	auth := byte('N')
	if s.Authenticated != 0 {
		auth = 'Y'
	}
	return fmt.Sprintf("%c %-25s %c %s %s %s %5.1f %s %s  %s\n",
		s.StateChar, sourceName(s.Addr.Family == wire.FamilyUnspec, s.RefID, s.Addr), auth,
		options(s.ConfOptions), options(s.EffOptions), Interval(s.LastSampleAgo),
		s.Score, SignedOffset(s.LoLimit), SignedOffset(s.HiLimit), Leap(uint16(s.Leap), true))
}

// NTP modes printed by ntpdata.
func ntpMode(m uint8) string {
	switch m {
	case 1:
		return "Symmetric active"
	case 2:
		return "Symmetric passive"
	case 4:
		return "Server"
	}
	return "Invalid"
}

// tssName is ntpdata's timestamping source (%N).
func tssName(c byte) string {
	switch c {
	case 'D':
		return "Daemon"
	case 'K':
		return "Kernel"
	case 'H':
		return "Hardware"
	}
	return "Invalid"
}

// log2Seconds is chrony's UTI_Log2ToDouble.
func log2Seconds(l int8) float64 {
	if l > 31 {
		l = 31
	}
	if l < -31 {
		l = -31
	}
	return math.Ldexp(1, int(l))
}

// NTP_DATA flags.
const (
	NTPFlagInterleaved   = 0x4000
	NTPFlagAuthenticated = 0x8000
)

// WriteNTPData writes one ntpdata block (chronyc 4.3's fields: through
// "Total good RX").
func WriteNTPData(w io.Writer, d wire.NTPData) error {
	refName := ""
	if d.Stratum <= 1 {
		refName = RefIDString(d.RefID)
	}
	_, err := fmt.Fprintf(w, "Remote address  : %s (%08X)\n"+
		"Remote port     : %d\n"+
		"Local address   : %s (%08X)\n"+
		"Leap status     : %s\n"+
		"Version         : %d\n"+
		"Mode            : %s\n"+
		"Stratum         : %d\n"+
		"Poll interval   : %d (%.0f seconds)\n"+
		"Precision       : %d (%.9f seconds)\n"+
		"Root delay      : %.6f seconds\n"+
		"Root dispersion : %.6f seconds\n"+
		"Reference ID    : %08X (%s)\n"+
		"Reference time  : %s\n"+
		"Offset          : %+.9f seconds\n"+
		"Peer delay      : %.9f seconds\n"+
		"Peer dispersion : %.9f seconds\n"+
		"Response time   : %.9f seconds\n"+
		"Jitter asymmetry: %+.2f\n"+
		"NTP tests       : %s %s %s\n"+
		"Interleaved     : %s\n"+
		"Authenticated   : %s\n"+
		"TX timestamping : %s\n"+
		"RX timestamping : %s\n"+
		"Total TX        : %d\n"+
		"Total RX        : %d\n"+
		"Total valid RX  : %d\n"+
		"Total good RX   : %d\n",
		Address(d.RemoteAddr), AddressRefID(d.RemoteAddr), d.RemotePort,
		Address(d.LocalAddr), AddressRefID(d.LocalAddr),
		Leap(uint16(d.Leap), false), d.Version, ntpMode(d.Mode), d.Stratum,
		d.Poll, log2Seconds(d.Poll), d.Precision, log2Seconds(d.Precision),
		d.RootDelay, d.RootDispersion, d.RefID, refName, refTime(d.RefTime),
		d.Offset, d.PeerDelay, d.PeerDispersion, d.ResponseTime, d.JitterAsymmetry,
		bits(d.Flags>>7, 3), bits(d.Flags>>4, 3), bits(d.Flags, 4),
		yesNo(d.Flags&NTPFlagInterleaved != 0), yesNo(d.Flags&NTPFlagAuthenticated != 0),
		tssName(d.TxTssChar), tssName(d.RxTssChar),
		d.TotalTxCount, d.TotalRxCount, d.TotalValidCount, d.TotalGoodCount)
	return err
}

// WriteServerStats writes chronyc 4.3's serverstats report (the first 11
// counters; the timestamp counters of SERVER_STATS4 are in --json only).
func WriteServerStats(w io.Writer, s wire.ServerStats) error {
	_, err := fmt.Fprintf(w, "NTP packets received       : %d\n"+
		"NTP packets dropped        : %d\n"+
		"Command packets received   : %d\n"+
		"Command packets dropped    : %d\n"+
		"Client log records dropped : %d\n"+
		"NTS-KE connections accepted: %d\n"+
		"NTS-KE connections dropped : %d\n"+
		"Authenticated NTP packets  : %d\n"+
		"Interleaved NTP packets    : %d\n"+
		"NTP timestamps held        : %d\n"+
		"NTP timestamp span         : %d\n",
		s.NTPHits, s.NTPDrops, s.CmdHits, s.CmdDrops, s.LogDrops, s.NKEHits, s.NKEDrops,
		s.NTPAuthHits, s.NTPInterleavedHits, s.NTPTimestamps, s.NTPSpanSeconds)
	return err
}

// ClientsHeader is the clients column header, underlined; nke selects the
// NTS-KE columns (-k) instead of the command ones.
func ClientsHeader(nke bool) string {
	col := "Cmd"
	if nke {
		col = "NTS-KE"
	}
	return Header(fmt.Sprintf("Hostname                      NTP   Drop Int IntL Last  %6s   Drop Int  Last", col))
}

// ClientRow is one clients row ("" for an unspecified address, which
// chronyc skips).
func ClientRow(c wire.ClientAccess, nke bool) string {
	if c.Addr.Family == wire.FamilyUnspec {
		return ""
	}
	hits, drops, interval, last := c.CmdHits, c.CmdDrops, c.CmdInterval, c.LastCmdHitAgo
	if nke {
		hits, drops, interval, last = c.NKEHits, c.NKEDrops, c.NKEInterval, c.LastNKEHitAgo
	}
	return fmt.Sprintf("%-25s  %6d  %5d  %s  %s  %s  %6d  %5d  %s  %s\n",
		Address(c.Addr), c.NTPHits, c.NTPDrops, Log2Interval(c.NTPInterval), Log2Interval(c.NTPTimeout),
		Interval(c.LastNTPHitAgo), hits, drops, Log2Interval(interval), Interval(last))
}

// WriteActivity writes chronyc's activity report, "200 OK" first.
func WriteActivity(w io.Writer, a wire.Activity) error {
	// chronyc prints the i32 counts as u32 (ntohl).
	u := func(v int32) uint32 { return uint32(v) }
	_, err := fmt.Fprintf(w, "200 OK\n"+
		"%d sources online\n"+
		"%d sources offline\n"+
		"%d sources doing burst (return to online)\n"+
		"%d sources doing burst (return to offline)\n"+
		"%d sources with unknown address\n",
		u(a.Online), u(a.Offline), u(a.BurstOnline), u(a.BurstOffline), u(a.Unresolved))
	return err
}
