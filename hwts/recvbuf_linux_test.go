//go:build linux

package hwts

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRecvBufferRequestedAndGranted: the start-up log said recv_buffer=8388608
// for the 4 MiB asked (the kernel doubles SO_RCVBUF), which read as a
// contradiction of the documented default. Info and the log carry both the
// size asked for and the size the kernel reports.
func TestRecvBufferRequestedAndGranted(t *testing.T) {
	for _, tc := range []struct {
		name string
		ask  int
	}{
		{"4 MiB", 4 << 20},
		{"64 KiB", 64 << 10},
		{"system default", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logBuf bytes.Buffer
			c := listen(t, Config{Addr: netip.MustParseAddrPort("127.0.0.1:0"), RecvBuffer: tc.ask,
				Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
			var kernel int
			var gerr error
			if err := c.rc.Control(func(fd uintptr) {
				kernel, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
			}); err != nil || gerr != nil {
				t.Fatal(err, gerr)
			}
			info := c.Info()
			if info.RecvBufferRequested != tc.ask || info.RecvBuffer != kernel || kernel <= 0 {
				t.Errorf("Info requested %d granted %d; asked %d, kernel reports %d",
					info.RecvBufferRequested, info.RecvBuffer, tc.ask, kernel)
			}
			log := logBuf.String()
			for _, want := range []string{fmt.Sprintf(" recv_buffer_requested=%d ", tc.ask),
				fmt.Sprintf(" recv_buffer_granted=%d ", kernel)} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
			if strings.Contains(log, " recv_buffer=") {
				t.Errorf("log still has the ambiguous recv_buffer key:\n%s", log)
			}
		})
	}
}
