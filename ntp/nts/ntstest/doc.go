// Package ntstest is a minimal NTS client for tests (RFC 8915 §5.7): it
// seals cookies with a server's Ring as NTS-KE would, builds NTP requests
// with a Unique Identifier, a Cookie, Cookie Placeholders and an
// Authenticator, and opens authenticated replies (Unique Identifier echo,
// S2C-authenticated fresh cookies) and NTS NAKs; Certificate makes the
// self-signed server certificate NTS-KE tests present. It is test support, never
// linked into gnomond; it allocates freely.
package ntstest
