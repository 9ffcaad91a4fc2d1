// Package symkey is NTP's symmetric-key authentication (RFC 5905 §7.3,
// RFC 8573): chrony's key file format and the MAC algorithms, sans-IO.
//
// # Key file
//
// Parse reads chrony's keyfile format (chrony.conf(5) "keyfile"): one key a
// line, `ID [TYPE] KEY`, where ID is a decimal uint32, TYPE one of MD5 (the
// default), SHA1, SHA256, SHA384, SHA512, SHA3-224, SHA3-256, SHA3-384,
// SHA3-512, AES128, AES256 (upper case, as chrony spells them), and KEY the
// key as ASCII text (optionally prefixed `ASCII:`) or `HEX:` and an even
// number of hex digits. AES keys must be exactly 16 (AES128) or 32 (AES256)
// bytes. Lines whose first non-blank character is one of `#!;%` are
// comments, blank lines are skipped, as chrony's CPS_NormalizeLine does.
// Unlike chrony, which logs a warning and skips a bad line, Parse refuses
// the whole file and names file, line and the offending field (never the
// key material); a duplicate ID is an error too (chrony warns and uses one
// of them arbitrarily). chrony's TIGER and WHIRLPOOL are not supported.
// CheckMode refuses a file that is world-readable or group- or
// world-writable: reading the file is the shell's job (cmd/gnomond), which
// passes its mode here.
//
// # MAC
//
// A MAC follows the header and any extension fields: key ID (u32,
// big-endian) and a digest computed over everything before the MAC.
//
//   - Hash types (legacy; RFC 8573 deprecates MD5): digest = H(key ‖ packet),
//     truncated as chrony truncates it: in NTPv4 at most 20 bytes (RFC 7822
//     §7.5 caps a v4 MAC at 24 bytes so that extension fields parse
//     deterministically), so MD5 gives 16 bytes, SHA1 20, the SHA-2/SHA-3
//     types 20 (v4) or their full length (NTPv1–3).
//   - AES128 and AES256: AES-CMAC (RFC 4493), 16 bytes, RFC 8573's
//     recommended algorithm.
//
// Verification compares in constant time (crypto/subtle) and demands the
// exact digest length chrony would send for the key and version.
//
// AES-CMAC is written here on crypto/aes (cmac.go, checked against the RFC
// 4493 test vectors) because no maintained Go package in reach offers it
// without allocating per message: the standard library's
// crypto/internal/fips140/aes/gcm.CMAC is internal, facebook/time's
// ntp/protocol/nts/aessiv keeps its CMAC unexported, and tink-go's
// mac/subtle.AESCMAC returns a fresh slice per call and would pull tink and
// protobuf into the module for forty lines.
//
// # Allocation and concurrency
//
// Keys and Key are immutable after Parse and safe for concurrent use. MAC
// computations take a caller-owned *Scratch (one per worker or reply slot)
// for their working memory, so computing and verifying allocate nothing.
//
// No I/O: no os, no net, no clock reads (a test checks the import graph).
package symkey
