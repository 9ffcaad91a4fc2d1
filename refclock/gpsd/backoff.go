package gpsd

import "time"

// Backoff is the reconnect delay: Min after the first failure, doubling
// per further failure up to Max, back to Min after Reset (a good session).
// Pure: it never reads a clock.
type Backoff struct {
	Min, Max time.Duration
	next     time.Duration
}

// Next returns the delay before the next attempt and doubles the one after.
func (b *Backoff) Next() time.Duration {
	if b.next < b.Min {
		b.next = b.Min
	}
	d := min(b.next, b.Max)
	if b.next < b.Max {
		b.next *= 2
	}
	return d
}

// Reset makes the next delay Min again.
func (b *Backoff) Reset() { b.next = 0 }
