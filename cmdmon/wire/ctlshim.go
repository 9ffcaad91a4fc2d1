package wire

// TEMPORARY (branch ctl): the minimal codec gnomonctl's client needs,
// written before the wire branch had its encoders. To be replaced by the
// wire branch's own functions on merge.

import (
	"encoding/binary"
	"math"
	"net/netip"
	"time"
)

// Command and reply codes used by gnomonctl.
const (
	CmdBurst                  Command = 3
	CmdNSources               Command = 14
	CmdSourceData             Command = 15
	CmdTracking               Command = 33
	CmdSourceStats            Command = 34
	CmdMakestep               Command = 43
	CmdActivity               Command = 44
	CmdServerStats            Command = 54
	CmdNTPData                Command = 57
	CmdNTPSourceName          Command = 65
	CmdResetSources           Command = 66
	CmdClientAccessesByIndex3 Command = 68
	CmdSelectData             Command = 69

	RpyNull                   ReplyType = 1
	RpyNSources               ReplyType = 2
	RpySourceData             ReplyType = 3
	RpyTracking               ReplyType = 5
	RpySourceStats            ReplyType = 6
	RpyActivity               ReplyType = 12
	RpyNTPData                ReplyType = 16
	RpyNTPSourceName          ReplyType = 19
	RpyClientAccessesByIndex3 ReplyType = 21
	RpySelectData             ReplyType = 23
	RpyServerStats3           ReplyType = 24
	RpyServerStats4           ReplyType = 25
	RpyNTPData2               ReplyType = 26
)

// Statuses.
const (
	StatusSuccess      Status = 0
	StatusFailed       Status = 1
	StatusUnauth       Status = 2
	StatusInvalid      Status = 3
	StatusNoSuchSource Status = 4
	StatusBadPktLength Status = 19
)

var statusText = map[Status]string{
	0: "200 OK", 1: "500 Failure", 2: "501 Not authorised", 3: "502 Invalid command",
	4: "503 No such source", 5: "504 Duplicate or stale logon detected",
	6: "505 Facility not enabled in daemon", 7: "507 Bad subnet", 8: "208 Access allowed",
	9: "209 Access denied", 10: "510 No command access from this host",
	11: "511 Source already present", 12: "512 Too many sources present",
	13: "513 RTC driver not running", 14: "514 Can't write RTC parameters",
	15: "519 Client logging is not active in the daemon", 16: "516 Sample index out of range",
	17: "515 Invalid address family", 18: "517 Protocol version mismatch",
	19: "518 Packet length mismatch", 21: "521 Invalid name",
}

// String is chronyc's text for the status.
func (s Status) String() string {
	if t, ok := statusText[s]; ok {
		return t
	}
	return "520 Got unexpected error from daemon"
}

// ReplyLen is the length of a reply of type t (0 unknown).
func ReplyLen(t ReplyType) int {
	switch t {
	case RpyNull:
		return 28
	case RpyNSources:
		return 32
	case RpySourceData, RpySelectData:
		return 76
	case RpyTracking:
		return 104
	case RpySourceStats:
		return 84
	case RpyActivity:
		return 48
	case RpyNTPData:
		return 152
	case RpyNTPData2:
		return 172
	case RpyNTPSourceName:
		return 284
	case RpyClientAccessesByIndex3:
		return 520
	case RpyServerStats3:
		return 72
	case RpyServerStats4:
		return 196
	}
	return 0
}

// AppendRequest appends a request: header, body, zero padding to total.
func AppendRequest(b []byte, h RequestHeader, body []byte, total int) []byte {
	start := len(b)
	b = append(b, h.Version, h.PktType, h.Res1, h.Res2)
	b = binary.BigEndian.AppendUint16(b, uint16(h.Command))
	b = binary.BigEndian.AppendUint16(b, h.Attempt)
	b = binary.BigEndian.AppendUint32(b, h.Sequence)
	b = append(b, make([]byte, 8)...)
	b = append(b, body...)
	for len(b)-start < total {
		b = append(b, 0)
	}
	return b
}

