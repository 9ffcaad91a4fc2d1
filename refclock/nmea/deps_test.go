package nmea

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

// TestCoreFilesAreSansIO: the parser, Decoder, generator and line splitter
// share a package with the serial shell, so the purity check is per file:
// no I/O imports, no clock reads, no goroutines.
func TestCoreFilesAreSansIO(t *testing.T) {
	forbidden := map[string]bool{"os": true, "syscall": true, "net": true, "unsafe": true, "golang.org/x/sys/unix": true, "log/slog": true}
	clockReads := map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true}
	for _, name := range []string{"sentence.go", "decoder.go", "encode.go", "lines.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); forbidden[p] {
				t.Errorf("%s imports %s", name, p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s starts a goroutine", name)
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "time" && clockReads[n.Sel.Name] {
					t.Errorf("%s calls time.%s", name, n.Sel.Name)
				}
			}
			return true
		})
	}
}
