// Package chronyfmt lays cmdmon replies out as chronyc 4.3 prints them
// (client.c: print_report's %S, %I, %P, %C, %L, %T, %R units, the column
// layouts of tracking, sources, sourcestats, selectdata, ntpdata,
// serverstats, clients and activity, the -v legends), byte for byte, and
// defines gnomonctl's --json shapes (snake_case keys with the unit in the
// name: offset_seconds, frequency_ppm).
//
// Values keep chrony's units and signs: offsets are local − reference in
// seconds (a positive "System time" correction means the clock is slow),
// frequencies in ppm (positive = the clock runs fast). Names are never
// resolved (chronyc -n): addresses print as chrony's UTI_IPToString does
// (glibc inet_ntop for IPv6, ID#NNNNNNNNNN for unresolved sources) and
// reference clocks by their reference ID.
//
// Sans-IO: it writes to an io.Writer and reads no clock.
package chronyfmt