// ParseRequestHeader reads a request header.
func ParseRequestHeader(b []byte) (RequestHeader, error) {
	if len(b) < RequestHeaderLen {
		return RequestHeader{}, ErrShort
	}
	return RequestHeader{Version: b[0], PktType: b[1], Res1: b[2], Res2: b[3],
		Command: Command(binary.BigEndian.Uint16(b[4:])), Attempt: binary.BigEndian.Uint16(b[6:]),
		Sequence: binary.BigEndian.Uint32(b[8:])}, nil
}

// ParseReplyHeader reads a reply header.
func ParseReplyHeader(b []byte) (ReplyHeader, error) {
	if len(b) < ReplyHeaderLen {
		return ReplyHeader{}, ErrShort
	}
	return ReplyHeader{Version: b[0], PktType: b[1], Res1: b[2], Res2: b[3],
		Command: Command(binary.BigEndian.Uint16(b[4:])), Reply: ReplyType(binary.BigEndian.Uint16(b[6:])),
		Status: Status(binary.BigEndian.Uint16(b[8:])), Sequence: binary.BigEndian.Uint32(b[16:])}, nil
}

// AppendReplyHeader appends a reply header.
func AppendReplyHeader(b []byte, h ReplyHeader) []byte {
	b = append(b, h.Version, h.PktType, h.Res1, h.Res2)
	b = binary.BigEndian.AppendUint16(b, uint16(h.Command))
	b = binary.BigEndian.AppendUint16(b, uint16(h.Reply))
	b = binary.BigEndian.AppendUint16(b, uint16(h.Status))
	b = append(b, 0, 0, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, h.Sequence)
	return append(b, make([]byte, 8)...)
}

// FloatToHost decodes chrony's Float.
func FloatToHost(x uint32) float64 {
	exp := int32(x >> 25)
	if exp >= 1<<6 {
		exp -= 1 << 7
	}
	exp -= 25
	coef := int32(x % (1 << 25))
	if coef >= 1<<24 {
		coef -= 1 << 25
	}
	return float64(coef) * math.Pow(2, float64(exp))
}

// FloatToNetwork encodes chrony's Float (UTI_FloatHostToNetwork).
func FloatToNetwork(x float64) uint32 {
	var exp, coef int32
	neg := false
	if x < 0 {
		x, neg = -x, true
	}
	if x < 1e-100 || x != x {
		exp, coef = 0, 0
	} else if x > 1e100 {
		exp, coef = 63, (1<<24)-1
		if neg {
			coef = -(1 << 24)
		}
		return uint32(exp)<<25 | uint32(coef)&(1<<25-1)
	} else {
		exp = int32(math.Floor(math.Log2(x))) + 1
		c := math.Round(x * math.Pow(2, float64(25-exp)))
		for c > (1<<24)-1 && !(neg && c == 1<<24) {
			c /= 2
			exp++
		}
		coef = int32(c)
		if neg {
			coef = -coef
		}
		if exp > 63 {
			exp = 63
			coef = (1 << 24) - 1
			if neg {
				coef = -(1 << 24)
			}
		} else if exp < -64 {
			if exp < -64-25 {
				exp, coef = 0, 0
			} else {
				coef >>= uint(-64 - exp)
				exp = -64
			}
		}
	}
	return uint32(exp)<<25&0xFE000000 | uint32(coef)&(1<<25-1)
}

type rd struct{ b []byte }

