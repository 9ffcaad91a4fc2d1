package ntp

import "strconv"

// Verdict says what Server.Respond did with a request and why. The String
// values are stable snake_case names used as metric labels and log values;
// the numeric values are only counter-array indices and may change when a
// verdict is added.
type Verdict uint8

const (
	// VerdictServed: a basic reply (Origin = request Transmit) was written;
	// the shell must stamp it with wire.PutTransmit.
	VerdictServed Verdict = iota
	// VerdictInterleaved: an RFC 9769 interleaved reply was written, its
	// Transmit is the TX timestamp of the previous reply to this client.
	VerdictInterleaved
	// VerdictKoDRate: the client exceeded its rate and a Kiss-o'-Death RATE
	// reply was written (stamp it with wire.PutTransmit).
	VerdictKoDRate
	// VerdictRateLimited: the client exceeded its rate; no reply.
	VerdictRateLimited
	// VerdictDenied: the ACL does not allow the client; no reply.
	VerdictDenied
	// VerdictMalformed: shorter than 48 bytes, length not a multiple of 4,
	// or broken extension fields (wire.CheckTrailer fails); no reply.
	VerdictMalformed
	// VerdictBadVersion: version 0 or 5–7; no reply.
	VerdictBadVersion
	// VerdictBadMode: not a client request (modes 1, 2, 4–7, or mode 0
	// other than NTPv1 from a port ≠ 123); no reply. Replies are never
	// answered, mode 6/7 never reach the Internet (RFC 8633).
	VerdictBadMode
	// VerdictNoKey: the request is authenticated with a symmetric key (a
	// legacy MAC after the header and any extension fields) and this
	// server has no keys (or the shell called Respond, which does not
	// authenticate): dropped, no reply, as chrony does for a key it does
	// not have. An unauthenticated reply would not be what the client asked
	// for (ntpdig crashes on one). A crypto-NAK (lone zero key ID) is not
	// a MAC.
	VerdictNoKey
	// VerdictAuthFailed: the request's MAC names a key the server has but
	// does not verify (wrong digest, or a digest length that key's type
	// does not give in this NTP version): dropped, no reply, as chrony does.
	VerdictAuthFailed
	// VerdictCryptoNAK: the request's MAC names a key ID the server does
	// not have (and it has keys): a basic reply was written that Seal
	// completes with a crypto-NAK (a zero key ID, RFC 5905 §7.3), so the
	// client learns that it is not authenticated. Stamp it with
	// wire.PutTransmit and Seal it.
	VerdictCryptoNAK
	// VerdictNTSNAK: the request carried NTS fields whose cookie this
	// server cannot use (sealed with a master key it no longer or never
	// held, or damaged): a basic reply was written that Seal turns into an
	// NTS NAK (KoD NTSN with the request's Unique Identifier, RFC 8915
	// §5.7), so the client redoes NTS-KE. Stamp it and Seal it. NTS
	// requests that are dropped get VerdictMalformed (broken NTS fields) or
	// VerdictAuthFailed (the authenticator does not verify).
	VerdictNTSNAK
	// VerdictShortBuffer: the output buffer cannot hold a reply (a shell
	// bug); no reply.
	VerdictShortBuffer

	// NumVerdicts is the number of verdicts, for counter arrays indexed by
	// Verdict.
	NumVerdicts int = iota
)

// String returns the snake_case name of v.
func (v Verdict) String() string {
	switch v {
	case VerdictServed:
		return "served"
	case VerdictInterleaved:
		return "interleaved"
	case VerdictKoDRate:
		return "kod_rate"
	case VerdictRateLimited:
		return "rate_limited"
	case VerdictDenied:
		return "denied"
	case VerdictMalformed:
		return "malformed"
	case VerdictBadVersion:
		return "bad_version"
	case VerdictBadMode:
		return "bad_mode"
	case VerdictNoKey:
		return "no_key"
	case VerdictAuthFailed:
		return "auth_failed"
	case VerdictCryptoNAK:
		return "crypto_nak"
	case VerdictNTSNAK:
		return "nts_nak"
	case VerdictShortBuffer:
		return "short_buffer"
	}
	return "verdict_" + strconv.Itoa(int(v))
}

// Replied reports whether a reply was written and should be sent.
func (v Verdict) Replied() bool {
	return v == VerdictServed || v == VerdictInterleaved || v == VerdictKoDRate || v == VerdictCryptoNAK || v == VerdictNTSNAK
}

// NeedsTransmit reports whether the shell must write the Transmit timestamp
// with wire.PutTransmit before sending. Interleaved replies already carry the
// previous reply's TX timestamp.
func (v Verdict) NeedsTransmit() bool {
	return v == VerdictServed || v == VerdictKoDRate || v == VerdictCryptoNAK || v == VerdictNTSNAK
}
