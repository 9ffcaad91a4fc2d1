package wire

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrReplyType is returned when a body is asked for a reply type it is not
// encoded as, or a packet's type is not the body's.
var ErrReplyType = errors.New("cmdmon: wrong reply type for this body")

// ErrValue is returned for a field whose value cannot be encoded or is out
// of range on the wire.
var ErrValue = errors.New("cmdmon: bad field value")

// A ReplyBody is the data of a reply. PutReply writes it as reply type rt
// into pkt, a whole reply packet of at least ReplyLen(rt) bytes: the body
// region pkt[28:ReplyLen(rt)] is overwritten (reserved bytes zeroed), the
// header is left alone. It fails with ErrReplyType for a type the body is
// not, ErrShort for a short pkt, ErrValue for a value the format cannot
// hold. No allocation.
type ReplyBody interface {
	PutReply(pkt []byte, rt ReplyType) error
}

// AppendReply appends a whole reply: header h, then body encoded as
// h.Reply, ReplyLen(h.Reply) bytes in all. body is nil for a NULL reply.
// dst is returned unchanged on error.
func AppendReply(dst []byte, h ReplyHeader, body ReplyBody) ([]byte, error) {
	n := ReplyLen(h.Reply)
	if n == 0 {
		return dst, fmt.Errorf("%v: %w", h.Reply, ErrReplyType)
	}
	if body == nil && h.Reply != RpyNull {
		return dst, fmt.Errorf("%v reply without body: %w", h.Reply, ErrReplyType)
	}
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	pkt := dst[start:]
	h.Put(pkt)
	if body != nil {
		if err := body.PutReply(pkt, h.Reply); err != nil {
			return dst[:start], err
		}
	}
	return dst, nil
}

// bodyRegion checks rt against the accepted types and returns the zeroed
// body region of pkt.
func bodyRegion(pkt []byte, rt ReplyType, want ...ReplyType) ([]byte, error) {
	ok := false
	for _, w := range want {
		ok = ok || rt == w
	}
	if !ok {
		return nil, fmt.Errorf("%v body as %v: %w", want[0], rt, ErrReplyType)
	}
	n := ReplyLen(rt)
	if len(pkt) < n {
		return nil, fmt.Errorf("%v reply in %d bytes, want %d: %w", rt, len(pkt), n, ErrShort)
	}
	clear(pkt[ReplyHeaderLen:n])
	return pkt[:n], nil
}

// fillReserved sets reserved words as chronyd does (all ones).
func fillReserved(b []byte) {
	for i := range b {
		b[i] = 0xFF
	}
}

// checkLen checks that a received reply holds a body of type rt.
func checkLen(pkt []byte, rt ReplyType) error {
	if n := ReplyLen(rt); len(pkt) < n {
		return fmt.Errorf("%v reply of %d bytes, want %d: %w", rt, len(pkt), n, ErrShort)
	}
	return nil
}

// pktType is the reply type stated in a reply's header (pkt ≥ 8 bytes).
func pktType(pkt []byte) ReplyType {
	if len(pkt) < 8 {
		return 0
	}
	return ReplyType(be.Uint16(pkt[6:]))
}

// PutReply implements ReplyBody (N_SOURCES).
func (r *NSources) PutReply(pkt []byte, rt ReplyType) error {
	b, err := bodyRegion(pkt, rt, RpyNSources)
	if err != nil {
		return err
	}
	be.PutUint32(b[28:], r.N)
	return nil
}

// ParseNSources decodes the body of an N_SOURCES reply packet.
func ParseNSources(pkt []byte) (NSources, error) {
	if err := checkLen(pkt, RpyNSources); err != nil {
		return NSources{}, err
	}
	return NSources{N: be.Uint32(pkt[28:])}, nil
}

// PutReply implements ReplyBody (SOURCE_DATA).
func (r *SourceData) PutReply(pkt []byte, rt ReplyType) error {
	b, err := bodyRegion(pkt, rt, RpySourceData)
	if err != nil {
		return err
	}
	r.Addr.Put(b[28:])
	be.PutUint16(b[48:], uint16(r.Poll))
	be.PutUint16(b[50:], r.Stratum)
	be.PutUint16(b[52:], r.State)
	be.PutUint16(b[54:], r.Mode)
	be.PutUint16(b[56:], r.Flags)
	be.PutUint16(b[58:], r.Reachability)
	be.PutUint32(b[60:], r.SinceSample)
	putFloat(b[64:], r.OrigLatestMeas)
	putFloat(b[68:], r.LatestMeas)
	putFloat(b[72:], r.LatestMeasErr)
	return nil
}

