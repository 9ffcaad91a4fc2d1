package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"time"

	fbntske "github.com/facebook/time/ntp/ntske"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/nts/siv"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// NTS client side (RFC 8915 §5): one ntsSock per KindNTS socket, filled by
// an NTS-KE handshake before the run. The extension-field types and the
// AEAD are ntp/nts's.
const (
	// maxCookieLen bounds a cookie the generator keeps (gnomond's are
	// nts.CookieLen = 100 bytes, chrony's 100 or so); longer ones are
	// refused (a bad_nts reply, or a failed key exchange).
	maxCookieLen = 256
	// cookiePool is how many cookies a socket keeps (what NTS-KE hands out).
	cookiePool = 8
	// lowCookies: below this many cookies left, a request carries one
	// Cookie Placeholder, so its reply brings two fresh cookies.
	lowCookies = 4
	ntsUIDLen  = 32 // Unique Identifier body, RFC 8915's minimum
	ntsNonce   = 16 // request authenticator nonce (chrony sends 16 bytes)
	efHdr      = 4
	// ntsMaxReq is the longest request: header, UID, cookie, one
	// placeholder, authenticator (nonce + tag, empty plaintext).
	ntsMaxReq = wire.HeaderLen + efHdr + ntsUIDLen + 2*(efHdr+maxCookieLen) + efHdr + 4 + ntsNonce + siv.TagSize
	// ntsPlainMax bounds the decrypted extension fields of a reply.
	ntsPlainMax = 2048
)

// ntsSock is one NTS socket's session: keys, cookies and scratch space.
type ntsSock struct {
	c2s, s2c siv.Key
	uidBase  [ntsUIDLen]byte // random; the last 4 bytes are replaced by the request's sequence number
	cookies  [cookiePool][maxCookieLen]byte
	lens     [cookiePool]uint16
	n        int // cookies in the pool (the newest at n-1)
	last     [maxCookieLen]byte
	lastLen  int
	cLen     int      // length of the KE's cookies: placeholders take this size
	reqLen   []uint16 // per seq&mask: length of the request (a reply must not be longer)
	plain    [ntsPlainMax]byte
}

// ntsSession is what one NTS-KE exchange gave.
type ntsSession struct {
	c2s, s2c []byte
	cookies  [][]byte
}

// ntsHandshake runs NTS-KE (facebook/time's client) against addr.
func ntsHandshake(ctx context.Context, addr string, tc *tls.Config, timeout time.Duration) (*ntsSession, error) {
	c := &fbntske.Client{Timeout: timeout}
	res, err := c.Handshake(ctx, addr, tc)
	if err != nil {
		return nil, fmt.Errorf("NTS-KE with %s: %w", addr, err)
	}
	if res.AEAD != nts.AEADAESSIVCMAC256 || len(res.C2S) != siv.KeySize || len(res.S2C) != siv.KeySize {
		return nil, fmt.Errorf("NTS-KE with %s: AEAD %d with %d/%d-byte keys; want AEAD %d (AES-SIV-CMAC-256)",
			addr, res.AEAD, len(res.C2S), len(res.S2C), nts.AEADAESSIVCMAC256)
	}
	if len(res.Cookies) == 0 {
		return nil, fmt.Errorf("NTS-KE with %s: no cookies", addr)
	}
	for _, ck := range res.Cookies {
		if len(ck) == 0 || len(ck) > maxCookieLen {
			return nil, fmt.Errorf("NTS-KE with %s: cookie of %d bytes (want 1..%d)", addr, len(ck), maxCookieLen)
		}
	}
	return &ntsSession{c2s: res.C2S, s2c: res.S2C, cookies: res.Cookies}, nil
}

func newNTSSock(ses *ntsSession, ring int) (*ntsSock, error) {
	n := &ntsSock{reqLen: make([]uint16, ring)}
	n.c2s.Init((*[siv.KeySize]byte)(ses.c2s))
	n.s2c.Init((*[siv.KeySize]byte)(ses.s2c))
	if _, err := rand.Read(n.uidBase[:]); err != nil {
		return nil, fmt.Errorf("random unique identifier: %w", err)
	}
	for _, ck := range ses.cookies {
		n.put(ck)
		n.cLen = max(n.cLen, len(ck))
	}
	return n, nil
}

