package serve

import (
	"net/netip"
	"sync"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ptp"
)

// mcast is one trio's multicast schedule (Config.Multicast, a trio on an
// unspecified address); its sender goroutine alone reads and writes it.
type mcast struct {
	group             netip.Addr
	syncSeq, annSeq   uint16
	nextSync, nextAnn time.Time
}

// newMcast returns the schedule of a trio on a, nil when a receives no
// multicast (a unicast address) or multicast is off.
func (s *Service) newMcast(a netip.Addr) *mcast {
	if !s.cfg.Multicast || !a.IsUnspecified() {
		return nil
	}
	return &mcast{group: ptp.Group(a.Is6())}
}

// groups is what the trio's receiving sockets join.
func (m *mcast) groups() []netip.Addr {
	if m == nil {
		return nil
	}
	return []netip.Addr{m.group}
}

// due reports whether *next has come at now and moves it one interval on
// (from now if the sender fell behind: no burst to catch up).
func due(next *time.Time, iv time.Duration, now time.Time) bool {
	if next.IsZero() {
		*next = now
	}
	if now.Before(*next) {
		return false
	}
	if *next = next.Add(iv); next.Before(now) {
		*next = now.Add(iv)
	}
	return true
}

// multicastDue sends the trio's multicast Sync (then its Follow_Up) and
// Announce when due, and returns when the next one is.
func (s *Service) multicastDue(t *trio, now time.Time, q ptp.Quality, syncs, gen []hwts.Message, pend []pendingSync) (time.Time, error) {
	m := t.mc
	toEvent := netip.AddrPortFrom(m.group, s.cfg.EventPort)
	toGeneral := netip.AddrPortFrom(m.group, s.cfg.GeneralPort)
	if due(&m.nextSync, s.cfg.Server.MulticastInterval(protocol.MessageSync), now) {
		m.syncSeq++
		sm := &syncs[0]
		sm.N = s.cfg.Server.AppendMulticastSync(sm.Buf, m.syncSeq, now, q.UTCOffset)
		sm.Addr = toEvent
		pend[0] = pendingSync{to: toGeneral, seq: m.syncSeq, mcast: true}
		if err := s.syncBatch(t, syncs[:1], gen, pend[:1], q); err != nil {
			return time.Time{}, err
		}
	}
	if due(&m.nextAnn, s.cfg.Server.MulticastInterval(protocol.MessageAnnounce), now) {
		m.annSeq++
		g := &gen[0]
		g.N = s.cfg.Server.AppendMulticastAnnounce(g.Buf, q, m.annSeq, now)
		g.Addr = toGeneral
		if err := s.sendGeneral(t, gen[:1], sentAnnounce); err != nil {
			return time.Time{}, err
		}
	}
	next := now.Add(maxSleep)
	for _, n := range []time.Time{m.nextSync, m.nextAnn} {
		if n.Before(next) {
			next = n
		}
	}
	return next, nil
}

// foreignLog remembers the foreign masters already logged (at most
// maxForeignLogged; later ones are only counted).
type foreignLog struct {
	mu   sync.Mutex
	seen map[protocol.PortIdentity]struct{}
}

const maxForeignLogged = 64

// noteForeign counts another master's Announce and logs each new sender
// once: a grandmaster-only server notes it and obeys nothing.
func (s *Service) noteForeign(f ptp.ForeignAnnounce, from netip.AddrPort) {
	s.ctr.foreignAnnounces.Add(1)
	s.foreign.mu.Lock()
	defer s.foreign.mu.Unlock()
	if _, ok := s.foreign.seen[f.Source]; ok || len(s.foreign.seen) >= maxForeignLogged {
		return
	}
	if s.foreign.seen == nil {
		s.foreign.seen = make(map[protocol.PortIdentity]struct{})
	}
	s.foreign.seen[f.Source] = struct{}{}
	s.log.Warn("foreign PTP master announces; noted, not obeyed", "from", from.String(),
		"source_port_identity", f.Source.String(), "grandmaster_identity", f.Grandmaster.String(),
		"priority1", f.Priority1, "clock_class", f.ClockClass, "priority2", f.Priority2, "steps_removed", f.StepsRemoved)
}
