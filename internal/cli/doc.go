// Package cli holds what gnomon's commands (gnomond, gnomonctl) share at
// process level: exit codes and the signal-cancelled context their main
// functions run under.
//
// It does not parse flags or print errors; each command keeps its own
// cobra tree and error classification.
package cli
