package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	beevik "github.com/beevik/ntp"
)

// logRecord is one JSON log line of gnomond.
type logRecord map[string]any

func (r logRecord) str(k string) string { s, _ := r[k].(string); return s }

// proc is a running gnomond binary with its JSON log.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	recs []logRecord
	raw  strings.Builder
	done chan error
}

func (p *proc) scan(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.raw.WriteString(line + "\n")
		var rec logRecord
		if json.Unmarshal([]byte(line), &rec) == nil {
			p.recs = append(p.recs, rec)
		}
		p.mu.Unlock()
	}
}

// wait returns the first log record (from index from) with message msg,
// waiting ≤ 10 s; it fails if gnomond exits first.
func (p *proc) wait(t *testing.T, from int, msg string) (logRecord, int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		for i := from; i < len(p.recs); i++ {
			if p.recs[i].str("msg") == msg {
				r := p.recs[i]
				p.mu.Unlock()
				return r, i + 1
			}
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no log %q within 10 s; log:\n%s", msg, p.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

func (p *proc) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.recs)
}

func buildGnomond(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short")
	}
	bin := filepath.Join(t.TempDir(), "gnomond")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	// As the Makefile builds it (internal/privdrop needs a binary without cgo).
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startBinary(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	return startCmd(t, exec.Command(bin, args...))
}

// startCmd starts cmd (a gnomond with a JSON log on stderr).
func startCmd(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	scanned := make(chan struct{})
	go func() { p.scan(stderr); close(scanned) }()
	go func() { <-scanned; p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		// Kill only our own child if a test failed before stopping it.
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

const binaryConfig = `ntp:
  listen: ["127.0.0.1:0"]
  workers: 2
  allow: [127.0.0.0/8]
  deny: [%DENY%]
metrics:
  listen: 127.0.0.1:0
control:
  listen: ["127.0.0.1:0"]
  listen_optional: []
  socket: ""
log:
  format: json
`

// The built binary: serves on an ephemeral port, answers beevik/ntp, exposes
// metrics, applies a deny list on SIGHUP, keeps the old ACL when the
// reloaded file is invalid, and exits 0 on SIGTERM within a bound.
func TestBinarySignals(t *testing.T) {
	bin := buildGnomond(t)
	conf := filepath.Join(t.TempDir(), "gnomond.yaml")
	write := func(s string) {
		if err := os.WriteFile(conf, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(strings.Replace(binaryConfig, "%DENY%", "", 1))
	p := startBinary(t, bin, "--config", conf)

	rec, _ := p.wait(t, 0, "serving NTP")
	ap, err := netip.ParseAddrPort(rec.str("addr"))
	if err != nil || ap.Port() == 0 {
		t.Fatalf("serving NTP addr %q: %v", rec.str("addr"), err)
	}
	mrec, _ := p.wait(t, 0, "serving metrics")
	murl := mrec.str("url")

	q := func(timeout time.Duration) (*beevik.Response, error) {
		return beevik.QueryWithOptions(ap.Addr().String(), beevik.QueryOptions{Port: int(ap.Port()), Timeout: timeout})
	}
	r, err := q(2 * time.Second)
	if err != nil {
		t.Fatalf("query: %v\n%s", err, p.log())
	}
	if err := r.Validate(); err != nil {
		t.Fatalf("reply invalid: %v", err)
	}
	if b := r.RTT/2 + time.Microsecond; r.ClockOffset > b || r.ClockOffset < -b {
		t.Errorf("offset %v beyond ±RTT/2 = %v (same clock on both sides)", r.ClockOffset, b)
	}
	if v := scrape(t, murl, `gnomon_ntp_requests_total{verdict="served"}`); v != "1" {
		t.Errorf(`served = %q after one query, want "1"`, v)
	}

	// An invalid file on SIGHUP: error logged, old ACL kept (still served).
	m := p.mark()
	write("ntp:\n  allow: [not-a-prefix]\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	rec, _ = p.wait(t, m, "reload failed; keeping the running configuration")
	if e := rec.str("error"); !strings.Contains(e, `ntp.allow[0]: "not-a-prefix"`) {
		t.Errorf("reload failure logged error=%q, want it to name the key and value", e)
	}
	if _, err := q(2 * time.Second); err != nil {
		t.Errorf("query after an invalid reload: %v (old ACL should be kept)", err)
	}

	// Deny 127.0.0.1: more specific than the allowed /8, so it wins.
	m = p.mark()
	write(strings.Replace(binaryConfig, "%DENY%", "127.0.0.1/32", 1))
	p.cmd.Process.Signal(syscall.SIGHUP)
	rec, _ = p.wait(t, m, "reload: ntp.deny changed")
	if added, _ := rec["added"].([]any); len(added) != 1 || added[0] != "127.0.0.1/32" {
		t.Errorf("reload logged added=%v, want [127.0.0.1/32]", rec["added"])
	}
	p.wait(t, m, "configuration reloaded")
	if _, err := q(300 * time.Millisecond); err == nil {
		t.Error("denied client answered after SIGHUP")
	}
	if v := scrape(t, murl, `gnomon_ntp_requests_total{verdict="denied"}`); v != "1" {
		t.Errorf(`denied = %q, want "1"`, v)
	}

	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0\n%s", err, p.log())
		}
		t.Logf("exited %v after SIGTERM", time.Since(start))
	case <-time.After(10 * time.Second):
		t.Fatalf("gnomond still running 10 s after SIGTERM")
	}
	p.wait(t, 0, "gnomond stopped")
}

// scrape returns the value of one sample line of /metrics.
func scrape(t *testing.T, url, sample string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return v
		}
	}
	t.Fatalf("no sample %s in /metrics", sample)
	return ""
}
