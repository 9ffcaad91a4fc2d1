package client

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// RequestLen is the length of the requests Poll builds (a bare NTP header).
const RequestLen = wire.HeaderLen

// Poll limits and burst parameters.
const (
	MinPollLimit = -7 // 1/128 s (chrony allows −7 for LAN sources)
	MaxPollLimit = 17 // 36 h (RFC 5905 MAXPOLL)

	// BurstInterval separates the requests of an iburst or burst, or the
	// poll interval when that is shorter (chrony's "2 seconds or less").
	BurstInterval = 2 * time.Second
	// IBurstCount requests go out BurstInterval apart at start with IBurst.
	IBurstCount = 4
	// BurstCount requests make up one burst (Config.Burst, Source.Burst).
	BurstCount = 4
	// unreachPolls is after how many unanswered polls the poll backs off.
	unreachPolls = 8
)

// Config describes one upstream server association.
type Config struct {
	// MinPoll and MaxPoll bound the poll exponent (log2 s). Defaults 6
	// and 10 (64 s and 1024 s) when both are zero.
	MinPoll, MaxPoll int8
	// IBurst sends the first IBurstCount requests BurstInterval apart
	// (at most the poll interval).
	IBurst bool
	// Burst makes every regular poll a burst of BurstCount requests while
	// the server is reachable.
	Burst bool
	// Version is the NTP version of requests (3 or 4; 0 means 4).
	Version uint8
	// Precision is log2 s of our clock readings (0 means −20, about 1 µs).
	// It floors delay and jitter and adds to the sample dispersion.
	Precision int8
	// Rand supplies the request cookies; nil means crypto/rand.Reader.
	// Tests pass a deterministic reader.
	Rand io.Reader
}

func (c *Config) setDefaults() {
	if c.MinPoll == 0 && c.MaxPoll == 0 {
		c.MinPoll, c.MaxPoll = 6, 10
	}
	if c.Version == 0 {
		c.Version = 4
	}
	if c.Precision == 0 {
		c.Precision = -20
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
}

// Validate reports every invalid field (after defaults are applied).
func (c *Config) Validate() error {
	var errs []error
	if c.MinPoll < MinPollLimit || c.MinPoll > MaxPollLimit {
		errs = append(errs, fmt.Errorf("minpoll %d: must be %d…%d", c.MinPoll, MinPollLimit, MaxPollLimit))
	}
	if c.MaxPoll < MinPollLimit || c.MaxPoll > MaxPollLimit {
		errs = append(errs, fmt.Errorf("maxpoll %d: must be %d…%d", c.MaxPoll, MinPollLimit, MaxPollLimit))
	}
	if c.MinPoll > c.MaxPoll {
		errs = append(errs, fmt.Errorf("minpoll %d > maxpoll %d", c.MinPoll, c.MaxPoll))
	}
	if c.Version < 3 || c.Version > 4 {
		errs = append(errs, fmt.Errorf("version %d: must be 3 or 4", c.Version))
	}
	if c.Precision < -32 || c.Precision > 0 {
		errs = append(errs, fmt.Errorf("precision %d: must be −32…0", c.Precision))
	}
	return errors.Join(errs...)
}

// Stats counts what happened to one association.
type Stats struct {
	Sent     uint64 // requests built by Poll
	Timeouts uint64 // requests still unanswered at the next poll
	// Verdicts counts HandleReply results by Verdict.
	Verdicts [NumVerdicts]uint64
}

// Estimate is what the source currently says about our clock, for
// selection and status displays.
type Estimate struct {
	// Usable: active, and at least one valid sample in the clock filter.
	// It maps to selection.Candidate.Reachable.
	Usable bool
	// The clock filter's choice (RFC 5905 §10): offset = reference −
	// local, round-trip delay, dispersion grown to the evaluation time,
	// jitter, and the local time of the chosen sample.
	Offset     time.Duration
	Delay      time.Duration
	Dispersion time.Duration
	Jitter     time.Duration
	SampleTime time.Time
	Samples    int // valid samples in the filter
	// From the most recent reply that matched a request (not KoD).
	Leap           clock.Leap
	Stratum        uint8
	RefID          uint32
	RootDelay      time.Duration
	RootDispersion time.Duration
	Precision      int8 // the server's, log2 s
	Reference      wire.Time
	// Association state.
	Reach uint8
	Poll  int8
	State State
}

// Source is the client state of one upstream server. It is not safe for
// concurrent use; one goroutine (the engine's) owns it.
type Source struct {
	cfg       Config
	precision time.Duration // 2^cfg.Precision

	state     State
	kiss      string // last kiss code received ("" for none)
	poll      int8   // current poll exponent
	pollFloor int8   // lowest poll allowed: MinPoll, raised by RATE
	reach     uint8
	unanswer  int // consecutive polls without a valid reply

	started   bool
	next      time.Time // next poll
	lastSend  time.Time
	burstLeft int  // requests of the current (i)burst still to send
	noBurst   bool // a RATE kiss disabled Config.Burst until Restart

	pending    bool
	cookie     wire.Time // Transmit field of the outstanding request
	lastCookie wire.Time // cookie of the last answered request
	lastXmt    wire.Time // Transmit of the last accepted reply

	rbuf   [8]byte       // cookie randomness, kept here so reading it does not allocate
	hdr    Estimate      // header fields of the last matched reply
	filter filter.Filter // clock filter of this association
	stats  Stats
}

// New returns a Source for cfg (zero fields take their defaults). The
// first Poll sends a request at once.
func New(cfg Config) (*Source, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ntp client config: %w", err)
	}
	s := &Source{cfg: cfg, precision: wire.Log2Duration(cfg.Precision)}
	s.Restart()
	return s, nil
}

