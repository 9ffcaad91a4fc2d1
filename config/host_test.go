package config

import (
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// loopbackName returns the name and index of this host's loopback
// interface ("lo" on Linux).
func loopbackName(t *testing.T) (string, int) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Skipf("no interface list: %v", err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return i.Name, i.Index
		}
	}
	t.Skip("no loopback interface")
	return "", 0
}

func TestCheckHost(t *testing.T) {
	lo, loIndex := loopbackName(t)
	dir := t.TempDir()
	table := filepath.Join(dir, "leap-seconds.list")
	if err := os.WriteFile(table, []byte("# not parsed here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(dir, "locked.list")
	if err := os.WriteFile(locked, nil, 0o000); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.list")
	tests := []struct {
		name string
		edit func(*Config)
		want []string // substrings of the error; none = valid
		uid0 bool     // skip as root (root reads any file)
	}{
		{"default", func(*Config) {}, nil, false},
		{"loopback interface", func(c *Config) { c.NTP.Interface = lo }, nil, false},
		{"bad interface", func(c *Config) { c.NTP.Interface = "nosuchif0" },
			[]string{`ntp.interface: "nosuchif0": no such network interface`}, false},
		{"zone by name", func(c *Config) { c.NTP.Listen = []string{"[fe80::1%" + lo + "]:123"} }, nil, false},
		{"zone by index", func(c *Config) { c.Metrics.Listen = "[fe80::1%" + strconv.Itoa(loIndex) + "]:9100" }, nil, false},
		{"bad listen zone", func(c *Config) { c.NTP.Listen = []string{"127.0.0.1:123", "[fe80::1%nosuchif0]:123"} },
			[]string{`ntp.listen[1]: "[fe80::1%nosuchif0]:123": zone "nosuchif0": no such network interface`}, false},
		{"optional listen not checked", func(c *Config) { c.NTP.ListenOptional = []string{"[fe80::1%nosuchif0]:123"} }, nil, false},
		{"bad metrics zone", func(c *Config) { c.Metrics.Listen = "[fe80::1%nosuchif0]:9100" },
			[]string{`metrics.listen: "[fe80::1%nosuchif0]:9100": zone "nosuchif0": no such network interface`}, false},
		{"leap table readable", func(c *Config) { c.Leap.Table = table }, nil, false},
		{"ptp interface without MAC", func(c *Config) { c.PTP.Enabled = true; c.PTP.Interface = lo },
			[]string{`ptp.interface: "` + lo + `": no clock identity from its MAC`}, false},
		{"ptp interface missing", func(c *Config) { c.PTP.Enabled = true; c.PTP.Interface = "nosuchif0" },
			[]string{`ptp.interface: "nosuchif0": no such network interface`}, false},
		{"ptp loopback with identity", func(c *Config) {
			c.PTP.Enabled = true
			c.PTP.Interface = lo
			c.PTP.ClockIdentity = "02:00:00:ff:fe:00:00:01"
		}, nil, false},
		{"socket group by number", func(c *Config) { c.Control.SocketGroup = "0" }, nil, false},
		{"socket group by name", func(c *Config) { c.Control.SocketGroup = rootGroup(t) }, nil, false},
		{"unknown socket group", func(c *Config) { c.Control.SocketGroup = "no-such-group-gnomon" },
			[]string{`control.socket_group: "no-such-group-gnomon": no such group on this host`}, false},
		{"process user by name", func(c *Config) { c.Process.User = "root" }, nil, false},
		{"process user by number", func(c *Config) { c.Process.User = "0"; c.Process.Group = "0" }, nil, false},
		{"process group by name", func(c *Config) { c.Process.User = "root"; c.Process.Group = rootGroup(t) }, nil, false},
		{"unknown process user", func(c *Config) { c.Process.User = "no-such-user-gnomon" },
			[]string{`process.user: "no-such-user-gnomon": no such user on this host`}, false},
		{"unknown process uid", func(c *Config) { c.Process.User = "4000000000" },
			[]string{`process.user: "4000000000": no user with this uid`}, false},
		{"unknown process group", func(c *Config) { c.Process.User = "root"; c.Process.Group = "no-such-group-gnomon" },
			[]string{`process.group: "no-such-group-gnomon": no such group on this host`}, false},
		{"missing leap table", func(c *Config) { c.Leap.Table = missing },
			[]string{`leap.table: "` + missing + `": no such file or directory`}, false},
		{"leap table is a directory", func(c *Config) { c.Leap.Table = dir },
			[]string{`leap.table: "` + dir + `": is a directory, not a file`}, false},
		{"unreadable leap table", func(c *Config) { c.Leap.Table = locked },
			[]string{`leap.table: "` + locked + `": permission denied`}, true},
		{"every problem", func(c *Config) { c.NTP.Interface = "nosuchif0"; c.Leap.Table = missing },
			[]string{`ntp.interface: "nosuchif0"`, `leap.table: "` + missing + `"`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.uid0 && os.Geteuid() == 0 {
				t.Skip("root reads files whatever their mode")
			}
			c := Default()
			tt.edit(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("test configuration is invalid: %v", err)
			}
			err := c.CheckHost()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckHost: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckHost accepted it; want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// rootGroup is the name of group 0 on this host.
func rootGroup(t *testing.T) string {
	t.Helper()
	g, err := user.LookupGroupId("0")
	if err != nil {
		t.Skipf("group 0 has no name here: %v", err)
	}
	return g.Name
}
