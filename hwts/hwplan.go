package hwts

import "fmt"

// This file holds the pure decision of how to enable NIC timestamping, so
// it can be table-tested without a NIC. Values mirror linux/net_tstamp.h and
// linux/ethtool.h.

const (
	sofTxHardware  = 0x1
	sofRxHardware  = 0x4
	sofRawHardware = 0x40

	hwtxOff = 0
	hwtxOn  = 1
)

// hwCaps is what ETHTOOL_GET_TS_INFO reports.
type hwCaps struct {
	soTimestamping uint32 // SOF_TIMESTAMPING_* the device supports
	phcIndex       int32  // -1 = none
	txTypes        uint32 // bitmask of 1<<HWTSTAMP_TX_*
	rxFilters      uint32 // bitmask of 1<<HWTSTAMP_FILTER_*
}

// hwConfig is struct hwtstamp_config.
type hwConfig struct {
	txType   int32
	rxFilter RXFilter
}

// hwPlan is what to do with SIOCSHWTSTAMP.
type hwPlan struct {
	// set is false when the current configuration already serves NTP.
	set bool
	// txType to request (never narrows an already enabled TX mode).
	txType int32
	// rxTry are the RX filters to request in order (driver may answer
	// ERANGE for one and accept the next).
	rxTry []RXFilter
}

// planHW decides how to reach "RX filter covers NTP, TX on" from cur without
// narrowing anything another daemon (ptp4l) may rely on:
//   - an RX filter of ALL or NTP_ALL is kept;
//   - a PTP-only filter is widened to NTP_ALL, else ALL (both still stamp
//     PTP event packets); a PTP-only filter is never requested;
//   - a TX type other than OFF (ON, one-step) is kept.
//
// curKnown is false when SIOCGHWTSTAMP failed (old drivers); then the
// filter is treated as NONE.
func planHW(caps hwCaps, cur hwConfig, curKnown bool) (hwPlan, error) {
	const need = sofTxHardware | sofRxHardware | sofRawHardware
	if caps.soTimestamping&need != need {
		return hwPlan{}, fmt.Errorf("device lacks tx/rx/raw hardware timestamping (so_timestamping %#x)", caps.soTimestamping)
	}
	if caps.phcIndex < 0 {
		return hwPlan{}, fmt.Errorf("device has no PHC")
	}
	if !curKnown {
		cur = hwConfig{txType: hwtxOff, rxFilter: FilterNone}
	}
	p := hwPlan{txType: cur.txType}
	if cur.txType == hwtxOff {
		if caps.txTypes&(1<<hwtxOn) == 0 {
			return hwPlan{}, fmt.Errorf("device cannot timestamp transmitted packets (tx_types %#x)", caps.txTypes)
		}
		p.txType = hwtxOn
		p.set = true
	}
	if cur.rxFilter.CoversNTP() {
		p.rxTry = []RXFilter{cur.rxFilter}
		return p, nil
	}
	p.set = true
	for _, f := range []RXFilter{FilterNTPAll, FilterAll} {
		// rx_filters 0 means the driver did not report its filters: try
		// anyway and let SIOCSHWTSTAMP decide.
		if caps.rxFilters == 0 || caps.rxFilters&(1<<uint(f)) != 0 {
			p.rxTry = append(p.rxTry, f)
		}
	}
	if len(p.rxTry) == 0 {
		return hwPlan{}, fmt.Errorf("device filters %#x include neither ALL nor NTP_ALL (current filter %s)", caps.rxFilters, cur.rxFilter)
	}
	return p, nil
}
