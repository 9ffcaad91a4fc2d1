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

// planHW decides how to reach "RX filter covers need, TX on" from cur
// without narrowing anything another daemon (ptp4l, or gnomond's own
// sockets for the other protocol) may rely on:
//   - an RX filter that covers need is kept;
//   - NONE is replaced by need's own filter (NTP_ALL; PTP_V2_L4_EVENT,
//     else PTP_V2_EVENT), else ALL;
//   - any other filter (one that stamps the other protocol's packets)
//     can only be widened to ALL: NTP_ALL would stop a PTP daemon's
//     stamps, a PTP filter an NTP server's;
//   - a TX type other than OFF (ON, one-step) is kept.
//
// curKnown is false when SIOCGHWTSTAMP failed (old drivers); then the
// filter is treated as NONE.
func planHW(caps hwCaps, cur hwConfig, curKnown bool, need Traffic) (hwPlan, error) {
	const flags = sofTxHardware | sofRxHardware | sofRawHardware
	if caps.soTimestamping&flags != flags {
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
	if cur.rxFilter.Covers(need) {
		p.rxTry = []RXFilter{cur.rxFilter}
		return p, nil
	}
	p.set = true
	try := need.filters()
	if cur.rxFilter != FilterNone {
		try = []RXFilter{FilterAll}
	}
	for _, f := range try {
		// rx_filters 0 means the driver did not report its filters: try
		// anyway and let SIOCSHWTSTAMP decide.
		if caps.rxFilters == 0 || caps.rxFilters&(1<<uint(f)) != 0 {
			p.rxTry = append(p.rxTry, f)
		}
	}
	if len(p.rxTry) == 0 {
		return hwPlan{}, fmt.Errorf("device filters %#x include none of %v that stamp %s without narrowing the current filter %s",
			caps.rxFilters, try, need, cur.rxFilter)
	}
	return p, nil
}
