package interop

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricsAddr is where startGnomond puts gnomond's /metrics: port 9123 on
// the server address, reachable only inside the namespace pair.
func (s *server) metricsAddr() string { return net.JoinHostPort(s.addr.String(), "9123") }

// scrape fetches gnomond's /metrics from inside the client namespace.
func (s *server) scrape(t *testing.T) string {
	t.Helper()
	return string(s.httpGet(t, "/metrics"))
}

// httpGet fetches path from gnomond's metrics listener, dialling from
// inside the client namespace; anything but 200 OK fails the test.
func (s *server) httpGet(t *testing.T, path string) []byte {
	t.Helper()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := s.pair.Cli.Do(func() error {
				var err error
				c, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := cl.Get("http://" + s.metricsAddr() + path)
	if err != nil {
		t.Fatalf("GET gnomond %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET gnomond %s: status %d, %v", path, resp.StatusCode, err)
	}
	return b
}

// metricValue finds the sample `name{labels} value` (labels exactly as
// exposed, e.g. `verdict="denied"`, or "" for none) in Prometheus text
// exposition.
func metricValue(text, name, labels string) (float64, error) {
	key := name
	if labels != "" {
		key += "{" + labels + "}"
	}
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, key+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, fmt.Errorf("metric %s not exposed", key)
}
