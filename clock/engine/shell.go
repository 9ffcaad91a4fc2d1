package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gnomon-time/gnomon/ntp/client"
)

// Packet is a datagram received from an upstream server.
type Packet struct {
	// Source is the index AddServer returned for the server it came from.
	Source int
	Data   []byte
	// RX is the local receive time, a reading of the engine's clock (a
	// kernel timestamp converted with clock.Served.FromRealtime when the
	// engine steers a virtual clock).
	RX time.Time
}

// Transport moves NTP packets for the shell: the sockets, DNS and kernel
// timestamps live behind it. Send may be called only from the shell's
// goroutine; Replies is read only by it.
type Transport interface {
	// Send transmits req to server id and returns the local transmit time
	// (a reading of the engine's clock, ideally from a kernel TX
	// timestamp), or the zero time to use the time of the poll.
	Send(id int, req []byte) (tx time.Time, err error)
	// Replies delivers received packets.
	Replies() <-chan Packet
}

// Shell is the thin I/O loop around an Engine and its NTP client
// associations: one goroutine (Run) owns both, polls each server when its
// association says so, hands replies to the association and accepted
// samples to the engine, and ticks the engine. Timers run on the real
// (monotonic) clock; due times are readings of the engine's clock.
type Shell struct {
	e    *Engine
	tr   Transport
	log  *slog.Logger
	srcs []*client.Source
	tx   []time.Time     // per source: local transmit time of the outstanding request
	txSt []time.Duration // per source: Engine.Stepped when it was sent
	// SendErrors counts failed sends (logged at Debug: a dead network
	// would otherwise log once per poll).
	SendErrors uint64
}

// NewShell returns a shell for e over tr; log may be nil.
func NewShell(e *Engine, tr Transport, log *slog.Logger) (*Shell, error) {
	if e == nil || tr == nil {
		return nil, errors.New("engine shell: nil engine or transport")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Shell{e: e, tr: tr, log: log}, nil
}

// AddServer creates a client association for an upstream server and
// registers it with the engine. Call it before Run.
func (s *Shell) AddServer(sc SourceConfig, cfg client.Config) (int, error) {
	src, err := client.New(cfg)
	if err != nil {
		return 0, fmt.Errorf("engine shell: server %s: %w", sc.ID, err)
	}
	id, err := s.e.AddSource(sc, NTPSource{Src: src})
	if err != nil {
		return 0, err
	}
	if id != len(s.srcs) {
		return 0, fmt.Errorf("engine shell: server %s: engine has sources the shell does not own", sc.ID)
	}
	s.srcs = append(s.srcs, src)
	s.tx = append(s.tx, time.Time{})
	s.txSt = append(s.txSt, 0)
	return id, nil
}

// Run polls, receives and ticks until ctx ends (then it returns nil) or
// the engine fails to steer the clock.
func (s *Shell) Run(ctx context.Context) error {
	clk := s.e.clk
	tickAt, err := s.e.Tick()
	if err != nil {
		return err
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	var buf [client.RequestLen]byte
	for {
		now := clk.Now()
		// Poll every due association, then sleep until the next due time.
		next := tickAt
		for i, src := range s.srcs {
			if src.State() == client.StateDemobilised {
				continue
			}
			due := src.NextPoll()
			if due.IsZero() || !now.Before(due) {
				send, n := src.Poll(now, &buf)
				if send {
					tx, err := s.tr.Send(i, buf[:])
					if err != nil {
						s.SendErrors++
						s.log.Debug("send ntp request", slog.Int("source", i), slog.Any("error", err))
					}
					if tx.IsZero() {
						tx = now
					}
					s.tx[i], s.txSt[i] = tx, s.e.Stepped()
				}
				due = n
			}
			if !due.IsZero() && due.Before(next) {
				next = due
			}
		}
		timer.Reset(max(0, next.Sub(now)))
		select {
		case <-ctx.Done():
			return nil
		case p, ok := <-s.tr.Replies():
			if !ok {
				return errors.New("engine shell: transport closed its reply channel")
			}
			if p.Source < 0 || p.Source >= len(s.srcs) {
				continue
			}
			// A step between request and reply moved the clock under
			// T1: move T1 with it, or the sample is off by half the step.
			tx := s.tx[p.Source].Add(s.e.Stepped() - s.txSt[p.Source])
			smp, v := s.srcs[p.Source].HandleReply(p.Data, p.RX, tx)
			if v == client.Accepted {
				if err := s.e.Sample(p.Source, SampleFromNTP(smp)); err != nil {
					return err
				}
			}
		case <-timer.C:
		}
		if !clk.Now().Before(tickAt) {
			if tickAt, err = s.e.Tick(); err != nil {
				return err
			}
		}
	}
}
