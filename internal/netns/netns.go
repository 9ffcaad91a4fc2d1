package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// cmdTimeout bounds every `ip` invocation the harness makes.
const cmdTimeout = 10 * time.Second

// TB is the subset of testing.TB the harness needs; *testing.T and
// *testing.B satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Harness creates namespace pairs and processes and remembers all of them so
// that cleanup and leak checks can be exact. It is safe for concurrent use.
// The zero value is not usable; call New.
type Harness struct {
	tag string // "gn<pid>": prefix of every name this harness creates

	mu    sync.Mutex
	seq   int
	nss   map[string]bool // namespace name -> still exists
	procs []*Proc
}

// New returns a harness whose names all start with "gn<pid>" of the calling
// process, so that concurrent test binaries never collide.
func New() *Harness {
	return &Harness{tag: fmt.Sprintf("gn%d", os.Getpid()), nss: map[string]bool{}}
}

// CanRun reports why namespace tests cannot run here, or nil if they can:
// root (for CAP_NET_ADMIN/CAP_SYS_ADMIN) and the tools the harness execs.
func CanRun() error {
	var errs []error
	if os.Geteuid() != 0 {
		errs = append(errs, fmt.Errorf("not root (euid %d): network namespaces need CAP_NET_ADMIN and CAP_SYS_ADMIN", os.Geteuid()))
	}
	for _, tool := range []string{"ip", "setpriv", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			errs = append(errs, fmt.Errorf("tool %q not found: %w", tool, err))
		}
	}
	return errors.Join(errs...)
}

// NS is one network namespace created by a Harness.
type NS struct {
	h    *Harness
	Name string
}

// Path is the bind-mount path of the namespace, usable with setns(2).
func (ns *NS) Path() string { return "/run/netns/" + ns.Name }

// Pair is two namespaces, Srv and Cli, joined by a veth link with SrvAddr on
// the server end and CliAddr on the client end, both inside Prefix.
type Pair struct {
	Srv, Cli         *NS
	SrvIf, CliIf     string
	Prefix           netip.Prefix
	SrvAddr, CliAddr netip.Addr
}

// NewPair creates a namespace pair with addresses in 10.201.<n>.0/24 (n is a
// per-harness counter, so pairs are easy to tell apart in logs; the subnets
// could repeat safely since every pair is isolated). The pair is torn down by
// Close; NewPairT registers that with t.Cleanup.
func (h *Harness) NewPair(ctx context.Context) (*Pair, error) {
	h.mu.Lock()
	h.seq++
	n := h.seq
	h.mu.Unlock()
	if n > 250 {
		return nil, fmt.Errorf("netns: too many pairs (%d) for one harness", n)
	}
	// Interface names are limited to 15 bytes (IFNAMSIZ-1): "gn" + pid (≤ 7
	// digits) + "-" + n (≤ 3) + "s" fits.
	srvName := fmt.Sprintf("%s-%ds", h.tag, n)
	cliName := fmt.Sprintf("%s-%dc", h.tag, n)
	prefix := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 201, byte(n), 0}), 24)
	p := &Pair{
		Srv:     &NS{h: h, Name: srvName},
		Cli:     &NS{h: h, Name: cliName},
		SrvIf:   srvName,
		CliIf:   cliName,
		Prefix:  prefix,
		SrvAddr: netip.AddrFrom4([4]byte{10, 201, byte(n), 1}),
		CliAddr: netip.AddrFrom4([4]byte{10, 201, byte(n), 2}),
	}
	for _, name := range []string{srvName, cliName} {
		if err := h.ip(ctx, "netns", "add", name); err != nil {
			_ = p.Close(ctx)
			return nil, err
		}
		h.mu.Lock()
		h.nss[name] = true
		h.mu.Unlock()
	}
	steps := [][]string{
		{"link", "add", p.SrvIf, "netns", srvName, "type", "veth", "peer", "name", p.CliIf, "netns", cliName},
		{"-n", srvName, "addr", "add", p.SrvAddr.String() + "/24", "dev", p.SrvIf},
		{"-n", cliName, "addr", "add", p.CliAddr.String() + "/24", "dev", p.CliIf},
		{"-n", srvName, "link", "set", "lo", "up"},
		{"-n", cliName, "link", "set", "lo", "up"},
		{"-n", srvName, "link", "set", p.SrvIf, "up"},
		{"-n", cliName, "link", "set", p.CliIf, "up"},
	}
	for _, args := range steps {
		if err := h.ip(ctx, args...); err != nil {
			_ = p.Close(ctx)
			return nil, err
		}
	}
	return p, nil
}

