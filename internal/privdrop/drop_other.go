//go:build !linux

package privdrop

import "errors"

// ErrCgo is Linux's; elsewhere Drop is not supported at all.
var ErrCgo = errors.New("privdrop: not supported on this system")

// Target is the user to become.
type Target struct {
	Switch   bool
	UID, GID int
}

// Result is what Drop did.
type Result struct {
	Before, After Creds
	Missing       Set
	Switched      bool
	Notes         []string
}

// Drop is Linux only.
func Drop(Target, Plan) (Result, error) {
	return Result{}, errors.New("privdrop: dropping privileges is implemented for Linux only")
}
