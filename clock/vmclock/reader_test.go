package vmclock

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// scripted is an io.ReaderAt whose page changes on every read: reads[i] is
// what the i-th read sees (the last one repeats). It plays a hypervisor
// updating the page while the reader copies it.
type scripted struct {
	reads [][]byte
	n     int
}

func (s *scripted) ReadAt(b []byte, off int64) (int, error) {
	p := s.reads[min(s.n, len(s.reads)-1)]
	s.n++
	if off >= int64(len(p)) {
		return 0, io.EOF
	}
	n := copy(b, p[off:])
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func withSeq(p Page, seq uint32, marker uint64) []byte {
	p.SeqCount, p.DisruptionMarker = seq, marker
	return Encode(p)
}

func TestSnapshot(t *testing.T) {
	p := samplePage()
	for name, tc := range map[string]struct {
		reads      [][]byte
		wantMarker uint64
		wantErr    error
		wantReads  int
	}{
		"stable":         {reads: [][]byte{withSeq(p, 4, 1)}, wantMarker: 1, wantReads: 2},
		"odd, then even": {reads: [][]byte{withSeq(p, 5, 1), withSeq(p, 6, 2)}, wantMarker: 2, wantReads: 3},
		"changed between reads": {reads: [][]byte{withSeq(p, 4, 1), withSeq(p, 6, 2), withSeq(p, 6, 2)},
			wantMarker: 2, wantReads: 4},
		"always odd":        {reads: [][]byte{withSeq(p, 7, 1)}, wantErr: ErrBusy, wantReads: maxTries},
		"short file":        {reads: [][]byte{withSeq(p, 4, 1)[:50]}, wantErr: ErrShort, wantReads: 1},
		"first-kernel size": {reads: [][]byte{withSeq(p, 4, 3)[:MinSize]}, wantErr: nil, wantMarker: 3, wantReads: 2},
	} {
		t.Run(name, func(t *testing.T) {
			s := &scripted{reads: tc.reads}
			sleeps := 0
			got, err := snapshot(s, func(time.Duration) { sleeps++ })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("snapshot: %v, want %v", err, tc.wantErr)
			}
			if err == nil && got.DisruptionMarker != tc.wantMarker {
				t.Errorf("marker %d, want %d", got.DisruptionMarker, tc.wantMarker)
			}
			if s.n != tc.wantReads {
				t.Errorf("%d reads, want %d", s.n, tc.wantReads)
			}
		})
	}
}

// TestReaderFile reads a simulated page from a file, as from /dev/vmclock0,
// and sees a rewrite of its disruption marker.
func TestReaderFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vmclock0")
	p := samplePage()
	if err := os.WriteFile(path, withSeq(p, 2, 10), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if m, err := r.DisruptionMarker(); err != nil || m != 10 {
		t.Fatalf("DisruptionMarker = %d, %v; want 10", m, err)
	}
	if err := os.WriteFile(path, withSeq(p, 4, 11), 0o600); err != nil {
		t.Fatal(err)
	}
	if m, err := r.DisruptionMarker(); err != nil || m != 11 {
		t.Fatalf("after a migration: DisruptionMarker = %d, %v; want 11", m, err)
	}
	if r.Name() != path {
		t.Errorf("Name = %q", r.Name())
	}

	bad := filepath.Join(t.TempDir(), "bad")
	b := withSeq(p, 2, 10)
	binary.LittleEndian.PutUint32(b, 0)
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(bad); !errors.Is(err, ErrMagic) {
		t.Errorf("Open of a page without magic: %v, want ErrMagic", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a missing file: %v, want ErrNotExist", err)
	}
}
