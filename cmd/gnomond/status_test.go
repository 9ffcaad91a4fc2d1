package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/config"
)

// With clock.mode none no discipline runs: no sampler, and the page shows
// what is served and says so. With virtual the sampler records the
// discipline's tracking and the page has the chart.
func TestStatusPageModes(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tt := range []struct {
		mode    string
		sampler bool
		want    []string
	}{
		{config.ClockNone, false, []string{"No discipline runs", `id="served-stratum">7<`}},
		{config.ClockVirtual, true, []string{`id="sync-mode"`, "<svg", `data-samples="1"`}},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			cfg := config.Default()
			cfg.Clock.Mode = tt.mode
			cfg.Sources = []config.Source{{Local: &config.LocalSource{Stratum: 7}}}
			disc, err := buildDiscipline(cfg, new(clock.StateCell), log, 0)
			if err != nil {
				t.Fatal(err)
			}
			h, s, err := statusPage(disc, log)
			if err != nil {
				t.Fatal(err)
			}
			if (s != nil) != tt.sampler {
				t.Fatalf("sampler %v, want %v", s != nil, tt.sampler)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- disc.runner.Run(ctx) }()
			defer func() { cancel(); <-done }()
			// Wait (bounded) for the engine's first snapshot, then sample once.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if _, ok := disc.runner.Served(); ok {
					if _, ok := disc.runner.Tracking(); ok || !tt.sampler {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatal("no report within 5 s")
				}
			}
			if s != nil {
				s.Sample()
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/status", nil))
			for _, w := range tt.want {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
}
