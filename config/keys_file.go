package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/gnomon-time/gnomon/ntp/symkey"
)

// maxKeysFile bounds ntp.keys_file (chrony has no limit; a key file is a
// few lines).
const maxKeysFile = 1 << 20

// LoadKeys reads and parses ntp.keys_file: nil keys and no error when it is
// "". It refuses a file that is not a regular file, is world-readable or
// group-writable (symkey.CheckMode), is larger than 1 MiB or does not parse;
// the error names the key, the file and, for a parse error, the line and
// field. CheckHost calls it, and gnomond calls it at start and on SIGHUP.
func (n *NTP) LoadKeys() (*symkey.Keys, error) {
	p := n.KeysFile
	if p == "" {
		return nil, nil
	}
	ks, err := readKeys(p)
	if err != nil {
		return nil, fmt.Errorf("ntp.keys_file: %q: %w", p, err)
	}
	return ks, nil
}

func readKeys(path string) (*symkey.Keys, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err // the message already names the path
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if err := symkey.CheckMode(path, fi.Mode()); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeysFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeysFile {
		return nil, fmt.Errorf("larger than %d bytes: not a key file", maxKeysFile)
	}
	return symkey.Parse(path, data)
}
