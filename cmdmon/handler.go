package cmdmon

import (
	"context"
	"net/netip"
	"sync/atomic"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
	"github.com/gnomon-time/gnomon/report"
)

// Access is the transport a request arrived on.
type Access uint8

const (
	// AccessNetwork: a UDP socket (chronyd's cmdport). Only the read-only
	// commands chrony opens to the network are served; the rest get
	// "501 Not authorised".
	AccessNetwork Access = iota
	// AccessSocket: the Unix datagram socket, whose file mode and group
	// decide who may use it. Every command is served.
	AccessSocket
)

// Discipline is what the control protocol reads of, and asks of, one
// discipline (source.Runner implements it). Every method is safe from any
// goroutine; ctx bounds the ones that talk to other goroutines.
type Discipline interface {
	Tracking() (report.Tracking, bool)
	Sources(ctx context.Context) []report.Source
	SourceStats() []report.SourceStats
	SelectData() []report.SelectData
	NTPData(ctx context.Context) []report.NTPData
	// Burst asks the sources with an address in prefix (all, when prefix
	// is invalid) for n requests at short intervals; it returns how many.
	Burst(ctx context.Context, prefix netip.Prefix, n int) (int, error)
	MakeStep(ctx context.Context) error
	ResetSources(ctx context.Context) error
}

// Reference is a second discipline whose sources the control protocol
// lists after the served clock's: the engine steering the disciplined PHC
// of the phc section from its GNSS receiver (source.Runner implements
// it). chrony has one clock and lists its reference clocks among its
// sources with mode '#'; the reference's rows are refclocks too, each in
// its own engine's selection state (so the GNSS receiver is '*' when the
// PHC's engine has selected it, while the served clock's system peer is
// the PHC that follows it). It is read-only: burst, makestep and reset
// sources act on the served clock's discipline only.
type Reference interface {
	Sources(ctx context.Context) []report.Source
	SourceStats() []report.SourceStats
	SelectData() []report.SelectData
}

// Server is what the control protocol reads of the NTP server (package
// ntp/serve's Service with its client log). nil when no server runs.
type Server interface {
	ServerStats() report.ServerStats
	// Clients returns up to limit records of the client log from index
	// first on, skipping those with fewer than minHits requests.
	Clients(first, limit int, minHits uint32) report.ClientPage
}

// Config wires a Handler.
type Config struct {
	Discipline Discipline
	// Reference may be nil (no phc section): its sources follow the
	// discipline's in sources, sourcestats, selectdata and activity.
	Reference Reference
	// Server may be nil (serverstats then counts commands only, clients
	// is empty).
	Server Server
	// Reload re-reads the configuration (chronyc reload sources; the same
	// as SIGHUP). nil: the command fails.
	Reload func(ctx context.Context) error
}

// Handler answers control requests. Handle is safe for concurrent use.
type Handler struct {
	cfg Config
	// Counters: requests that got a reply, requests dropped without one,
	// and requests by verdict.
	hits, drops atomic.Uint64
	verdicts    [NumVerdicts]atomic.Uint64
}

// New returns a Handler over cfg; cfg.Discipline must be set.
func New(cfg Config) *Handler {
	return &Handler{cfg: cfg}
}

// Stats are the Handler's counters (chronyc serverstats' "Command packets
// received/dropped").
type Stats struct {
	Received, Dropped uint64
}

// Stats returns the counters.
func (h *Handler) Stats() Stats {
	return Stats{Received: h.hits.Load() + h.drops.Load(), Dropped: h.drops.Load()}
}

var _ = wire.Version

// Drop counts a request the shell dropped before Handle (a network
// request from an address not allowed).
func (h *Handler) Drop() {
	h.drops.Add(1)
	h.verdicts[DroppedAddress].Add(1)
}

// ControlStats returns the requests by verdict (gnomon_control_requests_total).
func (h *Handler) ControlStats() report.ControlStats {
	st := report.ControlStats{Requests: make([]report.VerdictCount, NumVerdicts)}
	for v := range NumVerdicts {
		st.Requests[v] = report.VerdictCount{Verdict: v.String(), Count: h.verdicts[v].Load()}
	}
	return st
}

// The source lists the control protocol indexes: the served clock's
// discipline's rows, then the reference's. Indexes of the discipline's
// rows do not depend on the reference (unresolved names keep their
// ID#N).

func (h *Handler) sources(ctx context.Context) []report.Source {
	rows := h.cfg.Discipline.Sources(ctx)
	if h.cfg.Reference != nil {
		rows = append(rows[:len(rows):len(rows)], h.cfg.Reference.Sources(ctx)...)
	}
	return rows
}

func (h *Handler) sourceStats() []report.SourceStats {
	rows := h.cfg.Discipline.SourceStats()
	if h.cfg.Reference != nil {
		rows = append(rows[:len(rows):len(rows)], h.cfg.Reference.SourceStats()...)
	}
	return rows
}

func (h *Handler) selectData() []report.SelectData {
	rows := h.cfg.Discipline.SelectData()
	if h.cfg.Reference != nil {
		rows = append(rows[:len(rows):len(rows)], h.cfg.Reference.SelectData()...)
	}
	return rows
}
