package ntp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/symkey"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// ServerConfig configures a Server. Start from DefaultServerConfig: the zero
// value disables interleaved mode and serves nobody.
type ServerConfig struct {
	// Interleave answers RFC 9769 interleaved requests (chrony does so by
	// default; its noclientlog disables it). It needs a client log.
	Interleave bool
	// Precision (log2 s, −32…0) is sent when Respond gets no SyncState.
	Precision int8
	// EraPivot centres the 136-year window in which receive timestamps are
	// converted to absolute time (client log clock, root dispersion growth).
	// Zero means wire.DefaultEraPivot (window 1958–2094).
	EraPivot time.Time
	// ACL is the initial access list; nil serves nobody (like chrony
	// without allow). Replace it at run time with Server.SetACL.
	ACL *ACL
	// Keys are the symmetric keys for RFC 5905 MACs (RespondAuth); nil
	// means none: requests with a MAC are dropped as VerdictNoKey. Replace
	// them at run time with Server.SetKeys.
	Keys *symkey.Keys
	// NTS is the NTS core (RFC 8915: master-key ring shared with the
	// NTS-KE server); nil: no NTS. The I/O shell makes one nts.Worker per
	// worker from it (NTS().NewWorker) and gives it to that worker's
	// ReplyAuth slots (ReplyAuth.SetNTSWorker).
	NTS *nts.Core
}

// DefaultServerConfig returns chrony's defaults: interleaved mode on, no
// rate limiting, precision −20 (≈ 1 µs, used only without a SyncState), no
// clients allowed.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		Interleave: true,
		Precision:  -20,
	}
}

// Validate reports every problem in c, each naming the field and its value.
func (c ServerConfig) Validate() error {
	var errs []error
	if c.Precision < -32 || c.Precision > 0 {
		errs = append(errs, fmt.Errorf("ntp server: precision = %d: want log2 seconds in [-32, 0]", c.Precision))
	}
	if !c.EraPivot.IsZero() {
		// Keep the whole window inside what int64 nanoseconds can hold.
		if y := c.EraPivot.Year(); y < 1970 || y > 2190 {
			errs = append(errs, fmt.Errorf("ntp server: era_pivot = %s: want a year in [1970, 2190]",
				c.EraPivot.UTC().Format(time.RFC3339)))
		}
	}
	return errors.Join(errs...)
}

// Server answers NTP client requests. It holds no per-packet state of its own
// (that lives in the shared client log), so one Server serves all workers
// concurrently; Respond and RecordTX are safe for concurrent use.
type Server struct {
	cfg        ServerConfig
	log        *clientlog.Log
	acl        atomic.Pointer[ACL]
	keys       atomic.Pointer[symkey.Keys]
	pivotUnix  int64
	interleave bool
	pollFloor  int8 // minimum advertised poll; −128 = none
}

// NewServer validates cfg and returns a Server. log may be nil: then there is
// no interleaved mode and no rate limiting. A rate-limiting log also sets the
// poll floor Respond advertises (its interval).
func NewServer(cfg ServerConfig, log *clientlog.Log) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		log:        log,
		pivotUnix:  wire.DefaultEraPivot,
		interleave: cfg.Interleave && log != nil,
		pollFloor:  -128,
	}
	if !cfg.EraPivot.IsZero() {
		s.pivotUnix = cfg.EraPivot.Unix()
	}
	if rl := log.RateLimit(); rl.Enabled {
		// Advertise a poll of at least the limit's interval, as chrony
		// does, so that well-behaved clients slow down to it. The client
		// log owns the setting.
		s.pollFloor = rl.IntervalLog2
	}
	s.acl.Store(cfg.ACL)
	s.keys.Store(cfg.Keys)
	return s, nil
}

// NTS returns the NTS core of the configuration (nil: no NTS).
func (s *Server) NTS() *nts.Core { return s.cfg.NTS }

