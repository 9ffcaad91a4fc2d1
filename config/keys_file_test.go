package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is subject to the umask
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "# keys\n30 AES128 HEX:7EA62AE64D190114D46D5A082F948EC1\n1 SHA1 secret\n", 0o640)
	for _, tc := range []struct {
		name, path string
		wantKeys   int
		wantErr    []string
	}{
		{"unset", "", 0, nil},
		{"good", good, 2, nil},
		{"world_readable", write("world", "1 x\n", 0o644), 0, []string{"ntp.keys_file", "world", "0644", "world-readable"}},
		{"group_writable", write("gw", "1 x\n", 0o660), 0, []string{"0660", "group- or world-writable"}},
		{"parse_error", write("bad", "1 x\n2 AES128 HEX:0011\n", 0o600), 0, []string{"ntp.keys_file", "bad:2:", "key 2: AES128 needs a 16-byte"}},
		{"missing", filepath.Join(dir, "nonesuch"), 0, []string{"ntp.keys_file", "nonesuch", "no such file"}},
		{"directory", dir, 0, []string{"not a regular file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := NTP{KeysFile: tc.path}
			ks, err := n.LoadKeys()
			if tc.wantErr == nil {
				if err != nil || ks.Len() != tc.wantKeys {
					t.Fatalf("LoadKeys = %d keys, %v; want %d keys", ks.Len(), err, tc.wantKeys)
				}
				return
			}
			if err == nil {
				t.Fatal("LoadKeys accepted the file")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			// CheckHost reports the same problem (gnomond validate).
			c := Default()
			c.NTP.KeysFile = tc.path
			if err := c.CheckHost(); err == nil || !strings.Contains(err.Error(), "ntp.keys_file") {
				t.Errorf("CheckHost = %v, want the keys_file error", err)
			}
		})
	}
}
