// Package statuspage renders gnomond's status page: one self-contained HTML
// page (served at /status on the metrics listener) with the served state,
// the discipline's tracking report, the sources table and a chart of the
// clock's offset and error bound over the last hour.
//
// The page is server-rendered: inline CSS and an inline SVG chart, no
// JavaScript, no external assets; every string from the daemon goes
// through html/template's contextual escaping. Render is a pure function of
// a Page (the reports and the history) to HTML, golden-tested.
//
// History is a fixed-size ring of Points. A Sampler records one Point per
// interval from the discipline's report.Tracking (source.Runner implements
// Tracker); its ticker is injectable, so tests drive it without sleeping.
// With clock.mode none (no discipline runs) there is no sampler and no
// history: the page shows report.Served and says so.
//
// The package reads package report's structs and nothing of the engine,
// the sources or the servers; it opens no listener (cmd/gnomond mounts
// Handler on its metrics server).
//
// # Signs and units
//
// As everywhere in gnomon: offset = reference − local (positive: the local
// clock is behind), frequencies in ppb (positive: the clock is made faster;
// the page prints ppm). The error bound is the bound on |served clock −
// true time|; the chart draws it as a band ±bound around zero, and the
// offset at each clock update inside it. Times are on the served clock:
// a step of the served clock shifts the chart's time axis (points whose
// time falls outside the last hour are left out and counted).
package statuspage