// Restart returns the association to its initial state (after DENY/RSTR
// or a configuration change): empty filter and reachability, poll at
// MinPoll, RATE floor cleared, iburst re-armed, first request due at the
// next Poll. Counters are kept.
func (s *Source) Restart() {
	*s = Source{cfg: s.cfg, precision: s.precision, stats: s.stats}
	s.poll, s.pollFloor = s.cfg.MinPoll, s.cfg.MinPoll
	if s.cfg.IBurst {
		s.burstLeft = IBurstCount
	}
	s.hdr.Leap = clock.LeapUnsync
	s.hdr.Stratum = wire.StratumUnsync
}

// interval returns 2^poll s.
func (s *Source) interval() time.Duration { return wire.Log2Duration(s.poll) }

// Poll is called when the time returned by the previous call has come (or
// earlier: it is idempotent until then). When a request is due it writes
// one into out, records it as outstanding and returns send = true; the
// caller then sends out[:RequestLen]. next is when to call again; it is
// the zero time when the association is demobilised.
func (s *Source) Poll(now time.Time, out *[RequestLen]byte) (send bool, next time.Time) {
	if s.state == StateDemobilised {
		return false, time.Time{}
	}
	if s.started && now.Before(s.next) {
		return false, s.next
	}
	s.started = true
	if s.pending {
		s.stats.Timeouts++
		s.unanswer++
	}
	if s.burstLeft == 0 && s.cfg.Burst && !s.noBurst && s.reach != 0 {
		// Burst mode: a regular poll of a reachable server is a burst.
		s.burstLeft = BurstCount
	}
	s.reach <<= 1
	if s.filter.Len() > 0 && s.reach&0b111 == 0 {
		// The two previous requests went unanswered (RFC 5905 A.5.7.2
		// poll): age the filter with a dummy sample.
		s.filter.AddMissing(now)
	}
	if s.unanswer >= unreachPolls && s.poll < s.cfg.MaxPoll {
		s.poll++
	}

	s.cookie = s.newCookie()
	s.pending = true
	s.lastSend = now
	s.stats.Sent++
	s.writeRequest(out)

	if s.burstLeft > 1 {
		s.burstLeft--
		// chrony: "2 seconds or less": a burst never polls slower than
		// the poll interval (minpoll < 1 with iburst).
		s.next = now.Add(min(BurstInterval, s.interval()))
	} else {
		s.burstLeft = 0
		s.next = now.Add(s.interval())
	}
	return true, s.next
}