func (r rd) u8(o int) uint8   { return r.b[o] }
func (r rd) u16(o int) uint16 { return binary.BigEndian.Uint16(r.b[o:]) }
func (r rd) u32(o int) uint32 { return binary.BigEndian.Uint32(r.b[o:]) }
func (r rd) u64(o int) uint64 { return uint64(r.u32(o))<<32 | uint64(r.u32(o+4)) }
func (r rd) f(o int) float64  { return FloatToHost(r.u32(o)) }
func (r rd) ts(o int) time.Time {
	hi, lo, ns := r.u32(o), r.u32(o+4), r.u32(o+8)
	if hi == 0x7FFFFFFF {
		hi = 0
	}
	return time.Unix(int64(uint64(hi)<<32|uint64(lo)), int64(min(ns, 999999999)))
}
func (r rd) ip(o int) IPAddr {
	fam := Family(r.u16(o + 16))
	a := IPAddr{Family: fam}
	switch fam {
	case FamilyInet4:
		a.Addr = netip.AddrFrom4([4]byte(r.b[o : o+4]))
	case FamilyInet6:
		a.Addr = netip.AddrFrom16([16]byte(r.b[o : o+16]))
	case FamilyID:
		a.ID = r.u32(o)
	}
	return a
}

type wr struct{ b []byte }

func (w *wr) u8(o int, v uint8)   { w.b[o] = v }
func (w *wr) u16(o int, v uint16) { binary.BigEndian.PutUint16(w.b[o:], v) }
func (w *wr) u32(o int, v uint32) { binary.BigEndian.PutUint32(w.b[o:], v) }
func (w *wr) u64(o int, v uint64) { w.u32(o, uint32(v>>32)); w.u32(o+4, uint32(v)) }
func (w *wr) f(o int, v float64)  { w.u32(o, FloatToNetwork(v)) }
func (w *wr) ts(o int, t time.Time) {
	s := t.Unix()
	if t.IsZero() {
		s = 0
	}
	w.u32(o, uint32(uint64(s)>>32))
	w.u32(o+4, uint32(s))
	if !t.IsZero() {
		w.u32(o+8, uint32(t.Nanosecond()))
	}
}
func (w *wr) ip(o int, a IPAddr) {
	switch a.Family {
	case FamilyInet4:
		b := a.Addr.As4()
		copy(w.b[o:], b[:])
	case FamilyInet6:
		b := a.Addr.As16()
		copy(w.b[o:], b[:])
	case FamilyID:
		w.u32(o, a.ID)
	}
	w.u16(o+16, uint16(a.Family))
}

// AppendIPAddr appends a 20-byte IPAddr.
func AppendIPAddr(b []byte, a IPAddr) []byte {
	w := wr{make([]byte, 20)}
	w.ip(0, a)
	return append(b, w.b...)
}

func need(b []byte, n int) error {
	if len(b) < n {
		return ErrShort
	}
	return nil
}

// The decoders take the whole reply (header included) and read absolute
// offsets (ntp.md §6.7).

func DecodeNSources(b []byte) (NSources, error) {
	if err := need(b, 32); err != nil {
		return NSources{}, err
	}
	return NSources{N: rd{b}.u32(28)}, nil
}

func DecodeSourceData(b []byte) (SourceData, error) {
	if err := need(b, 76); err != nil {
		return SourceData{}, err
	}
	r := rd{b}
	return SourceData{Addr: r.ip(28), Poll: int16(r.u16(48)), Stratum: r.u16(50), State: r.u16(52),
		Mode: r.u16(54), Flags: r.u16(56), Reachability: r.u16(58), SinceSample: r.u32(60),
		OrigLatestMeas: r.f(64), LatestMeas: r.f(68), LatestMeasErr: r.f(72)}, nil
}

func DecodeTracking(b []byte) (Tracking, error) {
	if err := need(b, 104); err != nil {
		return Tracking{}, err
	}
	r := rd{b}
	return Tracking{RefID: r.u32(28), Addr: r.ip(32), Stratum: r.u16(52), LeapStatus: r.u16(54),
		RefTime: r.ts(56), CurrentCorrection: r.f(68), LastOffset: r.f(72), RMSOffset: r.f(76),
		FreqPPM: r.f(80), ResidFreqPPM: r.f(84), SkewPPM: r.f(88), RootDelay: r.f(92),
		RootDispersion: r.f(96), LastUpdateInterval: r.f(100)}, nil
}

