package upstream

import (
	"sync"
	"time"

	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/ntp/client"
)

// Cache is a Sink that keeps every source's latest Estimate for readers on
// other goroutines (the engine evaluating its sources at selection time,
// status displays) and forwards each event to the next Sink. The client
// cores belong to Run's goroutine and must not be read elsewhere; Cache is
// the safe way to ask "what does source X say now". It does not allocate
// per event.
type Cache struct {
	next Sink
	mu   sync.Mutex
	ent  map[string]*cacheEntry // fixed at construction; values guarded by mu
}

type cacheEntry struct {
	ok   bool
	at   time.Time // local time the estimate was evaluated at
	e    client.Estimate
	last filter.Sample // the latest accepted sample (zero Time: none)
}

// NewCache returns a Cache for the given source IDs (ServerConfig.ID of
// every server) forwarding to next (nil: nowhere). Events of other IDs are
// only forwarded.
func NewCache(ids []string, next Sink) *Cache {
	if next == nil {
		next = nopSink{}
	}
	c := &Cache{next: next, ent: make(map[string]*cacheEntry, len(ids))}
	for _, id := range ids {
		c.ent[id] = &cacheEntry{}
	}
	return c
}

// OnSample implements Sink: the estimate was evaluated at s.Time.
func (c *Cache) OnSample(id string, s filter.Sample, e client.Estimate) {
	if x := c.ent[id]; x != nil {
		c.mu.Lock()
		x.last = s
		c.mu.Unlock()
	}
	c.store(id, s.Time, &e)
	c.next.OnSample(id, s, e)
}

// LastSample returns source id's latest accepted sample, as measured (not
// aged), and false before the first or for an unknown id.
func (c *Cache) LastSample(id string) (filter.Sample, bool) {
	x := c.ent[id]
	if x == nil {
		return filter.Sample{}, false
	}
	c.mu.Lock()
	s := x.last
	c.mu.Unlock()
	return s, !s.Time.IsZero()
}

// OnState implements Sink.
func (c *Cache) OnState(id string, at time.Time, e client.Estimate) {
	c.store(id, at, &e)
	c.next.OnState(id, at, e)
}

func (c *Cache) store(id string, at time.Time, e *client.Estimate) {
	x := c.ent[id] // the map itself is never written after NewCache
	if x == nil {
		return
	}
	c.mu.Lock()
	x.ok, x.at, x.e = true, at, *e
	c.mu.Unlock()
}

// Estimate returns source id's latest estimate aged to now (see Age), and
// false if the source has reported nothing yet or id is unknown. An
// estimate reported before anything was learnt has Usable false.
func (c *Cache) Estimate(id string, now time.Time) (client.Estimate, bool) {
	x := c.ent[id]
	if x == nil {
		return client.Estimate{}, false
	}
	c.mu.Lock()
	ok, at, e := x.ok, x.at, x.e
	c.mu.Unlock()
	if !ok {
		return client.Estimate{}, false
	}
	return Age(e, at, now), true
}