// ParseSourceData decodes the body of a SOURCE_DATA reply packet.
func ParseSourceData(pkt []byte) (SourceData, error) {
	if err := checkLen(pkt, RpySourceData); err != nil {
		return SourceData{}, err
	}
	return SourceData{
		Addr:           ParseIPAddr(pkt[28:]),
		Poll:           int16(be.Uint16(pkt[48:])),
		Stratum:        be.Uint16(pkt[50:]),
		State:          be.Uint16(pkt[52:]),
		Mode:           be.Uint16(pkt[54:]),
		Flags:          be.Uint16(pkt[56:]),
		Reachability:   be.Uint16(pkt[58:]),
		SinceSample:    be.Uint32(pkt[60:]),
		OrigLatestMeas: getFloat(pkt[64:]),
		LatestMeas:     getFloat(pkt[68:]),
		LatestMeasErr:  getFloat(pkt[72:]),
	}, nil
}

// PutReply implements ReplyBody (TRACKING).
func (r *Tracking) PutReply(pkt []byte, rt ReplyType) error {
	b, err := bodyRegion(pkt, rt, RpyTracking)
	if err != nil {
		return err
	}
	be.PutUint32(b[28:], r.RefID)
	r.Addr.Put(b[32:])
	be.PutUint16(b[52:], r.Stratum)
	be.PutUint16(b[54:], r.LeapStatus)
	PutTimespec(b[56:], r.RefTime)
	for i, v := range [...]float64{r.CurrentCorrection, r.LastOffset, r.RMSOffset, r.FreqPPM,
		r.ResidFreqPPM, r.SkewPPM, r.RootDelay, r.RootDispersion, r.LastUpdateInterval} {
		putFloat(b[68+4*i:], v)
	}
	return nil
}

// ParseTracking decodes the body of a TRACKING reply packet.
func ParseTracking(pkt []byte) (Tracking, error) {
	if err := checkLen(pkt, RpyTracking); err != nil {
		return Tracking{}, err
	}
	return Tracking{
		RefID:              be.Uint32(pkt[28:]),
		Addr:               ParseIPAddr(pkt[32:]),
		Stratum:            be.Uint16(pkt[52:]),
		LeapStatus:         be.Uint16(pkt[54:]),
		RefTime:            ParseTimespec(pkt[56:]),
		CurrentCorrection:  getFloat(pkt[68:]),
		LastOffset:         getFloat(pkt[72:]),
		RMSOffset:          getFloat(pkt[76:]),
		FreqPPM:            getFloat(pkt[80:]),
		ResidFreqPPM:       getFloat(pkt[84:]),
		SkewPPM:            getFloat(pkt[88:]),
		RootDelay:          getFloat(pkt[92:]),
		RootDispersion:     getFloat(pkt[96:]),
		LastUpdateInterval: getFloat(pkt[100:]),
	}, nil
}

// PutReply implements ReplyBody (SOURCESTATS).
func (r *SourceStats) PutReply(pkt []byte, rt ReplyType) error {
	b, err := bodyRegion(pkt, rt, RpySourceStats)
	if err != nil {
		return err
	}
	be.PutUint32(b[28:], r.RefID)
	r.Addr.Put(b[32:])
	be.PutUint32(b[52:], r.NSamples)
	be.PutUint32(b[56:], r.NRuns)
	be.PutUint32(b[60:], r.SpanSeconds)
	for i, v := range [...]float64{r.StdDev, r.ResidFreqPPM, r.SkewPPM, r.EstOffset, r.EstOffsetErr} {
		putFloat(b[64+4*i:], v)
	}
	return nil
}

// ParseSourceStats decodes the body of a SOURCESTATS reply packet.
func ParseSourceStats(pkt []byte) (SourceStats, error) {
	if err := checkLen(pkt, RpySourceStats); err != nil {
		return SourceStats{}, err
	}
	return SourceStats{
		RefID:        be.Uint32(pkt[28:]),
		Addr:         ParseIPAddr(pkt[32:]),
		NSamples:     be.Uint32(pkt[52:]),
		NRuns:        be.Uint32(pkt[56:]),
		SpanSeconds:  be.Uint32(pkt[60:]),
		StdDev:       getFloat(pkt[64:]),
		ResidFreqPPM: getFloat(pkt[68:]),
		SkewPPM:      getFloat(pkt[72:]),
		EstOffset:    getFloat(pkt[76:]),
		EstOffsetErr: getFloat(pkt[80:]),
	}, nil
}