func DecodeSourceStats(b []byte) (SourceStats, error) {
	if err := need(b, 84); err != nil {
		return SourceStats{}, err
	}
	r := rd{b}
	return SourceStats{RefID: r.u32(28), Addr: r.ip(32), NSamples: r.u32(52), NRuns: r.u32(56),
		SpanSeconds: r.u32(60), StdDev: r.f(64), ResidFreqPPM: r.f(68), SkewPPM: r.f(72),
		EstOffset: r.f(76), EstOffsetErr: r.f(80)}, nil
}

func DecodeSelectData(b []byte) (SelectData, error) {
	if err := need(b, 76); err != nil {
		return SelectData{}, err
	}
	r := rd{b}
	return SelectData{RefID: r.u32(28), Addr: r.ip(32), StateChar: r.u8(52), Authenticated: r.u8(53),
		Leap: r.u8(54), ConfOptions: r.u16(56), EffOptions: r.u16(58), LastSampleAgo: r.u32(60),
		Score: r.f(64), LoLimit: r.f(68), HiLimit: r.f(72)}, nil
}

// DecodeNTPData reads NTP_DATA (152 B) or, when v2, NTP_DATA2 (172 B).
func DecodeNTPData(b []byte, v2 bool) (NTPData, error) {
	n := 152
	if v2 {
		n = 172
	}
	if err := need(b, n); err != nil {
		return NTPData{}, err
	}
	r := rd{b}
	d := NTPData{RemoteAddr: r.ip(28), LocalAddr: r.ip(48), RemotePort: r.u16(68), Leap: r.u8(70),
		Version: r.u8(71), Mode: r.u8(72), Stratum: r.u8(73), Poll: int8(r.u8(74)), Precision: int8(r.u8(75)),
		RootDelay: r.f(76), RootDispersion: r.f(80), RefID: r.u32(84), RefTime: r.ts(88), Offset: r.f(100),
		PeerDelay: r.f(104), PeerDispersion: r.f(108), ResponseTime: r.f(112), JitterAsymmetry: r.f(116),
		Flags: r.u16(120), TxTssChar: r.u8(122), RxTssChar: r.u8(123), TotalTxCount: r.u32(124),
		TotalRxCount: r.u32(128), TotalValidCount: r.u32(132), TotalGoodCount: r.u32(136)}
	if v2 {
		d.TotalKernelTxTS, d.TotalKernelRxTS = r.u32(140), r.u32(144)
		d.TotalHwTxTS, d.TotalHwRxTS = r.u32(148), r.u32(152)
	}
	return d, nil
}

// DecodeServerStats reads SERVER_STATS3 (72 B) or, when v4, SERVER_STATS4.
func DecodeServerStats(b []byte, v4 bool) (ServerStats, error) {
	r := rd{b}
	if !v4 {
		if err := need(b, 72); err != nil {
			return ServerStats{}, err
		}
		u := func(o int) uint64 { return uint64(r.u32(o)) }
		return ServerStats{NTPHits: u(28), NKEHits: u(32), CmdHits: u(36), NTPDrops: u(40), NKEDrops: u(44),
			CmdDrops: u(48), LogDrops: u(52), NTPAuthHits: u(56), NTPInterleavedHits: u(60),
			NTPTimestamps: u(64), NTPSpanSeconds: u(68)}, nil
	}
	if err := need(b, 196); err != nil {
		return ServerStats{}, err
	}
	return ServerStats{NTPHits: r.u64(28), NKEHits: r.u64(36), CmdHits: r.u64(44), NTPDrops: r.u64(52),
		NKEDrops: r.u64(60), CmdDrops: r.u64(68), LogDrops: r.u64(76), NTPAuthHits: r.u64(84),
		NTPInterleavedHits: r.u64(92), NTPTimestamps: r.u64(100), NTPSpanSeconds: r.u64(108),
		NTPDaemonRxTimestamps: r.u64(116), NTPDaemonTxTimestamps: r.u64(124),
		NTPKernelRxTimestamps: r.u64(132), NTPKernelTxTimestamps: r.u64(140),
		NTPHwRxTimestamps: r.u64(148), NTPHwTxTimestamps: r.u64(156)}, nil
}

