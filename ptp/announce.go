package ptp

import (
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/clock"
)

// Quality is what an Announce says about the grandmaster, derived from one
// SyncState (nil: not synchronised, the built-in TAI − UTC).
type Quality struct {
	ClockClass    uint8
	ClockAccuracy uint8
	Variance      uint16
	TimeSource    uint8
	UTCOffset     int
	// Flags is the Announce's second flag octet: leap61, leap59,
	// currentUtcOffsetValid, ptpTimescale (always), timeTraceable,
	// frequencyTraceable.
	Flags uint16
}

// QualityOf maps a SyncState onto Announce's fields. The state's PTP
// quality is the engine's (clock.SyncState documents the rules); leap61 or
// leap59 is set while the state announces a leap at the end of the UTC day,
// as NTP's leap indicator is.
func QualityOf(st *clock.SyncState) Quality {
	if st == nil {
		return Quality{ClockClass: uint8(clock.ClockClassDefault), ClockAccuracy: uint8(clock.ClockAccuracyUnknown),
			Variance: clock.VarianceNotComputed, TimeSource: uint8(clock.TimeSourceInternalOscillator),
			UTCOffset: clock.DefaultTAIOffset, Flags: protocol.FlagPTPTimescale}
	}
	q := Quality{ClockClass: uint8(st.ClockClass), ClockAccuracy: uint8(st.ClockAccuracy),
		Variance: st.OffsetScaledLogVariance, TimeSource: uint8(st.TimeSource), UTCOffset: st.UTCOffset,
		Flags: protocol.FlagPTPTimescale}
	if q.UTCOffset == 0 {
		q.UTCOffset = clock.DefaultTAIOffset
	}
	if st.UTCOffsetValid {
		q.Flags |= protocol.FlagCurrentUtcOffsetValid
	}
	if st.TimeTraceable {
		q.Flags |= protocol.FlagTimeTraceable
	}
	if st.FrequencyTraceable {
		q.Flags |= protocol.FlagFrequencyTraceable
	}
	switch st.Leap {
	case clock.LeapInsert:
		q.Flags |= protocol.FlagLeap61
	case clock.LeapDelete:
		q.Flags |= protocol.FlagLeap59
	}
	return q
}

// AppendAnnounce writes an Announce to out (at least AnnounceLen bytes)
// and returns its length, 0 when out is too short. flags carries the first
// octet (unicast for unicast grants, profileSpecific1 for SPTP);
// logInterval is the granted or configured Announce period; origin is on
// the served clock (zero: unknown, sent as 0); correction is copied into
// correctionField (SPTP puts the Delay_Req's there).
func (s *Server) AppendAnnounce(out []byte, q Quality, flags uint16, seq uint16, logInterval int8, origin time.Time, correction protocol.Correction) int {
	if len(out) < AnnounceLen {
		return 0
	}
	a := protocol.Announce{
		Header: s.header(protocol.MessageAnnounce, AnnounceLen, flags|q.Flags, seq, controlOther, logInterval),
		AnnounceBody: protocol.AnnounceBody{
			OriginTimestamp:      Timestamp(origin, q.UTCOffset),
			CurrentUTCOffset:     int16(q.UTCOffset),
			GrandmasterPriority1: s.cfg.Priority1,
			GrandmasterClockQuality: protocol.ClockQuality{
				ClockClass:              protocol.ClockClass(q.ClockClass),
				ClockAccuracy:           protocol.ClockAccuracy(q.ClockAccuracy),
				OffsetScaledLogVariance: q.Variance,
			},
			GrandmasterPriority2: s.cfg.Priority2,
			GrandmasterIdentity:  s.cfg.Identity,
			StepsRemoved:         0,
			TimeSource:           protocol.TimeSource(q.TimeSource),
		},
	}
	a.CorrectionField = correction
	n, err := a.MarshalBinaryTo(out)
	if err != nil {
		return 0
	}
	return n
}
