// Package dep is a module-local dependency that does I/O.
package dep

import "os"

// Hostname does I/O.
func Hostname() string { h, _ := os.Hostname(); return h }
