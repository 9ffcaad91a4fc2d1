package serve

import "time"

// txCal predicts, for a basic reply, how long after the worker read the
// clock (t3, once per batch) the reply actually leaves: sendmmsg hands the
// batch's datagrams to the kernel one after another, so the k-th reply of
// a batch leaves k kernel sends after the stamp, and sealing authenticated
// replies adds to it. Without a correction a basic client's Transmit would
// lead the packet by that much (issue 13 §2). The worker writes
// t3 + predict(k) and learns from the kernel's (or NIC's) transmit
// timestamps of the replies it stamps: interleaved ones, plus one basic
// reply every calEvery batches at a rotating position.
//
// The model is a line, delay = a + b·k (k the position in the sendmmsg
// batch), fitted by exponentially weighted least squares (each sample's
// weight decays by calDecay per later sample), so it follows changes of
// load and CPU frequency within a few hundred samples. Samples outside
// [0, calMaxDelay] are ignored (a clock step, a preempted sender), and so
// are, once warm, samples more than calOutlier above the prediction: the
// rare descheduled send must not pull every later stamp late. Until
// calWarm samples have arrived it predicts 0 (no correction). Units: ns.
// Pure; owned by one worker.
type txCal struct {
	n                    int     // samples accepted
	sw, sk, skk, sd, skd float64 // weighted sums: weight, k, k², d, k·d
}

const (
	// soloMax: a full batch with at most this many basic replies still
	// sends each on its own (worker.send; a batch that is not full always
	// does).
	soloMax = 8
	// chunkMax: replies per sendmmsg (each chunk with its own clock
	// reading) when the worker is behind (worker.sendChunks).
	chunkMax = 4
	// behindAge: how long the first request of a full batch must have
	// waited in the socket for the worker to count as behind (worker.step;
	// requests with daemon receive stamps have no age: two full batches
	// are enough there).
	behindAge   = 4 * time.Millisecond
	calEvery    = 16 // batches between basic replies stamped for calibration
	calDecay    = 1 - 1/256.0
	calWarm     = 16
	calMaxDelay = 1_000_000 // 1 ms
	calOutlier  = 20_000    // 20 µs above the prediction
)

// add records that the reply at position k left d ns after the clock was
// read.
func (c *txCal) add(k int, d int64) {
	if d < 0 || d > calMaxDelay {
		return
	}
	if c.n >= calWarm && float64(d) > float64(c.predict(k))+calOutlier {
		return
	}
	x, y := float64(k), float64(d)
	c.sw = c.sw*calDecay + 1
	c.sk = c.sk*calDecay + x
	c.skk = c.skk*calDecay + x*x
	c.sd = c.sd*calDecay + y
	c.skd = c.skd*calDecay + x*y
	c.n++
}

// predict returns the expected delay in ns of the reply at position k.
func (c *txCal) predict(k int) int64 {
	if c.n < calWarm {
		return 0
	}
	mk, md := c.sk/c.sw, c.sd/c.sw
	b := 0.0
	if v := c.skk/c.sw - mk*mk; v > 1e-9 {
		b = (c.skd/c.sw - mk*md) / v
	}
	d := md + b*(float64(k)-mk)
	if d < 0 {
		return 0
	}
	return int64(d)
}
