package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// peerTools are the binaries the suite execs besides the harness's own.
var peerTools = []string{"chronyd", "chronyc", "ntpdig", "chrt"}

// suite is the state TestMain sets up once for all tests: a package variable
// only because TestMain has no other way to hand it to tests. It is written
// before m.Run and only read afterwards.
var suite struct {
	h   *netns.Harness
	dir string // world-traversable state directory (chronyd runs as _chrony)

	gnomond    string // built binary
	gnomondErr error  // why it could not be built

	gnomonctl    string // built binary
	gnomonctlErr error  // why it could not be built

	chronyUID, chronyGID int
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if err := netns.Unavailable(peerTools...); err != nil {
		fmt.Fprintln(os.Stderr, netns.LoudSkip(err))
		if os.Getenv(netns.RequireEnv) == "1" {
			fmt.Fprintf(os.Stderr, "%s=1: interop tests are required, failing\n", netns.RequireEnv)
		}
		// The tests themselves skip (or fail under GNOMON_REQUIRE_INTEROP=1).
		return m.Run()
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("gnomon-interop-%d-", os.Getpid()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	// chronyd drops to its run user and must reach its socket, log and drift
	// directories below this one.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	suite.dir = dir
	suite.h = netns.New()
	suite.chronyUID, suite.chronyGID = lookupChronyUser()

	buildStart := time.Now()
	suite.gnomond, suite.gnomondErr = buildCmd(dir, "gnomond")
	fmt.Fprintf(os.Stderr, "interop: go build ./cmd/gnomond: %v (err: %v)\n", time.Since(buildStart).Round(time.Millisecond), suite.gnomondErr)
	buildStart = time.Now()
	suite.gnomonctl, suite.gnomonctlErr = buildCmd(dir, "gnomonctl")
	fmt.Fprintf(os.Stderr, "interop: go build ./cmd/gnomonctl: %v (err: %v)\n", time.Since(buildStart).Round(time.Millisecond), suite.gnomonctlErr)

	before, err := readClockState()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop: clock state:", err)
		return 1
	}
	start := time.Now()
	code := m.Run()
	fmt.Fprintf(os.Stderr, "interop: suite ran %v\n", time.Since(start).Round(time.Millisecond))

	after, err := readClockState()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop: clock state:", err)
		return 1
	}
	if err := before.unchanged(after); err != nil {
		fmt.Fprintf(os.Stderr, "interop: FAIL: the kernel clock state changed during the suite: %v\n  before: %v\n  after:  %v\n", err, before, after)
		code = 1
	} else {
		fmt.Fprintf(os.Stderr, "interop: kernel clock state unchanged: %v\n", after)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := suite.h.Leaks(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "interop: FAIL: leaked namespaces or processes: %v\n", err)
		code = 1
	} else {
		fmt.Fprintf(os.Stderr, "interop: all %d namespaces and %d recorded processes are gone\n",
			len(suite.h.Created()), len(suite.h.StartedPIDs()))
	}
	return code
}

// requirePeers gates a test on root and the peer binaries.
func requirePeers(t *testing.T) {
	t.Helper()
	netns.Require(t, peerTools...)
}

// gnomondBinary returns the gnomond that TestMain built; a build failure
// fails every test that needs it (and only those).
func gnomondBinary(t *testing.T) string {
	t.Helper()
	if suite.gnomondErr != nil {
		t.Fatalf("gnomond unavailable: %v", suite.gnomondErr)
	}
	return suite.gnomond
}

// gnomonctlBinary returns the gnomonctl that TestMain built.
func gnomonctlBinary(t *testing.T) string {
	t.Helper()
	if suite.gnomonctlErr != nil {
		t.Fatalf("gnomonctl unavailable: %v", suite.gnomonctlErr)
	}
	return suite.gnomonctl
}

// buildCmd runs `go build -o DIR/NAME ./cmd/NAME` in the module root.
func buildCmd(dir, name string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/"+name)
	cmd.Dir = root
	// As the Makefile builds it: without cgo, so that gnomond can change
	// its capabilities on every thread (internal/privdrop).
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, out)
	}
	return bin, nil
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// lookupChronyUser returns chronyd's compiled-in run user (_chrony on
// Debian), or root if it does not exist (chronyd then keeps root).
func lookupChronyUser() (uid, gid int) {
	u, err := user.Lookup("_chrony")
	if err != nil {
		return 0, 0
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

// stateDir makes a private directory for one peer instance, owned by
// chronyd's run user with mode 0750 (chronyd refuses a command socket in a
// directory others can read: peers.md pitfall 2).
func stateDir(t *testing.T, name string) string {
	t.Helper()
	d, err := os.MkdirTemp(suite.dir, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, suite.chronyUID, suite.chronyGID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o750); err != nil {
		t.Fatal(err)
	}
	return d
}

// gnomondDir makes a private directory for one gnomond instance, owned by
// root with mode 0755, as /run/gnomond is: after start-up gnomond holds no
// capability (CAP_DAC_OVERRIDE included) even as root, so it reaches only
// what root's or process.user's own permissions allow, such as the chronyc
// client socket that chronyc binds next to gnomond's control socket.
func gnomondDir(t *testing.T, name string) string {
	t.Helper()
	d, err := os.MkdirTemp(suite.dir, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}
