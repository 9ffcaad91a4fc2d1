// Package hostname checks DNS host name syntax for configuration
// validation, shared by config and ntp/upstream so that both accept
// exactly the same names.
//
// It does not resolve names and does not implement IDNA; it checks
// syntax only (RFC 1035 §2.3.4 length limits, with '_' also allowed).
package hostname
