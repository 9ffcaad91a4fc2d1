package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Dist is a jitter distribution.
type Dist uint8

const (
	DistNone        Dist = iota // no jitter: the delay is the base
	DistExponential             // exponential with mean Scale (queueing)
	DistGaussian                // Gaussian N(0, Scale²) around the base, total floored at 0
	DistUniform                 // uniform in [0, Scale)
)

func (d Dist) String() string {
	switch d {
	case DistNone:
		return "none"
	case DistExponential:
		return "exponential"
	case DistGaussian:
		return "gaussian"
	case DistUniform:
		return "uniform"
	}
	return fmt.Sprintf("dist(%d)", uint8(d))
}

// Path is one direction of a network path: delay = Base + jitter.
type Path struct {
	Base   time.Duration
	Jitter Dist
	Scale  time.Duration // mean (exponential), σ (gaussian), width (uniform)
}

// Network models the path between a simulated client and a perfect NTP
// server. Out is client → server, Back is server → client; different
// bases or jitters make the path asymmetric.
type Network struct {
	Out, Back Path
	// Processing is the server's T3 − T2.
	Processing time.Duration
	// OutlierProb is the probability that an exchange suffers an extra
	// delay, exponential with mean OutlierDelay, in one direction chosen at
	// random (a queue filling up, a retransmission in a switch...).
	OutlierProb  float64
	OutlierDelay time.Duration
}

// Validate reports every invalid field.
func (n *Network) Validate() error {
	var errs []error
	for _, p := range []struct {
		name string
		p    Path
	}{{"out", n.Out}, {"back", n.Back}} {
		if p.p.Base < 0 {
			errs = append(errs, fmt.Errorf("%s.base = %v: negative", p.name, p.p.Base))
		}
		if p.p.Scale < 0 {
			errs = append(errs, fmt.Errorf("%s.scale = %v: negative", p.name, p.p.Scale))
		}
		if p.p.Jitter > DistUniform {
			errs = append(errs, fmt.Errorf("%s.jitter = %v: unknown distribution", p.name, p.p.Jitter))
		}
	}
	if n.Processing < 0 {
		errs = append(errs, fmt.Errorf("processing = %v: negative", n.Processing))
	}
	if !(n.OutlierProb >= 0 && n.OutlierProb <= 1) {
		errs = append(errs, fmt.Errorf("outlier_prob = %v: not in [0, 1]", n.OutlierProb))
	}
	if n.OutlierDelay < 0 {
		errs = append(errs, fmt.Errorf("outlier_delay = %v: negative", n.OutlierDelay))
	}
	return errors.Join(errs...)
}

// Sample is one NTP client/server exchange as the client measures it
// (RFC 5905 §8). T1 and T4 are client clock readings, T2 and T3 server
// (true) time. Offset = reference − local (positive: the client is behind).
type Sample struct {
	T1, T2, T3, T4 time.Time
	Offset         time.Duration
	Delay          time.Duration
	// Outlier tells the scorer that this exchange drew an outlier delay; a
	// servo must not look at it.
	Outlier bool
}

// Channel draws exchanges over a Network with its own random stream.
type Channel struct {
	net Network
	rng *rand.Rand
}

// NewChannel returns a measurement channel; seed selects the realisation.
func NewChannel(n Network, seed uint64) (*Channel, error) {
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("sim: new channel: %w", err)
	}
	return &Channel{net: n, rng: rand.New(rand.NewPCG(seed, streamNetwork))}, nil
}

func (ch *Channel) delay(p Path) time.Duration {
	var j float64
	s := float64(p.Scale)
	switch p.Jitter {
	case DistExponential:
		j = s * ch.rng.ExpFloat64()
	case DistGaussian:
		j = s * ch.rng.NormFloat64()
	case DistUniform:
		j = s * ch.rng.Float64()
	}
	return max(0, p.Base+time.Duration(math.Round(j)))
}

// Exchange simulates one request/response between clk (the client, on tl)
// and a perfect server: T1 is read on clk at the present true time, the
// timeline is advanced by the round trip (out delay + processing + back
// delay), and T4 is read on clk. The caller's timeline therefore moves
// forward by Delay + Processing (in true time).
func (ch *Channel) Exchange(tl *Timeline, clk *Clock) (Sample, error) {
	if tl == nil || clk == nil {
		return Sample{}, errors.New("sim: exchange: nil timeline or clock")
	}
	if clk.tl != tl {
		return Sample{}, errors.New("sim: exchange: clock is on another timeline")
	}
	out, back := ch.delay(ch.net.Out), ch.delay(ch.net.Back)
	var outlier bool
	if ch.net.OutlierProb > 0 && ch.rng.Float64() < ch.net.OutlierProb {
		outlier = true
		extra := time.Duration(math.Round(float64(ch.net.OutlierDelay) * ch.rng.ExpFloat64()))
		if ch.rng.IntN(2) == 0 {
			out += extra
		} else {
			back += extra
		}
	}
	var s Sample
	s.Outlier = outlier
	s.T1 = clk.Now()
	s.T2 = tl.Now().Add(out)
	s.T3 = s.T2.Add(ch.net.Processing)
	if err := tl.AdvanceTo(s.T3.Add(back)); err != nil {
		return Sample{}, fmt.Errorf("sim: exchange: %w", err)
	}
	s.T4 = clk.Now()
	s.Offset = (s.T2.Sub(s.T1) + s.T3.Sub(s.T4)) / 2
	s.Delay = s.T4.Sub(s.T1) - s.T3.Sub(s.T2)
	return s, nil
}