// put stores a fresh cookie, dropping the oldest when the pool is full.
func (n *ntsSock) put(ck []byte) {
	if n.n == cookiePool {
		copy(n.cookies[:], n.cookies[1:])
		copy(n.lens[:], n.lens[1:])
		n.n--
	}
	copy(n.cookies[n.n][:], ck)
	n.lens[n.n] = uint16(len(ck))
	n.n++
}

// take returns the cookie for the next request: the newest in the pool, or
// (pool empty: replies outstanding or lost) the last one used again, which
// a server accepts as well (reuse only costs the client unlinkability).
// reused says which.
func (n *ntsSock) take() (ck []byte, reused bool) {
	if n.n > 0 {
		n.n--
		n.lastLen = copy(n.last[:], n.cookies[n.n][:n.lens[n.n]])
		return n.last[:n.lastLen], false
	}
	return n.last[:n.lastLen], true
}

// uid writes the Unique Identifier of request seq into b (ntsUIDLen bytes).
func (n *ntsSock) uid(b []byte, seq uint32) {
	copy(b, n.uidBase[:ntsUIDLen-4])
	binary.BigEndian.PutUint32(b[ntsUIDLen-4:], seq)
}

// putNTSRequest writes an NTS request into b (len ≥ ntsMaxReq) and returns
// its length: header with the Transmit cookie, Unique Identifier, Cookie,
// one Cookie Placeholder when the pool runs low, and the Authenticator
// (nonce, tag over everything before it, empty plaintext). It does not
// allocate.
func (n *ntsSock) putNTSRequest(b []byte, seq uint32, txCookie uint64, st *stats) int {
	putRequest(b, 4, 0, 0, txCookie)
	off := wire.HeaderLen
	putEF(b[off:], nts.EFUniqueID, efHdr+ntsUIDLen)
	n.uid(b[off+efHdr:], seq)
	off += efHdr + ntsUIDLen
	ck, reused := n.take()
	if reused {
		st.ntsCookieReuse++
	}
	cl := pad4(len(ck))
	putEF(b[off:], nts.EFCookie, efHdr+cl)
	copy(b[off+efHdr:], ck)
	clear(b[off+efHdr+len(ck) : off+efHdr+cl])
	off += efHdr + cl
	if n.n < lowCookies {
		pl := pad4(n.cLen)
		putEF(b[off:], nts.EFCookiePlaceholder, efHdr+pl)
		clear(b[off+efHdr : off+efHdr+pl])
		off += efHdr + pl
	}
	authOff := off
	putEF(b[off:], nts.EFAuthenticator, efHdr+4+ntsNonce+siv.TagSize)
	binary.BigEndian.PutUint16(b[off+4:], ntsNonce)
	binary.BigEndian.PutUint16(b[off+6:], siv.TagSize)
	nonce := b[off+8 : off+8+ntsNonce]
	// The nonce need not be secret or random for AES-SIV; it only has to
	// differ per request, which seq and the random UID base make sure.
	copy(nonce, n.uidBase[4:])
	binary.BigEndian.PutUint32(nonce, seq)
	ct := b[off+8+ntsNonce : off+8+ntsNonce+siv.TagSize]
	if _, err := n.c2s.Seal(ct, nil, b[:authOff], nonce); err != nil {
		st.sendErrors++ // cannot happen: ct holds the tag
	}
	return off + 8 + ntsNonce + siv.TagSize
}

func putEF(b []byte, typ uint16, length int) {
	binary.BigEndian.PutUint16(b, typ)
	binary.BigEndian.PutUint16(b[2:], uint16(length))
}

func pad4(n int) int { return (n + 3) &^ 3 }

