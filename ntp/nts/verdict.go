package nts

import "strconv"

// Verdict says what Worker.Verify made of a request. String values are
// stable snake_case names for metric labels and logs.
type Verdict uint8

const (
	// VerdictNone: no NTS extension fields; answer as plain NTP (the
	// reply gets no authentication: Seal returns n unchanged).
	VerdictNone Verdict = iota
	// VerdictAuthentic: the cookie opened and the authenticator verified;
	// Seal appends the Unique Identifier and an authenticator with fresh
	// cookies.
	VerdictAuthentic
	// VerdictNAKUnknownKey: the cookie names a master key the ring no
	// longer (or never) held: a stale cookie or another server's. Answer
	// with an NTS NAK (Seal turns the reply into one).
	VerdictNAKUnknownKey
	// VerdictNAKBadCookie: the cookie has the wrong length or does not
	// authenticate under its key. Answer with an NTS NAK.
	VerdictNAKBadCookie
	// VerdictMalformed: NTS fields that break RFC 8915 §5.7's rules (see
	// parseRequest); drop.
	VerdictMalformed
	// VerdictBadAuthenticator: the cookie is good but the authenticator
	// does not verify with its C2S key (a forged or damaged packet); drop,
	// as RFC 8915 §5.7 leaves no answer for it.
	VerdictBadAuthenticator

	// NumVerdicts is the number of verdicts, for counter arrays.
	NumVerdicts int = iota
)

// String returns the snake_case name of v.
func (v Verdict) String() string {
	switch v {
	case VerdictNone:
		return "none"
	case VerdictAuthentic:
		return "authentic"
	case VerdictNAKUnknownKey:
		return "nak_unknown_key"
	case VerdictNAKBadCookie:
		return "nak_bad_cookie"
	case VerdictMalformed:
		return "malformed"
	case VerdictBadAuthenticator:
		return "bad_authenticator"
	}
	return "verdict_" + strconv.Itoa(int(v))
}

// NAK reports whether the answer is an NTS NAK.
func (v Verdict) NAK() bool { return v == VerdictNAKUnknownKey || v == VerdictNAKBadCookie }

// Drop reports whether the request must not be answered at all.
func (v Verdict) Drop() bool { return v == VerdictMalformed || v == VerdictBadAuthenticator }
