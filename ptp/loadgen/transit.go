package loadgen

import (
	"time"

	"github.com/facebook/time/ptp/protocol"
)

// Sync transit (see "Accounting" in doc.go): a Sync's kernel receive stamp
// minus its Follow_Up's preciseOriginTimestamp, whole seconds dropped.

// TransitLate: a Sync transit above it (strictly) counts in
// Result.SyncTransitLate, decided on the exact value. It is the bound the
// interop Sync-path tests use for the same figure: between network
// namespaces on one host ptp4l's master had 0–0.9 % of its Syncs above it;
// a Sync above it was mostly held in the sender after its origin stamp (its
// thread interrupted, a queue). Across hosts without one clock the count
// means nothing.
const TransitLate = 5 * time.Microsecond

// noOrigin is originOf's answer for an empty preciseOriginTimestamp (a
// server that sends none): such a Follow_Up gives no transit.
const noOrigin = -1

// originOf reduces a preciseOriginTimestamp to what Transit needs: its
// nanoseconds field (0 … 10⁹−1; a larger invalid value is kept, Transit
// reduces it). Its seconds drop out of Transit (modulo 1 s), so they are not
// read: this also keeps a 48-bit seconds field far from 1970 from
// overflowing an int64 of ns, as Timestamp.Time().UnixNano() would.
func originOf(t *protocol.Timestamp) int64 {
	if t.Empty() {
		return noOrigin
	}
	return int64(t.Nanoseconds)
}

// Transit is the Sync transit in ns: Sync receive − preciseOriginTimestamp,
// reduced modulo 1 s into [−0.5 s, 0.5 s). Whole seconds are dropped because
// the server may stamp in TAI (IEEE 1588 PTP timescale) while rx is UTC
// (CLOCK_REALTIME): the two differ by whole seconds (37 s since 2017). rx is
// ns since the epoch; origin is its nanoseconds (originOf) or any time in ns
// (only its remainder modulo 1 s counts). Positive means the Sync arrived
// after the server stamped it, as it should.
func Transit(rx, origin int64) int64 {
	const sec = int64(time.Second)
	d := (rx - origin) % sec // in (−1 s, 1 s)
	if d < 0 {
		d += sec
	}
	if d >= sec/2 {
		d -= sec
	}
	return d
}