func DecodeClientAccesses(b []byte) (ClientAccesses, error) {
	if err := need(b, 520); err != nil {
		return ClientAccesses{}, err
	}
	r := rd{b}
	c := ClientAccesses{NIndices: r.u32(28), NextIndex: r.u32(32)}
	n := min(r.u32(36), MaxClientsPerReply)
	for i := 0; i < int(n); i++ {
		o := 40 + 60*i
		c.Clients = append(c.Clients, ClientAccess{Addr: r.ip(o), NTPHits: r.u32(o + 20), NKEHits: r.u32(o + 24),
			CmdHits: r.u32(o + 28), NTPDrops: r.u32(o + 32), NKEDrops: r.u32(o + 36), CmdDrops: r.u32(o + 40),
			NTPInterval: int8(r.u8(o + 44)), NKEInterval: int8(r.u8(o + 45)), CmdInterval: int8(r.u8(o + 46)),
			NTPTimeout: int8(r.u8(o + 47)), LastNTPHitAgo: r.u32(o + 48), LastNKEHitAgo: r.u32(o + 52),
			LastCmdHitAgo: r.u32(o + 56)})
	}
	return c, nil
}

func DecodeActivity(b []byte) (Activity, error) {
	if err := need(b, 48); err != nil {
		return Activity{}, err
	}
	r := rd{b}
	return Activity{int32(r.u32(28)), int32(r.u32(32)), int32(r.u32(36)), int32(r.u32(40)), int32(r.u32(44))}, nil
}

// Encoders (for test servers): each writes the body into a zeroed reply of
// the type's length whose header the caller appends first.

func body(h []byte, t ReplyType) wr {
	b := make([]byte, ReplyLen(t))
	copy(b, h)
	return wr{b}
}

func EncodeNSources(h []byte, v NSources) []byte {
	w := body(h, RpyNSources)
	w.u32(28, v.N)
	return w.b
}

func EncodeSourceData(h []byte, d SourceData) []byte {
	w := body(h, RpySourceData)
	w.ip(28, d.Addr)
	w.u16(48, uint16(d.Poll))
	w.u16(50, d.Stratum)
	w.u16(52, d.State)
	w.u16(54, d.Mode)
	w.u16(56, d.Flags)
	w.u16(58, d.Reachability)
	w.u32(60, d.SinceSample)
	w.f(64, d.OrigLatestMeas)
	w.f(68, d.LatestMeas)
	w.f(72, d.LatestMeasErr)
	return w.b
}

func EncodeTracking(h []byte, t Tracking) []byte {
	w := body(h, RpyTracking)
	w.u32(28, t.RefID)
	w.ip(32, t.Addr)
	w.u16(52, t.Stratum)
	w.u16(54, t.LeapStatus)
	w.ts(56, t.RefTime)
	for i, v := range []float64{t.CurrentCorrection, t.LastOffset, t.RMSOffset, t.FreqPPM, t.ResidFreqPPM,
		t.SkewPPM, t.RootDelay, t.RootDispersion, t.LastUpdateInterval} {
		w.f(68+4*i, v)
	}
	return w.b
}

func EncodeSourceStats(h []byte, s SourceStats) []byte {
	w := body(h, RpySourceStats)
	w.u32(28, s.RefID)
	w.ip(32, s.Addr)
	w.u32(52, s.NSamples)
	w.u32(56, s.NRuns)
	w.u32(60, s.SpanSeconds)
	for i, v := range []float64{s.StdDev, s.ResidFreqPPM, s.SkewPPM, s.EstOffset, s.EstOffsetErr} {
		w.f(64+4*i, v)
	}
	return w.b
}

func EncodeSelectData(h []byte, s SelectData) []byte {
	w := body(h, RpySelectData)
	w.u32(28, s.RefID)
	w.ip(32, s.Addr)
	w.u8(52, s.StateChar)
	w.u8(53, s.Authenticated)
	w.u8(54, s.Leap)
	w.u16(56, s.ConfOptions)
	w.u16(58, s.EffOptions)
	w.u32(60, s.LastSampleAgo)
	w.f(64, s.Score)
	w.f(68, s.LoLimit)
	w.f(72, s.HiLimit)
	return w.b
}

