package netns

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// RequireEnv is the environment variable that turns a skipped namespace test
// into a failure (CI sets it, so that a skip cannot pass silently).
const RequireEnv = "GNOMON_REQUIRE_INTEROP"

// Gate is the subset of testing.TB that Require needs.
type Gate interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Require skips t with a loud message when namespace tests cannot run here
// (not root, or one of tools is missing from PATH), or fails it instead when
// GNOMON_REQUIRE_INTEROP=1.
func Require(t Gate, tools ...string) {
	t.Helper()
	if err := Unavailable(tools...); err != nil {
		msg := LoudSkip(err)
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s\n%s=1 is set, so this is a failure, not a skip", msg, RequireEnv)
		}
		t.Skipf("%s", msg)
	}
}

// Unavailable combines CanRun with a PATH lookup of tools.
func Unavailable(tools ...string) error {
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	err := CanRun()
	if len(missing) > 0 {
		m := fmt.Errorf("peer binaries missing from PATH: %s (run scripts/install-peers.sh as root)", strings.Join(missing, ", "))
		if err == nil {
			return m
		}
		return fmt.Errorf("%w\n%w", err, m)
	}
	return err
}

// LoudSkip formats the reason for a skipped interop test so that it stands
// out in `go test` output.
func LoudSkip(err error) string {
	bar := strings.Repeat("!", 78)
	return fmt.Sprintf("\n%s\n!!! INTEROP TESTS NOT RUN: %v\n!!! Run as root (make test does) to exercise real peers in network namespaces.\n%s", bar, err, bar)
}