// newCookie returns a random, non-zero cookie different from the last two.
func (s *Source) newCookie() wire.Time {
	b := s.rbuf[:]
	for range 16 {
		if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
			break
		}
		c := wire.Time(binary.BigEndian.Uint64(b))
		if c != 0 && c != s.cookie && c != s.lastCookie {
			return c
		}
	}
	// The random source failed or kept repeating (only a broken test
	// reader does that): fall back to a counter so requests still differ.
	c := (s.cookie + 1) | 1
	if c == s.lastCookie {
		c += 2
	}
	return c
}

func (s *Source) writeRequest(out *[RequestLen]byte) {
	*out = [RequestLen]byte{}
	out[wire.OffLVM] = wire.LVM(clock.LeapNone, s.cfg.Version, wire.ModeClient)
	out[wire.OffPoll] = byte(s.poll)
	out[wire.OffPrecision] = byte(wire.PrecisionNotGiven)
	binary.BigEndian.PutUint64(out[wire.OffTransmit:], uint64(s.cookie))
}

// HandleReply processes a packet that arrived from this source's address.
// rx is the local receive time (T4, ideally a kernel timestamp); tx is the
// local transmit time of the outstanding request (T1, a kernel TX
// timestamp), or the zero time to use the time of the Poll call that built
// it. It never panics, whatever reply holds. A new sample goes into the
// clock filter only when the verdict is Accepted; it is also returned.
func (s *Source) HandleReply(reply []byte, rx, tx time.Time) (filter.Sample, Verdict) {
	smp, v := s.handle(reply, rx, tx)
	s.stats.Verdicts[v]++
	return smp, v
}

func (s *Source) handle(b []byte, rx, tx time.Time) (filter.Sample, Verdict) {
	if s.state == StateDemobilised {
		return filter.Sample{}, Demobilised
	}
	if len(b) < RequestLen {
		return filter.Sample{}, Malformed
	}
	h, _ := wire.ParseHeader(b) // cannot fail: b holds a whole header
	if h.Version < 1 || h.Version > 4 {
		return filter.Sample{}, BadVersion
	}
	if h.Mode != wire.ModeServer {
		return filter.Sample{}, BadMode
	}
	org, rcv, xmt := h.Origin, h.Receive, h.Transmit
	switch {
	case s.lastCookie != 0 && org == s.lastCookie:
		return filter.Sample{}, Duplicate
	case !s.pending:
		return filter.Sample{}, NotExpected
	case org != s.cookie:
		return filter.Sample{}, BogusOrigin
	}
	if h.Stratum == wire.StratumUnspecified {
		s.consume()
		return filter.Sample{}, s.kissOfDeath(wire.KissCode(h.RefID))
	}
	t1 := tx
	if t1.IsZero() {
		t1 = s.lastSend
	}
	if rcv == 0 || xmt == 0 || xmt.Diff(rcv) < 0 || rx.Before(t1) {
		// Not consumed: a genuine reply may still come.
		return filter.Sample{}, BadTimestamps
	}
	if xmt == s.lastXmt {
		return filter.Sample{}, Duplicate
	}
	s.consume()
	s.reach |= 1
	s.hdr.Leap = h.Leap
	s.hdr.Stratum = h.Stratum
	s.hdr.RefID = h.RefID
	s.hdr.Precision = h.Precision
	s.hdr.RootDelay = wire.ShortDuration(h.RootDelay)
	s.hdr.RootDispersion = wire.ShortDuration(h.RootDispersion)
	s.hdr.Reference = h.Reference
	if s.unanswer >= unreachPolls {
		// Reachable again after backing off: return to the floor.
		s.poll = s.pollFloor
	}
	s.unanswer = 0
	if h.Leap == clock.LeapUnsync || h.Stratum > wire.MaxStratum {
		return filter.Sample{}, Unsynchronised
	}
	if s.hdr.RootDelay/2+s.hdr.RootDispersion >= filter.MaxDispersion ||
		s.hdr.Reference != 0 && xmt.Diff(s.hdr.Reference) < 0 {
		return filter.Sample{}, BadHeader
	}
	s.lastXmt = xmt

	t1n, t4n := wire.TimeFromTime(t1), wire.TimeFromTime(rx)
	// θ = ((T2 − T1) + (T3 − T4)) / 2, halving each term first so that the
	// sum cannot overflow; the two dropped low bits add back exactly.
	a, c := rcv.Diff(t1n), xmt.Diff(t4n)
	theta := a>>1 + c>>1 + (a&1+c&1)>>1
	// δ = (T4 − T1) − (T3 − T2)
	delta := (t4n.Diff(t1n) - xmt.Diff(rcv)).Duration()
	delta = max(delta, s.precision)
	rtt := rx.Sub(t1)
	smp := filter.Sample{
		Time:       rx,
		Offset:     theta.Duration(),
		Delay:      delta,
		Dispersion: wire.Log2Duration(s.hdr.Precision) + s.precision + time.Duration(filter.PHI*float64(rtt)),
	}
	if smp.Dispersion >= filter.MaxDispersion {
		// A precision field of 2^4 s or worse: nonsense, and a sample the
		// filter would treat as missing anyway.
		return filter.Sample{}, BadHeader
	}
	s.filter.Add(smp)
	return smp, Accepted
}

