package purity

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// expandBraces expands "clock/{a,b}" into clock/a and clock/b.
func expandBraces(s string) []string {
	i, j := strings.Index(s, "{"), strings.Index(s, "}")
	if i < 0 || j < i {
		return []string{s}
	}
	var out []string
	for _, p := range strings.Split(s[i+1:j], ",") {
		out = append(out, s[:i]+strings.TrimSpace(p)+s[j+1:])
	}
	return out
}

// architectureImports parses the "who imports whom" block of
// docs/architecture.md: lines "pkg ─► a, b/{c,d}" (continuation lines start
// with spaces) into package → imports.
func architectureImports(doc string) map[string][]string {
	const marker = "Arrows point one way"
	i := strings.Index(doc, marker)
	if i < 0 {
		return nil
	}
	block := doc[i:]
	a := strings.Index(block, "```\n")
	if a < 0 {
		return nil
	}
	block = block[a+4:]
	block = block[:strings.Index(block, "```")]
	out := map[string][]string{}
	var cur []string
	for _, l := range strings.Split(block, "\n") {
		rhs := l
		if k := strings.Index(l, "─►"); k >= 0 && !strings.HasPrefix(l, " ") {
			cur = expandBraces(strings.TrimSpace(l[:k]))
			rhs = l[k+len("─►"):]
		} else if !strings.HasPrefix(l, " ") {
			cur = nil
			continue
		}
		if k := strings.Index(rhs, "("); k >= 0 {
			rhs = rhs[:k]
		}
		for _, f := range splitTop(rhs) {
			for _, p := range expandBraces(strings.TrimSpace(f)) {
				if p == "" {
					continue
				}
				for _, c := range cur {
					out[c] = append(out[c], p)
				}
			}
		}
	}
	return out
}

// splitTop splits s at commas outside braces.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func TestArchitectureBlockParse(t *testing.T) {
	doc := "Arrows point one way:\n\n```\nx ─► a, b/{c,d}\n      e\nclock/{p,q} ─► clock\nfloor: the floor\n```\n"
	got := architectureImports(doc)
	if !slices.Equal(got["x"], []string{"a", "b/c", "b/d", "e"}) || !slices.Equal(got["clock/q"], []string{"clock"}) || len(got) != 3 {
		t.Errorf("parsed %v", got)
	}
}

// TestArchitectureImports checks that docs/architecture.md's import block
// says exactly what each listed package imports of gnomon.
func TestArchitectureImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not in PATH: %v", err)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := architectureImports(string(b))
	if len(doc) < 10 {
		t.Fatalf("docs/architecture.md: import block not found or too short: %v", doc)
	}
	const mod = "github.com/gnomon-time/gnomon/"
	for pkg, want := range doc {
		out, err := exec.Command(goTool, "list", "-f", `{{join .Imports "\n"}}`, mod+pkg).Output()
		if err != nil {
			t.Errorf("go list %s: %v", pkg, err)
			continue
		}
		var got []string
		for _, imp := range strings.Fields(string(out)) {
			if strings.HasPrefix(imp, mod) {
				got = append(got, strings.TrimPrefix(imp, mod))
			}
		}
		slices.Sort(got)
		w := slices.Clone(want)
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("docs/architecture.md says %s imports %v; it imports %v", pkg, w, got)
		}
	}
}
