package privdrop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as the process that drops.
const helperEnv = "GNOMON_PRIVDROP_HELPER"

// nobody is Debian's nobody:nogroup.
const nobody = 65534

// TestDropEveryThread runs Drop in a child process (root only) and checks
// every thread's credentials afterwards: Drop in this test process would
// leave it unprivileged. The plan keeps cap_net_bind_service, a stand-in
// for cap_sys_time so that no process of this test ever holds the right
// to set the clock.
func TestDropEveryThread(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP (loud): TestDropEveryThread needs root to switch users and drop capabilities")
	}
	if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_GETPID, 0, 0, 0); e == syscall.ENOTSUP {
		// -race builds use cgo. make unit runs this package again with
		// CGO_ENABLED=0, where it must pass.
		t.Skip("SKIP (loud): this test binary was built with cgo (-race?), where capabilities cannot be changed on every thread: CGO_ENABLED=0 go test ./internal/privdrop/ (make unit does)")
	}
	for _, tt := range []struct {
		name string
		keep Set
	}{{"keep nothing", 0}, {"keep one", SetOf(CapNetBindService)}} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestDropHelper$", "-test.v")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", helperEnv, uint64(tt.keep)))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "threads checked:") {
				t.Fatalf("helper did not run:\n%s", out)
			}
			t.Logf("%s", out)
		})
	}
}

// TestDropHelper is the child of TestDropEveryThread.
func TestDropHelper(t *testing.T) {
	v := os.Getenv(helperEnv)
	if v == "" {
		t.Skip("helper process of TestDropEveryThread")
	}
	var keep uint64
	if _, err := fmt.Sscan(v, &keep); err != nil {
		t.Fatal(err)
	}
	// Busy goroutines so that the runtime has several threads to reach.
	stop := make(chan struct{})
	defer close(stop)
	for range 8 {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	res, err := Drop(Target{Switch: true, UID: nobody, GID: nobody}, Plan{Keep: Set(keep)})
	if err != nil {
		t.Fatalf("Drop: %v (notes %v)", err, res.Notes)
	}
	if !res.Switched || res.Missing != 0 {
		t.Errorf("Switched %v Missing %s", res.Switched, res.Missing)
	}
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) < 2 {
		t.Fatalf("tasks %v: %v (want several threads)", tasks, err)
	}
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseStatus(b)
		if err != nil {
			t.Fatal(err)
		}
		if !AllIDs(c.UID, nobody) || !AllIDs(c.GID, nobody) || len(c.Groups) != 0 {
			t.Errorf("%s: uid %v gid %v groups %v", p, c.UID, c.GID, c.Groups)
		}
		if c.Eff != Set(keep) || c.Prm != Set(keep) || c.Bnd != Set(keep) || c.Inh != 0 || c.Amb != 0 {
			t.Errorf("%s: eff %s prm %s bnd %s inh %s amb %s, want %s", p, c.Eff, c.Prm, c.Bnd, c.Inh, c.Amb, Set(keep))
		}
		if !c.NoNewPrivs {
			t.Errorf("%s: NoNewPrivs 0", p)
		}
	}
	// Threads the runtime starts after the drop inherit it.
	done := make(chan struct{})
	for range 4 {
		go func() { time.Sleep(20 * time.Millisecond); done <- struct{}{} }()
	}
	for range 4 {
		<-done
	}
	fmt.Printf("threads checked: %d, kept %s\n", len(tasks), Set(keep))
}

func TestDropRefusesWithoutRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("as root the switch succeeds (TestDropEveryThread)")
	}
	if _, err := Drop(Target{Switch: true, UID: nobody, GID: nobody}, Plan{}); err == nil {
		t.Fatal("Drop switched users without privilege")
	}
}