// PutReply implements ReplyBody (SELECT_DATA).
func (r *SelectData) PutReply(pkt []byte, rt ReplyType) error {
	b, err := bodyRegion(pkt, rt, RpySelectData)
	if err != nil {
		return err
	}
	be.PutUint32(b[28:], r.RefID)
	r.Addr.Put(b[32:])
	b[52], b[53], b[54] = r.StateChar, r.Authenticated, r.Leap
	be.PutUint16(b[56:], r.ConfOptions)
	be.PutUint16(b[58:], r.EffOptions)
	be.PutUint32(b[60:], r.LastSampleAgo)
	putFloat(b[64:], r.Score)
	putFloat(b[68:], r.LoLimit)
	putFloat(b[72:], r.HiLimit)
	return nil
}

// ParseSelectData decodes the body of a SELECT_DATA reply packet.
func ParseSelectData(pkt []byte) (SelectData, error) {
	if err := checkLen(pkt, RpySelectData); err != nil {
		return SelectData{}, err
	}
	return SelectData{
		RefID:         be.Uint32(pkt[28:]),
		Addr:          ParseIPAddr(pkt[32:]),
		StateChar:     pkt[52],
		Authenticated: pkt[53],
		Leap:          pkt[54],
		ConfOptions:   be.Uint16(pkt[56:]),
		EffOptions:    be.Uint16(pkt[58:]),
		LastSampleAgo: be.Uint32(pkt[60:]),
		Score:         getFloat(pkt[64:]),
		LoLimit:       getFloat(pkt[68:]),
		HiLimit:       getFloat(pkt[72:]),
	}, nil
}

// PutReply implements ReplyBody (NTP_DATA2, or NTP_DATA, which has no room
// for the fields after TotalGoodCount). The reserved words are 0xFF, as
// chronyd sends them.
func (r *NTPData) PutReply(pkt []byte, rt ReplyType) error {
	b, err := bodyRegion(pkt, rt, RpyNTPData2, RpyNTPData)
	if err != nil {
		return err
	}
	r.RemoteAddr.Put(b[28:])
	r.LocalAddr.Put(b[48:])
	be.PutUint16(b[68:], r.RemotePort)
	b[70], b[71], b[72], b[73] = r.Leap, r.Version, r.Mode, r.Stratum
	b[74], b[75] = byte(r.Poll), byte(r.Precision)
	putFloat(b[76:], r.RootDelay)
	putFloat(b[80:], r.RootDispersion)
	be.PutUint32(b[84:], r.RefID)
	PutTimespec(b[88:], r.RefTime)
	for i, v := range [...]float64{r.Offset, r.PeerDelay, r.PeerDispersion, r.ResponseTime, r.JitterAsymmetry} {
		putFloat(b[100+4*i:], v)
	}
	be.PutUint16(b[120:], r.Flags)
	b[122], b[123] = r.TxTssChar, r.RxTssChar
	be.PutUint32(b[124:], r.TotalTxCount)
	be.PutUint32(b[128:], r.TotalRxCount)
	be.PutUint32(b[132:], r.TotalValidCount)
	be.PutUint32(b[136:], r.TotalGoodCount)
	if rt == RpyNTPData2 {
		be.PutUint32(b[140:], r.TotalKernelTxTS)
		be.PutUint32(b[144:], r.TotalKernelRxTS)
		be.PutUint32(b[148:], r.TotalHwTxTS)
		be.PutUint32(b[152:], r.TotalHwRxTS)
		fillReserved(b[156:172])
	} else {
		fillReserved(b[140:152])
	}
	return nil
}