// checkNTSReply checks the NTS part of a reply to request seq of s whose
// header passed checkHeader with reason, and returns the final reason:
//   - an NTS NAK (KoD NTSN, RFC 8915 §5.7) echoing the request's Unique
//     Identifier: ReasonNTSNAK (unauthenticated by design);
//   - otherwise exactly one Unique Identifier, equal to the request's, then
//     an Authenticator as the last field that opens with S2C over the
//     reply before it, holding at least one Cookie (stored); the reply no
//     longer than its request. Anything else is ReasonBadNTS.
//
// It does not allocate.
func (n *ntsSock) checkNTSReply(b []byte, seq uint32, mask uint32, reason Reason, st *stats) Reason {
	if reason != ReasonValid && reason != ReasonKoD {
		return reason
	}
	if len(b) > int(n.reqLen[seq&mask]) {
		return ReasonLong
	}
	var want [ntsUIDLen]byte
	n.uid(want[:], seq)
	uids, authOff, authLen := 0, -1, 0
	uidOK := false
	for off := wire.HeaderLen; off < len(b); {
		if len(b)-off < efHdr {
			return ReasonBadNTS
		}
		typ := binary.BigEndian.Uint16(b[off:])
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		if l < efHdr || l%4 != 0 || l > len(b)-off || authOff >= 0 {
			return ReasonBadNTS // bad length, or something after the authenticator
		}
		switch typ {
		case nts.EFUniqueID:
			uids++
			uidOK = bytes.Equal(b[off+efHdr:off+l], want[:])
		case nts.EFAuthenticator:
			authOff, authLen = off, l
		}
		off += l
	}
	if uids != 1 || !uidOK {
		return ReasonBadNTS
	}
	if reason == ReasonKoD && wire.KissCode(binary.BigEndian.Uint32(b[wire.OffRefID:])) == wire.KissNTSN {
		if li, _, _ := wire.ParseLVM(b[wire.OffLVM]); li != clock.LeapUnsync || authOff >= 0 {
			return ReasonBadNTS
		}
		return ReasonNTSNAK
	}
	if authOff < 0 || authLen < efHdr+4+siv.TagSize {
		return ReasonBadNTS
	}
	body := b[authOff+efHdr : authOff+authLen]
	nl := int(binary.BigEndian.Uint16(body))
	cl := int(binary.BigEndian.Uint16(body[2:]))
	if 4+pad4(nl)+pad4(cl) > len(body) || cl < siv.TagSize || cl-siv.TagSize > ntsPlainMax {
		return ReasonBadNTS
	}
	nonce := body[4 : 4+nl]
	ct := body[4+pad4(nl) : 4+pad4(nl)+cl]
	pt := n.plain[:cl-siv.TagSize]
	if !n.s2c.Open(pt, ct, b[:authOff], nonce) {
		return ReasonBadNTS
	}
	fresh := 0
	for off := 0; off < len(pt); {
		if len(pt)-off < efHdr {
			return ReasonBadNTS
		}
		typ := binary.BigEndian.Uint16(pt[off:])
		l := int(binary.BigEndian.Uint16(pt[off+2:]))
		if l < efHdr || l%4 != 0 || l > len(pt)-off {
			return ReasonBadNTS
		}
		if typ == nts.EFCookie {
			if l-efHdr > maxCookieLen {
				return ReasonBadNTS
			}
			n.put(pt[off+efHdr : off+l])
			fresh++
		}
		off += l
	}
	if fresh == 0 {
		return ReasonBadNTS
	}
	st.ntsCookies += uint64(fresh)
	return reason
}

// keResult is the NTS-KE sessions of a run, one per NTSPerKE NTS sockets.
type keResult struct {
	sessions []*ntsSession
	took     time.Duration
}

// keyExchanges runs the NTS-KE handshakes the NTS sockets need, one after
// another, before the load starts.
func (g *Generator) keyExchanges(ctx context.Context, kinds []Kind) (keResult, error) {
	var r keResult
	n := 0
	for _, k := range kinds {
		if k == KindNTS {
			n++
		}
	}
	if n == 0 {
		return r, nil
	}
	t0 := time.Now()
	for range (n + g.cfg.NTSPerKE - 1) / g.cfg.NTSPerKE {
		ses, err := ntsHandshake(ctx, g.cfg.NTSServer, g.cfg.NTSTLS, g.cfg.NTSTimeout)
		if err != nil {
			return r, err
		}
		r.sessions = append(r.sessions, ses)
	}
	r.took = time.Since(t0)
	g.log.Info("nts key exchanges done", "server", g.cfg.NTSServer, "count", len(r.sessions), "took", r.took)
	return r, nil
}
