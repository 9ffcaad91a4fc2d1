package nts

import (
	"encoding/binary"
	"io"
	"sync/atomic"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/nts/siv"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// Core is the NTS state shared by all NTP workers and the NTS-KE server:
// the current master-key Ring, swapped atomically on rotation or reload.
type Core struct {
	ring atomic.Pointer[Ring]
	rand io.Reader
}

// NewCore returns a Core with ring (nil: every cookie is unknown until
// SetRing). rand is where workers take nonces from (crypto/rand.Reader in
// production; tests pass a deterministic reader).
func NewCore(ring *Ring, rand io.Reader) *Core {
	c := &Core{rand: rand}
	c.ring.Store(ring)
	return c
}

// SetRing replaces the key ring; requests being handled may still use the
// old one.
func (c *Core) SetRing(r *Ring) { c.ring.Store(r) }

// Ring returns the current key ring (nil if none was set).
func (c *Core) Ring() *Ring { return c.ring.Load() }

// ReplyAuth is what a request carries from Verify to Seal: a fixed-size
// value (≈ 200 bytes, keys as arrays), one per reply slot of a worker's
// batch, so the request buffer may be reused in between. The zero value has
// VerdictNone.
type ReplyAuth struct {
	// Verdict is Verify's verdict for the request.
	Verdict  Verdict
	cookies  uint8  // fresh cookies wanted: 1 + placeholders, ≤ MaxCookies
	nonceLen uint8  // reply authenticator nonce: 0 or ReplyNonceLen
	uidLen   uint16 // Unique Identifier body length
	reqLen   uint16 // request length: the reply must not be longer
	keys     [SessionKeysLen]byte
	uid      [MaxUniqueIDLen]byte
}

// Worker is one NTP worker's NTS scratch space: the per-request cipher
// states, a decryption buffer and a batch of random bytes. It is not safe
// for concurrent use: each worker goroutine has its own (Core.NewWorker).
type Worker struct {
	core   *Core
	c2s    siv.Key
	s2c    siv.Key
	req    request
	plain  [MaxRequestPlaintext]byte
	rnd    [rndBatch]byte
	rndOff int
	counts [NumVerdicts]atomic.Uint64
	failed atomic.Uint64 // Seal could not produce a reply (randomness, space)
}

// rndBatch random bytes are read at a time: one read serves ≈ 28 replies
// of 8 cookies (9 × 16 bytes each) instead of a read per reply.
const rndBatch = 4096

// NewWorker returns a worker's scratch space for c.
func (c *Core) NewWorker() *Worker { return &Worker{core: c, rndOff: rndBatch} }

// Counts returns how many requests got each verdict from Verify (safe to
// call from any goroutine), and how many Seal calls failed.
func (w *Worker) Counts() (verdicts [NumVerdicts]uint64, sealFailed uint64) {
	for i := range verdicts {
		verdicts[i] = w.counts[i].Load()
	}
	return verdicts, w.failed.Load()
}

// Verify parses req's NTS extension fields, opens its cookie with the ring
// and checks its authenticator (associated data = the packet up to the
// authenticator field, RFC 8915 §5.6), and fills a for Seal. It returns
// a.Verdict. It never allocates (on the AES-NI path), never panics and only
// reads req.
func (w *Worker) Verify(req []byte, a *ReplyAuth) Verdict {
	v := w.verify(req, a)
	a.Verdict = v
	w.counts[v].Add(1)
	return v
}

func (w *Worker) verify(req []byte, a *ReplyAuth) Verdict {
	a.cookies, a.nonceLen, a.uidLen, a.reqLen = 0, 0, 0, 0
	r := &w.req
	if v := parseRequest(req, r); v != VerdictAuthentic {
		return v
	}
	a.reqLen = uint16(min(len(req), 0xffff))
	a.uidLen = uint16(r.uidLen)
	copy(a.uid[:], req[r.uidOff:r.uidOff+r.uidLen])
	switch err := w.core.Ring().OpenCookie(&a.keys, req[r.cookieOff:r.cookieOff+r.cookieLen]); err {
	case nil:
	case ErrUnknownKey:
		return VerdictNAKUnknownKey
	default:
		return VerdictNAKBadCookie
	}
	w.c2s.Init((*[siv.KeySize]byte)(a.keys[:sessionKeyLen]))
	ok := w.c2s.Open(w.plain[:], req[r.ctOff:r.ctOff+r.ctLen], req[:r.authOff], req[r.nonceOff:r.nonceOff+r.nonceLen])
	if !ok {
		return VerdictBadAuthenticator
	}
	a.cookies = uint8(min(1+r.placeholders, MaxCookies))
	if r.nonceLen > 0 {
		a.nonceLen = ReplyNonceLen
	}
	return VerdictAuthentic
}

// random returns n (≤ rndBatch) fresh random bytes from the worker's batch,
// refilling it from the Core's reader when exhausted.
func (w *Worker) random(n int) ([]byte, bool) {
	if w.rndOff+n > rndBatch {
		if _, err := io.ReadFull(w.core.rand, w.rnd[:]); err != nil {
			return nil, false
		}
		w.rndOff = 0
	}
	b := w.rnd[w.rndOff : w.rndOff+n]
	w.rndOff += n
	return b, true
}

// SealedLen returns the length of the authenticated reply Seal writes after
// an n-byte header for a with k fresh cookies.
func sealedLen(n int, a *ReplyAuth, k int) int {
	return n + efHeaderLen + int(a.uidLen) + authHeaderLen + int(a.nonceLen) + siv.TagSize + k*cookieEFLen
}

// Seal finishes the reply in out[:n] (the NTP header, Transmit already
// written) according to a.Verdict and returns the reply's final length, 0
// if it must not be sent:
//
//   - VerdictNone: n unchanged (a plain NTP reply).
//   - VerdictAuthentic: appends the Unique Identifier echo and an
//     Authenticator and Encrypted Extension Fields field (RFC 8915 §5.7)
//     sealed with the S2C key over out up to it, holding 1 + placeholders
//     fresh cookies (at most MaxCookies) sealed with the ring's current
//     key. The reply is never longer than the request: the placeholders pay
//     for the cookies, and fewer cookies are sent if they would not fit.
//   - a NAK verdict: the NTS NAK (AppendNAK).
//   - anything else: 0.
//
// It never allocates (on the AES-NI path) and never writes past len(out).
func (w *Worker) Seal(out []byte, n int, a *ReplyAuth) int {
	switch {
	case a.Verdict == VerdictNone:
		return n
	case a.Verdict.NAK():
		return AppendNAK(out, n, a)
	case a.Verdict != VerdictAuthentic:
		return 0
	}
	m := w.seal(out, n, a)
	if m == 0 {
		w.failed.Add(1)
	}
	return m
}

func (w *Worker) seal(out []byte, n int, a *ReplyAuth) int {
	limit := min(len(out), int(a.reqLen))
	if n < wire.HeaderLen || n > limit {
		return 0
	}
	k := int(a.cookies)
	for k > 0 && sealedLen(n, a, k) > limit {
		k--
	}
	end := sealedLen(n, a, k)
	if end > limit {
		return 0
	}
	ring := w.core.Ring()
	if ring == nil {
		return 0
	}
	rnd, ok := w.random(int(a.nonceLen) + k*cookieNonce)
	if !ok {
		return 0
	}
	// Unique Identifier echo.
	off := n
	putEFHeader(out[off:], EFUniqueID, efHeaderLen+int(a.uidLen))
	copy(out[off+efHeaderLen:], a.uid[:a.uidLen])
	off += efHeaderLen + int(a.uidLen)
	// Authenticator: nonce length, ciphertext length, nonce, tag ‖ cookies.
	authOff := off
	ctLen := siv.TagSize + k*cookieEFLen
	putEFHeader(out[off:], EFAuthenticator, end-off)
	binary.BigEndian.PutUint16(out[off+4:], uint16(a.nonceLen))
	binary.BigEndian.PutUint16(out[off+6:], uint16(ctLen))
	nonceOff := off + authHeaderLen
	copy(out[nonceOff:nonceOff+int(a.nonceLen)], rnd)
	rnd = rnd[a.nonceLen:]
	ctOff := nonceOff + int(a.nonceLen)
	pt := out[ctOff+siv.TagSize : ctOff+ctLen]
	for i := range k {
		c := pt[i*cookieEFLen:]
		putEFHeader(c, EFCookie, cookieEFLen)
		if ring.SealCookie(c[efHeaderLen:], &a.keys, (*[cookieNonce]byte)(rnd[i*cookieNonce:])) != nil {
			return 0
		}
	}
	w.s2c.Init((*[siv.KeySize]byte)(a.keys[sessionKeyLen:]))
	if _, err := w.s2c.Seal(out[ctOff:ctOff+ctLen], pt, out[:authOff], out[nonceOff:nonceOff+int(a.nonceLen)]); err != nil {
		return 0
	}
	return end
}

// AppendNAK turns the reply header in out[:n] into an NTS NAK (RFC 8915
// §5.7: a Kiss-o'-Death with code NTSN, leap indicator 3, stratum 0) and
// appends the request's Unique Identifier, unauthenticated. It returns the
// length, or 0 if a holds no Unique Identifier or it does not fit (never
// longer than the request).
func AppendNAK(out []byte, n int, a *ReplyAuth) int {
	end := n + efHeaderLen + int(a.uidLen)
	if a.uidLen == 0 || n < wire.HeaderLen || end > min(len(out), int(a.reqLen)) {
		return 0
	}
	_, version, mode := wire.ParseLVM(out[wire.OffLVM])
	out[wire.OffLVM] = wire.LVM(clock.LeapUnsync, version, mode)
	out[wire.OffStratum] = wire.StratumUnspecified
	binary.BigEndian.PutUint32(out[wire.OffRefID:], uint32(wire.KissNTSN))
	putEFHeader(out[n:], EFUniqueID, efHeaderLen+int(a.uidLen))
	copy(out[n+efHeaderLen:], a.uid[:a.uidLen])
	return end
}
