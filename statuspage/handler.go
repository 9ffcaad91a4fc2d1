package statuspage

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gnomon-time/gnomon/report"
)

// Served is what the servers send; source.Runner implements it.
type Served interface {
	// Served is the published state now; ok is false while nothing is
	// published.
	Served() (r report.Served, ok bool)
}

// Discipline is the discipline's reports; source.Runner implements it.
type Discipline interface {
	Tracker
	// Sources are the sources' rows, with the poller's counters if it
	// answers before ctx ends.
	Sources(ctx context.Context) []report.Source
}

// sourcesTimeout bounds the round trip to the poller per page.
const sourcesTimeout = time.Second

// Config is what the handler reads at each request.
type Config struct {
	Served Served
	// Discipline is nil when no discipline runs (clock.mode none); so are
	// Sampler and History then.
	Discipline Discipline
	History    *History
	// Interval is the sampler's interval; Window the chart's span.
	Interval time.Duration
	Window   time.Duration
	Version  string
	// Log gets render errors (the client got a 500).
	Log *slog.Logger
}

// Handler serves the status page: GET and HEAD; any other method gets 405
// with "Allow: GET, HEAD".
type Handler struct{ cfg Config }

// NewHandler returns the page's handler over cfg.
func NewHandler(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg}
}

// Page gathers the reports for one page.
func (h *Handler) Page(ctx context.Context) Page {
	p := Page{Version: h.cfg.Version, Interval: h.cfg.Interval, Window: h.cfg.Window}
	if h.cfg.Served != nil {
		p.Served, p.ServedOK = h.cfg.Served.Served()
		p.Now = p.Served.At
	}
	if d := h.cfg.Discipline; d != nil {
		p.Disciplined = true
		p.Tracking, p.TrackingOK = d.Tracking()
		if p.TrackingOK {
			if p.Now.IsZero() {
				p.Now = p.Tracking.At
			}
			sctx, cancel := context.WithTimeout(ctx, sourcesTimeout)
			p.Sources = d.Sources(sctx)
			cancel()
		}
		if h.cfg.History != nil {
			p.History, p.HistorySize = h.cfg.History.Points(), h.cfg.History.Size()
		}
	}
	return p
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var buf bytes.Buffer
	if err := Render(&buf, h.Page(r.Context())); err != nil {
		h.cfg.Log.Warn("status page", "error", err.Error())
		http.Error(w, "status page failed", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	// Nothing but the page itself and its inline style: no script, no
	// external asset.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(buf.Bytes())
}
