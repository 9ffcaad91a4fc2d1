package serve

import (
	"container/heap"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/ptp"
)

// schedule is one sender's timetable: the grants of its socket that send
// (Sync, Announce) in a min-heap by next send time. Adding and taking a
// grant is O(log n), so a pass costs O(due · log n) however many clients
// there are. It belongs to the sender goroutine alone.
type schedule struct {
	h     grantHeap
	fresh []*ptp.Grant // TakeNew's buffer, reused
}

type grantHeap []*ptp.Grant

func (h grantHeap) Len() int           { return len(h) }
func (h grantHeap) Less(i, j int) bool { return h[i].Next.Before(h[j].Next) }
func (h grantHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *grantHeap) Push(x any)        { *h = append(*h, x.(*ptp.Grant)) }
func (h *grantHeap) Pop() any {
	old := *h
	g := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return g
}

// add takes the grants new to socket via and schedules those that send,
// first at now.
func (s *schedule) add(gs *ptp.Grants, via uint16, now time.Time) {
	s.fresh = gs.TakeNew(via, s.fresh[:0])
	for _, g := range s.fresh {
		if g.Type != protocol.MessageSync && g.Type != protocol.MessageAnnounce {
			continue
		}
		g.Next = now
		heap.Push(&s.h, g)
	}
	clear(s.fresh)
}

// due appends the grants due at now to out (ended grants are dropped, and
// expired ones skipped: a renewal may still come before Expire ends them),
// moves each to its next time, and returns out and the next time anything
// is due (zero: nothing scheduled).
func (s *schedule) due(now time.Time, out []*ptp.Grant) ([]*ptp.Grant, time.Time) {
	for len(s.h) > 0 {
		g := s.h[0]
		if g.Ended() {
			heap.Pop(&s.h)
			continue
		}
		if g.Next.After(now) {
			break
		}
		if g.Expires().After(now) {
			out = append(out, g)
		}
		iv := g.Interval()
		g.Next = g.Next.Add(iv)
		if g.Next.Before(now) { // fell behind: no burst to catch up
			g.Next = now.Add(iv)
		}
		heap.Fix(&s.h, 0)
	}
	if len(s.h) == 0 {
		return out, time.Time{}
	}
	return out, s.h[0].Next
}
