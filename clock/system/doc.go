// Package system is the Linux system clock (CLOCK_REALTIME). For now it is
// read-only: gnomond serves it as it is. Steering it (clock_adjtime) arrives
// with the discipline engine and only on explicit request in the
// configuration.
package system
