// Package upstream is the I/O shell that polls real upstream NTP servers in
// client mode: one sans-IO ntp/client core per configured server, UDP
// sockets from hwts with kernel timestamps, timers driven by the cores'
// NextPoll, and a Sink that hands every accepted sample and every state
// change to the discipline engine.
//
// # Goroutines and ownership
//
// Run's goroutine (the owner) alone touches the cores, the sockets' send
// side and error queue, and all per-source bookkeeping; it sleeps on one
// timer set to the earliest NextPoll (at most 10 s away), and wakes for
// replies, DNS results and control requests. Each socket has one reader
// goroutine parked in hwts ReadBatch; it hands a batch to the owner over a
// channel and waits for an ack before reusing its buffers, so packet
// buffers are never shared. Sink methods run on the owner and must not
// block. Control methods (SetPoll, Burst, Restart, RestartAll, Status) may
// be called from any goroutine: they queue a closure for the owner.
//
// # Sockets and timestamps
//
// One unconnected socket per address family (0.0.0.0:0 and [::]:0 by
// default, opened when a server of that family appears), shared by the
// sources of that family. Replies are matched to a source by their source
// address and port; the core then checks the Origin cookie. The request's
// T1 is its kernel software TX timestamp, read from the error queue right
// after sendmmsg and matched by TXID (hwts OPT_ID); T4 is the reply's
// kernel RX timestamp. Both are CLOCK_REALTIME readings and go through
// clock.Served.FromRealtime, so every sample is on the served (possibly
// virtual, disciplined) timescale: offset = reference − served clock.
// Without kernel stamps T1 falls back to the served clock read just before
// sendmmsg and T4 to the served clock read after recvmmsg (hwts daemon
// stamps with Config.Now = the served clock's Now). Status counts which
// kinds were used.
//
// The sockets are unconnected and do not set IP_RECVERR, so ICMP errors
// (port unreachable from a stopped server) are not reported: a dead server
// shows as timeouts and a decaying reachability register. A send that
// fails is retried once, then counted against its source.
//
// # Time
//
// All times the cores see come from the served clock (Now and
// FromRealtime). If it is stepped back, a source's next poll can lie
// further ahead than its poll interval allows; the owner then polls at
// once (ClockSteps in Status) instead of going silent.
//
// # DNS
//
// Names resolve when Run starts (net.DefaultResolver, concurrently, each
// lookup bounded by ResolveTimeout; the first address returned is used and
// logged). A name that fails is retried in the background with doubling
// delays (ResolveRetry … ResolveRetryMax) and its source joins when it
// resolves. Not done: re-resolving a reachable name, or an unreachable one
// (chrony does the latter for pools).
//
// # Handing results to the engine
//
// Sink.OnSample gets every accepted sample with the source's Estimate
// evaluated at the sample's receive time; Sink.OnState gets the Estimate
// whenever reachability, poll, state, header or filter size changed
// without a sample. Sources are named by ServerConfig.ID. The cores are
// never shared: an engine that wants "what does source X say at time t"
// on its own goroutine puts a Cache in front of its Sink and calls
// Cache.Estimate, which ages the last Estimate with Age (dispersion grows
// at 15 ppm, exactly as the core's filter would). Restart, RestartAll
// (after a leap second), SetPoll and Burst reach the cores through the
// owner.
//
// # What is tested where
//
// Against three chronyd 4.3 servers on loopback (`chronyd -x`, CAP_SYS_TIME
// dropped and checked in /proc, skipped loudly without root or chronyd,
// failing instead with GNOMON_REQUIRE_INTEROP=1): every source reaches
// register 377, ≥ 48 samples each in 6 s at 16 Hz, |median offset| < 50 µs
// (true offset 0: one clock), median delay < 1 ms, ≥ 90 % of samples with
// kernel T1 and T4; one server stopped: its register reaches 0, ≥ 8
// timeouts, poll backs off, no more samples, while the others stay at 377
// and keep sampling. Against an in-process server: offsets follow the
// served timescale (serving realtime + X gives offsets ≈ −X, which breaks
// if any kernel stamp bypassed FromRealtime); KoD RATE raises the poll one
// step per kiss to maxpoll and cuts the request rate; KoD DENY
// demobilises after exactly one request and Restart revives the source; a
// silent server counts timeouts and backs off; strangers' datagrams are
// counted and ignored; a served clock stepped back an hour keeps polling;
// an unresolvable name leaves its source idle with the error in Status.
// Age is checked against the core's own Estimate. One poll plus its reply
// allocates nothing (testing.AllocsPerRun, also BenchmarkPollReply). The
// reply path and the address parser are fuzzed.
//
// # What is not here
//
// Selection options (prefer, noselect, trust, require) are carried in
// ServerConfig for the engine and not interpreted. Not implemented:
// interleaved client mode, NTS and MAC authentication, pools, hardware TX
// or RX timestamps on upstream sockets (the NTP server maps them through
// clock/phc.Translators; this client does not yet), randomised poll
// jitter, and per-source connected sockets.
package upstream
