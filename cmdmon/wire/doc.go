// Package wire is chrony's control protocol (cmdmon, protocol version 6)
// on the wire, defined once for gnomond's control server and gnomonctl's
// client: headers, the padding rule, chrony's 32-bit Float, Timespec,
// IPAddr, and every request and reply body gnomon speaks. Sans-IO: bytes
// in, structs out, and back.
//
// Values are kept in chrony's units and signs (seconds, ppm, local −
// reference); mapping gnomon's reports onto them is the control server's
// job (package cmdmon).
package wire
