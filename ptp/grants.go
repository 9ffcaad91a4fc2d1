package ptp

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facebook/time/ptp/protocol"
)

// Limits bound what unicast negotiation grants. A request past a limit is
// denied with a zero-duration GRANT, as ptp4u does.
type Limits struct {
	// MaxClients is the most clients (address + port identity) holding
	// grants at once; a new client past it is denied.
	MaxClients int
	// MinLogInterval is the smallest logInterMessagePeriod granted per
	// message type (index: Announce, Sync, Delay_Resp); a request for a
	// faster rate is denied.
	MinLogAnnounce, MinLogSync, MinLogDelayResp int8
	// MaxLogInterval is the slowest period granted (ptp4l denies beyond
	// 2^30 s).
	MaxLogInterval int8
	// MaxDuration is the longest grant; a request for longer is denied
	// (ptp4u's maxsubduration).
	MaxDuration time.Duration
}

// DefaultLimits are ptp4u's defaults widened to G.8275.2's rates: 128 Hz
// Sync and Delay_Resp, 8 Hz Announce, grants of up to an hour, 10 000
// clients.
func DefaultLimits() Limits {
	return Limits{MaxClients: 10000, MinLogAnnounce: -3, MinLogSync: -7, MinLogDelayResp: -7, MaxLogInterval: 30,
		MaxDuration: time.Hour}
}

// Client identifies a negotiating client: the address its Signaling came
// from, its port identity, and Via, the server socket that took the
// negotiation (opaque here; ptp/serve numbers its listen addresses, and
// only that address's sender sends the grant's messages).
type Client struct {
	Addr netip.AddrPort
	Port protocol.PortIdentity
	Via  uint16
}

// EventAddr is where the client's event messages (Sync) go: port 319 of
// its address when it negotiates from 320, else the port it negotiates
// from.
func (c Client) EventAddr() netip.AddrPort {
	if c.Addr.Port() == GeneralPort {
		return netip.AddrPortFrom(c.Addr.Addr(), EventPort)
	}
	return c.Addr
}

// Grant is one unicast grant: a message type sent to a client at a period
// until it expires. Client, Type and LogInterval never change; a renewal
// moves Expires. Seq and Next belong to the one scheduler that sends this
// grant's messages (ptp/serve), which alone reads and writes them.
type Grant struct {
	Client      Client
	Type        protocol.MessageType
	LogInterval int8
	// Expires is the expiry in Unix nanoseconds on the server's clock.
	expires atomic.Int64
	// ended is set when the grant leaves the table (cancelled, expired or
	// replaced by one with another period).
	ended atomic.Bool

	// Scheduler-owned.
	Seq  uint16
	Next time.Time
}

// Ended reports whether the grant has left the table; its scheduler then
// drops it.
func (g *Grant) Ended() bool { return g.ended.Load() }

// Expires is when the grant ends.
func (g *Grant) Expires() time.Time { return time.Unix(0, g.expires.Load()) }

// Interval is the grant's period.
func (g *Grant) Interval() time.Duration { return logDuration(g.LogInterval) }

func logDuration(l int8) time.Duration {
	if l >= 0 {
		return time.Second << uint(min(l, 32))
	}
	return time.Second >> uint(min(-int(l), 32))
}

type grantKey struct {
	client Client
	typ    protocol.MessageType
}

// Grants is the unicast grant table. The negotiation path (Request,
// Cancel, Expire) writes it under a mutex. The send path never takes that
// mutex per message: each sender takes the grants new to its socket once
// per pass (TakeNew) and keeps them in its own schedule, reading a grant's
// expiry and end through atomics. Snapshot (status, metrics) is rebuilt
// lazily after a change.
type Grants struct {
	limits Limits

	mu      sync.Mutex
	grants  map[grantKey]*Grant
	clients map[Client]int      // grants per client
	pending map[uint16][]*Grant // new grants by Via, not yet taken by their sender
	dirty   atomic.Bool         // the snapshot is stale

	snap atomic.Pointer[[]*Grant]
}

// NewGrants returns an empty table.
func NewGrants(l Limits) *Grants {
	g := &Grants{limits: l, grants: make(map[grantKey]*Grant), clients: make(map[Client]int), pending: make(map[uint16][]*Grant)}
	empty := []*Grant{}
	g.snap.Store(&empty)
	return g
}

// Snapshot returns the grants in force (sorted by client and type; callers
// must not modify it). Expired grants stay until the next Expire. It is
// rebuilt after a change, on the first call.
func (g *Grants) Snapshot() []*Grant {
	if g.dirty.Load() {
		g.mu.Lock()
		if g.dirty.Load() {
			g.publish()
			g.dirty.Store(false)
		}
		g.mu.Unlock()
	}
	return *g.snap.Load()
}

