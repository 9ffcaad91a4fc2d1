// Package purity checks mechanically, from tests, that a package keeps its
// promises about what it depends on and does: the sans-IO cores (ntp,
// ntp/wire, ntp/client, ntp/clientlog, clock/selection, clock/filter) must
// not import net, os, syscall and the like, must not read the clock and
// must not start goroutines; time and I/O belong to the shells around them.
// It also checks layering by allowlist (Rules.ModuleOnly): metrics may
// depend on report and clock and on nothing else of gnomon. Its own test
// TestArchitectureImports keeps docs/architecture.md's import block true.
//
// It uses `go list -deps -json` for the dependency graph (so it sees what
// the build sees) and go/parser for the package's own sources. It does not
// check the standard library's internal use of os or syscall (fmt imports
// os; that is not the core doing I/O), nor test files, nor code reached
// through interfaces or function values at run time.
package purity
