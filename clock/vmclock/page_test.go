package vmclock

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// samplePage is a page as an EC2-like hypervisor would fill it: TAI time
// with a valid offset, synchronized, error fields valid.
func samplePage() Page {
	return Page{
		RegionSize: 4096, Version: 1, CounterID: 1, TimeType: TimeTAI,
		SeqCount: 42, DisruptionMarker: 0x1122334455667788,
		Flags:  FlagTAIOffsetValid | FlagTimeMaxErrorValid | FlagTimeEstErrorValid | FlagVMGenCounterPresent,
		Status: StatusSynchronized, TAIOffsetSec: 37, LeapIndicator: 0, PeriodShift: 4,
		CounterValue: 123456789, Period: 1 << 60, PeriodEstErrorRate: 10, PeriodMaxErrorRate: 100,
		TimeSec: 1_750_000_000, TimeFrac: 1 << 63, TimeEstErrorNS: 500, TimeMaxErrorNS: 20_000,
		VMGeneration: 7,
	}
}

func TestDecode(t *testing.T) {
	good := Encode(samplePage())
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	old := samplePage()
	old.RegionSize, old.VMGeneration = MinSize, 0
	for name, tc := range map[string]struct {
		b       []byte
		want    Page
		wantErr error
	}{
		"full page":         {b: good, want: samplePage()},
		"padded to a page":  {b: append(append([]byte(nil), good...), make([]byte, 4096-Size)...), want: samplePage()},
		"first-kernel size": {b: Encode(old)[:MinSize], want: old},
		"region without vm_generation_counter": {b: mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[offSize:], MinSize) }),
			want: func() Page { p := samplePage(); p.RegionSize, p.VMGeneration = MinSize, 0; return p }()},
		"empty":            {b: nil, wantErr: ErrShort},
		"short":            {b: good[:MinSize-1], wantErr: ErrShort},
		"bad magic":        {b: mutate(func(b []byte) { b[0] ^= 0xff }), wantErr: ErrMagic},
		"version 2":        {b: mutate(func(b []byte) { binary.LittleEndian.PutUint16(b[offVersion:], 2) }), wantErr: ErrVersion},
		"version 0":        {b: mutate(func(b []byte) { binary.LittleEndian.PutUint16(b[offVersion:], 0) }), wantErr: ErrVersion},
		"region too small": {b: mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[offSize:], 64) }), wantErr: ErrSize},
		"negative TAI offset": {b: mutate(func(b []byte) { binary.LittleEndian.PutUint16(b[offTAIOffset:], 0xffff) }),
			want: func() Page { p := samplePage(); p.TAIOffsetSec = -1; return p }()},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Decode(tc.b)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decode: error %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLayoutOffsets(t *testing.T) {
	// Spot-check the encoding against hand-placed bytes of the uapi
	// layout, so that Encode and Decode cannot agree on a wrong offset.
	b := Encode(samplePage())
	le := binary.LittleEndian
	for name, tc := range map[string]struct {
		got, want uint64
	}{
		"magic VCLK":        {uint64(le.Uint32(b[0:])), 0x4b4c4356},
		"size":              {uint64(le.Uint32(b[4:])), 4096},
		"version":           {uint64(le.Uint16(b[8:])), 1},
		"time_type":         {uint64(b[11]), 1},
		"seq_count":         {uint64(le.Uint32(b[12:])), 42},
		"disruption_marker": {le.Uint64(b[16:]), 0x1122334455667788},
		"clock_status":      {uint64(b[34]), 2},
		"tai_offset_sec":    {uint64(le.Uint16(b[36:])), 37},
		"time_sec":          {le.Uint64(b[72:]), 1_750_000_000},
		"time_maxerror":     {le.Uint64(b[96:]), 20_000},
		"vm_generation":     {le.Uint64(b[104:]), 7},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, want %#x", name, tc.got, tc.want)
		}
	}
	if string(b[:4]) != "VCLK" {
		t.Errorf("magic bytes %q", b[:4])
	}
}

func TestPageAccessors(t *testing.T) {
	p := samplePage()
	if tm, ok := p.Time(); !ok || !tm.Equal(time.Unix(1_750_000_000, 500_000_000)) {
		t.Errorf("Time = %v, %v", tm, ok)
	}
	if d, ok := p.TAIOffset(); !ok || d != 37*time.Second {
		t.Errorf("TAIOffset = %v, %v", d, ok)
	}
	if d, ok := p.MaxError(); !ok || d != 20*time.Microsecond {
		t.Errorf("MaxError = %v, %v", d, ok)
	}
	if d, ok := p.EstError(); !ok || d != 500*time.Nanosecond {
		t.Errorf("EstError = %v, %v", d, ok)
	}
	p.Flags, p.TimeType = 0, TimeMonotonic
	if _, ok := p.Time(); ok {
		t.Error("Time of a monotonic page is ok")
	}
	if _, ok := p.TAIOffset(); ok {
		t.Error("TAIOffset ok without the flag")
	}
	if _, ok := p.MaxError(); ok {
		t.Error("MaxError ok without the flag")
	}
	if s := TimeType(9).String() + Status(9).String() + StatusFreeRunning.String() + TimeTAI.String(); s != "time_type(9)status(9)free_runningtai" {
		t.Errorf("String = %q", s)
	}
}
