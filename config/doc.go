// Package config is gnomond's configuration: a strict YAML file, the
// embedded default (default.yaml, printed by `gnomond config default`) and
// its validation.
//
// Strictness: every key must be known. Unknown keys are errors that name the
// full key path and the line ("ntp.ratelimt (line 7): unknown key"), and
// Validate reports every problem at once (errors.Join), each naming the key
// path and the offending value, e.g.
//
//	ntp.listen[1]: "1.2.3.4:99999": invalid port
//
// Defaults: a key that a file omits keeps its built-in default. The embedded
// default.yaml spells out every built-in default (a test keeps the two
// equal), so `gnomond config default` is also the reference of defaults.
// The default serves NTP on 127.0.0.1:11123 and [::1]:11123 to loopback
// clients only, on an unprivileged port so that it runs next to a system
// time daemon on port 123, and never adjusts the host clock (nothing in
// gnomond steers a clock yet).
//
// The package only parses and checks. Parse and Validate look at the text
// alone: they open no sockets and read no files other than the one Load is
// given. CheckHost looks at this host without binding anything (network
// interfaces exist, leap.table is readable, ntp.keys_file loads and is
// private); `gnomond validate` and a run
// both call it after Validate, so that validate refuses what a run would
// refuse before its first bind. Interpreting the values (sockets, ACLs,
// clocks) is cmd/gnomond's job.
package config
