package vmclock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// DevicePath is where ptp_vmclock puts its misc device.
const DevicePath = "/dev/vmclock0"

// maxTries bounds the retries of one consistent read; retryWait is the
// pause between them. A hypervisor update takes microseconds; 100 × 20 µs
// outlasts it by far (the driver itself gives up after VMCLOCK_MAX_WAIT).
const (
	maxTries  = 100
	retryWait = 20 * time.Microsecond
)

// Reader reads the VMClock page from /dev/vmclock0 (pread: the driver
// copies under the seqlock) or from a file holding a simulated page.
// Methods are safe for concurrent use (each is one or more preads).
type Reader struct {
	f *os.File
}

// Open opens path read-only and checks that it holds a valid page.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vmclock: %w", err)
	}
	r := &Reader{f: f}
	if _, err := r.Read(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// Name is the path opened.
func (r *Reader) Name() string { return r.f.Name() }

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// Read returns a consistent snapshot of the page.
func (r *Reader) Read() (Page, error) {
	p, err := snapshot(r.f, time.Sleep)
	if err != nil {
		return Page{}, fmt.Errorf("%s: %w", r.f.Name(), err)
	}
	return p, nil
}

// DisruptionMarker reads the page's disruption marker (the value that
// changes when the CPU counter was disrupted).
func (r *Reader) DisruptionMarker() (uint64, error) {
	p, err := r.Read()
	if err != nil {
		return 0, err
	}
	return p.DisruptionMarker, nil
}

// snapshot reads the page from ra as a seqlock reader does: read it, and
// keep it if seq_count was even and is unchanged when read again;
// otherwise wait and retry, at most maxTries times (ErrBusy).
func snapshot(ra io.ReaderAt, sleep func(time.Duration)) (Page, error) {
	var buf [Size]byte
	var seq [4]byte
	for try := range maxTries {
		if try > 0 {
			sleep(retryWait)
		}
		n, err := ra.ReadAt(buf[:], 0)
		if err != nil && !(errors.Is(err, io.EOF) && n >= MinSize) {
			if errors.Is(err, io.EOF) {
				return Page{}, fmt.Errorf("%w: %d bytes, want ≥ %d", ErrShort, n, MinSize)
			}
			return Page{}, fmt.Errorf("vmclock: read: %w", err)
		}
		s := binary.LittleEndian.Uint32(buf[offSeq:])
		if s%2 == 1 {
			continue // an update in progress
		}
		if _, err := ra.ReadAt(seq[:], offSeq); err != nil {
			return Page{}, fmt.Errorf("vmclock: read seq_count: %w", err)
		}
		if binary.LittleEndian.Uint32(seq[:]) != s {
			continue // changed under us
		}
		return Decode(buf[:n])
	}
	return Page{}, fmt.Errorf("%w after %d tries", ErrBusy, maxTries)
}
