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
		if d, err := wire.ParseTracking(b); err == nil {
			WriteTracking(io.Discard, d)
			TrackingJSON(d)
		}
		if d, err := wire.ParseSourceData(b); err == nil {
			SourceRow(d)
			SourceJSON(d)
		}
		if d, err := wire.ParseSourceStats(b); err == nil {
			SourceStatsRow(d)
			SourceStatsJSON(d)
		}
		if d, err := wire.ParseSelectData(b); err == nil {
			SelectDataRow(d)
			SelectDataJSON(d)
		}
		// The stated type decides these two; try both.
		for _, t := range []wire.ReplyType{wire.RpyNTPData, wire.RpyNTPData2, wire.RpyServerStats3, wire.RpyServerStats4} {
			if len(b) < 8 {
				break
			}
			b[6], b[7] = byte(t>>8), byte(t)
			if d, err := wire.ParseNTPData(b); err == nil {
				WriteNTPData(io.Discard, d)
				NTPDataJSON(d, t == wire.RpyNTPData2)
			}
			if d, err := wire.ParseServerStats(b); err == nil {
				WriteServerStats(io.Discard, d)
				ServerStatsJSON(d, t == wire.RpyServerStats4)
			}
		}
		if d, err := wire.ParseClientAccesses(b); err == nil {
			for _, c := range d.Clients {
				ClientRow(c, false)
				ClientRow(c, true)
				ClientJSON(c)
			}
		}
		if d, err := wire.ParseActivity(b); err == nil {
			WriteActivity(io.Discard, d)
		}
	})
}
