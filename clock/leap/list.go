package leap

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // the file format specifies SHA-1; it is an integrity check, not a signature
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"time"
)

// ntpUnixDelta is the number of seconds from 1900-01-01 (NTP era 0) to
// 1970-01-01.
const ntpUnixDelta = 2208988800

// maxNTPSeconds bounds timestamps in a list (year ≈ 2172, NTP era 1); it
// keeps hostile values from overflowing time arithmetic.
const maxNTPSeconds = 1 << 33

// maxLineLen bounds one line of a leap-seconds.list.
const maxLineLen = 4096

// ParseList parses an IERS/NIST leap-seconds.list and verifies its hash.
//
// Format (the comments of the file itself, NIST and IERS editions):
//   - blank lines and lines starting with "#" followed by white space are
//     comments; "#" also starts a comment at the end of a data line;
//   - data lines: "NTPSECONDS DTAI": from that instant (seconds since
//     1900-01-01 00:00:00 UTC) on, TAI − UTC = DTAI seconds;
//   - "#$ NTPSECONDS": last update; "#@ NTPSECONDS": expiry;
//   - "#h W1 W2 W3 W4 W5": SHA-1 of the data, five 32-bit hex words. The
//     hash covers, in file order, the text of the #$ and #@ lines after
//     their two-character markers and of the data lines before any "#",
//     with all white space removed. Words are printed without leading
//     zeros in some editions, so they are compared as numbers.
//
// The expiry and the hash are required: a table that cannot say how long it
// is valid, or whose integrity cannot be checked, is not used to announce
// leaps. Errors wrap ErrNoExpiry, ErrNoHash, ErrBadHash, ErrTooLarge or
// ErrMalformed.
func ParseList(r io.Reader) (*Table, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var (
		entries          []entry
		updated, expires time.Time
		haveUpd, haveExp bool
		hashWords        []uint32
		h                = sha1.New() //nolint:gosec // format-mandated
	)
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if len(line) > maxLineLen {
			return nil, fmt.Errorf("%w: line %d longer than %d bytes", ErrMalformed, lineNo, maxLineLen)
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if line[0] == '#' {
			if len(line) < 2 {
				continue // bare "#": comment
			}
			body := line[2:]
			switch line[1] {
			case '$', '@':
				what := "#$ update"
				if line[1] == '@' {
					what = "#@ expiry"
				}
				if (line[1] == '$' && haveUpd) || (line[1] == '@' && haveExp) {
					return nil, fmt.Errorf("%w: line %d: second %s line", ErrMalformed, lineNo, what)
				}
				fields := bytes.Fields(body)
				if len(fields) != 1 {
					return nil, fmt.Errorf("%w: line %d: %s line needs one NTP timestamp", ErrMalformed, lineNo, what)
				}
				ts, err := parseNTPSeconds(fields[0])
				if err != nil {
					return nil, fmt.Errorf("%w: line %d: %s: %w", ErrMalformed, lineNo, what, err)
				}
				h.Write(fields[0])
				if line[1] == '$' {
					updated, haveUpd = ts, true
				} else {
					expires, haveExp = ts, true
				}
			case 'h':
				if hashWords != nil {
					return nil, fmt.Errorf("%w: line %d: second #h line", ErrMalformed, lineNo)
				}
				fields := bytes.Fields(body)
				if len(fields) != 5 {
					return nil, fmt.Errorf("%w: line %d: #h needs 5 hex words, got %d", ErrMalformed, lineNo, len(fields))
				}
				hashWords = make([]uint32, 5)
				for i, f := range fields {
					if len(f) > 8 {
						return nil, fmt.Errorf("%w: line %d: #h word %q longer than 8 hex digits", ErrMalformed, lineNo, f)
					}
					v, err := strconv.ParseUint(string(f), 16, 32)
					if err != nil {
						return nil, fmt.Errorf("%w: line %d: #h word %q: not hex", ErrMalformed, lineNo, f)
					}
					hashWords[i] = uint32(v)
				}
			default:
				// Plain comment ("#" + white space) or an unknown special
				// line; neither is part of the hash.
			}
			continue
		}
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := bytes.Fields(line)
		if len(fields) == 0 {
			continue // white space before a comment
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("%w: line %d: data line needs NTP seconds and TAI-UTC, got %d fields",
				ErrMalformed, lineNo, len(fields))
		}
		ts, err := parseNTPSeconds(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrMalformed, lineNo, err)
		}
		off, err := strconv.Atoi(string(fields[1]))
		if err != nil || off < -1000 || off > 1000 {
			return nil, fmt.Errorf("%w: line %d: TAI-UTC %q is not a small integer", ErrMalformed, lineNo, fields[1])
		}
		if len(entries) >= MaxEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrMalformed, MaxEntries)
		}
		h.Write(fields[0])
		h.Write(fields[1])
		entries = append(entries, entry{start: ts, offset: off})
	}
	if !haveExp {
		return nil, ErrNoExpiry
	}
	if hashWords == nil {
		return nil, ErrNoHash
	}
	sum := h.Sum(nil)
	for i, w := range hashWords {
		if got := binary.BigEndian.Uint32(sum[4*i:]); got != w {
			return nil, fmt.Errorf("%w: file says %08x %08x %08x %08x %08x, data hashes to %x", ErrBadHash,
				hashWords[0], hashWords[1], hashWords[2], hashWords[3], hashWords[4], sum)
		}
	}
	return newTable(FormatList, entries, updated, expires)
}

// parseNTPSeconds parses decimal seconds since 1900-01-01 00:00:00 UTC.
func parseNTPSeconds(b []byte) (time.Time, error) {
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil || v > maxNTPSeconds {
		return time.Time{}, fmt.Errorf("NTP seconds %q out of range", b)
	}
	return time.Unix(int64(v)-ntpUnixDelta, 0).UTC(), nil
}