func EncodeNTPData(h []byte, d NTPData, v2 bool) []byte {
	t := RpyNTPData
	if v2 {
		t = RpyNTPData2
	}
	w := body(h, t)
	w.ip(28, d.RemoteAddr)
	w.ip(48, d.LocalAddr)
	w.u16(68, d.RemotePort)
	w.u8(70, d.Leap)
	w.u8(71, d.Version)
	w.u8(72, d.Mode)
	w.u8(73, d.Stratum)
	w.u8(74, uint8(d.Poll))
	w.u8(75, uint8(d.Precision))
	w.f(76, d.RootDelay)
	w.f(80, d.RootDispersion)
	w.u32(84, d.RefID)
	w.ts(88, d.RefTime)
	for i, v := range []float64{d.Offset, d.PeerDelay, d.PeerDispersion, d.ResponseTime, d.JitterAsymmetry} {
		w.f(100+4*i, v)
	}
	w.u16(120, d.Flags)
	w.u8(122, d.TxTssChar)
	w.u8(123, d.RxTssChar)
	for i, v := range []uint32{d.TotalTxCount, d.TotalRxCount, d.TotalValidCount, d.TotalGoodCount} {
		w.u32(124+4*i, v)
	}
	if v2 {
		for i, v := range []uint32{d.TotalKernelTxTS, d.TotalKernelRxTS, d.TotalHwTxTS, d.TotalHwRxTS} {
			w.u32(140+4*i, v)
		}
	}
	return w.b
}

func EncodeServerStats(h []byte, s ServerStats, v4 bool) []byte {
	first := []uint64{s.NTPHits, s.NKEHits, s.CmdHits, s.NTPDrops, s.NKEDrops, s.CmdDrops, s.LogDrops,
		s.NTPAuthHits, s.NTPInterleavedHits, s.NTPTimestamps, s.NTPSpanSeconds}
	if !v4 {
		w := body(h, RpyServerStats3)
		for i, v := range first {
			w.u32(28+4*i, uint32(v))
		}
		return w.b
	}
	w := body(h, RpyServerStats4)
	for i, v := range append(first, s.NTPDaemonRxTimestamps, s.NTPDaemonTxTimestamps, s.NTPKernelRxTimestamps,
		s.NTPKernelTxTimestamps, s.NTPHwRxTimestamps, s.NTPHwTxTimestamps) {
		w.u64(28+8*i, v)
	}
	return w.b
}

func EncodeClientAccesses(h []byte, c ClientAccesses) []byte {
	w := body(h, RpyClientAccessesByIndex3)
	w.u32(28, c.NIndices)
	w.u32(32, c.NextIndex)
	w.u32(36, uint32(len(c.Clients)))
	for i, x := range c.Clients {
		o := 40 + 60*i
		w.ip(o, x.Addr)
		for j, v := range []uint32{x.NTPHits, x.NKEHits, x.CmdHits, x.NTPDrops, x.NKEDrops, x.CmdDrops} {
			w.u32(o+20+4*j, v)
		}
		w.u8(o+44, uint8(x.NTPInterval))
		w.u8(o+45, uint8(x.NKEInterval))
		w.u8(o+46, uint8(x.CmdInterval))
		w.u8(o+47, uint8(x.NTPTimeout))
		w.u32(o+48, x.LastNTPHitAgo)
		w.u32(o+52, x.LastNKEHitAgo)
		w.u32(o+56, x.LastCmdHitAgo)
	}
	return w.b
}

func EncodeActivity(h []byte, a Activity) []byte {
	w := body(h, RpyActivity)
	for i, v := range []int32{a.Online, a.Offline, a.BurstOnline, a.BurstOffline, a.Unresolved} {
		w.u32(28+4*i, uint32(v))
	}
	return w.b
}