// NewPairT is NewPair for tests: it fails t on error and closes the pair in
// t.Cleanup, reporting cleanup problems as test errors.
func (h *Harness) NewPairT(t TB) *Pair {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := h.NewPair(ctx)
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Fatalf("netns cleanup: %v", err)
		}
	})
	return p
}

// AddCliAddr adds a further address (inside Prefix) to the client end, so a
// client can pick its source address (e.g. to test ACLs by subnet).
func (p *Pair) AddCliAddr(ctx context.Context, a netip.Addr) error {
	if !p.Prefix.Contains(a) {
		return fmt.Errorf("netns: %v is outside %v", a, p.Prefix)
	}
	return p.Cli.h.ip(ctx, "-n", p.Cli.Name, "addr", "add", a.String()+"/24", "dev", p.CliIf)
}

// Close stops every process still running in the pair's namespaces (only
// those the harness started), then deletes both namespaces, which removes the
// veth link. It returns every problem found, including processes that were
// still inside a namespace after their recorded PIDs had been stopped.
func (p *Pair) Close(ctx context.Context) error {
	h := p.Srv.h
	var errs []error
	for _, pr := range h.procsIn(p.Srv.Name, p.Cli.Name) {
		if err := pr.Stop(); err != nil && !errors.Is(err, errStopped) {
			errs = append(errs, err)
		}
	}
	for _, ns := range []*NS{p.Cli, p.Srv} {
		h.mu.Lock()
		exists := h.nss[ns.Name]
		h.mu.Unlock()
		if !exists {
			continue
		}
		if pids, err := ns.Pids(ctx); err != nil {
			errs = append(errs, err)
		} else if len(pids) > 0 {
			errs = append(errs, fmt.Errorf("netns %s: processes not started by the harness still inside: %v (left alone)", ns.Name, pids))
		}
		if err := h.ip(ctx, "netns", "del", ns.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		h.mu.Lock()
		h.nss[ns.Name] = false
		h.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Pids lists the processes inside the namespace (`ip netns pids`).
func (ns *NS) Pids(ctx context.Context) ([]string, error) {
	out, err := ns.h.ipOut(ctx, "netns", "pids", ns.Name)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// Leaks reports namespaces created by the harness that still exist and
// processes it started that are still alive. Call it at the end of a test
// binary; a non-nil result means cleanup failed somewhere.
func (h *Harness) Leaks(ctx context.Context) error {
	var errs []error
	out, err := h.ipOut(ctx, "netns", "list")
	if err != nil {
		errs = append(errs, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], h.tag+"-") {
			errs = append(errs, fmt.Errorf("netns %s still exists", f[0]))
		}
	}
	h.mu.Lock()
	procs := append([]*Proc(nil), h.procs...)
	h.mu.Unlock()
	for _, p := range procs {
		for _, pid := range p.allPIDs() {
			if alive(pid) {
				errs = append(errs, fmt.Errorf("process %d (%s) still alive", pid, p.Name))
			}
		}
	}
	return errors.Join(errs...)
}

// Created returns the names of all namespaces the harness has created.
func (h *Harness) Created() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.nss))
	for n := range h.nss {
		names = append(names, n)
	}
	return names
}

// StartedPIDs returns every PID the harness recorded (wrappers and their
// children).
func (h *Harness) StartedPIDs() []int {
	h.mu.Lock()
	procs := append([]*Proc(nil), h.procs...)
	h.mu.Unlock()
	var pids []int
	for _, p := range procs {
		pids = append(pids, p.allPIDs()...)
	}
	return pids
}

func (h *Harness) procsIn(names ...string) []*Proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Proc
	for _, p := range h.procs {
		for _, n := range names {
			if p.ns.Name == n {
				out = append(out, p)
			}
		}
	}
	return out
}

func (h *Harness) ip(ctx context.Context, args ...string) error {
	_, err := h.ipOut(ctx, args...)
	return err
}

func (h *Harness) ipOut(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
