package ntp

import (
	"encoding/binary"

	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/symkey"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// AuthKind says how Server.Seal authenticates a reply.
type AuthKind uint8

const (
	// AuthNone: the reply goes out as Respond wrote it (the request was
	// not authenticated).
	AuthNone AuthKind = iota
	// AuthMAC: the request carried a symmetric-key MAC that verified; the
	// reply gets a MAC with the same key (RFC 5905 §7.3, RFC 8573).
	AuthMAC
	// AuthCryptoNAK: the request carried a MAC with a key ID this server
	// does not have; the reply gets a crypto-NAK (a lone zero key ID,
	// RFC 5905 §7.3 / Appendix A fast_xmit), which tells the client the
	// reply is not authenticated.
	AuthCryptoNAK
	// AuthNTS: the request carried NTS extension fields (RFC 8915) with a
	// cookie that opened. Its authenticator verified (NTSVerdict
	// nts.VerdictAuthentic): Seal appends the echoed Unique Identifier and
	// an authenticator with fresh cookies; or the cookie's key is unknown
	// or the cookie does not open (a NAK verdict): Seal turns the reply
	// into an NTS NAK.
	AuthNTS
)

// String returns the snake_case name of k.
func (k AuthKind) String() string {
	switch k {
	case AuthNone:
		return "none"
	case AuthMAC:
		return "mac"
	case AuthCryptoNAK:
		return "crypto_nak"
	case AuthNTS:
		return "nts"
	}
	return "auth_kind_unknown"
}

// ReplyAuth is what Server.RespondAuth learned about a request's
// authentication and Server.Seal needs to authenticate the reply. It is a
// fixed-size value: an I/O shell owns one per reply slot and passes the
// same one to RespondAuth and then Seal, so nothing is allocated per
// request. RespondAuth overwrites it for every request; the zero value
// means unauthenticated. It holds a reference to the key that verified the
// request, so a reply is sealed with that key even when the key set is
// replaced (SetKeys) between RespondAuth and Seal.
type ReplyAuth struct {
	kind    AuthKind
	keyID   uint32
	key     *symkey.Key
	version uint8 // the request's (and reply's) NTP version: the digest length depends on it
	reqLen  int   // the request's length: Seal never makes the reply longer
	scratch symkey.Scratch
	ntsw    *nts.Worker   // the worker's NTS scratch; nil: NTS requests are not verified
	nts     nts.ReplyAuth // the NTS verdict and session keys (AuthNTS)
}

// SetNTSWorker gives the slot its worker's NTS scratch (Core.NewWorker of
// the Server's ServerConfig.NTS). Slots without one never verify NTS: their
// NTS requests are treated as when the server has no NTS.
func (a *ReplyAuth) SetNTSWorker(w *nts.Worker) { a.ntsw = w }

// NTSVerdict returns what nts.Worker.Verify made of the request
// (nts.VerdictNone unless Kind is AuthNTS).
func (a *ReplyAuth) NTSVerdict() nts.Verdict {
	if a.kind != AuthNTS {
		return nts.VerdictNone
	}
	return a.nts.Verdict
}

// Kind returns how the reply is to be authenticated.
func (a *ReplyAuth) Kind() AuthKind { return a.kind }

// KeyID returns the key ID of the request's MAC (AuthMAC and
// AuthCryptoNAK; 0 otherwise).
func (a *ReplyAuth) KeyID() uint32 { return a.keyID }

// reset makes a unauthenticated for a request of reqLen bytes.
func (a *ReplyAuth) reset(reqLen int) {
	a.kind, a.keyID, a.key, a.version, a.reqLen = AuthNone, 0, nil, 0, reqLen
	a.nts.Verdict = nts.VerdictNone
}

// nak reports whether the reply to the request is a NAK (crypto-NAK or
// NTS NAK): never interleaved.
func (a *ReplyAuth) nak() bool {
	return a != nil && (a.kind == AuthCryptoNAK || a.kind == AuthNTS && a.nts.Verdict.NAK())
}

// checkNTS applies the NTS rule of RespondAuth: it returns VerdictServed
// to go on (a filled for an NTS request, or nts.VerdictNone: not one),
// or the verdict that drops the request; isNTS says whether the request
// carried NTS fields (then the legacy MAC rule does not apply: an NTS
// authenticator of 20–24 bytes looks like a MAC to wire.ScanTrailer).
func checkNTS(req []byte, a *ReplyAuth) (v Verdict, isNTS bool) {
	if a == nil || a.ntsw == nil {
		return VerdictServed, false
	}
	switch nv := a.ntsw.Verify(req, &a.nts); {
	case nv == nts.VerdictNone:
		return VerdictServed, false
	case nv == nts.VerdictMalformed:
		return VerdictMalformed, true
	case nv.Drop():
		return VerdictAuthFailed, true
	}
	a.kind = AuthNTS
	return VerdictServed, true
}

// replyLen returns the length of the sealed reply to a request for which
// RespondAuth decided a, with a header of n bytes.
func (a *ReplyAuth) replyLen(n int) int {
	switch a.kind {
	case AuthMAC:
		return n + a.key.MACLen(a.version)
	case AuthCryptoNAK:
		return n + symkey.KeyIDLen
	}
	return n
}

// checkMAC applies rule 6 of RespondAuth to a request whose trailer holds a
// MAC at macOff: it fills a and returns VerdictServed to go on, or the
// verdict that ends the request. keys is the current key set (nil: none).
func checkMAC(req []byte, macOff int, version uint8, keys *symkey.Keys, a *ReplyAuth) Verdict {
	if a == nil || keys == nil {
		return VerdictNoKey
	}
	id := binary.BigEndian.Uint32(req[macOff:])
	k := keys.Lookup(id)
	if k == nil {
		a.kind, a.keyID = AuthCryptoNAK, id
		return VerdictServed
	}
	if !k.Verify(&a.scratch, version, req[:macOff], req[macOff:]) {
		return VerdictAuthFailed
	}
	a.kind, a.keyID, a.key, a.version = AuthMAC, id, k, version
	return VerdictServed
}

// Seal authenticates the reply RespondAuth wrote into out[:n] with the
// ReplyAuth it filled, after the shell has written the Transmit timestamp
// (wire.PutTransmit), so that a MAC covers the final header; it returns the
// length to send. An unauthenticated reply (a nil or AuthNone) is returned
// unchanged (n). AuthMAC appends the key ID and the digest of out[:n];
// AuthCryptoNAK appends a zero key ID. The result is never longer than the
// request. It returns 0 — send nothing, never an unauthenticated reply to
// an authenticated request — if out cannot hold the MAC, the reply would be
// longer than the request, or the kind is one Seal cannot produce.
// AuthNTS hands the reply to the slot's nts.Worker (Seal: Unique Identifier
// echo and authenticator with fresh cookies, as many as fit in the
// request's length; or the NTS NAK). It never allocates.
func (s *Server) Seal(out []byte, n int, a *ReplyAuth) int {
	if a == nil || a.kind == AuthNone {
		return n
	}
	if n < wire.HeaderLen || n > len(out) {
		return 0
	}
	if a.kind == AuthNTS {
		if a.ntsw == nil {
			return 0
		}
		return a.ntsw.Seal(out, n, &a.nts)
	}
	end := a.replyLen(n)
	if end > len(out) || end > a.reqLen {
		return 0
	}
	switch a.kind {
	case AuthMAC:
		a.key.Put(&a.scratch, a.version, out[n:end], out[:n])
	case AuthCryptoNAK:
		binary.BigEndian.PutUint32(out[n:], 0)
	default:
		return 0
	}
	return end
}