// ParseNTPData decodes the body of an NTP_DATA or NTP_DATA2 reply packet,
// by the type its header states (NTP_DATA leaves the last four counters
// zero).
func ParseNTPData(pkt []byte) (NTPData, error) {
	rt := pktType(pkt)
	if rt != RpyNTPData && rt != RpyNTPData2 {
		return NTPData{}, fmt.Errorf("NTP data in a %v reply: %w", rt, ErrReplyType)
	}
	if err := checkLen(pkt, rt); err != nil {
		return NTPData{}, err
	}
	r := NTPData{
		RemoteAddr:      ParseIPAddr(pkt[28:]),
		LocalAddr:       ParseIPAddr(pkt[48:]),
		RemotePort:      be.Uint16(pkt[68:]),
		Leap:            pkt[70],
		Version:         pkt[71],
		Mode:            pkt[72],
		Stratum:         pkt[73],
		Poll:            int8(pkt[74]),
		Precision:       int8(pkt[75]),
		RootDelay:       getFloat(pkt[76:]),
		RootDispersion:  getFloat(pkt[80:]),
		RefID:           be.Uint32(pkt[84:]),
		RefTime:         ParseTimespec(pkt[88:]),
		Offset:          getFloat(pkt[100:]),
		PeerDelay:       getFloat(pkt[104:]),
		PeerDispersion:  getFloat(pkt[108:]),
		ResponseTime:    getFloat(pkt[112:]),
		JitterAsymmetry: getFloat(pkt[116:]),
		Flags:           be.Uint16(pkt[120:]),
		TxTssChar:       pkt[122],
		RxTssChar:       pkt[123],
		TotalTxCount:    be.Uint32(pkt[124:]),
		TotalRxCount:    be.Uint32(pkt[128:]),
		TotalValidCount: be.Uint32(pkt[132:]),
		TotalGoodCount:  be.Uint32(pkt[136:]),
	}
	if rt == RpyNTPData2 {
		r.TotalKernelTxTS = be.Uint32(pkt[140:])
		r.TotalKernelRxTS = be.Uint32(pkt[144:])
		r.TotalHwTxTS = be.Uint32(pkt[148:])
		r.TotalHwRxTS = be.Uint32(pkt[152:])
	}
	return r, nil
}

// serverStats3Fields is how many counters SERVER_STATS3 carries.
const serverStats3Fields = 11

func (r *ServerStats) fields() [17]*uint64 {
	return [17]*uint64{&r.NTPHits, &r.NKEHits, &r.CmdHits, &r.NTPDrops, &r.NKEDrops, &r.CmdDrops,
		&r.LogDrops, &r.NTPAuthHits, &r.NTPInterleavedHits, &r.NTPTimestamps, &r.NTPSpanSeconds,
		&r.NTPDaemonRxTimestamps, &r.NTPDaemonTxTimestamps, &r.NTPKernelRxTimestamps,
		&r.NTPKernelTxTimestamps, &r.NTPHwRxTimestamps, &r.NTPHwTxTimestamps}
}

// PutReply implements ReplyBody (SERVER_STATS4: 17 Integer64 counters, or
// SERVER_STATS3: the first 11 truncated to u32, wrapping as chrony 4.3's
// own 32-bit counters do). SERVER_STATS4's reserved words are 0xFF, as
// chronyd sends them.
func (r *ServerStats) PutReply(pkt []byte, rt ReplyType) error {
	b, err := bodyRegion(pkt, rt, RpyServerStats4, RpyServerStats3)
	if err != nil {
		return err
	}
	f := r.fields()
	if rt == RpyServerStats3 {
		for i, p := range f[:serverStats3Fields] {
			be.PutUint32(b[28+4*i:], uint32(*p))
		}
		return nil
	}
	for i, p := range f {
		PutInteger64(b[28+8*i:], *p)
	}
	fillReserved(b[164:196])
	return nil
}

// ParseServerStats decodes the body of a SERVER_STATS4 or SERVER_STATS3
// reply packet, by the type its header states (SERVER_STATS3 leaves the
// last six counters zero).
func ParseServerStats(pkt []byte) (ServerStats, error) {
	var r ServerStats
	rt := pktType(pkt)
	if rt != RpyServerStats3 && rt != RpyServerStats4 {
		return r, fmt.Errorf("server stats in a %v reply: %w", rt, ErrReplyType)
	}
	if err := checkLen(pkt, rt); err != nil {
		return r, err
	}
	f := r.fields()
	if rt == RpyServerStats3 {
		for i, p := range f[:serverStats3Fields] {
			*p = uint64(be.Uint32(pkt[28+4*i:]))
		}
		return r, nil
	}
	for i, p := range f {
		*p = ParseInteger64(pkt[28+8*i:])
	}
	return r, nil
}

