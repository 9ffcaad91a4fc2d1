package ptp

// Verdict is what became of one received message; it labels the server's
// counters (gnomon_ptp_messages_received_total{verdict}).
type Verdict uint8

const (
	// VerdictAnswered: a reply was written (Delay_Resp, an SPTP Sync, a
	// Signaling with grants).
	VerdictAnswered Verdict = iota
	// VerdictNoReply: a valid message that needs no answer (an
	// ACKNOWLEDGE_CANCEL, a Signaling with no TLV this server acts on).
	VerdictNoReply
	// VerdictForeign: a message a grandmaster does not take from others
	// (Sync, Follow_Up, Announce, Delay_Resp, peer-delay messages); noted,
	// not obeyed.
	VerdictForeign
	// VerdictDenied: the sender is not in the allow list.
	VerdictDenied
	// VerdictMalformed: shorter than its type's length, messageLength
	// beyond the datagram or below the header, or broken TLVs.
	VerdictMalformed
	// VerdictBadVersion: versionPTP other than 2.
	VerdictBadVersion
	// VerdictWrongDomain: another domainNumber.
	VerdictWrongDomain
	// VerdictWrongSdo: a majorSdoId other than 0 (802.1AS uses 1).
	VerdictWrongSdo
	// VerdictUnsupported: Management and reserved message types, or a
	// message on the port its type does not belong to.
	VerdictUnsupported
	// VerdictShortBuffer: the output buffer cannot hold the reply (a shell
	// bug); no reply.
	VerdictShortBuffer

	// NumVerdicts is the number of verdicts, for counter arrays.
	NumVerdicts int = iota
)

var verdictNames = [NumVerdicts]string{"answered", "no_reply", "foreign", "denied", "malformed", "bad_version",
	"wrong_domain", "wrong_sdo", "unsupported", "short_buffer"}

// String returns the verdict's metric label.
func (v Verdict) String() string {
	if int(v) < NumVerdicts {
		return verdictNames[v]
	}
	return "unknown"
}