// SetKeys atomically replaces the symmetric keys; nil means none. A reply
// being built concurrently keeps the key that verified its request.
func (s *Server) SetKeys(k *symkey.Keys) { s.keys.Store(k) }

// Keys returns the current symmetric keys (nil: none).
func (s *Server) Keys() *symkey.Keys { return s.keys.Load() }

// SetACL atomically replaces the access list; nil serves nobody. Packets
// being answered concurrently may still see the old list.
func (s *Server) SetACL(a *ACL) { s.acl.Store(a) }

// ACL returns the current access list.
func (s *Server) ACL() *ACL { return s.acl.Load() }

// clientAddr normalises addresses the way the ACL and the client log key
// them: IPv4-mapped IPv6 as IPv4, no zone.
func clientAddr(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// unsyncRootDelay and unsyncRootDisp are what chrony sends while
// unsynchronised (reference.c REF_GetReferenceParams: 1 s each); clients
// ignore them because LI is 3.
const (
	unsyncRootDelay = 1 << 16
	unsyncRootDisp  = 1 << 16
	ntpPort         = 123
)

// Respond is RespondAuth without authentication (a nil ReplyAuth): a request
// carrying a MAC is dropped as VerdictNoKey whatever keys the server holds,
// and the reply needs no Seal.
func (s *Server) Respond(out, req []byte, from netip.AddrPort, rx wire.Time, st *clock.SyncState) (n int, v Verdict) {
	return s.RespondAuth(out, req, from, rx, st, nil)
}

// RespondAuth builds the reply to the request req from client from, received
// at rx (the best available receive timestamp, in the served timescale), into
// out, and returns its length and the verdict. n is 0 unless v.Replied().
// When v.NeedsTransmit() the Transmit field is zero and the caller must write
// it with wire.PutTransmit right before sending. st is the current clock
// state; nil is treated as unsynchronised.
//
// a (owned by the caller, one per reply slot; may be nil) receives, when
// v.Replied(), what the request's authentication requires of the reply.
// After writing the Transmit timestamp the caller must call Seal(out, n, a)
// and send the length it returns (0: send nothing); n is the header alone.
//
// Rules, in order (reference/ntp.md §1.2, chrony NCR_ProcessRxUnknown):
//  1. The ACL must allow the client (IPv4-mapped addresses as IPv4), else
//     VerdictDenied.
//  2. At least 48 bytes, else VerdictMalformed.
//  3. Version 1–4, else VerdictBadVersion.
//  4. Mode 3, or mode 0 with version 1 from a source port other than 123
//     (an NTPv1 client; chrony answers these too), else VerdictBadMode.
//  5. NTS (RFC 8915 §5.7), when a carries an nts.Worker (ReplyAuth.
//     SetNTSWorker; the server has NTS): Verify parses the NTS extension
//     fields of an NTPv4 request, opens the cookie and checks the
//     authenticator. No NTS fields: go on as plain NTP. Broken NTS fields:
//     VerdictMalformed; an authenticator that does not verify:
//     VerdictAuthFailed; both dropped. A cookie that opens and verifies:
//     Seal appends the Unique Identifier and an authenticator with fresh
//     cookies (also to KoD and interleaved replies); a cookie of an
//     unknown master key or one that does not open: the reply is an NTS
//     NAK (VerdictNTSNAK, or VerdictKoDRate / VerdictRateLimited when
//     over the rate; never interleaved). An NTS request skips rules 6–7:
//     its fields were checked here, and an NTS authenticator of 20–24
//     bytes is not a legacy MAC.
//  6. Length a multiple of 4 and a well-formed RFC 7822 trailer
//     (wire.CheckTrailer), else VerdictMalformed. Extension fields are
//     otherwise ignored.
//  7. A legacy symmetric-key MAC (NTPv4: 20–24 bytes after any extension
//     fields; NTPv1–3: any bytes after the header; an NTPv4 crypto-NAK, 4
//     zero bytes, is not one) is checked (RFC 5905 §7.3, RFC 8573):
//     a. a is nil (Respond) or the server has no keys (SetKeys(nil)):
//     VerdictNoKey, dropped, as chrony drops a request whose key it lacks
//     rather than answer it unauthenticated;
//     b. the key ID is not in the key set: the reply will carry a
//     crypto-NAK (RFC 5905 fast_xmit; chrony sends nothing) and is never
//     interleaved; verdict VerdictCryptoNAK (VerdictKoDRate or
//     VerdictRateLimited when over the rate);
//     c. the MAC does not verify (digest, or digest length for the key's
//     type and the version, constant-time): VerdictAuthFailed, dropped,
//     as chrony does;
//     d. it verifies: a records the key, and Seal appends a MAC with it
//     over the final header (also to KoD and interleaved replies).
//     Requests dropped here (and in rule 5) never reach the client log.
//  8. The client log (if any) records the request; over the rate limit it
//     says Drop (VerdictRateLimited) or KoD.
//  9. Interleaved (VerdictInterleaved) when interleaving is on, the request
//     is NTPv4 in interleaved form (Origin bit 0 set, Receive ≠ Transmit),
//     no KoD, no NAK, and the log holds a TX timestamp for the Receive
//     field the Origin echoes, sent to this address (RFC 9769;
//     reference/ntp.md §2). NTS requests are served interleaved alike. A
//     stale, replayed, evicted or foreign Origin gets a basic reply. The
//     log then holds this reply's Receive field; only interleaved-form
//     requests do that, so a chronyd xleave client's first interleaved
//     reply answers its third request, as from chronyd.
//  10. The reply has the request's version and mode 4, and is 48 bytes
//     (plus, after Seal, the MAC or crypto-NAK of rule 7, no longer than
//     the request's own MAC, or the NTS fields of rule 5, which Seal fits
//     in the request's length), so never longer than the request.
//
// It never allocates and never panics, whatever req holds.
func (s *Server) RespondAuth(out, req []byte, from netip.AddrPort, rx wire.Time, st *clock.SyncState, a *ReplyAuth) (n int, v Verdict) {
	if a != nil {
		a.reset(len(req))
	}
	addr := clientAddr(from.Addr())
	if !s.acl.Load().Allowed(addr) {
		return 0, VerdictDenied
	}
	if len(req) < wire.HeaderLen {
		return 0, VerdictMalformed
	}
	_, version, mode := wire.ParseLVM(req[wire.OffLVM])
	if version < 1 || version > 4 {
		return 0, VerdictBadVersion
	}
	switch mode {
	case wire.ModeClient:
	case wire.ModeReserved:
		// NTPv1 had no mode field; a request is recognised by its source
		// port. A packet from port 123 would be a server's.
		if version != 1 || from.Port() == ntpPort {
			return 0, VerdictBadMode
		}
	default:
		return 0, VerdictBadMode
	}
	v, isNTS := checkNTS(req, a)
	if v != VerdictServed {
		return 0, v
	}
	if !isNTS {
		switch kind, macOff, _ := wire.ScanTrailer(req, version); kind {
		case wire.TrailerOK:
		case wire.TrailerMAC:
			if v := checkMAC(req, macOff, version, s.keys.Load(), a); v != VerdictServed {
				return 0, v
			}
		default:
			return 0, VerdictMalformed
		}
	}
	if len(out) < wire.HeaderLen || a != nil && a.replyLen(wire.HeaderLen) > len(out) {
		if a != nil {
			a.reset(len(req))
		}
		return 0, VerdictShortBuffer
	}
	nak := a.nak()

	// Low-bit trick: every Receive field we send has bit 0 set, so an
	// interleaved request is recognised by bit 0 of its Origin.
	rxField := rx | 1
	reqOrigin := wire.Time(binary.BigEndian.Uint64(req[wire.OffOrigin:]))
	reqReceive := wire.Time(binary.BigEndian.Uint64(req[wire.OffReceive:]))
	reqTransmit := wire.Time(binary.BigEndian.Uint64(req[wire.OffTransmit:]))

	v = VerdictServed
	var prevTX wire.Time
	if s.log != nil {
		// A request in interleaved form (chrony's conditions): NTPv4,
		// Origin is one of our Receive fields (bit 0), Receive ≠ Transmit
		// (a basic client sends its cookies or zeros, an xleave client two
		// random cookies). Only for these does the log hand out a held
		// transmit timestamp and hold this reply's Receive field (the same
		// replies WantsTX asks a TX timestamp for).
		var x clientlog.Exchange
		if s.interleave && !nak && version == 4 && reqOrigin&1 == 1 && reqReceive != reqTransmit {
			x = clientlog.Exchange{Origin: uint64(reqOrigin), RX: uint64(rxField)}
		}
		hit := s.log.Hit(addr, rx.UnixNano(s.pivotUnix), x)
		switch hit.Decision {
		case clientlog.Drop:
			return 0, VerdictRateLimited
		case clientlog.KoD:
			v = VerdictKoDRate
		}
		// Interleaved when no KoD and a TX timestamp was recorded for
		// exactly the Receive field the Origin echoes, sent to this
		// address. The log keys them by Receive field, so every
		// association behind one address (NAT) finds its own, and hands
		// each out once, so it is never replayed.
		if v == VerdictServed && hit.PrevTX != 0 && !nak {
			v = VerdictInterleaved
			prevTX = wire.Time(hit.PrevTX)
		}
	}

	o := out[:wire.HeaderLen]
	leap := s.putParams(o, st, rxField, prevTX)
	// Poll: the request's, raised to the rate-limit interval like chrony
	// (CLG_GetNtpMinPoll) so that clients slow down to what is served.
	poll := int8(req[wire.OffPoll])
	if poll < s.pollFloor {
		poll = s.pollFloor
	}
	o[wire.OffPoll] = byte(poll)
	if v == VerdictKoDRate {
		leap = clock.LeapUnsync
		o[wire.OffStratum] = wire.StratumUnspecified
		binary.BigEndian.PutUint32(o[wire.OffRefID:], uint32(wire.KissRATE))
	}
	o[wire.OffLVM] = wire.LVM(leap, version, wire.ModeServer)
	if v == VerdictInterleaved {
		// Origin = the client's cookie in our previous Receive field's
		// place, i.e. the request's Receive; Transmit = accurate TX
		// timestamp of the previous reply (so Transmit < Receive).
		binary.BigEndian.PutUint64(o[wire.OffOrigin:], uint64(reqReceive))
		binary.BigEndian.PutUint64(o[wire.OffTransmit:], uint64(wire.NonZero(prevTX&^1)))
	} else {
		binary.BigEndian.PutUint64(o[wire.OffOrigin:], uint64(reqTransmit))
		binary.BigEndian.PutUint64(o[wire.OffTransmit:], 0)
	}
	binary.BigEndian.PutUint64(o[wire.OffReceive:], uint64(rxField))
	if nak && v == VerdictServed {
		v = VerdictCryptoNAK
		if a.kind == AuthNTS {
			v = VerdictNTSNAK
		}
	}
	return wire.HeaderLen, v
}

// putParams writes stratum, precision, root delay/dispersion, reference ID
// and reference time derived from st into o (≥ wire.HeaderLen bytes) and
// returns the leap indicator for the first byte, which Respond writes with
// the version and mode. rxField is this reply's Receive field, prevTX the
// interleaved Transmit (0 if none).
func (s *Server) putParams(o []byte, st *clock.SyncState, rxField, prevTX wire.Time) clock.Leap {
	if st == nil || !st.Synchronized {
		// Unsynchronised: LI 3, stratum 0 on the wire (chrony sends 0 for
		// any stratum ≥ 16), no reference, 1 s root delay and dispersion
		// as chrony does.
		prec := s.cfg.Precision
		if st != nil {
			prec = st.Precision
		}
		o[wire.OffStratum] = wire.StratumUnspecified
		o[wire.OffPrecision] = byte(prec)
		binary.BigEndian.PutUint32(o[wire.OffRootDelay:], unsyncRootDelay)
		binary.BigEndian.PutUint32(o[wire.OffRootDisp:], unsyncRootDisp)
		binary.BigEndian.PutUint32(o[wire.OffRefID:], 0)
		binary.BigEndian.PutUint64(o[wire.OffReference:], 0)
		return clock.LeapUnsync
	}
	stratum := st.Stratum
	if stratum > wire.MaxStratum {
		stratum = wire.StratumUnspecified
	}
	o[wire.OffStratum] = stratum
	o[wire.OffPrecision] = byte(st.Precision)
	rxTime := rxField.Time(time.Unix(s.pivotUnix, 0))
	binary.BigEndian.PutUint32(o[wire.OffRootDelay:], wire.ShortFromDuration(st.RootDelay))
	binary.BigEndian.PutUint32(o[wire.OffRootDisp:], wire.ShortFromDuration(st.RootDispersionAt(rxTime)))
	binary.BigEndian.PutUint32(o[wire.OffRefID:], st.RefID)
	var ref wire.Time
	if !st.RefTime.IsZero() {
		ref = wire.NonZero(wire.TimeFromTime(st.RefTime) &^ 1)
		// The reference time is the last clock update and must be before
		// the Transmit timestamp (older chronyd and ntpd reject a reply
		// whose reference is after its transmit as an inconsistent host).
		// A state published between the packet's arrival and now, or an
		// interleaved Transmit older than the last update, would break
		// that; clamp to just before the earliest of Receive and the
		// interleaved Transmit.
		limit := rxField &^ 1
		if prevTX != 0 && (prevTX&^1).Sub(limit) < 0 {
			limit = prevTX &^ 1
		}
		if ref.Sub(limit) >= 0 {
			ref = wire.NonZero(limit - 2)
		}
	}
	binary.BigEndian.PutUint64(o[wire.OffReference:], uint64(ref))
	return st.Leap
}

// RecordTX tells the client log the accurate transmit timestamp tx of the
// reply to addr whose Receive field was rxField (read it back from the sent
// reply with wire.ReceiveField). The interleaved request from addr that
// echoes rxField in its Origin gets it as its Transmit. It does nothing
// without a client log or with interleaving off, and reports whether the
// timestamp was stored (only for replies to interleaved-form requests,
// WantsTX, and only within 1 s of rxField).
func (s *Server) RecordTX(addr netip.Addr, rxField, tx wire.Time) bool {
	if !s.interleave {
		return false
	}
	return s.log.RecordTX(clientAddr(addr), uint64(rxField), uint64(tx))
}

// WantsTX reports whether the reply Respond built for req with verdict v
// should be sent with an accurate (kernel or hardware) transmit timestamp
// for RecordTX. Only a reply whose timestamp a later request can ask for
// needs one: interleaving is on, the reply is served or interleaved (KoD
// replies take no part), and req is itself an NTPv4 request in interleaved
// form — Origin with bit 0 set (it echoes one of our Receive fields) and
// Receive ≠ Transmit. A client that sends basic requests gets no
// interleaved replies, so its replies need no stamp; a chronyd xleave
// client gets its first interleaved reply to its third request (its second
// is in interleaved form), like from chronyd itself. The I/O shell uses it
// to request TX timestamps per datagram, which spares every basic reply an
// error-queue message and its read. It never allocates.
func (s *Server) WantsTX(req []byte, v Verdict) bool {
	if !s.interleave || (v != VerdictServed && v != VerdictInterleaved) || len(req) < wire.HeaderLen {
		return false
	}
	if wire.Version(req) != 4 {
		return false
	}
	return req[wire.OffOrigin+7]&1 == 1 &&
		binary.BigEndian.Uint64(req[wire.OffReceive:]) != binary.BigEndian.Uint64(req[wire.OffTransmit:])
}