// clientRecordLen is the size of one CLIENT_ACCESSES_BY_INDEX3 record.
const clientRecordLen = 60

// PutReply implements ReplyBody (CLIENT_ACCESSES_BY_INDEX3). More than
// MaxClientsPerReply clients is ErrValue.
func (r *ClientAccesses) PutReply(pkt []byte, rt ReplyType) error {
	if len(r.Clients) > MaxClientsPerReply {
		return fmt.Errorf("%d clients in one reply, at most %d: %w", len(r.Clients), MaxClientsPerReply, ErrValue)
	}
	b, err := bodyRegion(pkt, rt, RpyClientAccessesByIndex3)
	if err != nil {
		return err
	}
	be.PutUint32(b[28:], r.NIndices)
	be.PutUint32(b[32:], r.NextIndex)
	be.PutUint32(b[36:], uint32(len(r.Clients)))
	for i := range r.Clients {
		c := &r.Clients[i]
		o := b[40+clientRecordLen*i:]
		c.Addr.Put(o)
		for j, v := range [...]uint32{c.NTPHits, c.NKEHits, c.CmdHits, c.NTPDrops, c.NKEDrops, c.CmdDrops} {
			be.PutUint32(o[20+4*j:], v)
		}
		o[44], o[45], o[46], o[47] = byte(c.NTPInterval), byte(c.NKEInterval), byte(c.CmdInterval), byte(c.NTPTimeout)
		be.PutUint32(o[48:], c.LastNTPHitAgo)
		be.PutUint32(o[52:], c.LastNKEHitAgo)
		be.PutUint32(o[56:], c.LastCmdHitAgo)
	}
	return nil
}

// ParseClientAccesses decodes the body of a CLIENT_ACCESSES_BY_INDEX3
// reply packet; n_clients above MaxClientsPerReply is ErrValue. It
// allocates the Clients slice (nil when there are none).
func ParseClientAccesses(pkt []byte) (ClientAccesses, error) {
	if err := checkLen(pkt, RpyClientAccessesByIndex3); err != nil {
		return ClientAccesses{}, err
	}
	r := ClientAccesses{NIndices: be.Uint32(pkt[28:]), NextIndex: be.Uint32(pkt[32:])}
	n := be.Uint32(pkt[36:])
	if n > MaxClientsPerReply {
		return r, fmt.Errorf("%d clients in one reply, at most %d: %w", n, MaxClientsPerReply, ErrValue)
	}
	if n > 0 {
		r.Clients = make([]ClientAccess, n)
	}
	for i := range r.Clients {
		o := pkt[40+clientRecordLen*i:]
		r.Clients[i] = ClientAccess{
			Addr:    ParseIPAddr(o),
			NTPHits: be.Uint32(o[20:]), NKEHits: be.Uint32(o[24:]), CmdHits: be.Uint32(o[28:]),
			NTPDrops: be.Uint32(o[32:]), NKEDrops: be.Uint32(o[36:]), CmdDrops: be.Uint32(o[40:]),
			NTPInterval: int8(o[44]), NKEInterval: int8(o[45]), CmdInterval: int8(o[46]), NTPTimeout: int8(o[47]),
			LastNTPHitAgo: be.Uint32(o[48:]), LastNKEHitAgo: be.Uint32(o[52:]), LastCmdHitAgo: be.Uint32(o[56:]),
		}
	}
	return r, nil
}

// PutReply implements ReplyBody (ACTIVITY).
func (r *Activity) PutReply(pkt []byte, rt ReplyType) error {
	b, err := bodyRegion(pkt, rt, RpyActivity)
	if err != nil {
		return err
	}
	for i, v := range [...]int32{r.Online, r.Offline, r.BurstOnline, r.BurstOffline, r.Unresolved} {
		be.PutUint32(b[28+4*i:], uint32(v))
	}
	return nil
}

// ParseActivity decodes the body of an ACTIVITY reply packet.
func ParseActivity(pkt []byte) (Activity, error) {
	if err := checkLen(pkt, RpyActivity); err != nil {
		return Activity{}, err
	}
	g := func(o int) int32 { return int32(be.Uint32(pkt[o:])) }
	return Activity{Online: g(28), Offline: g(32), BurstOnline: g(36), BurstOffline: g(40), Unresolved: g(44)}, nil
}

