package main

import (
	"log/slog"
	"time"

	"github.com/gnomon-time/gnomon/statuspage"
)

// The status page's chart: the last hour, one sample every 2 s.
const (
	statusWindow   = time.Hour
	statusInterval = 2 * time.Second
)

// statusPage builds the /status handler over the discipline, and the
// sampler that records its chart's history (nil when no discipline runs:
// the page then shows the served state only).
func statusPage(disc *discipline, log *slog.Logger) (*statuspage.Handler, *statuspage.Sampler, error) {
	cfg := statuspage.Config{Served: disc.runner, Interval: statusInterval, Window: statusWindow,
		Version: version(), Log: log}
	if !disc.steered {
		return statuspage.NewHandler(cfg), nil, nil
	}
	hist, err := statuspage.NewHistory(int(statusWindow / statusInterval))
	if err != nil {
		return nil, nil, err
	}
	s, err := statuspage.NewSampler(disc.runner, hist, statusInterval, nil)
	if err != nil {
		return nil, nil, err
	}
	cfg.Discipline, cfg.History = disc.runner, hist
	return statuspage.NewHandler(cfg), s, nil
}
