package cmdmon

import (
	"context"
	"net/netip"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
	"github.com/gnomon-time/gnomon/report"
)

// command is how gnomond treats one request code.
type command struct {
	// network: chrony allows it over UDP (PERMIT_OPEN); otherwise only
	// over the Unix socket.
	network bool
	// run answers it; nil for a command gnomond does not carry out, which
	// gets status instead.
	run    func(h *Handler, ctx context.Context, req []byte) (body wire.ReplyBody, rtype wire.ReplyType, st wire.Status)
	status wire.Status
}

// lookup says how gnomond treats request code c; false for codes chrony
// does not know (or no longer knows). chrony's commands gnomond does not
// carry out (online/offline, allow/deny, add/delete sources, modify
// poll/delay limits, settime, manual, dump, rtc, smoothing, shutdown,
// auth data, ...) get "502 Invalid command" over the socket and "501 Not
// authorised" over the network, as chronyd answers an unprivileged user.
func lookup(c wire.Command) (command, bool) {
	switch c {
	case wire.CmdNull:
		return command{network: true, run: runNull}, true
	case wire.CmdNSources:
		return command{network: true, run: runNSources}, true
	case wire.CmdSourceData:
		return command{network: true, run: runSourceData}, true
	case wire.CmdTracking:
		return command{network: true, run: runTracking}, true
	case wire.CmdSourceStats:
		return command{network: true, run: runSourceStats}, true
	case wire.CmdActivity:
		return command{network: true, run: runActivity}, true
	case wire.CmdNTPSourceName:
		return command{network: true, run: runNTPSourceName}, true
	case wire.CmdSelectData:
		return command{run: runSelectData}, true
	case wire.CmdNTPData:
		return command{run: runNTPData}, true
	case wire.CmdServerStats:
		return command{run: runServerStats}, true
	case wire.CmdClientAccessesByIndex3:
		return command{run: runClients}, true
	case wire.CmdBurst:
		return command{run: runBurst}, true
	case wire.CmdMakestep:
		return command{run: runMakeStep}, true
	case wire.CmdResetSources:
		return command{run: runResetSources}, true
	case wire.CmdReloadSources:
		return command{run: runReload}, true
	// Open commands chronyd answers without doing anything here:
	case wire.CmdLogon: // authentication is gone: log-on always fails
		return command{network: true, status: wire.StatusFailed}, true
	case wire.CmdSmoothing: // no smoothtime
		return command{network: true, status: wire.StatusNotEnabled}, true
	case wire.CmdRTCReport: // no RTC driver
		return command{network: true, status: wire.StatusNoRTC}, true
	case wire.CmdManualList: // no manual input
		return command{network: true, status: wire.StatusInvalid}, true
	}
	if c <= wire.CmdLocal3 && !obsolete(c) {
		return command{status: wire.StatusInvalid}, true
	}
	return command{}, false
}

// obsolete are request codes chrony no longer serves (INVALID even over
// the socket, before the permission check): the old client lists, the
// old ADD_SERVER/PEER variants, LOCAL and DOFFSET (replaced by LOCAL3 and
// DOFFSET2).
func obsolete(c wire.Command) bool {
	switch c {
	case 12, 27, 28, 32, 38, 39, 40, 55, 56, 58, 59, 60, 61:
		return true
	}
	return false
}

// ptr returns a pointer to a copy of v (reply bodies encode from pointers).
func ptr[T any](v T) *T { return &v }

func runNull(*Handler, context.Context, []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	return nil, wire.RpyNull, wire.StatusSuccess
}

func runNSources(h *Handler, ctx context.Context, _ []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	srcs := h.sources(ctx)
	return ptr(wire.NSources{N: uint32(len(srcs))}), wire.RpyNSources, wire.StatusSuccess
}

// index reads the source index of SOURCE_DATA, SOURCESTATS, SELECT_DATA.
func index(req []byte, n int) (int, bool) {
	r, err := wire.ParseIndexRequest(req)
	if err != nil || r.Index < 0 || int(r.Index) >= n {
		return 0, false
	}
	return int(r.Index), true
}

