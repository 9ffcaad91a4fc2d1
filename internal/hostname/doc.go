// Package hostname checks DNS host name syntax and splits configured
// server addresses into host and port: the one parser shared by config,
// ntp/upstream and the source layer, so that all accept exactly the same
// addresses.
//
// It does not resolve names and does not implement IDNA; it checks
// syntax only (RFC 1035 §2.3.4 length limits, with '_' also allowed).
package hostname
