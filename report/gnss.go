package report

import "time"

// GNSSStats are one GNSS reference's counters (gnomon_gnss_*): how its
// pulses and time-of-day reports were paired, and what its receiver's
// time of day delivered.
type GNSSStats struct {
	// ID is the source's reference ID string as its engine lists it
	// ("gnss:GPS" for the phc section's receiver, "gnss:/dev/pps0" for a
	// gnss entry of sources).
	ID string
	// Pairs counts the pairing's outcomes by verdict (refclock/pair's
	// Verdict.String: accepted, unconfirmed, no_report, orphan, ...), every
	// verdict present, in a fixed order. Edges and reports each get one
	// verdict: accepted counts samples handed to the engine.
	Pairs []LabelCount
	// TimeOfDay is the receiver's time-of-day input.
	TimeOfDay TimeOfDayStats
}

// TimeOfDayStats are what a receiver's time-of-day input (gpsd, NMEA on
// a serial port, simulated) delivered.
type TimeOfDayStats struct {
	// Kind names the input: gpsd, nmea, sim.
	Kind string
	// Reports counts reports delivered to the pairing.
	Reports uint64
	// LastReport is when the latest report was received, on
	// CLOCK_REALTIME; zero before the first.
	LastReport time.Time
	// Reconnects counts connection attempts after the first (gpsd);
	// ReconnectsKnown is false for inputs that do not reconnect.
	Reconnects      uint64
	ReconnectsKnown bool
}