// PutReply implements ReplyBody (SMOOTHING).
func (r *Smoothing) PutReply(pkt []byte, rt ReplyType) error {
	b, err := bodyRegion(pkt, rt, RpySmoothing)
	if err != nil {
		return err
	}
	be.PutUint32(b[28:], r.Flags)
	for i, v := range [...]float64{r.Offset, r.FreqPPM, r.WanderPPM, r.LastUpdateAgo, r.RemainingTime} {
		putFloat(b[32+4*i:], v)
	}
	return nil
}

// ParseSmoothing decodes the body of a SMOOTHING reply packet.
func ParseSmoothing(pkt []byte) (Smoothing, error) {
	if err := checkLen(pkt, RpySmoothing); err != nil {
		return Smoothing{}, err
	}
	return Smoothing{
		Flags: be.Uint32(pkt[28:]), Offset: getFloat(pkt[32:]), FreqPPM: getFloat(pkt[36:]),
		WanderPPM: getFloat(pkt[40:]), LastUpdateAgo: getFloat(pkt[44:]), RemainingTime: getFloat(pkt[48:]),
	}, nil
}

// nameLen is the size of NTP_SOURCE_NAME's name field.
const nameLen = 256

// PutReply implements ReplyBody (NTP_SOURCE_NAME). A name of 256 bytes or
// more, or one holding a NUL, is ErrValue.
func (r *NTPSourceName) PutReply(pkt []byte, rt ReplyType) error {
	if len(r.Name) >= nameLen || bytes.IndexByte([]byte(r.Name), 0) >= 0 {
		return fmt.Errorf("source name of %d bytes (at most %d, no NUL): %w", len(r.Name), nameLen-1, ErrValue)
	}
	b, err := bodyRegion(pkt, rt, RpyNTPSourceName)
	if err != nil {
		return err
	}
	copy(b[28:], r.Name)
	return nil
}

// ParseNTPSourceName decodes the body of an NTP_SOURCE_NAME reply packet:
// the name up to its NUL, at most 255 bytes (chronyc terminates the field
// itself).
func ParseNTPSourceName(pkt []byte) (NTPSourceName, error) {
	if err := checkLen(pkt, RpyNTPSourceName); err != nil {
		return NTPSourceName{}, err
	}
	f := pkt[28 : 28+nameLen-1]
	if i := bytes.IndexByte(f, 0); i >= 0 {
		f = f[:i]
	}
	return NTPSourceName{Name: string(f)}, nil
}

// ParseReply checks a reply's header (ParseReplyHeader) and decodes its
// body by the stated type: a value of NSources, SourceData, Tracking,
// SourceStats, SelectData, NTPData, ServerStats, ClientAccesses, Activity,
// Smoothing or NTPSourceName; nil for NULL replies and for replies whose
// status is not OK. A type gnomon does not decode is ErrReplyType (with
// the header).
func ParseReply(pkt []byte) (ReplyHeader, any, error) {
	h, err := ParseReplyHeader(pkt)
	if err != nil {
		return h, nil, err
	}
	if !h.Status.OK() || h.Reply == RpyNull {
		return h, nil, nil
	}
	var body any
	switch h.Reply {
	case RpyNSources:
		body, err = ParseNSources(pkt)
	case RpySourceData:
		body, err = ParseSourceData(pkt)
	case RpyTracking:
		body, err = ParseTracking(pkt)
	case RpySourceStats:
		body, err = ParseSourceStats(pkt)
	case RpySelectData:
		body, err = ParseSelectData(pkt)
	case RpyNTPData, RpyNTPData2:
		body, err = ParseNTPData(pkt)
	case RpyServerStats3, RpyServerStats4:
		body, err = ParseServerStats(pkt)
	case RpyClientAccessesByIndex3:
		body, err = ParseClientAccesses(pkt)
	case RpyActivity:
		body, err = ParseActivity(pkt)
	case RpySmoothing:
		body, err = ParseSmoothing(pkt)
	case RpyNTPSourceName:
		body, err = ParseNTPSourceName(pkt)
	default:
		return h, nil, fmt.Errorf("%v: %w", h.Reply, ErrReplyType)
	}
	if err != nil {
		return h, nil, err
	}
	return h, body, nil
}
