package interop

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/internal/netns"
	"github.com/gnomon-time/gnomon/internal/privdrop"
)

// TestGnomondDropsPrivileges starts gnomond as root (less CAP_SYS_TIME, as
// every process of this suite) serving NTP on port 123, metrics and a
// control socket, and reads /proc/PID/status of every thread once it
// answers: with process.user nobody it runs as nobody:nogroup with no
// supplementary groups; either way it holds no capability at all (CapEff,
// CapPrm, CapBnd, CapAmb empty: a virtual clock and a local source need
// none), with no_new_privs set. It still answers NTP and chronyc over the
// control socket (given to nobody), serves metrics, and exits 0 on
// SIGTERM.
//
// The configurations that keep cap_sys_time (clock.mode system, a kernel
// PPS source) are covered by the plan's table test in cmd/gnomond and by
// internal/privdrop's child-process test with a stand-in capability: no
// test runs a gnomond that could steer the host clock.
func TestGnomondDropsPrivileges(t *testing.T) {
	requirePeers(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("SKIP (loud): no user nobody on this host: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	for _, tt := range []struct {
		name     string
		user     string
		uid, gid int
	}{
		{"process.user nobody", "nobody", uid, gid},
		{"root without process.user", "", 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pair := suite.h.NewPairT(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			// Root's 0755: nobody reaches chronyc's client socket there.
			dir := gnomondDir(t, "gnomond-priv")
			sock := filepath.Join(dir, "gnomond.sock")
			extra := fmt.Sprintf("control:\n  listen: []\n  listen_optional: []\n  socket: %q\n", sock)
			if tt.user != "" {
				extra += fmt.Sprintf("process:\n  user: %s\n", tt.user)
			}
			g := startGnomond(t, pair, gnomondOpts{extra: extra}, 60*time.Second)
			g.waitReady(t) // NTP on port 123, bound before the drop

			pid := g.proc.ProgramPID()
			tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
			if err != nil || len(tasks) < 2 {
				t.Fatalf("threads of gnomond (pid %d): %v %v", pid, tasks, err)
			}
			for _, p := range tasks {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				c, err := privdrop.ParseStatus(b)
				if err != nil {
					t.Fatal(err)
				}
				if !privdrop.AllIDs(c.UID, tt.uid) || !privdrop.AllIDs(c.GID, tt.gid) {
					t.Errorf("%s: Uid %v Gid %v, want all %d and %d", p, c.UID, c.GID, tt.uid, tt.gid)
				}
				if tt.user != "" && len(c.Groups) != 0 {
					t.Errorf("%s: supplementary groups %v, want none", p, c.Groups)
				}
				if c.Eff != 0 || c.Prm != 0 || c.Bnd != 0 || c.Amb != 0 || c.Inh != 0 {
					t.Errorf("%s: CapEff %s CapPrm %s CapBnd %s CapAmb %s CapInh %s, want none", p, c.Eff, c.Prm, c.Bnd, c.Amb, c.Inh)
				}
				if !c.NoNewPrivs {
					t.Errorf("%s: NoNewPrivs 0", p)
				}
			}
			if !strings.Contains(g.proc.Output(), "privileges after start-up") {
				t.Errorf("no privileges log line")
			}

			fi, err := os.Stat(sock)
			if err != nil {
				t.Fatal(err)
			}
			if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != tt.uid || int(st.Gid) != tt.gid {
				t.Errorf("control socket owned by %d:%d, want %d:%d", st.Uid, st.Gid, tt.uid, tt.gid)
			}
			out, err := pair.Srv.Run(ctx, netns.Spec{Name: "chronyc", Args: []string{"chronyc", "-h", sock, "tracking"}, Limit: 15 * time.Second})
			if err != nil || !strings.Contains(out, "Stratum         : 3") {
				t.Errorf("chronyc tracking over the socket: %v\n%s", err, out)
			}
			if m := g.scrape(t); !strings.Contains(m, "gnomon_sync_stratum 3") {
				t.Errorf("metrics after the drop lack gnomon_sync_stratum 3")
			}
			g.stop(t)
		})
	}
}
