package gpsd

import "bytes"

// Splitter cuts a byte stream into lines of at most MaxLine bytes. It does
// no I/O: the shell Writes what it read and takes lines with Next. A line
// longer than MaxLine is reported once with ErrLineTooLong and dropped up to
// the next newline, where splitting resynchronises; memory stays bounded by
// MaxLine plus one read. The zero value is ready to use.
type Splitter struct {
	buf        []byte
	start      int  // first byte of buf not yet returned
	discarding bool // inside an over-long line: drop until '\n'
}

// Write appends p to the stream. It never fails.
func (s *Splitter) Write(p []byte) (int, error) {
	if s.start > 0 {
		// Compact: move the unreturned tail to the front.
		n := copy(s.buf, s.buf[s.start:])
		s.buf = s.buf[:n]
		s.start = 0
	}
	s.buf = append(s.buf, p...)
	return len(p), nil
}

// Next returns the next complete line without its "\n" (and without a
// "\r" before it), or nil when no complete line is buffered: Write more
// and call again. Empty lines are skipped. The line is valid until the next
// Write. err is ErrLineTooLong (and line nil) once per over-long line.
func (s *Splitter) Next() (line []byte, err error) {
	for {
		rest := s.buf[s.start:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if s.discarding {
				s.buf, s.start = s.buf[:0], 0
				return nil, nil
			}
			if len(rest) > MaxLine {
				s.discarding = true
				s.buf, s.start = s.buf[:0], 0
				return nil, ErrLineTooLong
			}
			return nil, nil
		}
		line = rest[:i]
		s.start += i + 1
		if s.discarding {
			// The tail of a line already reported.
			s.discarding = false
			continue
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > MaxLine {
			return nil, ErrLineTooLong
		}
		if len(line) == 0 {
			continue
		}
		return line, nil
	}
}

// Buffered is the number of bytes held that Next has not returned.
func (s *Splitter) Buffered() int { return len(s.buf) - s.start }