// TakeNew appends the grants added for socket via since the last call to
// buf and returns it; each new grant is handed out once.
func (g *Grants) TakeNew(via uint16, buf []*Grant) []*Grant {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.pending[via]
	if len(p) == 0 {
		return buf
	}
	buf = append(buf, p...)
	clear(p)
	g.pending[via] = p[:0]
	return buf
}

// Clients is the number of clients holding grants.
func (g *Grants) Clients() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.clients)
}

// Decision is the answer to one REQUEST_UNICAST_TRANSMISSION TLV.
type Decision struct {
	Type        protocol.MessageType
	LogInterval int8
	Duration    uint32 // seconds; 0 = denied
	Renewed     bool   // an existing grant was extended
	Reason      DenyReason
}

// DenyReason says why a request was denied (metric label).
type DenyReason uint8

const (
	DenyNone DenyReason = iota
	DenyType
	DenyInterval
	DenyDuration
	DenyClients
	NumDenyReasons int = iota
)

var denyNames = [NumDenyReasons]string{"none", "message_type", "interval", "duration", "clients"}

func (r DenyReason) String() string {
	if int(r) < NumDenyReasons {
		return denyNames[r]
	}
	return "unknown"
}

// Request decides one REQUEST_UNICAST_TRANSMISSION at now and, when
// granted, adds or renews the grant. A request for the period of an
// existing grant extends it (the scheduler keeps its sequence); a new
// period replaces it.
func (g *Grants) Request(c Client, t protocol.MessageType, logInterval int8, duration uint32, now time.Time) Decision {
	d := Decision{Type: t, LogInterval: logInterval}
	var minLog int8
	switch t {
	case protocol.MessageAnnounce:
		minLog = g.limits.MinLogAnnounce
	case protocol.MessageSync:
		minLog = g.limits.MinLogSync
	case protocol.MessageDelayResp:
		minLog = g.limits.MinLogDelayResp
	default:
		d.Reason = DenyType
		return d
	}
	switch {
	case logInterval < minLog || logInterval > g.limits.MaxLogInterval:
		d.Reason = DenyInterval
		return d
	case duration == 0 || time.Duration(duration)*time.Second > g.limits.MaxDuration:
		d.Reason = DenyDuration
		return d
	}
	expires := now.Add(time.Duration(duration) * time.Second).UnixNano()
	g.mu.Lock()
	defer g.mu.Unlock()
	k := grantKey{c, t}
	if old, ok := g.grants[k]; ok && old.LogInterval == logInterval {
		old.expires.Store(expires)
		d.Duration, d.Renewed = duration, true
		return d
	}
	_, known := g.clients[c]
	if !known && len(g.clients) >= g.limits.MaxClients {
		d.Reason = DenyClients
		return d
	}
	ng := &Grant{Client: c, Type: t, LogInterval: logInterval}
	ng.expires.Store(expires)
	if old, ok := g.grants[k]; ok {
		old.ended.Store(true)
	} else {
		g.clients[c]++
	}
	g.grants[k] = ng
	g.pending[c.Via] = append(g.pending[c.Via], ng)
	g.dirty.Store(true)
	d.Duration = duration
	return d
}

// Cancel ends the client's grant of type t (CANCEL_UNICAST_TRANSMISSION);
// false when it held none.
func (g *Grants) Cancel(c Client, t protocol.MessageType) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := grantKey{c, t}
	if _, ok := g.grants[k]; !ok {
		return false
	}
	g.remove(k)
	g.dirty.Store(true)
	return true
}

// Expire removes the grants expired at now and returns how many.
func (g *Grants) Expire(now time.Time) int {
	n := now.UnixNano()
	g.mu.Lock()
	defer g.mu.Unlock()
	removed := 0
	for k, gr := range g.grants {
		if gr.expires.Load() <= n {
			g.remove(k)
			removed++
		}
	}
	if removed > 0 {
		g.dirty.Store(true)
	}
	return removed
}

// Holds reports whether c holds an unexpired grant of type t at now.
func (g *Grants) Holds(c Client, t protocol.MessageType, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr, ok := g.grants[grantKey{c, t}]
	return ok && gr.expires.Load() > now.UnixNano()
}

func (g *Grants) remove(k grantKey) {
	g.grants[k].ended.Store(true)
	delete(g.grants, k)
	if g.clients[k.client]--; g.clients[k.client] <= 0 {
		delete(g.clients, k.client)
	}
}

// publish stores a new snapshot; g.mu is held.
func (g *Grants) publish() {
	s := make([]*Grant, 0, len(g.grants))
	for _, gr := range g.grants {
		s = append(s, gr)
	}
	slices.SortFunc(s, func(a, b *Grant) int {
		if c := a.Client.Addr.Compare(b.Client.Addr); c != 0 {
			return c
		}
		if c := a.Client.Port.Compare(b.Client.Port); c != 0 {
			return c
		}
		return int(a.Type) - int(b.Type)
	})
	g.snap.Store(&s)
}
