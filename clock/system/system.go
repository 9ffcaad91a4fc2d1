package system

import "time"

// Clock reads CLOCK_REALTIME.
type Clock struct{}

// Now reads the system clock without a monotonic reading.
func (Clock) Now() time.Time { return time.Now().Round(0) }

// FromRealtime is the identity: kernel timestamps are already on this clock.
func (Clock) FromRealtime(t time.Time) time.Time { return t }
