// Package nts is the sans-IO NTP side of Network Time Security (RFC 8915
// §5–6) for gnomon's server, and the master keys its cookies are sealed with.
//
// # What it does
//
//   - Worker.Verify parses a request's NTS extension fields (one Unique
//     Identifier of 32–128 bytes, exactly one Cookie, Cookie Placeholders of
//     the cookie's size, the Authenticator last), opens the cookie with the
//     key Ring (→ C2S and S2C keys, AEAD 15) and verifies the authenticator
//     with C2S over the packet up to it. Typed verdicts: none (plain NTP),
//     authentic, NAK (unknown key: stale or foreign cookie; cookie that does
//     not open), malformed and bad authenticator (both dropped).
//   - Worker.Seal then appends, after the finished 48-byte reply header
//     (Transmit already written), the Unique Identifier echo and an
//     Authenticator and Encrypted Extension Fields field sealed with S2C
//     that holds 1 + placeholders fresh cookies (at most MaxCookies). The
//     reply is never longer than the request: each placeholder pays for a
//     cookie, and cookies that would not fit are left out. AppendNAK builds
//     the NTS NAK (KoD NTSN + Unique Identifier, unauthenticated).
//   - ReplyAuth carries a request's verdict, keys and Unique Identifier from
//     Verify to Seal as a fixed-size value, one per reply slot; a Worker is a
//     worker goroutine's scratch (two AES-SIV keys, a decryption buffer, a
//     4 KiB batch of random bytes); the Core (the current Ring behind an
//     atomic pointer) is shared. Verify + Seal allocate nothing (AES-NI path,
//     see ntp/nts/siv) and are fuzzed.
//   - Keys: a KeySet is the ordered list of master keys (previous ones kept
//     for a window, the current one that seals, the next one already known so
//     servers sharing the key file accept it before it is used); its
//     rotation decisions (Due, Rotated) take the time as an argument. Its text
//     form is the key file's content. A Ring is a KeySet expanded for use; a
//     cookie's key ID selects the slot by its low 4 bits (chrony uses the low
//     2 bits of its 4 keys) and must match it exactly, so an older key that
//     shared the slot is refused.
//
// # Cookies
//
// key ID (4) ‖ nonce (16) ‖ AES-SIV-CMAC-256 tag (16) ‖ encrypted C2S ‖ S2C
// (64): 100 bytes, sealed under the ring's current master key with the key ID
// and nonce as associated data. Only AEAD 15 is negotiated, so the length
// implies it. The envelope is chrony's and facebook/time's; the keys are ours,
// so cookies are not exchangeable with those servers (nor need to be).
//
// # What it does not do
//
// No sockets, files, clocks or goroutines (a test checks the imports): the
// NTS-KE server, the key file and the rotation schedule's timer are in
// ntp/ntske; the NTP reply header is ntp's. Randomness comes from the
// io.Reader given to NewCore. Only AEAD 15; no AES-128-GCM-SIV (30), which
// would shorten cookies but needs an implementation of its own.
//
// Nonces: a request's authenticator nonce may have any length. A reply uses
// 16 random bytes (as chrony), except in reply to a request with an empty
// nonce, which gets an empty one (facebook/time's client, at the version in
// go.mod, sends and accepts only empty nonces; AES-SIV stays secure because
// the associated data, with the Unique Identifier and timestamps, differs
// every time).
package nts
