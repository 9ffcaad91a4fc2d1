package loadgen

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Loopback UDP is not lossless on a loaded machine. Every datagram passes
// the per-CPU input backlog (net.core.netdev_max_backlog, shared by every
// process, namespace and device on that CPU, veth pairs included) and a
// socket buffer; another test or benchmark flooding either makes the kernel
// drop one of ours. Tests that compare the generator's counts with the
// responder's are exact only about the datagrams the kernel delivered, so
// they run through exactly: a mismatch fails the test unless the kernel's
// own drop counters moved during that attempt, in which case the attempt is
// repeated.

// kernelDrops sums the kernel's counters of dropped input datagrams: the
// backlog drops of every CPU (/proc/net/softnet_stat, column 2, global) and
// UDP input errors of this network namespace (/proc/net/snmp and snmp6:
// InErrors, which includes RcvbufErrors). ok is false when none of the
// files can be read (then no mismatch can be excused).
func kernelDrops() (n uint64, ok bool) {
	if b, err := os.ReadFile("/proc/net/softnet_stat"); err == nil {
		ok = true
		for line := range strings.Lines(string(b)) {
			if f := strings.Fields(line); len(f) > 1 {
				v, _ := strconv.ParseUint(f[1], 16, 64)
				n += v
			}
		}
	}
	if v, err := snmpField("/proc/net/snmp", "Udp:", "InErrors"); err == nil {
		ok = true
		n += v
	}
	if v, err := snmpField("/proc/net/snmp6", "", "Udp6InErrors"); err == nil {
		ok = true
		n += v
	}
	return n, ok
}

// snmpField reads one counter from /proc/net/snmp (prefix: a header line
// of names followed by a line of values) or /proc/net/snmp6 (prefix "":
// "name value" lines).
func snmpField(path, prefix, name string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var header []string
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case prefix == "" && len(fields) == 2 && fields[0] == name:
			return strconv.ParseUint(fields[1], 10, 64)
		case prefix != "" && len(fields) > 0 && fields[0] == prefix:
			if header == nil {
				header = fields
				continue
			}
			for i := 1; i < len(header) && i < len(fields); i++ {
				if header[i] == name {
					return strconv.ParseUint(fields[i], 10, 64)
				}
			}
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, name)
}

// maxAttempts bounds the repetitions of an attempt spoiled by kernel drops.
const maxAttempts = 4

// exactly runs attempt until it reports no mismatch ("") and fails the test
// if it reports one while the kernel dropped nothing. Attempts spoiled by
// kernel drops are repeated up to maxAttempts times; if every one was, the
// test is skipped, saying so: the machine, not the code, decided the result.
func exactly(t *testing.T, attempt func(t *testing.T) string) {
	t.Helper()
	for i := 1; i <= maxAttempts; i++ {
		d0, ok0 := kernelDrops()
		mismatch := attempt(t)
		if mismatch == "" || t.Failed() {
			return
		}
		d1, ok1 := kernelDrops()
		if !ok0 || !ok1 || d1 == d0 {
			t.Fatalf("%s (the kernel counted no dropped datagrams meanwhile)", mismatch)
		}
		t.Logf("attempt %d: %s; the kernel dropped %d datagrams meanwhile (loaded machine), repeating", i, mismatch, d1-d0)
	}
	t.Skipf("every one of %d attempts was spoiled by kernel datagram drops: loopback is not lossless here right now", maxAttempts)
}

func TestKernelDrops(t *testing.T) {
	n, ok := kernelDrops()
	if !ok {
		t.Skip("no /proc/net counters")
	}
	t.Logf("kernel datagram drops so far: %d", n)
	if _, err := snmpField("/proc/net/snmp", "Udp:", "NoSuchField"); err == nil {
		t.Error("snmpField found a field that does not exist")
	}
	if _, err := snmpField("/proc/net/snmp", "Udp:", "RcvbufErrors"); err != nil {
		t.Errorf("Udp RcvbufErrors: %v", err)
	}
}