// consume marks the outstanding request as answered.
func (s *Source) consume() {
	s.pending = false
	s.lastCookie = s.cookie
}

// kissOfDeath acts on a KoD (RFC 5905 §7.4) that matched our cookie.
func (s *Source) kissOfDeath(code wire.KissCode) Verdict {
	s.kiss = code.String()
	switch code {
	case wire.KissRATE:
		// Slow down for good: raise the floor one step above the current
		// poll, cancel bursts, and move the next poll out accordingly.
		s.pollFloor = min(max(s.poll, s.pollFloor)+1, s.cfg.MaxPoll)
		s.poll = max(s.poll, s.pollFloor)
		s.burstLeft = 0
		s.noBurst = true
		s.next = s.lastSend.Add(s.interval())
		return KoDRate
	case wire.KissDENY, wire.KissRSTR:
		s.state = StateDemobilised
		s.pending = false
		s.burstLeft = 0
		s.next = time.Time{}
		return KoDDeny
	}
	return KoDOther
}

// Estimate evaluates the clock filter at now.
func (s *Source) Estimate(now time.Time) Estimate {
	e := s.hdr
	e.Reach, e.Poll, e.State = s.reach, s.poll, s.state
	r := s.filter.Evaluate(now, s.precision)
	if r.OK {
		e.Offset, e.Delay, e.SampleTime = r.Best.Offset, r.Best.Delay, r.Best.Time
		e.Dispersion, e.Jitter, e.Samples = r.Dispersion, r.Jitter, r.Valid
	} else {
		e.Dispersion = r.Dispersion
	}
	e.Usable = r.OK && s.state == StateActive
	return e
}

// SetPoll sets the poll exponent, clamped to [floor, MaxPoll] where the
// floor is MinPoll raised by any RATE kiss. A shorter interval brings the
// next poll forward. It returns the exponent in effect.
func (s *Source) SetPoll(poll int8) int8 {
	s.poll = max(s.pollFloor, min(s.cfg.MaxPoll, poll))
	if s.started && s.state == StateActive && s.burstLeft == 0 {
		if n := s.lastSend.Add(s.interval()); n.Before(s.next) {
			s.next = n
		}
	}
	return s.poll
}

// Burst sends n requests BurstInterval apart starting at the next Poll call
// (chronyc burst). It does nothing when demobilised.
func (s *Source) Burst(n int) {
	if s.state == StateDemobilised || n <= 0 {
		return
	}
	s.burstLeft = n
	s.started = false // due at once
}

// Reach returns the 8-bit reachability register (bit 0 = last poll).
func (s *Source) Reach() uint8 { return s.reach }

// ReachOctal formats the register the way chronyc does (377, 17, 0).
func (s *Source) ReachOctal() string { return fmt.Sprintf("%o", s.reach) }

// PollExponent returns the current poll exponent (log2 s).
func (s *Source) PollExponent() int8 { return s.poll }

// NextPoll returns when Poll next wants to send (zero when demobilised or
// before the first Poll).
func (s *Source) NextPoll() time.Time { return s.next }

// State returns Active or Demobilised.
func (s *Source) State() State { return s.state }

// KissCode returns the last kiss code received ("RATE", "DENY"), or "".
func (s *Source) KissCode() string { return s.kiss }

// Stats returns a copy of the counters.
func (s *Source) Stats() Stats { return s.stats }
