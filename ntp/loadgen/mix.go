package loadgen

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind is what a client socket sends: every request of a socket is of its
// kind. The values are stable: they are JSON keys and table labels.
type Kind uint8

// Socket kinds.
const (
	KindBasic     Kind = iota // plain NTPv4 (or Config.Version) client requests
	KindXleave                // chrony-style interleaved requests (RFC 9769)
	KindNTS                   // NTS-protected requests (RFC 8915), keys from NTS-KE
	KindMAC                   // requests with a symmetric-key MAC (RFC 5905 §7.3, RFC 8573)
	KindMalformed             // requests a server must not answer (malformed.go)
	NumKinds
)

var kindNames = [NumKinds]string{"basic", "xleave", "nts", "mac", "malformed"}

func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return "kind_" + strconv.Itoa(int(k))
}

// Mix is the share of the client sockets of each kind, in per cent. The
// zero Mix means every socket is KindBasic (or KindXleave with
// Config.Xleave). The generator spreads its rate evenly over the sockets,
// so a kind's share of the sockets is its share of the requests.
type Mix [NumKinds]int

// IsZero reports whether no share is set.
func (m Mix) IsZero() bool { return m == Mix{} }

// String renders m as ParseMix reads it (kinds with a zero share left out).
func (m Mix) String() string {
	var parts []string
	for k, v := range m {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", Kind(k), v))
		}
	}
	return strings.Join(parts, ",")
}

// ParseMix reads "basic=40,xleave=30,nts=15,mac=15" (any subset of the
// kinds basic, xleave, nts, mac, malformed; shares in per cent, summing to
// 100).
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := [NumKinds]bool{}
	for part := range strings.SplitSeq(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Mix{}, fmt.Errorf("mix %q: %q is not KIND=PERCENT", s, part)
		}
		k := Kind(0)
		for k < NumKinds && k.String() != name {
			k++
		}
		if k == NumKinds {
			return Mix{}, fmt.Errorf("mix %q: unknown kind %q (want basic, xleave, nts, mac, malformed)", s, name)
		}
		if seen[k] {
			return Mix{}, fmt.Errorf("mix %q: kind %s given twice", s, name)
		}
		seen[k] = true
		v, err := strconv.Atoi(val)
		if err != nil || v < 0 || v > 100 {
			return Mix{}, fmt.Errorf("mix %q: share %q of %s: want 0..100", s, val, name)
		}
		m[k] = v
	}
	return m, m.validate()
}

func (m Mix) validate() error {
	sum := 0
	for _, v := range m {
		if v < 0 || v > 100 {
			return fmt.Errorf("mix %v: shares must be 0..100", m)
		}
		sum += v
	}
	if sum != 100 {
		return fmt.Errorf("mix %v: shares sum to %d, want 100", m, sum)
	}
	return nil
}

// effectiveMix is the mix a Config runs: Config.Mix, or all basic (all
// interleaved with Xleave) when it is zero.
func (c *Config) effectiveMix() Mix {
	if !c.Mix.IsZero() {
		return c.Mix
	}
	var m Mix
	if c.Xleave {
		m[KindXleave] = 100
	} else {
		m[KindBasic] = 100
	}
	return m
}

// socketKinds assigns a kind to each of n sockets that workers serve
// (socket j belongs to worker j % workers): every kind with a non-zero
// share gets max(1, its rounded share) sockets (largest remainders), and
// within the order in which workers own sockets the kinds are interleaved
// (smooth weighted round robin), so that each worker gets a similar mix.
func socketKinds(m Mix, n, workers int) ([]Kind, error) {
	counts := [NumKinds]int{}
	total := 0
	kinds := 0
	for k, v := range m {
		if v > 0 {
			counts[k] = max(1, n*v/100)
			total += counts[k]
			kinds++
		}
	}
	if kinds > n {
		return nil, fmt.Errorf("clients %d: the mix %v needs at least %d sockets", n, m, kinds)
	}
	for total < n { // largest remainder first
		best, bestRem := -1, -1
		for k, v := range m {
			if rem := n*v - counts[k]*100; v > 0 && rem > bestRem {
				best, bestRem = k, rem
			}
		}
		counts[best]++
		total++
	}
	for total > n { // minimums pushed it over: take from the largest
		best := 0
		for k := range counts {
			if counts[k] > counts[best] {
				best = k
			}
		}
		counts[best]--
		total--
	}
	// Smooth weighted round robin over the worker-major order.
	seq := make([]Kind, n)
	cur := [NumKinds]int{}
	for i := range n {
		best := -1
		for k := range counts {
			if counts[k] == 0 {
				continue
			}
			cur[k] += counts[k]
			if best < 0 || cur[k] > cur[best] {
				best = k
			}
		}
		cur[best] -= n
		seq[i] = Kind(best)
	}
	out := make([]Kind, n)
	i := 0
	for w := range workers {
		for j := w; j < n; j += workers {
			out[j] = seq[i]
			i++
		}
	}
	if i != n {
		return nil, errors.New("socketKinds: internal error")
	}
	return out, nil
}