func runSourceData(h *Handler, ctx context.Context, req []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	srcs := h.sources(ctx)
	i, ok := index(req, len(srcs))
	if !ok {
		return nil, wire.RpyNull, wire.StatusNoSuchSource
	}
	return ptr(sourceDataReply(&srcs[i], i)), wire.RpySourceData, wire.StatusSuccess
}

func runTracking(h *Handler, _ context.Context, _ []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	t, ok := h.cfg.Discipline.Tracking()
	if !ok {
		// Before the engine's first snapshot: unsynchronised, nothing known.
		t = report.Tracking{Stratum: 16}
	}
	return ptr(trackingReply(&t)), wire.RpyTracking, wire.StatusSuccess
}

func runSourceStats(h *Handler, ctx context.Context, req []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	stats := h.sourceStats()
	i, ok := index(req, len(stats))
	if !ok {
		return nil, wire.RpyNull, wire.StatusNoSuchSource
	}
	srcs := h.sources(ctx)
	return ptr(sourceStatsReply(&stats[i], srcs, i)), wire.RpySourceStats, wire.StatusSuccess
}

func runSelectData(h *Handler, ctx context.Context, req []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	rows := h.selectData()
	i, ok := index(req, len(rows))
	if !ok {
		return nil, wire.RpyNull, wire.StatusNoSuchSource
	}
	srcs := h.sources(ctx)
	return ptr(selectDataReply(&rows[i], srcs, i)), wire.RpySelectData, wire.StatusSuccess
}

func runActivity(h *Handler, ctx context.Context, _ []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	return ptr(activityReply(h.sources(ctx))), wire.RpyActivity, wire.StatusSuccess
}

// requestAddr reads the address of NTP_DATA and NTP_SOURCE_NAME.
func requestAddr(req []byte) (netip.Addr, bool) {
	r, err := wire.ParseAddrRequest(req)
	if err != nil || !r.Addr.Addr.IsValid() {
		return netip.Addr{}, false
	}
	return r.Addr.Addr.Unmap(), true
}

func runNTPSourceName(h *Handler, ctx context.Context, req []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	r, err := wire.ParseAddrRequest(req)
	if err != nil {
		return nil, wire.RpyNull, wire.StatusNoSuchSource
	}
	srcs := h.sources(ctx)
	for i := range srcs {
		s := &srcs[i]
		if s.Mode == report.SourceRefClock {
			continue
		}
		if r.Addr.Family == wire.FamilyID && sourceAddr(s, i) == r.Addr ||
			r.Addr.Addr.IsValid() && s.Addr.IsValid() && s.Addr.Unmap() == r.Addr.Addr.Unmap() {
			return ptr(wire.NTPSourceName{Name: s.ID}), wire.RpyNTPSourceName, wire.StatusSuccess
		}
	}
	return nil, wire.RpyNull, wire.StatusNoSuchSource
}

func runNTPData(h *Handler, ctx context.Context, req []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	a, ok := requestAddr(req)
	if !ok {
		return nil, wire.RpyNull, wire.StatusNoSuchSource
	}
	for _, d := range h.cfg.Discipline.NTPData(ctx) {
		if d.Remote.Addr().Unmap() == a {
			rtype, fits := wire.NTPDataReplyFor(len(req))
			if !fits {
				return nil, wire.RpyNull, wire.StatusBadPktLength
			}
			return ptr(ntpDataReply(&d)), rtype, wire.StatusSuccess
		}
	}
	return nil, wire.RpyNull, wire.StatusNoSuchSource
}

func runServerStats(h *Handler, _ context.Context, req []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	rtype, fits := wire.ServerStatsReplyFor(len(req))
	if !fits {
		return nil, wire.RpyNull, wire.StatusBadPktLength
	}
	var st report.ServerStats
	if h.cfg.Server != nil {
		st = h.cfg.Server.ServerStats()
	}
	// chronyd counts a request (CLG_LogServiceAccess) before it answers
	// it: serverstats includes itself.
	cmd := h.Stats()
	cmd.Received++
	return ptr(serverStatsReply(&st, cmd)), rtype, wire.StatusSuccess
}

