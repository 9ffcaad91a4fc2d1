package chronyfmt

import (
	"io"
	"testing"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// FuzzFormat decodes arbitrary reply bytes as every reply type gnomonctl
// prints and formats them as text and JSON: nothing may panic, whatever
// the floats (NaN, ±Inf, huge) or codes.
func FuzzFormat(f *testing.F) {
	f.Add(make([]byte, 520))
	b := make([]byte, 520)
	for i := range b {
		b[i] = byte(i * 7)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := wire.DecodeTracking(b); err == nil {
			WriteTracking(io.Discard, d)
			TrackingJSON(d)
		}
		if d, err := wire.DecodeSourceData(b); err == nil {
			SourceRow(d)
			SourceJSON(d)
		}
		if d, err := wire.DecodeSourceStats(b); err == nil {
			SourceStatsRow(d)
			SourceStatsJSON(d)
		}
		if d, err := wire.DecodeSelectData(b); err == nil {
			SelectDataRow(d)
			SelectDataJSON(d)
		}
		for _, v2 := range []bool{false, true} {
			if d, err := wire.DecodeNTPData(b, v2); err == nil {
				WriteNTPData(io.Discard, d)
				NTPDataJSON(d, v2)
			}
			if d, err := wire.DecodeServerStats(b, v2); err == nil {
				WriteServerStats(io.Discard, d)
				ServerStatsJSON(d, v2)
			}
		}
		if d, err := wire.DecodeClientAccesses(b); err == nil {
			for _, c := range d.Clients {
				ClientRow(c, false)
				ClientRow(c, true)
				ClientJSON(c)
			}
		}
		if d, err := wire.DecodeActivity(b); err == nil {
			WriteActivity(io.Discard, d)
		}
	})
}
