package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gnomon-time/gnomon/internal/syncbuf"
)

// noSysTime is the setpriv prefix that removes CAP_SYS_TIME from a program's
// bounding and inheritable sets: even as root it cannot set or slew the clock.
func noSysTime() []string {
	return []string{"setpriv", "--inh-caps=-sys_time", "--bounding-set=-sys_time"}
}

// killAfter is how long the timeout(1) wrapper waits after SIGTERM before it
// sends SIGKILL.
const killAfter = 3 * time.Second

// errStopped is returned by Stop for a process that had already been stopped.
var errStopped = errors.New("already stopped")

// Spec describes a process to run inside a namespace.
type Spec struct {
	// Name labels the process in errors and logs.
	Name string
	// Args is the command line; Args[0] is looked up in PATH by the wrapper.
	Args []string
	// Limit bounds the process's life: timeout(1) sends SIGTERM after Limit
	// and SIGKILL 3 s later, even if the test binary has died. Required.
	Limit time.Duration
	// KeepSysTime, if true, does not drop CAP_SYS_TIME. No caller in this
	// repository sets it; it exists so that the default is explicit.
	KeepSysTime bool
}

// Proc is a process started by Start. Its output (stdout and stderr
// interleaved) is captured in memory.
type Proc struct {
	Name string
	// PID is the process the harness started: the timeout(1) wrapper, which
	// `ip netns exec` became by exec. The program itself is its only child.
	PID int

	ns   *NS
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan struct{}
	err  error // valid after done is closed

	mu       sync.Mutex
	children []int
	stopped  bool
}

// Start runs spec inside the namespace. The process is recorded by the
// harness and stopped when its pair is closed, if not earlier.
func (ns *NS) Start(spec Spec) (*Proc, error) {
	if len(spec.Args) == 0 {
		return nil, fmt.Errorf("netns: start %q: empty command", spec.Name)
	}
	if spec.Limit <= 0 {
		return nil, fmt.Errorf("netns: start %q: Limit must be positive", spec.Name)
	}
	secs := strconv.FormatFloat(spec.Limit.Seconds(), 'f', 3, 64)
	argv := []string{"netns", "exec", ns.Name, "timeout", "-k", strconv.Itoa(int(killAfter / time.Second)), secs}
	if !spec.KeepSysTime {
		argv = append(argv, noSysTime()...)
	}
	argv = append(argv, spec.Args...)
	cmd := exec.Command("ip", argv...)
	out := &syncbuf.Buffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("netns: start %q in %s: %w", spec.Name, ns.Name, err)
	}
	p := &Proc{Name: spec.Name, PID: cmd.Process.Pid, ns: ns, cmd: cmd, out: out, done: make(chan struct{})}
	ns.h.mu.Lock()
	ns.h.procs = append(ns.h.procs, p)
	ns.h.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Run starts spec and waits for it to exit (at most spec.Limit plus the kill
// grace); it returns the combined output and the exit error, if any.
func (ns *NS) Run(ctx context.Context, spec Spec) (string, error) {
	p, err := ns.Start(spec)
	if err != nil {
		return "", err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		_ = p.Stop()
		return p.Output(), fmt.Errorf("netns: %s: %w", spec.Name, ctx.Err())
	}
	return p.Output(), p.err
}

// Output returns what the process has written so far.
func (p *Proc) Output() string { return p.out.String() }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the exit error; valid once Done is closed.
func (p *Proc) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// ProgramPID returns the PID of the program itself (the wrapper's child), or
// 0 if it has not been exec'ed yet or has exited. It is recorded for the leak
// check.
func (p *Proc) ProgramPID() int {
	kids := readChildren(p.PID)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range kids {
		if !slices.Contains(p.children, k) {
			p.children = append(p.children, k)
		}
	}
	if len(kids) == 0 {
		return 0
	}
	return kids[0]
}

// Stop sends SIGTERM to the program itself (the wrapper's child) and waits;
// timeout(1) then exits with the program's status. If the process is still
// there after a grace period it sends SIGKILL to the recorded PIDs.
//
// The signal goes to the program, not to the wrapper: timeout(1) would
// forward it to the program and also send it to its process group, so the
// program would see SIGTERM twice, and a daemon that treats a second SIGTERM
// as "kill a hanging shutdown" (gnomond does) would die by the signal
// instead of exiting cleanly.
func (p *Proc) Stop() error {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		<-p.done
		return errStopped
	}
	p.stopped = true
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	default:
	}
	if pid := p.ProgramPID(); pid != 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	} else {
		// Not exec'ed yet (or already gone): the wrapper forwards it.
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(killAfter + 2*time.Second):
	}
	_ = p.cmd.Process.Kill()
	for _, c := range p.allPIDs()[1:] {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
	select {
	case <-p.done:
		return fmt.Errorf("netns: %s (pid %d) ignored SIGTERM and was killed", p.Name, p.PID)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("netns: %s (pid %d) did not exit after SIGKILL", p.Name, p.PID)
	}
}

// CapEff returns the effective capability mask of the program (not the
// wrapper) from /proc/PID/status.
func (p *Proc) CapEff() (uint64, error) {
	pid := p.ProgramPID()
	if pid == 0 {
		return 0, fmt.Errorf("netns: %s: program not running", p.Name)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("netns: read status of %s: %w", p.Name, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("netns: no CapEff in /proc/%d/status", pid)
}

// CapSysTime is bit 25 of a capability mask.
const CapSysTime = 1 << 25

func (p *Proc) allPIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int{p.PID}, p.children...)
}

// readChildren lists the children of pid (Linux /proc/PID/task/*/children).
func readChildren(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var kids []int
	for _, f := range strings.Fields(string(b)) {
		if k, err := strconv.Atoi(f); err == nil {
			kids = append(kids, k)
		}
	}
	return kids
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// State is the first field after the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
