package privdrop

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrCgo says a capability change could not reach every thread: the binary
// was built with cgo, where syscall.AllThreadsSyscall is not available.
var ErrCgo = errors.New("capabilities are per thread and this binary was built with cgo, where they cannot be changed on every thread: build with CGO_ENABLED=0")

// Target is the user to become.
type Target struct {
	// Switch is false to stay the current user: only capabilities are
	// cut down.
	Switch bool
	// UID and GID to run as (real, effective, saved); no supplementary
	// groups.
	UID, GID int
}

// Result is what Drop did.
type Result struct {
	// Before and After are read from /proc/self/status.
	Before, After Creds
	// Missing are planned capabilities the process did not hold (a
	// systemd CapabilityBoundingSet or setpriv removed them): the part of
	// the configuration that needs them will fail.
	Missing Set
	// Switched is true when the user changed.
	Switched bool
	// Notes say what could not be done and why (not errors).
	Notes []string
}

// Drop switches to t and keeps only p.Keep (those of them the process
// holds), in every thread. Call it once every socket, device and file the
// process keeps is open, and before it starts goroutines that depend on
// the outcome. On error the process may be half-way: the caller should
// exit.
func Drop(t Target, p Plan) (Result, error) {
	var r Result
	before, err := readSelf()
	if err != nil {
		return r, err
	}
	r.Before = before
	keep := p.Keep & before.Prm
	r.Missing = p.Keep &^ before.Prm
	switching := t.Switch && (!AllIDs(before.UID, t.UID) || !AllIDs(before.GID, t.GID) || len(before.Groups) > 0)
	if switching && !before.Eff.Has(CapSetuid) {
		return r, fmt.Errorf("switch to uid %d: needs root (CAP_SETUID, CAP_SETGID); running as uid %d", t.UID, before.UID[1])
	}
	allThreads := probeAllThreads()
	if !allThreads {
		// cgo: only the set*id calls reach every thread (glibc
		// broadcasts them). Switching from root without KEEPCAPS makes
		// the kernel clear every capability of every thread.
		if switching && keep == 0 && before.UID[0] == 0 && before.UID[1] == 0 && before.UID[2] == 0 {
			if err := setIDs(t); err != nil {
				return r, err
			}
			r.Switched = true
			r.Notes = append(r.Notes, "cgo build: bounding set and no_new_privs left as they were")
			return r, r.verify(keep)
		}
		if switching || before.Prm&^keep != 0 {
			return r, ErrCgo
		}
		return r, nil
	}
	if switching {
		if err := allPrctl(unix.PR_SET_KEEPCAPS, 1); err != nil {
			return r, fmt.Errorf("prctl PR_SET_KEEPCAPS: %w", err)
		}
	}
	// The bounding set first: PR_CAPBSET_DROP needs CAP_SETPCAP in the
	// effective set, which the uid switch clears.
	if drop := before.Bnd &^ keep; drop != 0 {
		if before.Eff.Has(CapSetpcap) {
			for _, c := range drop.Caps() {
				if err := allPrctl(unix.PR_CAPBSET_DROP, uintptr(c)); err != nil && !errors.Is(err, unix.EINVAL) {
					return r, fmt.Errorf("prctl PR_CAPBSET_DROP %s: %w", c, err)
				}
			}
		} else {
			r.Notes = append(r.Notes, "bounding set kept: no cap_setpcap")
		}
	}
	if switching {
		if err := setIDs(t); err != nil {
			return r, err
		}
		r.Switched = true
	}
	if err := allCapset(keep); err != nil {
		return r, fmt.Errorf("capset permitted=effective=%s: %w", keep, err)
	}
	if switching {
		if err := allPrctl(unix.PR_SET_KEEPCAPS, 0); err != nil {
			return r, fmt.Errorf("prctl PR_SET_KEEPCAPS 0: %w", err)
		}
	}
	if _, _, e := syscall.AllThreadsSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); e != 0 {
		return r, fmt.Errorf("prctl PR_SET_NO_NEW_PRIVS: %w", e)
	}
	return r, r.verify(keep)
}

// verify reads the credentials back and compares them with the plan.
func (r *Result) verify(keep Set) error {
	after, err := readSelf()
	if err != nil {
		return err
	}
	r.After = after
	if after.Eff != keep || after.Prm != keep {
		return fmt.Errorf("after the drop CapEff %s CapPrm %s, want %s", after.Eff, after.Prm, keep)
	}
	if after.Amb != 0 {
		return fmt.Errorf("after the drop CapAmb %s, want none", after.Amb)
	}
	return nil
}

// setIDs drops supplementary groups, then sets gid and uid. Package
// syscall runs each on every thread.
func setIDs(t Target) error {
	if err := unix.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := unix.Setresgid(t.GID, t.GID, t.GID); err != nil {
		return fmt.Errorf("setresgid %d: %w", t.GID, err)
	}
	if err := unix.Setresuid(t.UID, t.UID, t.UID); err != nil {
		return fmt.Errorf("setresuid %d: %w", t.UID, err)
	}
	return nil
}

// probeAllThreads reports whether syscall.AllThreadsSyscall works (it
// returns ENOTSUP in a cgo build).
func probeAllThreads() bool {
	_, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_GET_KEEPCAPS, 0, 0)
	return e != syscall.ENOTSUP
}

func allPrctl(option int, arg uintptr) error {
	if _, _, e := syscall.AllThreadsSyscall6(unix.SYS_PRCTL, uintptr(option), arg, 0, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// allCapset sets permitted = effective = s and inheritable = none on every
// thread (capability version 3: two 32-bit words).
func allCapset(s Set) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(s), Permitted: uint32(s)},
		{Effective: uint32(s >> 32), Permitted: uint32(s >> 32)},
	}
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return e
	}
	return nil
}

func readSelf() (Creds, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return Creds{}, fmt.Errorf("read credentials: %w", err)
	}
	c, err := ParseStatus(b)
	if err != nil {
		return Creds{}, fmt.Errorf("/proc/self/status: %w", err)
	}
	return c, nil
}