func runClients(h *Handler, _ context.Context, req []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	r, err := wire.ParseClientAccessesRequest(req)
	if err != nil {
		return nil, wire.RpyNull, wire.StatusInvalid
	}
	if r.Reset != 0 {
		// The client log cannot reset its per-client counters.
		return nil, wire.RpyNull, wire.StatusFailed
	}
	var out wire.ClientAccesses
	if h.cfg.Server == nil {
		return &out, wire.RpyClientAccessesByIndex3, wire.StatusSuccess
	}
	n := int(min(r.NClients, wire.MaxClientsPerReply))
	first := int(min(r.FirstIndex, 1<<30))
	p := h.cfg.Server.Clients(first, n, r.MinHits)
	out.NIndices, out.NextIndex = uint32(p.Indices), uint32(p.Next)
	for i := range p.Clients {
		out.Clients = append(out.Clients, clientReply(&p.Clients[i]))
	}
	return &out, wire.RpyClientAccessesByIndex3, wire.StatusSuccess
}

func runBurst(h *Handler, ctx context.Context, req []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	r, err := wire.ParseBurstRequest(req)
	if err != nil || r.NGood < 0 || r.NTotal < 0 {
		return nil, wire.RpyNull, wire.StatusInvalid
	}
	prefix, ok := burstPrefix(r.Mask, r.Addr)
	if !ok {
		return nil, wire.RpyNull, wire.StatusInvalid
	}
	// gnomon's burst sends a number of requests; chrony's stops after
	// NGood good samples or NTotal requests: NTotal requests it is, at
	// least NGood, at most 64.
	n := min(max(int(r.NTotal), int(r.NGood), 1), 64)
	asked, err := h.cfg.Discipline.Burst(ctx, prefix, n)
	if err != nil {
		return nil, wire.RpyNull, wire.StatusFailed
	}
	if asked == 0 {
		return nil, wire.RpyNull, wire.StatusNoSuchSource
	}
	return nil, wire.RpyNull, wire.StatusSuccess
}

// burstPrefix turns BURST's mask and address into a prefix: both
// unspecified select every source (an invalid prefix); a mask must be
// contiguous and of the address's family.
func burstPrefix(mask, addr wire.IPAddr) (netip.Prefix, bool) {
	if mask.Family == wire.FamilyUnspec && addr.Family == wire.FamilyUnspec {
		return netip.Prefix{}, true
	}
	if !mask.Addr.IsValid() || !addr.Addr.IsValid() || mask.Addr.Is4() != addr.Addr.Is4() {
		return netip.Prefix{}, false
	}
	bits, ok := maskBits(mask.Addr.AsSlice())
	if !ok {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(addr.Addr, bits).Masked(), true
}

// maskBits counts the leading ones of a contiguous netmask.
func maskBits(b []byte) (int, bool) {
	n, zero := 0, false
	for _, x := range b {
		for bit := 7; bit >= 0; bit-- {
			one := x>>bit&1 == 1
			if one && zero {
				return 0, false
			}
			if one {
				n++
			} else {
				zero = true
			}
		}
	}
	return n, true
}

func runMakeStep(h *Handler, ctx context.Context, _ []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	if err := h.cfg.Discipline.MakeStep(ctx); err != nil {
		return nil, wire.RpyNull, wire.StatusFailed
	}
	return nil, wire.RpyNull, wire.StatusSuccess
}

func runResetSources(h *Handler, ctx context.Context, _ []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	if err := h.cfg.Discipline.ResetSources(ctx); err != nil {
		return nil, wire.RpyNull, wire.StatusFailed
	}
	return nil, wire.RpyNull, wire.StatusSuccess
}

func runReload(h *Handler, ctx context.Context, _ []byte) (wire.ReplyBody, wire.ReplyType, wire.Status) {
	if h.cfg.Reload == nil || h.cfg.Reload(ctx) != nil {
		return nil, wire.RpyNull, wire.StatusFailed
	}
	return nil, wire.RpyNull, wire.StatusSuccess
}
