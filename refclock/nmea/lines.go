package nmea

import "time"

// lineSplitter cuts a byte stream into lines of at most MaxLineLen bytes
// (CR LF excluded) and stamps each with the time of the read that brought
// its first byte: the start of a sentence, not its end, so that Received
// does not grow with the sentence's length (80 bytes take 83 ms at 9600
// baud). It is sans-IO and never holds more than MaxLineLen+1 bytes.
type lineSplitter struct {
	buf    []byte
	first  time.Time // read time of the current line's first byte
	inLine bool
	over   bool // the current line passed the limit: drop it up to '\n'
}

// push consumes chunk, read at at, calling fn for every line it completes:
// line without CR LF (valid only during the call) and first; or, for a
// line over MaxLineLen, a nil line and tooLong. Empty lines are skipped.
func (s *lineSplitter) push(chunk []byte, at time.Time, fn func(line []byte, first time.Time, tooLong bool)) {
	if s.buf == nil {
		s.buf = make([]byte, 0, MaxLineLen+1)
	}
	for len(chunk) > 0 {
		if !s.inLine {
			s.inLine, s.first = true, at
		}
		i := 0
		for i < len(chunk) && chunk[i] != '\n' {
			i++
		}
		part := chunk[:i]
		if !s.over {
			if len(s.buf)+len(part) > MaxLineLen+1 { // +1: a CR before the LF
				s.over = true
				s.buf = s.buf[:0]
			} else {
				s.buf = append(s.buf, part...)
			}
		}
		if i == len(chunk) {
			return
		}
		chunk = chunk[i+1:]
		line := s.buf
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		switch {
		case s.over:
			fn(nil, s.first, true)
		case len(line) > MaxLineLen:
			fn(nil, s.first, true)
		case len(line) > 0:
			fn(line, s.first, false)
		}
		s.buf, s.inLine, s.over = s.buf[:0], false, false
	}
}
