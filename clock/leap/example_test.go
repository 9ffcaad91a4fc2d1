package leap_test

import (
	"fmt"
	"os"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/leap"
)

// The engine's use of the package on the last day before a leap: load the
// table, vote with the sources, fill UTCOffset, and let the smear config
// shape what servers publish.
func Example() {
	table, err := leap.Load(os.DirFS("testdata"), "future.list")
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC)
	fmt.Println("expired:", table.Expired(now))

	// Two of three truechimers announce; the valid table agrees.
	li := leap.Vote([]clock.Leap{clock.LeapInsert, clock.LeapInsert, clock.LeapNone}, table, now)
	_, tai := table.LeapAt(now)
	fmt.Println("LI:", li, "TAI-UTC:", tai, "kernel bits:", leap.KernelStatus(li))

	// A smearing server does not announce, and marks smeared time.
	ev, _ := table.Next(now)
	smear := leap.Smear{Enabled: true}
	st := &clock.SyncState{Synchronized: true, Leap: li, Stratum: 2, RefID: 0xC0000201, UTCOffset: tai, UTCOffsetValid: true}
	fmt.Println("served LI before:", smear.Apply(st, now, ev).Leap)
	during := ev.At.Add(2 * time.Hour) // continuous clock, 2 h into the smear
	fmt.Printf("during: refid %#x, offset %v\n", smear.Apply(st, during, ev).RefID, smear.Offset(during, ev))
	fmt.Println("smear lasts", smear.Duration())
	// Output:
	// expired: false
	// LI: insert TAI-UTC: 37 kernel bits: 16
	// served LI before: none
	// during: refid 0x7f7f01ff, offset -26.54208ms
	// smear lasts 17h21m40s
}
