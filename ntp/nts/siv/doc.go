// Package siv is AEAD_AES_SIV_CMAC_256 (RFC 5297; IANA AEAD ID 15, the
// algorithm RFC 8915 §5.1 makes mandatory for NTS) for gnomon's NTS server,
// written so that the NTP packet path allocates nothing.
//
// # Why not facebook/time's aessiv
//
// facebook/time/ntp/protocol/nts/aessiv is a careful port of tink's AES-SIV and
// the tests here check this package against it byte for byte. It is not used
// on the packet path because every request brings its own keys (the client's
// C2S and S2C keys travel inside its cookie), and with crypto/aes each new key
// is a heap-allocated cipher.Block (crypto/aes.NewCipher returns an interface);
// aessiv also allocates a scratch block per Seal and Open (its buffers escape
// through cipher.Block.Encrypt). That is 4–6 allocations per NTS request.
//
// This package instead expands AES-128 keys into a caller-owned Key value
// (no pointers) and encrypts blocks with AES-NI in amd64 assembly
// (AESKEYGENASSIST, AESENC: constant time, no tables). The round-key schedule
// and the S2V/CTR buffers live in the Key and on the stack, so Init, Seal and
// Open allocate nothing. Without AES-NI (another architecture, or an x86 CPU
// older than 2010) it falls back to crypto/aes, which is correct but allocates
// per key and per block; the NTS core's allocation test then skips.
//
// # What it does
//
// Key.Init splits a 32-byte key as RFC 5297 §2.2 does: the first half keys
// S2V (AES-CMAC, RFC 4493), the second half keys CTR. Seal and Open take at
// most two associated-data components (ad, then nonce, omitted when empty),
// which is what NTS needs: the NTP authenticator uses (packet, nonce) and the
// cookies (key ID ‖ nonce). RFC 5297 §3 feeds the nonce to S2V as the last
// component before the plaintext; a deterministic use (no nonce) is S2V over
// the associated data alone, as facebook/time's NTS client expects.
//
// A Key is safe for concurrent Seal and Open once initialised (they only read
// it). It does not implement crypto/cipher.AEAD: SIV is not nonce-based and
// the NTS callers place tag and ciphertext themselves.
package siv
