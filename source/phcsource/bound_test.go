package phcsource

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSysfsBound(t *testing.T) {
	for name, tc := range map[string]struct {
		content *string // nil: no file
		want    time.Duration
		ok      bool
		logged  bool
	}{
		"missing file":    {content: nil},
		"driver format":   {content: ptr("12345\n"), want: 12345 * time.Nanosecond, ok: true},
		"no newline":      {content: ptr("800"), want: 800 * time.Nanosecond, ok: true},
		"zero":            {content: ptr("0\n"), want: 0, ok: true},
		"u32 max":         {content: ptr("4294967295\n"), want: 4294967295 * time.Nanosecond, ok: true},
		"empty":           {content: ptr(""), logged: true},
		"negative":        {content: ptr("-5\n"), logged: true},
		"garbage":         {content: ptr("unknown\n"), logged: true},
		"with unit":       {content: ptr("50ns\n"), logged: true},
		"beyond int64 ns": {content: ptr("99999999999999999999\n"), logged: true},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "phc_error_bound")
			if tc.content != nil {
				if err := os.WriteFile(path, []byte(*tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			b := NewSysfsBound(path, slog.New(slog.NewTextHandler(&logs, nil)))
			for range 3 {
				got, ok := b.ErrorBound()
				if got != tc.want || ok != tc.ok {
					t.Fatalf("ErrorBound = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
				}
			}
			n := strings.Count(logs.String(), "PHC error bound ignored")
			if tc.logged && n != 1 || !tc.logged && n != 0 {
				t.Errorf("logged %d times, want once if unparsable, else never:\n%s", n, logs.String())
			}
		})
	}
}

// TestSysfsBoundRecovers: a bound that becomes readable is used, and a
// later bad value is logged again.
func TestSysfsBoundRecovers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phc_error_bound")
	var logs bytes.Buffer
	b := NewSysfsBound(path, slog.New(slog.NewTextHandler(&logs, nil)))
	for i, step := range []struct {
		content string
		want    time.Duration
		ok      bool
	}{{"x\n", 0, false}, {"x\n", 0, false}, {"2500\n", 2500, true}, {"y\n", 0, false}, {"7\n", 7, true}} {
		if err := os.WriteFile(path, []byte(step.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, ok := b.ErrorBound(); got != step.want || ok != step.ok {
			t.Errorf("step %d: ErrorBound = %v, %v; want %v, %v", i, got, ok, step.want, step.ok)
		}
	}
	if n := strings.Count(logs.String(), "PHC error bound ignored"); n != 2 {
		t.Errorf("logged %d times, want 2 (once per bad spell):\n%s", n, logs.String())
	}
	if p := ENABoundPath("ens5"); p != "/sys/class/net/ens5/device/phc_error_bound" {
		t.Errorf("ENABoundPath = %q", p)
	}
}

func ptr(s string) *string { return &s }
