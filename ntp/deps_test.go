package ntp

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportsNoIO checks with `go list -deps` that ntp and every gnomon
// package under it import nothing that does I/O, and that neither net nor
// golang.org/x/sys is anywhere in the dependency graph. (fmt depends on os
// and syscall inside the standard library; that is not the core doing I/O.)
func TestImportsNoIO(t *testing.T) {
	// Forbidden for ntp and every gnomon package it depends on (STYLE.md §1).
	forbidden := map[string]bool{
		"net": true, "os": true, "os/exec": true, "os/signal": true, "syscall": true, "unsafe": true,
		"net/http": true, "golang.org/x/sys/unix": true, "golang.org/x/net/ipv4": true, "golang.org/x/net/ipv6": true,
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go binary not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}|{{join .Imports \",\"}}",
		"github.com/gnomon-time/gnomon/ntp").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var gnomon []string
	for line := range strings.Lines(string(out)) {
		path, imports, _ := strings.Cut(strings.TrimSpace(line), "|")
		if path == "net" || strings.HasPrefix(path, "golang.org/x/sys") {
			t.Errorf("%s is in the dependency graph of ntp", path)
		}
		if !strings.HasPrefix(path, "github.com/gnomon-time/gnomon/") {
			continue
		}
		gnomon = append(gnomon, path)
		for imp := range strings.SplitSeq(imports, ",") {
			if forbidden[imp] {
				t.Errorf("%s imports %s", path, imp)
			}
		}
	}
	if len(gnomon) == 0 {
		t.Fatal("go list returned no gnomon packages")
	}
	t.Logf("gnomon packages checked: %v", gnomon)
}

// TestNoClockReadsOrGoroutines parses the package's non-test sources and
// rejects time.Now, time.Since, time.Until and go statements: time comes in
// as arguments, goroutines belong to the shell.
func TestNoClockReadsOrGoroutines(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "time" {
					switch n.Sel.Name {
					case "Now", "Since", "Until", "Sleep", "NewTimer", "NewTicker", "After", "AfterFunc", "Tick":
						t.Errorf("%s: time.%s", fset.Position(n.Pos()), n.Sel.Name)
					}
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
