package metrics

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Every metric the collector describes appears in one of the golden
// expositions (golden, goldenDiscipline, goldenReference), so a change to any name, help
// string, label or value shows up as a golden diff.
func TestGoldensCoverEveryMetric(t *testing.T) {
	described := describedNames(t)
	var covered []string
	for _, g := range []string{golden, goldenDiscipline, goldenReference} {
		for _, l := range strings.Split(g, "\n") {
			if n, ok := strings.CutPrefix(l, "# TYPE "); ok {
				covered = append(covered, strings.Fields(n)[0])
			}
		}
	}
	for _, n := range described {
		if !slices.Contains(covered, n) {
			t.Errorf("%s is described but in no golden exposition", n)
		}
	}
	for _, n := range covered {
		if !slices.Contains(described, n) {
			t.Errorf("%s is in a golden exposition but not described", n)
		}
	}
}

// A poller that does not answer in time costs the poll counters of that
// scrape only: the sources' gauges and the clock's metrics are still
// exported.
func TestDisciplineWithoutSourceCounters(t *testing.T) {
	d := disciplineFixture()
	for i := range d.sources {
		d.sources[i].PollsKnown = false
	}
	c := NewCollector(Sources{Discipline: d})
	if got := testutil.CollectAndCount(c, "gnomon_source_polls_total", "gnomon_source_timeouts_total"); got != 0 {
		t.Errorf("%d poll counter series without counters, want 0", got)
	}
	if got := testutil.CollectAndCount(c, "gnomon_source_reach_register"); got != 2 {
		t.Errorf("%d reach series, want 2", got)
	}
	if got := testutil.CollectAndCount(c, "gnomon_clock_error_bound_seconds", "gnomon_clock_offset_seconds"); got != 2 {
		t.Errorf("%d clock series, want 2", got)
	}
}
