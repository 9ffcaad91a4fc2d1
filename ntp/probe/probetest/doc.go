// Package probetest runs in-process NTP servers on loopback for tests of
// ntp/probe and `gnomonctl probe`: the tree's own server core
// (ntp.Server.Respond) behind a minimal UDP loop, answering from a clock
// shifted by a chosen offset with a chosen SyncState, or not at all. It is
// for test code only.
package probetest
