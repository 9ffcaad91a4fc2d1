package privdrop

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Creds are a process's credentials as /proc/PID/status reports them (for
// the thread group leader).
type Creds struct {
	// UID and GID are the real, effective, saved and filesystem IDs.
	UID, GID [4]int
	// Groups are the supplementary groups.
	Groups []int
	// Inh, Prm, Eff, Bnd and Amb are the capability sets.
	Inh, Prm, Eff, Bnd, Amb Set
	// NoNewPrivs is PR_SET_NO_NEW_PRIVS.
	NoNewPrivs bool
}

// ParseStatus reads the credential lines of a /proc/PID/status file.
func ParseStatus(b []byte) (Creds, error) {
	var c Creds
	seen := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		var err error
		switch key {
		case "Uid":
			c.UID, err = parseIDs(val)
		case "Gid":
			c.GID, err = parseIDs(val)
		case "Groups":
			for _, f := range strings.Fields(val) {
				g, perr := strconv.Atoi(f)
				if perr != nil {
					err = perr
					break
				}
				c.Groups = append(c.Groups, g)
			}
		case "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb":
			var v uint64
			v, err = strconv.ParseUint(val, 16, 64)
			*map[string]*Set{"CapInh": &c.Inh, "CapPrm": &c.Prm, "CapEff": &c.Eff, "CapBnd": &c.Bnd, "CapAmb": &c.Amb}[key] = Set(v)
		case "NoNewPrivs":
			c.NoNewPrivs = val == "1"
		default:
			continue
		}
		if err != nil {
			return Creds{}, fmt.Errorf("status line %q: %w", line, err)
		}
		seen[key] = true
	}
	for _, k := range []string{"Uid", "Gid", "CapPrm", "CapEff", "CapBnd"} {
		if !seen[k] {
			return Creds{}, fmt.Errorf("status: no %s line", k)
		}
	}
	return c, nil
}

func parseIDs(s string) ([4]int, error) {
	var ids [4]int
	f := strings.Fields(s)
	if len(f) != 4 {
		return ids, errors.New("want 4 IDs (real, effective, saved, filesystem)")
	}
	for i, x := range f {
		v, err := strconv.Atoi(x)
		if err != nil {
			return ids, err
		}
		ids[i] = v
	}
	return ids, nil
}

// AllIDs reports whether all four IDs are id.
func AllIDs(ids [4]int, id int) bool {
	return ids == [4]int{id, id, id, id}
}
