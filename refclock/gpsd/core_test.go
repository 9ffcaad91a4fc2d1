package gpsd

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
)

// TestCoreIsSansIO: the protocol core (proto.go, split.go, backoff.go)
// imports nothing that does I/O, reads no clock and starts no goroutine;
// only client.go is the shell. (The package is one unit for its callers,
// so purity.Check, which works on whole packages, cannot tell them apart.)
func TestCoreIsSansIO(t *testing.T) {
	allowed := []string{"bytes", "encoding/json", "errors", "fmt", "strconv", "strings", "time",
		"github.com/gnomon-time/gnomon/refclock"}
	banned := map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "NewTimer": true,
		"NewTicker": true, "After": true, "AfterFunc": true, "Tick": true}
	for _, file := range []string{"proto.go", "split.go", "backoff.go"} {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !slices.Contains(allowed, path) {
				t.Errorf("%s imports %s", file, path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement at %v", file, fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "time" && banned[n.Sel.Name] {
					t.Errorf("%s: time.%s at %v", file, n.Sel.Name, fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
}
