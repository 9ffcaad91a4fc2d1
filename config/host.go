package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/user"
	"strconv"
)

// RunOnlyChecks names what CheckHost cannot see and only a run finds out:
// `gnomond validate` prints it after OK.
const RunOnlyChecks = "binding ports, hardware timestamping and PHCs, resolving host names"

// CheckHost checks what a valid configuration needs from this host and can
// be checked without binding anything: that ntp.interface and the zones of
// ntp.listen and metrics.listen name existing network interfaces, and that
// leap.table is a readable file (its contents are the leap package's to
// judge), that ntp.keys_file loads (readable, private, parses). It returns every problem joined, each naming key and value like
// Validate's, and that control.socket_group names a group. Call it after
// Validate; it looks only at keys a run refuses to start without, so ntp.listen_optional (skipped at run time when it cannot
// be bound), control.listen_optional and control.socket (both skipped with
// a warning at run time when unusable) are not checked. What is
// left (RunOnlyChecks) only a run can find out.
func (c *Config) CheckHost() error {
	var errs []error
	bad := func(key string, value any, err error) {
		errs = append(errs, fmt.Errorf("%s: %s: %w", key, quote(value), err))
	}
	if n := c.NTP.Interface; n != "" {
		if _, err := net.InterfaceByName(n); err != nil {
			bad("ntp.interface", n, netError(err))
		}
	}
	for i, s := range c.NTP.Listen {
		if ap, err := parseListen(s); err == nil {
			if err := checkZone(ap.Addr().Zone()); err != nil {
				bad(fmt.Sprintf("ntp.listen[%d]", i), s, err)
			}
		}
	}
	for i, s := range c.Control.Listen {
		if ap, err := parseListen(s); err == nil {
			if err := checkZone(ap.Addr().Zone()); err != nil {
				bad(fmt.Sprintf("control.listen[%d]", i), s, err)
			}
		}
	}
	if s := c.Metrics.Listen; s != "" {
		if host, _, err := net.SplitHostPort(s); err == nil && host != "" {
			if a, err := netip.ParseAddr(host); err == nil {
				if err := checkZone(a.Zone()); err != nil {
					bad("metrics.listen", s, err)
				}
			}
		}
	}
	if p := c.NTP.KeysFile; p != "" {
		if _, err := c.NTP.LoadKeys(); err != nil {
			errs = append(errs, err) // names the key, the file and the line
		}
	}
	if p := c.Leap.Table; p != "" {
		if err := checkReadable(p); err != nil {
			bad("leap.table", p, err)
		}
	}
	if p := &c.PTP; p.Enabled && p.Interface != "" {
		ifi, err := net.InterfaceByName(p.Interface)
		switch {
		case err != nil:
			bad("ptp.interface", p.Interface, netError(err))
		case p.ClockIdentity == "":
			if _, err := IdentityFromMAC(ifi.HardwareAddr); err != nil {
				bad("ptp.interface", p.Interface, fmt.Errorf("no clock identity from its MAC (set ptp.clock_identity): %w", err))
			}
		}
	}
	if g := c.Control.SocketGroup; g != "" && c.Control.Socket != "" {
		if _, err := strconv.Atoi(g); err != nil {
			if _, err := user.LookupGroup(g); err != nil {
				bad("control.socket_group", g, errors.New("no such group on this host"))
			}
		}
	}
	if u := c.Process.User; u != "" {
		if _, err := lookupUser(u); err != nil {
			bad("process.user", u, err)
		} else if _, _, err := c.Process.IDs(); err != nil {
			bad("process.group", c.Process.Group, err)
		}
	}
	return errors.Join(errs...)
}

// IDs resolves process.user and process.group to a uid and gid (the
// user's primary group when process.group is empty). Call it only when
// process.user is set. The error names which of the two failed.
func (p *Process) IDs() (uid, gid int, err error) {
	u, err := lookupUser(p.User)
	if err != nil {
		return 0, 0, err
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, fmt.Errorf("uid %q: %w", u.Uid, err)
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, fmt.Errorf("gid %q: %w", u.Gid, err)
	}
	if g := p.Group; g != "" {
		if n, err := strconv.Atoi(g); err == nil && n >= 0 {
			return uid, n, nil
		}
		gr, err := user.LookupGroup(g)
		if err != nil {
			return 0, 0, errors.New("no such group on this host")
		}
		if gid, err = strconv.Atoi(gr.Gid); err != nil {
			return 0, 0, fmt.Errorf("gid %q: %w", gr.Gid, err)
		}
	}
	return uid, gid, nil
}

// lookupUser finds a user by name, or by number when it is one.
func lookupUser(s string) (*user.User, error) {
	if _, err := strconv.Atoi(s); err == nil {
		if u, err := user.LookupId(s); err == nil {
			return u, nil
		}
		return nil, errors.New("no user with this uid on this host (a numeric user needs a passwd entry for its group)")
	}
	u, err := user.Lookup(s)
	if err != nil {
		return nil, errors.New("no such user on this host")
	}
	return u, nil
}

// checkZone checks that the zone of an IPv6 address names an interface, by
// name or by index as the net package reads it.
func checkZone(zone string) error {
	if zone == "" {
		return nil
	}
	if _, err := net.InterfaceByName(zone); err == nil {
		return nil
	}
	if i, err := strconv.Atoi(zone); err == nil && i > 0 {
		if _, err := net.InterfaceByIndex(i); err == nil {
			return nil
		}
	}
	return fmt.Errorf("zone %q: no such network interface", zone)
}

// checkReadable checks that path is a file this process can open for
// reading.
func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err // the key and value already name the path
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("is a directory, not a file")
	}
	return nil
}

// netError strips the operation the net package wraps lookup errors in
// ("route ip+net: no such network interface").
func netError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}
