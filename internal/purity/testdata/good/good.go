// Package good keeps every rule.
package good

import (
	"net/netip"
	"time"
)

// Since computes, given the time: it reads no clock.
func Since(now, then time.Time) time.Duration { return now.Sub(then) }

// Addr uses net/netip, which is allowed.
func Addr() netip.Addr { return netip.Addr{} }

// comment mentioning time.Now() and go func() is not code.
