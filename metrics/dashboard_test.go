package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// dashboardPath is the Grafana dashboard docs/operations.md points to.
var dashboardPath = filepath.Join("..", "docs", "grafana", "gnomon.json")

// describedNames are the names of every metric the collector describes:
// what gnomond exposes of its own.
func describedNames(t *testing.T) []string {
	t.Helper()
	ch := make(chan *prometheus.Desc, 128)
	NewCollector(Sources{}).Describe(ch)
	close(ch)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	var names []string
	for d := range ch {
		m := fqName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no fqName in %s", d)
		}
		names = append(names, m[1])
	}
	return names
}

// The parts of PromQL that are not metric names.
var (
	promStrings  = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promMatchers = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promToken    = regexp.MustCompile(`[0-9][0-9a-zA-Z.+\-]*|[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
		"group_left", "group_right", "inf", "nan", "Inf", "NaN"}
)

// promMetricNames returns the metric names a PromQL expression selects:
// identifiers outside strings, label matchers, ranges and grouping
// clauses that are neither functions (followed by "(") nor keywords.
func promMetricNames(expr string) []string {
	e := promStrings.ReplaceAllString(expr, " ")
	e = promMatchers.ReplaceAllString(e, " ")
	e = promGrouping.ReplaceAllString(e, " ")
	var names []string
	for _, loc := range promToken.FindAllStringIndex(e, -1) {
		tok := e[loc[0]:loc[1]]
		if tok[0] >= '0' && tok[0] <= '9' || slices.Contains(promKeywords, tok) {
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(e[loc[1]:], " \t\n"), "(") {
			continue // a function or an aggregation
		}
		names = append(names, tok)
	}
	return names
}

func TestPromMetricNames(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want []string
	}{
		{`gnomon_sync_stratum`, []string{"gnomon_sync_stratum"}},
		{`sum by (instance, verdict) (rate(gnomon_ntp_requests_total{instance=~"$instance", verdict!="x"}[$__rate_interval]))`,
			[]string{"gnomon_ntp_requests_total"}},
		{`gnomon_clock_frequency_adjustment_ratio{instance=~"$instance"} * 1e6`, []string{"gnomon_clock_frequency_adjustment_ratio"}},
		{`a / on(instance) group_left(mode) b offset 5m > bool 0`, []string{"a", "b"}},
		{`label_values(gnomon_build_info, instance)`, []string{"gnomon_build_info", "instance"}},
		{`increase(nonesuch_total[$__range]) == 1`, []string{"nonesuch_total"}},
	} {
		if diff := cmp.Diff(tt.want, promMetricNames(tt.expr)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.expr, diff)
		}
	}
}

// The dashboard's shape: what Grafana needs to import it.
type grafanaDashboard struct {
	UID           string         `json:"uid"`
	Title         string         `json:"title"`
	SchemaVersion int            `json:"schemaVersion"`
	Panels        []grafanaPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type grafanaPanel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // a collapsed row's
}

// The dashboard is JSON of Grafana's dashboard shape, every metric any
// panel (or the instance variable) selects is one the collector describes,
// and it charts what docs/operations.md says it does.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 30 || len(d.Panels) == 0 {
		t.Fatalf("not a dashboard: uid %q title %q schemaVersion %d, %d panels", d.UID, d.Title, d.SchemaVersion,
			len(d.Panels))
	}
	exposed := describedNames(t)
	used := map[string]bool{}
	check := func(where, expr string) {
		names := promMetricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: %q selects no metric", where, expr)
		}
		for _, n := range names {
			used[n] = true
			if !slices.Contains(exposed, n) {
				t.Errorf("%s: %q uses %s, which gnomond does not expose", where, expr, n)
			}
		}
	}
	panels := d.Panels
	for _, p := range d.Panels {
		panels = append(panels, p.Panels...)
	}
	ids := map[int]bool{}
	for _, p := range panels {
		where := p.Title
		if p.Title == "" || p.ID <= 0 || ids[p.ID] {
			t.Errorf("panel %d %q: needs a title and a unique positive id", p.ID, p.Title)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			t.Errorf("%s: gridPos %+v outside Grafana's 24 columns", where, g)
		}
		if p.Type == "row" {
			continue
		}
		if !slices.Contains([]string{"timeseries", "stat", "gauge", "table", "state-timeline", "bargauge"}, p.Type) {
			t.Errorf("%s: panel type %q", where, p.Type)
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" {
			t.Errorf("%s: no prometheus datasource", where)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no queries", where)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("%s: refId %q empty or repeated", where, tg.RefID)
			}
			refs[tg.RefID] = true
			check(where, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			var s string
			if err := json.Unmarshal(v.Query, &s); err != nil {
				t.Fatalf("variable %s: query %s", v.Name, v.Query)
			}
			q.Query = s
		}
		m := regexp.MustCompile(`^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*),\s*[a-zA-Z_]+\)$`).FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q.Query)
			continue
		}
		check("variable "+v.Name, m[1])
	}
	// What the dashboard is for (docs/operations.md lists its panels).
	for _, n := range []string{"gnomon_clock_offset_seconds", "gnomon_clock_frequency_adjustment_ratio",
		"gnomon_clock_error_bound_seconds", "gnomon_sync_root_delay_seconds", "gnomon_sync_root_dispersion_seconds",
		"gnomon_ntp_requests_total", "gnomon_source_offset_seconds", "gnomon_source_jitter_seconds"} {
		if !used[n] {
			t.Errorf("no panel charts %s", n)
		}
	}
}
