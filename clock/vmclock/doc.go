// Package vmclock reads the VMClock page of Linux's ptp_vmclock driver
// (/dev/vmclock0, kernel ≥ 6.13): the structure a hypervisor shares with
// its guests to say how the CPU counter relates to real time and, above
// all, when that relation was disrupted (live migration, snapshot
// restore). gnomon uses it for the disruption marker: when it changes,
// every calibration of the local clock against a reference is void.
//
// # Layout (uapi linux/vmclock-abi.h, little-endian, version 1)
//
//	 0 magic u32 "VCLK" (0x4b4c4356)    4 size u32 (of the region, a page)
//	 8 version u16 (1)                 10 counter_id u8   11 time_type u8
//	12 seq_count u32 (odd while the hypervisor writes)
//	16 disruption_marker u64           24 flags u64
//	32 pad[2]  34 clock_status u8  35 leap_second_smearing_hint u8
//	36 tai_offset_sec i16  38 leap_indicator u8  39 counter_period_shift u8
//	40 counter_value u64               48 counter_period_frac_sec u64
//	56 counter_period_esterror_rate_frac_sec u64
//	64 counter_period_maxerror_rate_frac_sec u64
//	72 time_sec u64   80 time_frac_sec u64 (1/2^64 s)
//	88 time_esterror_nanosec u64       96 time_maxerror_nanosec u64
//	104 vm_generation_counter u64 (later kernels; flag VM_GEN_COUNTER_PRESENT)
//
// Decode is pure and checks magic, version and size; Encode writes the same
// layout (for simulated pages in tests).
//
// # Consistent reads
//
// The page is a seqlock. Reader does not mmap it: the driver's read()
// copies the page under the seqlock itself, with the read barriers the
// protocol needs (virt_rmb), which Go cannot express on mapped memory
// without unsafe (and hwts is gnomon's only home of unsafe). One pread of
// 112 bytes per poll costs one syscall a second. On top of that, Reader
// retries while seq_count is odd or changes between two reads, which is
// what keeps a simulated page in a plain file consistent while a test
// rewrites it.
//
// # Not here
//
// Computing time from the counter (counter_value, counter_period_*) needs
// the raw TSC and is not done; what to do about a disruption (reset the
// sources, widen the error bound) is the caller's (source/phcsource).
package vmclock
