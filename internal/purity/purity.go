package purity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Rules are what one package promises. The zero value checks nothing.
type Rules struct {
	// Imports are import paths that the package may not import directly.
	Imports []string
	// ModuleDeps extends Imports to every package of the same module that
	// the package depends on, directly or not.
	ModuleDeps bool
	// Absent are import paths, or path prefixes ending in "/...", that may
	// not appear anywhere in the dependency graph, standard library
	// included.
	Absent []string
	// ModuleOnly, when not nil, is an allowlist: the only packages of the
	// package's own module that may be in its dependency graph (the
	// package itself aside). Unlike Absent it keeps holding when a
	// forbidden package moves or a new one appears.
	ModuleOnly []string
	// Funcs are package-qualified identifiers, as "time.Now", that the
	// package's non-test sources may not reference (whatever name the
	// package is imported under).
	Funcs []string
	// NoGo rejects go statements in the package's non-test sources.
	NoGo bool
}

// Check runs Problems for pkg (an import path or a relative path such as
// ".", resolved in the test's working directory) and reports each problem
// as a test error. It skips the test when the go tool is not on PATH and
// fails it when the package cannot be listed.
func Check(t testing.TB, pkg string, r Rules) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not in PATH: %v", err)
	}
	problems, err := Problems(goTool, pkg, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// listed is the part of `go list -json` output Problems needs.
type listed struct {
	ImportPath     string
	Dir            string
	Standard       bool
	Imports        []string
	GoFiles        []string
	CgoFiles       []string
	IgnoredGoFiles []string
	Module         *struct{ Path string }
	Error          *struct{ Err string }
	DepsErrors     []*struct{ Err string }
}

// Problems lists every way pkg breaks r, one message per problem naming the
// package, file or import. goTool is the path of the go command. The error
// is for a package that cannot be listed or parsed, not for a broken rule.
func Problems(goTool, pkg string, r Rules) ([]string, error) {
	out, err := exec.Command(goTool, "list", "-deps", "-json", "--", pkg).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("go list %s: %w\n%s", pkg, err, ee.Stderr)
		}
		return nil, fmt.Errorf("go list %s: %w", pkg, err)
	}
	var pkgs []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list %s: decoding: %w", pkg, err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list %s: %s: %s", pkg, p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("go list %s: no packages", pkg)
	}
	// -deps lists dependencies first: the package itself comes last.
	self := pkgs[len(pkgs)-1]
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	for _, p := range pkgs {
		for _, a := range r.Absent {
			if prefix, ok := strings.CutSuffix(a, "/..."); ok && (p.ImportPath == prefix || strings.HasPrefix(p.ImportPath, prefix+"/")) ||
				p.ImportPath == a {
				bad("%s is in the dependency graph of %s (rule: absent %s)", p.ImportPath, self.ImportPath, a)
			}
		}
		if r.ModuleOnly != nil && p.ImportPath != self.ImportPath && sameModule(p, self) &&
			!slices.Contains(r.ModuleOnly, p.ImportPath) {
			bad("%s is in the dependency graph of %s (rule: only %s from its module)",
				p.ImportPath, self.ImportPath, strings.Join(r.ModuleOnly, ", "))
		}
		// The package itself: its files are checked below.
		dep := p.ImportPath != self.ImportPath &&
			r.ModuleDeps && sameModule(p, self)
		if !dep {
			continue
		}
		for _, imp := range p.Imports {
			if slices.Contains(r.Imports, imp) {
				bad("%s imports %s", p.ImportPath, imp)
			}
		}
	}

	// The package's own sources, including files for other platforms
	// (IgnoredGoFiles), which go list's Imports does not cover.
	files := slices.Concat(self.GoFiles, self.CgoFiles, self.IgnoredGoFiles)
	fset := token.NewFileSet()
	for _, name := range files {
		path := filepath.Join(self.Dir, name)
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		problems = append(problems, checkFile(fset, f, self.ImportPath, r)...)
	}
	return problems, nil
}

// sameModule reports whether p is a non-standard package of self's module.
func sameModule(p, self listed) bool {
	return !p.Standard && p.Module != nil && self.Module != nil && p.Module.Path == self.Module.Path
}

// checkFile applies the source rules to one parsed file.
func checkFile(fset *token.FileSet, f *ast.File, pkgPath string, r Rules) []string {
	var problems []string
	// Local name → import path, for the file's imports.
	local := make(map[string]string, len(f.Imports))
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		if slices.Contains(r.Imports, p) {
			problems = append(problems, fmt.Sprintf("%s: %s imports %s", fset.Position(imp.Pos()), pkgPath, p))
		}
		local[localName(imp, p)] = p
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			if r.NoGo {
				problems = append(problems, fmt.Sprintf("%s: go statement", fset.Position(n.Pos())))
			}
		case *ast.SelectorExpr:
			id, ok := n.X.(*ast.Ident)
			if !ok {
				break
			}
			if p, ok := local[id.Name]; ok && slices.Contains(r.Funcs, p+"."+n.Sel.Name) {
				problems = append(problems, fmt.Sprintf("%s: %s.%s", fset.Position(n.Pos()), p, n.Sel.Name))
			}
		}
		return true
	})
	return problems
}

// localName is the name a file refers to an import by: its explicit name,
// else the last path element, skipping a major-version suffix ("v2").
func localName(imp *ast.ImportSpec, path string) string {
	if imp.Name != nil {
		return imp.Name.Name
	}
	elems := strings.Split(path, "/")
	n := elems[len(elems)-1]
	if len(elems) > 1 && len(n) > 1 && n[0] == 'v' && strings.Trim(n[1:], "0123456789") == "" {
		n = elems[len(elems)-2]
	}
	return n
}

// SansIO is the rule set of the sans-IO cores that take time and packets as
// arguments (clock/selection, ntp/client): no network, OS, syscall or
// unsafe imports, no clock reads or sleeps, no goroutines. It returns a new
// value each time, so callers may extend it.
func SansIO() Rules {
	return Rules{
		Imports: []string{"net", "os", "syscall", "golang.org/x/sys/unix", "unsafe", "os/exec", "net/http"},
		Funcs:   []string{"time.Now", "time.Since", "time.Sleep", "time.After"},
		NoGo:    true,
	}
}

// NoIOGraph is the import rule of the NTP server's cores (ntp, ntp/symkey,
// ntp/nts): neither the package nor any gnomon package it depends on
// imports the network, the OS, syscalls or unsafe, and neither net nor
// golang.org/x/sys is anywhere in the dependency graph (STYLE.md §1). It
// returns a new value each time, so callers may extend it.
func NoIOGraph() Rules {
	return Rules{
		Imports: []string{"net", "os", "os/exec", "os/signal", "syscall", "unsafe", "net/http",
			"golang.org/x/sys/unix", "golang.org/x/net/ipv4", "golang.org/x/net/ipv6"},
		ModuleDeps: true,
		Absent:     []string{"net", "golang.org/x/sys/..."},
	}
}

// NoClockReads rejects every way of reading or waiting on the clock
// (time.Now, Since, Until, Sleep, timers, tickers) and go statements in a
// package's non-test sources: time comes in as arguments, goroutines
// belong to the shell.
func NoClockReads() Rules {
	return Rules{
		Funcs: []string{"time.Now", "time.Since", "time.Until", "time.Sleep", "time.NewTimer",
			"time.NewTicker", "time.After", "time.AfterFunc", "time.Tick"},
		NoGo: true,
	}
}
