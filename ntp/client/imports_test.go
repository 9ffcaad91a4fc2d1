package client

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSansIO checks mechanically that the core stays free of I/O: no
// forbidden imports, no goroutines, no reading of the clock.
func TestSansIO(t *testing.T) {
	forbidden := map[string]bool{"net": true, "os": true, "syscall": true, "golang.org/x/sys/unix": true,
		"unsafe": true, "os/exec": true, "net/http": true}
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if forbidden[p] {
				t.Errorf("%s imports %s", name, p)
			}
		}
		for _, bad := range []string{"time.Now(", "time.Since(", "time.Sleep(", "go func", "time.After("} {
			if strings.Contains(string(src), bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}
