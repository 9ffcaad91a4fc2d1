package leap

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

const tzifMagic = "TZif"

// tzifBaseOffset is TAI − UTC at 1972-01-01, where the tz database's leap
// correction (LEAPCORR) is zero.
const tzifBaseOffset = 10

// maxTZifCount bounds each count in a TZif header; real files have fewer
// than 300 transitions in any zone and 27 leap records.
const maxTZifCount = 1 << 16

// ParseTZif reads the leap-second records of a TZif file (RFC 8536, with
// the version 4 extensions of RFC 9636) such as /usr/share/zoneinfo/right/UTC.
//
// Why not github.com/facebook/time/leapsectz alone: its Parse takes a path
// (no io.Reader or fs.FS), rejects version 4 files and so never sees an
// expiry, its Latest uses time.Now and returns only past leaps, and its
// LeapSecond.Time is one second late for negative leaps. gnomon's tests use
// leapsectz as an independent oracle on the real file and to write
// synthetic TZif fixtures.
//
// Leap records (zic's adjleap): the occurrence is given on the file's own
// time scale, which counts the leap seconds before it, and the correction
// is the cumulative count (LEAPCORR) from the occurrence on. For a record
// with previous correction p, the UTC instant At after the leap is
// occurrence − p for an insertion (zic writes 23:59:60, i.e. At) and
// occurrence − p + 1 for a deletion (zic writes 23:59:59, i.e. At − 1).
// TAI − UTC = 10 + LEAPCORR. In version 4 files the last record may repeat
// the previous correction: its occurrence − LEAPCORR is the expiry. A
// version 4 table may also be truncated (first correction not ±1); its
// first record is then taken as an insertion if the correction is
// positive, a deletion if negative.
//
// Files without an expiry (versions 1–3; Debian 12 ships version 2) yield
// a table whose Expires is zero.
func ParseTZif(r io.Reader) (*Table, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	d := tzifReader{b: data}
	hdr, err := d.header()
	if err != nil {
		return nil, err
	}
	version := hdr.version
	timeSize := 4
	if version >= '2' {
		// Skip the version 1 block and read the 64-bit one.
		if err := d.skip(hdr.blockSize(4)); err != nil {
			return nil, err
		}
		if hdr, err = d.header(); err != nil {
			return nil, err
		}
		timeSize = 8
	}
	if err := d.skip(hdr.timecnt*(timeSize+1) + hdr.typecnt*6 + hdr.charcnt); err != nil {
		return nil, err
	}
	if hdr.leapcnt == 0 {
		return nil, fmt.Errorf("%w: TZif file has no leap-second records (use right/UTC, not UTC)", ErrMalformed)
	}
	if hdr.leapcnt > MaxEntries {
		return nil, fmt.Errorf("%w: %d leap records (max %d)", ErrMalformed, hdr.leapcnt, MaxEntries)
	}
	type rec struct {
		occ  int64
		corr int64
	}
	recs := make([]rec, hdr.leapcnt)
	for i := range recs {
		b, err := d.take(timeSize + 4)
		if err != nil {
			return nil, err
		}
		if timeSize == 8 {
			recs[i].occ = int64(binary.BigEndian.Uint64(b))
		} else {
			recs[i].occ = int64(int32(binary.BigEndian.Uint32(b)))
		}
		recs[i].corr = int64(int32(binary.BigEndian.Uint32(b[timeSize:])))
		// Same sanity bound as the list parser: ±2^33 s keeps time
		// arithmetic exact.
		if recs[i].occ > maxNTPSeconds || recs[i].occ < -maxNTPSeconds || recs[i].corr > 1000 || recs[i].corr < -1000 {
			return nil, fmt.Errorf("%w: leap record %d out of range", ErrMalformed, i+1)
		}
	}
	// The rest (standard/UT indicators, footer) is not needed.

	var expires time.Time
	if n := len(recs); version >= '4' && n >= 2 && recs[n-1].corr == recs[n-2].corr {
		expires = time.Unix(recs[n-1].occ-recs[n-1].corr, 0).UTC()
		recs = recs[:n-1]
	}

	entries := make([]entry, 0, len(recs)+1)
	first := recs[0].corr
	switch {
	case first == 1 || first == -1:
		// Complete table: LEAPCORR was 0 from 1972-01-01.
		entries = append(entries, entry{start: time.Date(1972, 1, 1, 0, 0, 0, 0, time.UTC), offset: tzifBaseOffset})
	case version < '4':
		return nil, fmt.Errorf("%w: first leap correction %d is not ±1", ErrMalformed, first)
	}
	for i, rc := range recs {
		var prev int64
		switch {
		case i > 0:
			prev = recs[i-1].corr
		case rc.corr > 0:
			prev = rc.corr - 1
		default:
			prev = rc.corr + 1
		}
		var at int64
		switch rc.corr - prev {
		case 1:
			at = rc.occ - prev
		case -1:
			at = rc.occ - prev + 1
		default:
			return nil, fmt.Errorf("%w: leap record %d changes the correction from %d to %d", ErrMalformed, i+1, prev, rc.corr)
		}
		if i > 0 && rc.occ <= recs[i-1].occ {
			return nil, fmt.Errorf("%w: leap record %d is not after record %d", ErrMalformed, i+1, i)
		}
		entries = append(entries, entry{start: time.Unix(at, 0).UTC(), offset: tzifBaseOffset + int(rc.corr)})
	}
	return newTable(FormatTZif, entries, time.Time{}, expires)
}

type tzifHeader struct {
	version                                               byte
	isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt int
}

// blockSize is the size of the data block after the header for the given
// time size (4 in version 1 blocks, 8 in version 2+ blocks).
func (h tzifHeader) blockSize(timeSize int) int {
	return h.timecnt*(timeSize+1) + h.typecnt*6 + h.charcnt + h.leapcnt*(timeSize+4) + h.isstdcnt + h.isutcnt
}

type tzifReader struct {
	b   []byte
	off int
}

func (d *tzifReader) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.off {
		return nil, fmt.Errorf("%w: TZif data truncated at byte %d", ErrMalformed, d.off)
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b, nil
}

func (d *tzifReader) skip(n int) error {
	_, err := d.take(n)
	return err
}

// header reads a 44-byte TZif header (RFC 8536 §3.1).
func (d *tzifReader) header() (tzifHeader, error) {
	b, err := d.take(44)
	if err != nil {
		return tzifHeader{}, err
	}
	if string(b[:4]) != tzifMagic {
		return tzifHeader{}, fmt.Errorf("%w: no TZif magic", ErrMalformed)
	}
	h := tzifHeader{version: b[4]}
	if h.version != 0 && h.version < '2' {
		return tzifHeader{}, fmt.Errorf("%w: TZif version byte %#x", ErrMalformed, h.version)
	}
	counts := [6]*int{&h.isutcnt, &h.isstdcnt, &h.leapcnt, &h.timecnt, &h.typecnt, &h.charcnt}
	for i, p := range counts {
		v := binary.BigEndian.Uint32(b[20+4*i:])
		if v > maxTZifCount {
			return tzifHeader{}, fmt.Errorf("%w: TZif count %d too large", ErrMalformed, v)
		}
		*p = int(v)
	}
	if h.typecnt == 0 || (h.isutcnt != 0 && h.isutcnt != h.typecnt) || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt) {
		return tzifHeader{}, fmt.Errorf("%w: inconsistent TZif header counts", ErrMalformed)
	}
	return h, nil
}
