package purity

import (
	"go/ast"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const td = "github.com/gnomon-time/gnomon/internal/purity/testdata/"

// strict is every kind of rule at once.
var strict = Rules{
	Imports:    []string{"net", "os", "syscall"},
	ModuleDeps: true,
	Absent:     []string{"net", "golang.org/x/sys/..."},
	Funcs:      []string{"time.Now", "time.Sleep"},
	NoGo:       true,
}

func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	return p
}

func TestProblems(t *testing.T) {
	gt := goTool(t)
	tests := []struct {
		name  string
		pkg   string
		rules Rules
		want  []string // one substring per expected problem, in order
	}{
		{"good", td + "good", strict, nil},
		{"zero rules", td + "bad", Rules{}, nil},
		{"bad", td + "bad", strict, []string{
			"dep imports os",                  // module dependency, via go list
			"bad.go:6:2: ", "imports syscall", // own file
			"bad.go:13:30: ", "time.Now", // aliased import
			"bad.go:16:24: ", "go statement",
			"other_windows.go:3:8: ", "imports os", // file for another platform
		}},
		{"direct only", td + "bad", Rules{Imports: []string{"os", "syscall"}}, []string{
			"imports syscall", "other_windows.go:3:8: ", "imports os",
		}},
		{"absent", td + "bad", Rules{Absent: []string{"os", "github.com/gnomon-time/gnomon/internal/..."}}, []string{
			"os is in the dependency graph", "testdata/dep is in the", "testdata/bad is in the",
		}},
		{"module only", td + "bad", Rules{ModuleOnly: []string{}}, []string{"testdata/dep is in the dependency graph"}},
		{"module only allowed", td + "bad", Rules{ModuleOnly: []string{td + "dep"}}, nil},
		{"funcs only", td + "bad", Rules{Funcs: []string{"time.Now"}}, []string{"time.Now"}},
		{"sansio good", td + "good", SansIO(), nil},
		{"sansio bad", td + "bad", SansIO(), []string{
			"bad.go:6:2: ", "imports syscall", "bad.go:13:30: ", "time.Now", "bad.go:16:24: ", "go statement",
			"other_windows.go:3:8: ", "imports os",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Problems(gt, tt.pkg, tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(got, "\n")
			// Every expected substring, in order, and no problem unaccounted for.
			rest := joined
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("problems lack %q (in order):\n%s", w, joined)
				}
				rest = rest[i+len(w):]
			}
			if n := countProblems(tt.want); len(got) != n {
				t.Errorf("%d problems, want %d:\n%s", len(got), n, joined)
			}
		})
	}
}

// countProblems: expected substrings ending in ": " start a problem
// whose message continues in the next substring.
func countProblems(want []string) int {
	n := 0
	for _, w := range want {
		if !strings.HasSuffix(w, ": ") {
			n++
		}
	}
	return n
}

func TestProblemsErrors(t *testing.T) {
	gt := goTool(t)
	for _, pkg := range []string{td + "missing", "./no/such/dir"} {
		if _, err := Problems(gt, pkg, strict); err == nil {
			t.Errorf("%s: no error", pkg)
		}
	}
}

func TestLocalName(t *testing.T) {
	got := []string{}
	for _, p := range []string{"time", "math/rand/v2", "golang.org/x/sys/unix", "v2"} {
		got = append(got, localName(&ast.ImportSpec{}, p))
	}
	if d := cmp.Diff([]string{"time", "rand", "unix", "v2"}, got); d != "" {
		t.Error(d)
	}
}
